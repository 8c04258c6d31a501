// The simulation's settings and scenarios: the same workload and cluster size through the
// shared namespace (with and without the flood) and through per-tool build namespaces,
// each on a fresh cluster so that nothing of one run leaks into the next.
import { BuildCluster, type BuildClusterOptions } from '../../envtest/build-cluster.js';
import type { SimulationPaths } from '../../envtest/build-cluster-paths.js';
import { PerToolLayout, SharedLayout, runWorkload, type Layout, type LayoutSettings, type ScenarioResult, type Workload } from './scenario.js';

export const SCENARIOS = ['baseline', 'shared', 'per-tool', 'per-tool-capped', 'per-tool-queue', 'burst-queue'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** What `make simulate` runs: the flood scenarios, compared in one table (burst-queue is asked for by name). */
export const DEFAULT_SCENARIOS: ScenarioName[] = SCENARIOS.filter((s) => s !== 'burst-queue');
/**
 * burst-queue: this many tools submit BURST_BUILDS each at once, per-tool namespaces and the
 * build queue with its cluster-wide cap; on BURST_NODES nodes, so that the cap and not the
 * nodes is what bounds the running builds.
 */
export const BURST_TOOLS = 200;
export const BURST_BUILDS = 5;
export const BURST_NODES = 8;
/** How often burst-queue counts the started, unfinished PipelineRuns from the API server. */
export const BURST_SAMPLE_MS = 2000;
export const burstTools = (n: number) => Array.from({ length: n }, (_, i) => `t${String(i + 1).padStart(3, '0')}`);
/** per-tool-capped adds the example policy's cap on PipelineRuns per tool (manifests/example-policy.yaml). */
export const PIPELINERUN_CAP = { 'count/pipelineruns.tekton.dev': '20' };
/** per-tool-queue runs the operator's build queue with this cluster-wide cap (--max-running-builds' default). */
export const QUEUE_MAX_RUNNING_BUILDS = 40;

export interface SimulationConfig {
  cluster: Omit<BuildClusterOptions, 'keepLogsIn'>;
  layout: LayoutSettings;
  workload: Workload;
  /** Each scenario is watched at most this long after its first build. */
  windowMs: number;
}

export const TOOLS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];

/**
 * The full run: 4 nodes of 8 CPU / 32 GiB; a build asks for 1 CPU and 2 GiB and lasts 60
 * to 120 s. The shared namespace's quota is the cluster (32 builds at once); a tool's own
 * quota is the 4 parallel builds that Toolforge's builds-api allows.
 */
export const FULL_CONFIG: SimulationConfig = {
  cluster: {
    nodes: 4,
    nodeCpu: '8',
    nodeMemory: '32Gi',
    nodePods: 110,
    stages: { podStartMs: 1000, buildMinMs: 60_000, buildMaxMs: 120_000 },
    buildResources: { cpu: '1', memory: '2Gi' },
  },
  layout: {
    sharedQuota: { pods: '32', 'requests.cpu': '32', 'requests.memory': '64Gi' },
    perToolQuota: { pods: '4', 'requests.cpu': '4', 'requests.memory': '8Gi' },
    limitRange: {
      default: { cpu: '1', memory: '2Gi' },
      defaultRequest: { cpu: '100m', memory: '256Mi' },
      max: { cpu: '2', memory: '4Gi' },
    },
  },
  workload: {
    flood: { tool: 'a', builds: 50 },
    others: { tools: TOOLS.slice(1), afterMs: 10_000 },
    buildMinMs: 60_000,
    buildMaxMs: 120_000,
    seed: 1,
  },
  windowMs: 600_000,
};

export function scenarioWorkload(config: SimulationConfig, scenario: ScenarioName): Workload {
  if (scenario === 'burst-queue') {
    return { ...config.workload, flood: { ...config.workload.flood, builds: 0 }, others: { tools: [], afterMs: 0 }, burst: { tools: burstTools(BURST_TOOLS), builds: BURST_BUILDS } };
  }
  return scenario === 'baseline' ? { ...config.workload, flood: { ...config.workload.flood, builds: 0 } } : config.workload;
}

export function layoutFor(scenario: ScenarioName, cluster: BuildCluster, settings: LayoutSettings): Layout {
  if (scenario === 'per-tool') return new PerToolLayout(cluster, settings);
  if (scenario === 'per-tool-queue' || scenario === 'burst-queue') return new PerToolLayout(cluster, { ...settings, maxRunningBuilds: QUEUE_MAX_RUNNING_BUILDS });
  if (scenario === 'per-tool-capped') {
    return new PerToolLayout(cluster, { ...settings, perToolQuota: { ...settings.perToolQuota, ...PIPELINERUN_CAP } });
  }
  return new SharedLayout(cluster, settings);
}

/** One scenario on a fresh cluster, stopped afterwards whatever happens. */
export async function runScenario(
  paths: SimulationPaths, config: SimulationConfig, scenario: ScenarioName,
  { log = () => {}, keepLogsIn, signal }: { log?: (line: string) => void; keepLogsIn?: string; signal?: AbortSignal } = {},
): Promise<ScenarioResult> {
  const started = Date.now();
  const burst = scenario === 'burst-queue';
  const cluster = await BuildCluster.start(paths, { ...config.cluster, ...(burst ? { nodes: BURST_NODES } : {}), keepLogsIn });
  log(`${scenario}: cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const layout = layoutFor(scenario, cluster, config.layout);
  try {
    const workload = scenarioWorkload(config, scenario);
    const tools = [...new Set([...(workload.flood.builds > 0 ? [workload.flood.tool] : []), ...workload.others.tools, ...(workload.burst?.tools ?? [])])];
    signal?.throwIfAborted();
    await layout.prepare(tools);
    signal?.throwIfAborted();
    log(`${scenario}: ${layout.name} layout ready for ${tools.length} tools`);
    return await runWorkload(cluster, layout, scenario, workload, config.windowMs, log, signal,
      burst ? { sampleRunningEveryMs: BURST_SAMPLE_MS, runningCap: QUEUE_MAX_RUNNING_BUILDS } : {});
  } finally {
    await layout.stop();
    await cluster.stop();
  }
}
