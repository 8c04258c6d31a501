// A build cluster with the real Tekton (controller, webhook, resolvers) on a control plane of
// its own, the operator's prerequisites, an admin Pipeline in image-build-admin replicated by a
// policy, one tool, and the in-process operator keeping that tool's build namespace.
import { BuildCluster } from '../../envtest/build-cluster.js';
import { BUILD_COMMAND, missingBinaries, simulationPaths } from '../../envtest/build-cluster-paths.js';
import { eventually, uniqueName } from '../../envtest/cluster.js';
import { installOperatorPrerequisites } from '../../envtest/install.js';
import { BUILD_SERVICE_ACCOUNT, BUILD_STEP_ENV, BUILDER_IMAGE, PIPELINE_NAME, TASK_NAME, TEKTON_IMAGES, buildPipeline, buildTask } from '../../envtest/tekton.js';
import type { BuildPodFenceSettings } from '../../src/render/build-pod-fence.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

export const ADMIN_NS = 'image-build-admin';

const paths = simulationPaths();
const missing = missingBinaries(paths);
/** describe, or describe.skip (saying why) when the build cluster's binaries are not built. */
export function describeWithTekton(what: string): jest.Describe {
  if (missing.length) process.stderr.write(`${what}: skipped: not built: ${missing.join(', ')}; build with "${BUILD_COMMAND}"\n`);
  return missing.length ? describe.skip : describe;
}

export interface TektonFixture {
  cluster: BuildCluster;
  operator: RunningOperator;
  tool: string;
  buildNs: string;
  stop(): Promise<void>;
}

export { builderRun } from '../../envtest/tekton.js';

/** The build pod fence as an admin of this cluster would set it: the builder's image, Tekton's own, the Task's env. */
export const POD_FENCE: BuildPodFenceSettings = { images: [BUILDER_IMAGE, ...Object.values(TEKTON_IMAGES)], envNames: BUILD_STEP_ENV };

/**
 * `buildFence: false` runs the operator without the build fence's layer 1, for tests of
 * Tekton itself and of the pod layer alone; `podFence` has the operator keep layer 2 too.
 */
export async function startTektonFixture(
  { buildFence = true, podFence }: { buildFence?: boolean; podFence?: BuildPodFenceSettings } = {},
): Promise<TektonFixture> {
  const cluster = await BuildCluster.start(paths, {
    nodes: 1, nodeCpu: '8', nodeMemory: '32Gi', nodePods: 110,
    // Build pods stay Running long enough to be looked at.
    stages: { podStartMs: 100, buildMinMs: 600_000, buildMaxMs: 600_000 },
    buildResources: { cpu: '100m', memory: '128Mi' },
    tektonWebhook: true, tektonResolvers: true,
  });
  const admin = cluster.admin;
  const tool = uniqueName('tk');
  const buildNs = `image-build-${tool}`;
  let operator: RunningOperator | undefined;
  try {
    await installOperatorPrerequisites(admin);
    await cluster.createNamespace(ADMIN_NS);
    await cluster.writer.apply(buildTask(ADMIN_NS, { cpu: '100m', memory: '128Mi' }));
    await cluster.writer.apply(buildPipeline(ADMIN_NS));
    await cluster.writer.apply({
      apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: 'default' },
      spec: {
        toolSelector: { matchLabels: { tenancy: 'tool' } },
        namespace: { nameTemplate: 'image-build-{tool}', podSecurity: 'baseline' },
        resourceQuota: { hard: { pods: '20', 'requests.cpu': '4', 'requests.memory': '8Gi' } },
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
    operator = await startOperator({ buildFence, ...(podFence ? { podFence } : {}) }, { plane: cluster.plane.info });
    await eventually(async () => {
      const ns = await admin.request<{ metadata: { labels?: Record<string, string> } }>('GET', `/api/v1/namespaces/${buildNs}`);
      expect(ns.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
      await admin.request('GET', `/apis/tekton.dev/v1/namespaces/${buildNs}/pipelines/${PIPELINE_NAME}`);
    }, { timeoutMs: 60_000, intervalMs: 250 });
  } catch (err) {
    await operator?.stop();
    await cluster.stop();
    throw err;
  }
  const running = operator;
  return {
    cluster, operator: running, tool, buildNs,
    async stop() {
      await running.stop();
      await cluster.stop();
    },
  };
}
