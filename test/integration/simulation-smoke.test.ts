// A small run of the build-cluster simulation (bench/simulation/): the real Tekton
// controller, kube-scheduler and kwok nodes on a control plane of their own (the shared
// one has no scheduler, nodes or Tekton). Proves that builds go through the operator's
// per-tool namespaces end to end, and that the shared namespace's quota holds a build
// back the way Tekton does in production. Skips only when the simulation is not built.
import { BuildCluster } from '../../envtest/build-cluster.js';
import { BUILD_COMMAND, missingBinaries, simulationPaths } from '../../envtest/build-cluster-paths.js';
import { PerToolLayout, SharedLayout, runWorkload, type Layout, type LayoutSettings } from '../../bench/simulation/scenario.js';
import { startDelaySeconds } from '../../bench/simulation/stats.js';

const paths = simulationPaths();
const missing = missingBinaries(paths);
if (missing.length) {
  process.stderr.write(`simulation smoke test skipped: not built: ${missing.join(', ')}; build with "${BUILD_COMMAND}"\n`);
}
const describeBuilt = missing.length ? describe.skip : describe;

const settings: LayoutSettings = {
  sharedQuota: { pods: '1', 'requests.cpu': '1', 'requests.memory': '2Gi' },
  perToolQuota: { pods: '2', 'requests.cpu': '2', 'requests.memory': '4Gi' },
  limitRange: {
    default: { cpu: '500m', memory: '1Gi' },
    defaultRequest: { cpu: '100m', memory: '128Mi' },
    max: { cpu: '1', memory: '2Gi' },
  },
};

describeBuilt(`build-cluster simulation${missing.length ? ` (skipped: run "${BUILD_COMMAND}")` : ''}`, () => {
  let cluster: BuildCluster;
  const layouts: Layout[] = [];

  beforeAll(async () => {
    cluster = await BuildCluster.start(paths, {
      nodes: 2,
      nodeCpu: '4',
      nodeMemory: '16Gi',
      nodePods: 110,
      stages: { podStartMs: 200, buildMinMs: 1000, buildMaxMs: 2000 },
      buildResources: { cpu: '500m', memory: '1Gi' },
    });
  }, 120_000);

  afterAll(async () => {
    for (const layout of layouts) await layout.stop();
    await cluster?.stop();
  }, 60_000);

  test('per-tool: each tool builds in the build namespace the operator made, as itself, and every build succeeds', async () => {
    const layout = new PerToolLayout(cluster, settings);
    layouts.push(layout);
    await layout.prepare(['smoke-a', 'smoke-b']);

    const result = await runWorkload(cluster, layout, 'per-tool smoke', {
      flood: { tool: 'smoke-a', builds: 2 },
      others: { tools: ['smoke-b'], afterMs: 1000 },
      buildMinMs: 1000,
      buildMaxMs: 2000,
      seed: 1,
    }, 60_000);

    const seen = result.builds.map((b) => `${b.namespace}: ${b.refusedAtSubmit ?? b.outcome ?? `unfinished (running at ${b.runningAt})`}`);
    expect(seen).toEqual([
      'image-build-smoke-a: Succeeded',
      'image-build-smoke-a: Succeeded',
      'image-build-smoke-b: Succeeded',
    ]);
    // Within its own quota nothing waits for a retry: every pod ran at the first attempt.
    expect(result.builds.filter((b) => b.quotaRefused)).toEqual([]);
    expect(result.refusedPodCreates).toBe(0);
  }, 90_000);

  test('shared: a build over the namespace quota waits as ExceededResourceQuota while the other runs', async () => {
    const layout = new SharedLayout(cluster, settings);
    layouts.push(layout);
    await layout.prepare();

    // Builds far longer than the watch: within it, the quota of one pod admits only one.
    const result = await runWorkload(cluster, layout, 'shared smoke', {
      flood: { tool: 'smoke-c', builds: 2 },
      others: { tools: [], afterMs: 0 },
      buildMinMs: 60_000,
      buildMaxMs: 60_000,
      seed: 1,
    }, 12_000);

    const started = result.builds.filter((b) => Number.isFinite(startDelaySeconds(b)));
    const waiting = result.builds.filter((b) => b.runningAt === undefined);
    expect({ started: started.length, waiting: waiting.length }).toEqual({ started: 1, waiting: 1 });
    expect(waiting[0]!.quotaRefused).toBe(true);
    expect(result.refusedPodCreates).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
