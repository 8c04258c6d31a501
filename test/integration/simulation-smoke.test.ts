// A small run of the build-cluster simulation (bench/simulation/): the real Tekton
// controller, kube-scheduler and kwok nodes on a control plane of their own (the shared
// one has no scheduler, nodes or Tekton). Proves that builds go through the operator's
// per-tool namespaces end to end, and that the shared namespace's quota holds a build
// back the way Tekton does in production; and, last (the queue's hold outlives its layout), the
// scenarios per-tool-queue and burst-queue in small. Skips only when the simulation is not built.
import { BuildCluster } from '../../envtest/build-cluster.js';
import { BUILD_COMMAND, missingBinaries, simulationPaths } from '../../envtest/build-cluster-paths.js';
import { PerToolLayout, SharedLayout, runWorkload, type Layout, type LayoutSettings } from '../../bench/simulation/scenario.js';
import { nthStarts, startDelaySeconds, type BuildRecord } from '../../bench/simulation/stats.js';

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
  // The build queue in small: per-tool namespaces of 2 pods, a cluster-wide cap of 2 running.
  describe('with the build queue', () => {
    const CAP = 2;
    let queued: PerToolLayout;
    const released = (b: BuildRecord) => b.releasedAt;

    beforeAll(async () => {
      // One operator at a time owns the policy: the earlier layouts' operators go first.
      for (const layout of layouts.splice(0)) await layout.stop();
      queued = new PerToolLayout(cluster, { ...settings, maxRunningBuilds: CAP });
      layouts.push(queued);
      await queued.prepare(['smoke-q1', 'smoke-q2', 'smoke-u1', 'smoke-u2', 'smoke-u3']);
    }, 120_000);

    test('per-tool-queue: a flood is held and started in turn; the tool behind it gets the first free slot, and no pod is refused by quota', async () => {
      const result = await runWorkload(cluster, queued, 'per-tool-queue smoke', {
        flood: { tool: 'smoke-q1', builds: 4 },
        others: { tools: ['smoke-q2'], afterMs: 500 },
        buildMinMs: 1500,
        buildMaxMs: 2500,
        seed: 1,
      }, 90_000, undefined, undefined, { sampleRunningEveryMs: 250, runningCap: CAP });

      expect(result.builds.map((b) => `${b.tool}: ${b.refusedAtSubmit ?? b.outcome ?? 'unfinished'}`)).toEqual([
        ...Array<string>(4).fill('smoke-q1: Succeeded'), 'smoke-q2: Succeeded',
      ]);
      // Held: the flood's third and fourth started only once a build had finished.
      const firstFinish = Math.min(...result.builds.map((b) => b.finishedAt ?? Infinity));
      const flood = result.builds.filter((b) => b.tool === 'smoke-q1').map((b) => b.releasedAt ?? Infinity).sort((a, b) => a - b);
      expect(flood[2]).toBeGreaterThanOrEqual(firstFinish);
      // Fair: the tool with none running took the first slot that freed, before the flood's third.
      const late = result.builds.find((b) => b.tool === 'smoke-q2')!;
      expect(late.releasedAt).toBeLessThan(flood[2]!);
      expect(result.builds.filter((b) => b.quotaRefused)).toEqual([]);
      expect(result.refusedPodCreates).toBe(0);
      expect(result.clusterRunning!.samples).toBeGreaterThan(0);
      expect(result.clusterRunning!.max).toBeLessThanOrEqual(CAP);
    }, 120_000);

    test('burst-queue: every tool\'s first build starts before any tool\'s third, and the cap holds', async () => {
      const result = await runWorkload(cluster, queued, 'burst-queue smoke', {
        flood: { tool: 'smoke-u1', builds: 0 },
        others: { tools: [], afterMs: 0 },
        burst: { tools: ['smoke-u1', 'smoke-u2', 'smoke-u3'], builds: 3 },
        buildMinMs: 1000,
        buildMaxMs: 1500,
        seed: 2,
      }, 90_000, undefined, undefined, { sampleRunningEveryMs: 250, runningCap: CAP });

      expect(result.builds.filter((b) => b.outcome !== 'Succeeded')).toEqual([]);
      expect(result.builds).toHaveLength(9);
      const first = nthStarts(result.builds, 1, released);
      const third = nthStarts(result.builds, 3, released);
      expect({ tools: first.tools, firstBeforeAnyThird: first.latest < third.earliest }).toEqual({ tools: 3, firstBeforeAnyThird: true });
      // The cap, read from the API server; reached, not merely respected.
      expect(result.clusterRunning!.max).toBe(CAP);
    }, 120_000);
  });
});
