// The build pod fence alone (no PipelineRun fence), as the operator keeps it from its
// settings, against the real Tekton: the tool's
// legitimate build gets its pod admitted and scheduled; each attack that Tekton turns into
// a pod field is accepted by Tekton and then refused at the pod by this layer, which the
// TaskRun's failure carries as the API server's message.
import type { RunObject } from '../../envtest/build-cluster.js';
import { eventually } from '../../envtest/cluster.js';
import { BUILD_SERVICE_ACCOUNT } from '../../envtest/tekton.js';
import { BUILD_POD_FENCE_NAME } from '../../src/render/build-pod-fence.js';
import { builderRun, describeWithTekton, POD_FENCE, startTektonFixture, type TektonFixture } from './tekton-fixture.js';

interface Condition { type: string; status: string; reason?: string; message?: string }
interface TaskRun { status?: { conditions?: Condition[] } }
interface Pod { spec: { nodeName?: string } }

const AS_BUILD_SA = { taskRunTemplate: { serviceAccountName: BUILD_SERVICE_ACCOUNT } };
const podTemplate = (template: Record<string, unknown>) => ({ taskRunTemplate: { serviceAccountName: BUILD_SERVICE_ACCOUNT, podTemplate: template } });

describeWithTekton('build pod fence tests')('the build pod fence with the real Tekton', () => {
  let fx: TektonFixture;

  const createAsTool = async (spec: Record<string, unknown>): Promise<RunObject> => {
    const asTool = fx.cluster.clientFor({ user: fx.tool, groups: ['toolforge'] });
    try {
      return await asTool.request<RunObject>('POST', `/apis/tekton.dev/v1/namespaces/${fx.buildNs}/pipelineruns`, { body: builderRun(fx.tool, spec) });
    } finally {
      asTool.close();
    }
  };
  const taskRunOf = async (run: RunObject): Promise<TaskRun | undefined> => {
    const list = await fx.cluster.admin.request<{ items: TaskRun[] }>('GET', `/apis/tekton.dev/v1/namespaces/${fx.buildNs}/taskruns`, {
      query: { labelSelector: `tekton.dev/pipelineRun=${run.metadata.name}` },
    });
    return list.items[0];
  };

  beforeAll(async () => {
    fx = await startTektonFixture({ buildFence: false, podFence: POD_FENCE });
    await fx.cluster.writer.apply({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'build-high' }, value: 1_000_000 });
    // The policy holds once the API server has loaded it: a bare pod it must refuse shows when.
    await eventually(async () => {
      const refused = await fx.cluster.admin.request('POST', `/api/v1/namespaces/${fx.buildNs}/pods`, {
        body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'probe' }, spec: { containers: [{ name: 'c', image: 'evil.invalid/x' }] } },
        query: { dryRun: 'All' },
      }).then(() => 'admitted', (err: Error) => err.message);
      expect(refused).toContain('build pod fence');
    }, { timeoutMs: 30_000, intervalMs: 250 });
  }, 300_000);

  afterAll(async () => {
    await fx?.stop();
  }, 60_000);

  test('the legitimate build (builds-api shape, the build ServiceAccount) gets its pod admitted and scheduled', async () => {
    const run = await createAsTool(AS_BUILD_SA);
    await eventually(async () => {
      const pods = await fx.cluster.admin.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${fx.buildNs}/pods`, {
        query: { labelSelector: `tekton.dev/pipelineRun=${run.metadata.name}` },
      });
      expect(pods.items.map((p) => p.spec.nodeName)).toEqual(['build-node-0']);
    }, { timeoutMs: 60_000, intervalMs: 250 });
  }, 90_000);

  it.each([
    { name: 'podTemplate runAsUser 0', spec: podTemplate({ securityContext: { runAsUser: 0 } }), field: 'spec.securityContext.runAsUser' },
    { name: 'podTemplate env LD_PRELOAD', spec: podTemplate({ env: [{ name: 'LD_PRELOAD', value: '/tmp/x.so' }] }), field: 'spec.containers[].env' },
    { name: 'podTemplate hostAliases', spec: podTemplate({ hostAliases: [{ ip: '192.0.2.66', hostnames: ['harbor.invalid'] }] }), field: 'spec.hostAliases' },
    { name: 'podTemplate dnsConfig', spec: podTemplate({ dnsConfig: { nameservers: ['192.0.2.66'] } }), field: 'spec.dnsConfig' },
    { name: 'podTemplate nodeSelector', spec: podTemplate({ nodeSelector: { 'kubernetes.io/hostname': 'build-node-0' } }), field: 'spec.nodeSelector' },
    { name: 'podTemplate tolerations', spec: podTemplate({ tolerations: [{ operator: 'Exists' }] }), field: 'spec.tolerations' },
    { name: 'podTemplate priorityClassName', spec: podTemplate({ priorityClassName: 'build-high' }), field: 'spec.priorityClassName' },
    { name: 'serviceAccountName override', spec: { taskRunTemplate: { serviceAccountName: 'default' } }, field: 'spec.serviceAccountName' },
    { name: 'podTemplate secret volume', spec: podTemplate({ volumes: [{ name: 'stolen', secret: { secretName: 'anything' } }] }), field: 'spec.volumes' },
    { name: 'podTemplate projected token volume', spec: podTemplate({ volumes: [{ name: 'tok', projected: { sources: [{ serviceAccountToken: { audience: 'vault', path: 't' } }] } }] }), field: 'spec.volumes[].projected' },
    {
      name: 'inline taskSpec with a foreign image',
      spec: { ...AS_BUILD_SA, pipelineRef: undefined, params: undefined, pipelineSpec: { tasks: [{ name: 'x', taskSpec: { steps: [{ name: 's', image: 'evil.invalid/x', script: 'id' }] } }] } },
      field: 'spec.containers[].image',
    },
  ])('$name: Tekton accepts the run, the pod is refused by the build pod fence ($field)', async ({ spec, field }) => {
    const run = await createAsTool(spec);
    const failed = await eventually(async () => {
      const condition = (await taskRunOf(run))?.status?.conditions?.find((c) => c.type === 'Succeeded');
      expect(condition?.status).toBe('False');
      return condition!;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    expect(failed.message).toContain(`build pod fence: ${field}`);
  }, 90_000);

  test('follows the policies: a credential Secret a policy adds to the build ServiceAccount becomes mountable', async () => {
    const policyPath = '/apis/builds.toolforge.org/v1alpha1/buildquotapolicies/default';
    const vapPath = `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${BUILD_POD_FENCE_NAME}`;
    const secretRule = async () => (await fx.cluster.admin.request<{ spec: { validations: { expression: string }[] } }>('GET', vapPath))
      .spec.validations.map((v) => v.expression).find((e) => e.includes('v.secret.secretName'));
    expect(await secretRule()).not.toContain('"harbor-push"');
    await fx.cluster.admin.request('PATCH', policyPath, {
      body: { spec: { serviceAccount: { name: BUILD_SERVICE_ACCOUNT, secrets: ['harbor-push'] } } }, contentType: 'application/merge-patch+json',
    });
    await eventually(async () => expect(await secretRule()).toContain('"harbor-push"'), { timeoutMs: 30_000, intervalMs: 250 });
  }, 60_000);
});
