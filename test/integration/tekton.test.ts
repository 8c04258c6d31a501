// The real Tekton Pipelines v1.9.0 with its admission webhook and remote resolvers, on a
// control plane of its own (kube-scheduler, a kwok node, aggregator routing so the API
// server reaches the webhook process): v1beta1 is converted by Tekton's webhook, release
// defaults are what this file records, the cluster resolver answers, and a build shaped as
// builds-api creates it, made by the tool through its RoleBinding in the build namespace
// the in-process operator keeps, gets its pod created and scheduled.
import { BuildCluster, type RunObject } from '../../envtest/build-cluster.js';
import { BUILD_COMMAND, missingBinaries, simulationPaths } from '../../envtest/build-cluster-paths.js';
import { eventually, uniqueName } from '../../envtest/cluster.js';
import { installOperatorPrerequisites } from '../../envtest/install.js';
import { BUILD_SERVICE_ACCOUNT, PIPELINE_NAME, TASK_NAME, buildPipeline, buildTask } from '../../envtest/tekton.js';
import type { KubeClient } from '../../src/kube/client.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const paths = simulationPaths();
const missing = missingBinaries(paths);
if (missing.length) process.stderr.write(`Tekton tests skipped: not built: ${missing.join(', ')}; build with "${BUILD_COMMAND}"\n`);
const describeBuilt = missing.length ? describe.skip : describe;

const ADMIN_NS = 'image-build-admin';
const tool = uniqueName('tk');
const buildNs = `image-build-${tool}`;

type Run = RunObject & { spec: Record<string, unknown> };
interface Pod { metadata: { name: string; labels?: Record<string, string> }; spec: { nodeName?: string; serviceAccountName?: string } }

/** A PipelineRun as Toolforge's builds-api creates it. */
export function builderRun(t: string): Record<string, unknown> {
  return {
    apiVersion: 'tekton.dev/v1', kind: 'PipelineRun',
    metadata: { generateName: `${t}-buildpacks-`, labels: { user: t } },
    spec: {
      pipelineRef: { name: PIPELINE_NAME },
      params: [
        { name: 'SOURCE_URL', value: 'https://gitlab.wikimedia.org/toolforge-repos/sample.git' },
        { name: 'SOURCE_REFERENCE', value: 'main' },
        { name: 'APP_IMAGE', value: `harbor.invalid/tool-${t}/tool-${t}:latest` },
        { name: 'ENV_VARS', value: ['FOO=bar'] },
      ],
    },
  };
}

describeBuilt('real Tekton with its webhook and resolvers', () => {
  let cluster: BuildCluster;
  let admin: KubeClient;
  let operator: RunningOperator | undefined;
  const runs = (ns: string, version = 'v1') => `/apis/tekton.dev/${version}/namespaces/${ns}/pipelineruns`;

  beforeAll(async () => {
    cluster = await BuildCluster.start(paths, {
      nodes: 1, nodeCpu: '8', nodeMemory: '32Gi', nodePods: 110,
      // Build pods stay Running long enough to be looked at.
      stages: { podStartMs: 100, buildMinMs: 600_000, buildMaxMs: 600_000 },
      buildResources: { cpu: '100m', memory: '128Mi' },
      tektonWebhook: true, tektonResolvers: true,
    });
    admin = cluster.admin;
    await installOperatorPrerequisites(admin);
    await cluster.createNamespace(ADMIN_NS);
    await cluster.writer.apply(buildTask(ADMIN_NS, { cpu: '100m', memory: '128Mi' }));
    await cluster.writer.apply(buildPipeline(ADMIN_NS));
    await cluster.writer.apply({
      apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: 'default' },
      spec: {
        toolSelector: { matchLabels: { tenancy: 'tool' } },
        namespace: { nameTemplate: 'image-build-{tool}', podSecurity: 'baseline' },
        resourceQuota: { hard: { pods: '4', 'requests.cpu': '2', 'requests.memory': '4Gi' } },
        limitRange: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '512Mi' }, defaultRequest: { cpu: '100m', memory: '128Mi' } }] },
        serviceAccount: { name: BUILD_SERVICE_ACCOUNT },
        access: { toolRole: 'build-namespace-tool' },
        replicate: [
          { apiVersion: 'tekton.dev/v1', kind: 'Task', namespace: ADMIN_NS, name: TASK_NAME },
          { apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: ADMIN_NS, name: PIPELINE_NAME },
        ],
      },
    });
    await cluster.createNamespace(`tool-${tool}`, { name: `tool-${tool}`, tenancy: 'tool' });
    operator = await startOperator({}, cluster.plane.info);
    await eventually(async () => {
      const ns = await admin.request<{ metadata: { labels?: Record<string, string> } }>('GET', `/api/v1/namespaces/${buildNs}`);
      expect(ns.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
      await admin.request('GET', `/apis/tekton.dev/v1/namespaces/${buildNs}/pipelines/${PIPELINE_NAME}`);
    }, { timeoutMs: 60_000, intervalMs: 250 });
  }, 240_000);

  afterAll(async () => {
    await operator?.stop();
    await cluster?.stop();
  }, 60_000);

  test('a v1beta1 PipelineRun is converted by the webhook: read back as v1, its pod fields moved to taskRunTemplate', async () => {
    const name = uniqueName('beta');
    await admin.request('POST', runs(ADMIN_NS, 'v1beta1'), {
      body: {
        apiVersion: 'tekton.dev/v1beta1', kind: 'PipelineRun', metadata: { name },
        spec: {
          pipelineRef: { name: PIPELINE_NAME }, status: 'PipelineRunPending',
          serviceAccountName: 'someone-else', podTemplate: { securityContext: { runAsUser: 0 } },
          params: [{ name: 'SOURCE_URL', value: 'x' }, { name: 'APP_IMAGE', value: 'y' }],
        },
      },
    });
    const v1 = await admin.request<Run>('GET', `${runs(ADMIN_NS)}/${name}`);
    expect(v1.apiVersion).toBe('tekton.dev/v1');
    expect(v1.spec.taskRunTemplate).toEqual({ serviceAccountName: 'someone-else', podTemplate: { securityContext: { runAsUser: 0 } } });
    expect(v1.spec.serviceAccountName).toBeUndefined();
  });

  test('release defaults: what the webhook adds on create, and an inline pipelineSpec is accepted as released', async () => {
    const created = await admin.request<Run>('POST', runs(ADMIN_NS), {
      body: {
        apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { generateName: 'inline-' },
        spec: { status: 'PipelineRunPending', pipelineSpec: { tasks: [{ name: 't', taskSpec: { steps: [{ name: 's', image: 'evil.invalid/x', script: 'id' }] } }] } },
      },
    });
    process.stderr.write(`Tekton webhook defaults on an inline PipelineRun: ${JSON.stringify(created.spec)}\n`);
    expect(created.spec.timeouts).toEqual({ pipeline: '1h0m0s' });
    expect(created.spec.taskRunTemplate).toEqual({ serviceAccountName: 'default' });
  });

  test('the cluster resolver answers: a pipelineRef to a Pipeline of another namespace starts a TaskRun', async () => {
    const created = await admin.request<Run>('POST', runs(ADMIN_NS), {
      body: {
        apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { generateName: 'resolved-' },
        spec: {
          pipelineRef: { resolver: 'cluster', params: [{ name: 'kind', value: 'pipeline' }, { name: 'name', value: PIPELINE_NAME }, { name: 'namespace', value: ADMIN_NS }] },
          params: [{ name: 'SOURCE_URL', value: 'x' }, { name: 'APP_IMAGE', value: 'y' }],
        },
      },
    });
    await eventually(async () => {
      const taskRuns = await admin.request<{ items: unknown[] }>('GET', `/apis/tekton.dev/v1/namespaces/${ADMIN_NS}/taskruns`, {
        query: { labelSelector: `tekton.dev/pipelineRun=${created.metadata.name}` },
      });
      expect(taskRuns.items).toHaveLength(1);
    }, { timeoutMs: 60_000, intervalMs: 250 });
  }, 90_000);

  test('a builds-api build made by the tool through its RoleBinding gets its pod created and scheduled on a kwok node', async () => {
    const asTool = cluster.clientFor({ user: tool, groups: ['toolforge'] });
    const created = await asTool.request<Run>('POST', runs(buildNs), { body: builderRun(tool) });
    asTool.close();
    process.stderr.write(`Tekton webhook defaults on a builds-api PipelineRun: ${JSON.stringify(created.spec)}\n`);
    expect(created.spec.timeouts).toEqual({ pipeline: '1h0m0s' });
    expect(created.spec.taskRunTemplate).toEqual({ serviceAccountName: 'default' });
    const pod = await eventually(async () => {
      const pods = await admin.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${buildNs}/pods`, {
        query: { labelSelector: `tekton.dev/pipelineRun=${created.metadata.name}` },
      });
      expect(pods.items).toHaveLength(1);
      expect(pods.items[0]!.spec.nodeName).toBe('build-node-0');
      return pods.items[0]!;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    expect(pod.metadata.labels?.user).toBe(tool);
    process.stderr.write(`Tekton's build pod: ${JSON.stringify(pod)}\n`);
  }, 90_000);
});
