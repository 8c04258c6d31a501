// Both layers of the build fence together, against the real Tekton (controller, admission
// webhook, resolvers): the operator keeps layer 1 (the PipelineRun policy) and layer 2 (the
// pod policy, from its pod fence settings), with Tekton's config-defaults from manifests/tekton. The tool's build
// exactly as builds-api creates it (no ServiceAccount named: Tekton's webhook fills in the
// default) is accepted and Tekton starts its pod; each attack is refused, and the test says
// which layer refused it.
import { join } from 'node:path';
import { eventually } from '../../envtest/cluster.js';
import { repoRoot } from '../../envtest/controlplane.js';
import { applyFiles } from '../../envtest/install.js';
import { BUILD_SERVICE_ACCOUNT } from '../../envtest/tekton.js';
import { ApiError } from '../../src/kube/client.js';
import { FENCE_POLICY_NAME } from '../../src/render/fence.js';
import { builderRun, describeWithTekton, POD_FENCE, startTektonFixture, type TektonFixture } from './tekton-fixture.js';

interface Run { metadata: { name: string }; spec: Record<string, unknown> }
interface Pod { spec: { nodeName?: string; serviceAccountName?: string } }
const LAYER_1 = `ValidatingAdmissionPolicy '${FENCE_POLICY_NAME}'`;

describeWithTekton('build fence layer tests')('both layers of the build fence with the real Tekton', () => {
  let fx: TektonFixture;

  const createAsTool = async (body: Record<string, unknown>): Promise<Run> => {
    const asTool = fx.cluster.clientFor({ user: fx.tool, groups: ['toolforge'] });
    const apiVersion = String(body.apiVersion);
    try {
      return await asTool.request<Run>('POST', `/apis/${apiVersion}/namespaces/${fx.buildNs}/pipelineruns`, { body });
    } finally {
      asTool.close();
    }
  };
  const refusal = (body: Record<string, unknown>) => createAsTool(body).then(() => 'accepted', (e: unknown) => (e instanceof ApiError ? e.message : String(e)));

  beforeAll(async () => {
    fx = await startTektonFixture({ podFence: POD_FENCE });
    await applyFiles(fx.cluster.admin, [join(repoRoot(), 'manifests/tekton/config-defaults.yaml')]);
    // Layer 1 holds once the API server has loaded the operator's policy.
    await eventually(async () => expect(await refusal(builderRun(fx.tool, { pipelineSpec: { tasks: [] } }))).toContain(LAYER_1),
      { timeoutMs: 30_000, intervalMs: 250 });
  }, 300_000);

  afterAll(async () => {
    await fx?.stop();
  }, 60_000);

  test('accepts the build as builds-api creates it, and Tekton runs its pod as the build ServiceAccount', async () => {
    // Tekton's webhook reads config-defaults a moment after it changes.
    const run = await eventually(() => createAsTool(builderRun(fx.tool)), { timeoutMs: 30_000, intervalMs: 500 });
    expect(run.spec).toMatchObject({ taskRunTemplate: { serviceAccountName: BUILD_SERVICE_ACCOUNT } });
    await eventually(async () => {
      const pods = await fx.cluster.admin.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${fx.buildNs}/pods`, {
        query: { labelSelector: `tekton.dev/pipelineRun=${run.metadata.name}` },
      });
      expect(pods.items.map((p) => [p.spec.nodeName, p.spec.serviceAccountName])).toEqual([['build-node-0', BUILD_SERVICE_ACCOUNT]]);
    }, { timeoutMs: 60_000, intervalMs: 250 });
  }, 90_000);

  it.each([
    { name: 'inline pipelineSpec', body: () => builderRun(fx.tool, { pipelineRef: undefined, pipelineSpec: { tasks: [{ name: 'x', taskSpec: { steps: [{ name: 's', image: 'evil.invalid/x', script: 'id' }] } }] } }), field: 'spec.pipelineSpec' },
    { name: 'podTemplate runAsUser 0', body: () => builderRun(fx.tool, { taskRunTemplate: { podTemplate: { securityContext: { runAsUser: 0 } } } }), field: 'spec.taskRunTemplate.podTemplate' },
    { name: 'another tool\'s APP_IMAGE', body: () => builderRun('other-tool', { pipelineRef: { name: 'buildpacks' } }), field: 'spec.params[APP_IMAGE]' },
    { name: 'the http resolver', body: () => builderRun(fx.tool, { pipelineRef: { resolver: 'http', params: [{ name: 'url', value: 'https://evil.invalid/p.yaml' }] } }), field: 'spec.pipelineRef' },
    {
      name: 'v1beta1 spec.podTemplate (converted by Tekton\'s webhook)',
      body: () => ({ ...builderRun(fx.tool), apiVersion: 'tekton.dev/v1beta1', spec: { ...(builderRun(fx.tool).spec as object), podTemplate: { securityContext: { runAsUser: 0 } } } }),
      field: 'apiVersion tekton.dev/v1beta1 is not accepted',
    },
  ])('refuses $name at layer 1, naming the field', async ({ body, field }) => {
    const message = await refusal(body());
    expect(message).toContain(LAYER_1);
    expect(message).toContain(field);
  });
});
