// `make simulate`: runs the baseline, shared and per-tool scenarios one after another on
// fresh simulated clusters, then writes the raw records (bench/results/), the tables
// (bench/simulation/results.md) and the plot (bench/simulation/start-delay.svg and .png).
// `--from bench/results/simulation-<stamp>.json` renders a saved run again.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../envtest/controlplane.js';
import { BUILD_COMMAND, missingBinaries, simulationPaths, type SimulationPaths } from '../../envtest/build-cluster-paths.js';
import { startDelaySvg, svgToPng } from './plot.js';
import { cpuLines, delayTable, isBurst, othersDelay, queueLines, scenarioTitle, totalsTable } from './report.js';
import type { ScenarioResult } from './scenario.js';
import { DEFAULT_SCENARIOS, FULL_CONFIG, PIPELINERUN_CAP, SCENARIOS, runScenario, type ScenarioName, type SimulationConfig } from './simulation.js';
import { formatSeconds } from './stats.js';

const { values } = parseArgs({
  options: {
    scenarios: { type: 'string', default: DEFAULT_SCENARIOS.join(',') },
    'build-min-seconds': { type: 'string', default: String(FULL_CONFIG.workload.buildMinMs / 1000) },
    'build-max-seconds': { type: 'string', default: String(FULL_CONFIG.workload.buildMaxMs / 1000) },
    flood: { type: 'string', default: String(FULL_CONFIG.workload.flood.builds) },
    'window-seconds': { type: 'string', default: String(FULL_CONFIG.windowMs / 1000) },
    'out-dir': { type: 'string', default: 'bench/simulation' },
    'keep-logs': { type: 'boolean', default: false },
    /** The Tekton controller's -kube-api-qps; the scenarios are then named "<scenario>, Tekton <2N> QPS". */
    'tekton-qps': { type: 'string' },
    /** Render the outputs again from a saved run (bench/results/simulation-*.json) instead of running. */
    from: { type: 'string' },
  },
});

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

async function main(): Promise<number> {
  if (values.from) {
    // Several saved runs (comma separated) render as one: the first one's settings, every one's scenarios.
    const files = values.from.split(',');
    const saved = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Omit<SavedRun, 'stamp'>);
    render({
      ...saved[0]!,
      results: saved.flatMap((s) => s.results),
      stamp: files.map((f) => basename(f, '.json').replace(/^simulation-/, '')).join(' + '),
    });
    return 0;
  }
  const paths = simulationPaths();
  const missing = missingBinaries(paths);
  if (missing.length) {
    log(`not built: ${missing.join(', ')}; run "${BUILD_COMMAND}" (make simulate does)`);
    return 2;
  }
  const scenarios = values.scenarios.split(',').map((s) => s.trim()) as ScenarioName[];
  for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; known: ${SCENARIOS.join(', ')}`);
  const buildMinMs = Number(values['build-min-seconds']) * 1000;
  const buildMaxMs = Number(values['build-max-seconds']) * 1000;
  const config: SimulationConfig = {
    ...FULL_CONFIG,
    cluster: {
      ...FULL_CONFIG.cluster,
      stages: { ...FULL_CONFIG.cluster.stages, buildMinMs, buildMaxMs },
      ...(values['tekton-qps'] ? { tektonApiQps: Number(values['tekton-qps']) } : {}),
    },
    workload: { ...FULL_CONFIG.workload, buildMinMs, buildMaxMs, flood: { ...FULL_CONFIG.workload.flood, builds: Number(values.flood) } },
    windowMs: Number(values['window-seconds']) * 1000,
  };
  log(`kwok ${paths.kwokVersion}, Tekton Pipelines ${paths.tektonVersion}; scenarios ${scenarios.join(', ')}; ` +
    `builds ${buildMinMs / 1000}-${buildMaxMs / 1000} s; window ${config.windowMs / 1000} s`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(repoRoot(), 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    const keepLogsIn = values['keep-logs'] ? join(resultsDir, `simulation-${stamp}-logs`, scenario) : undefined;
    const result = await runScenario(paths, config, scenario, { log, keepLogsIn, signal: interrupt.signal });
    if (config.cluster.tektonApiQps) result.scenario = `${scenario}, Tekton ${config.cluster.tektonApiQps * 2} QPS`;
    results.push(result);
    writeFileSync(join(resultsDir, `simulation-${stamp}.json`), JSON.stringify({ config, paths, results }, null, 2));
  }

  render({ config, paths, results, stamp });
  return 0;
}

interface SavedRun {
  config: SimulationConfig;
  paths: SimulationPaths;
  results: ScenarioResult[];
  stamp: string;
}

/** Writes results.md, start-delay.svg and start-delay.png for a run, and prints the Markdown. */
function render({ config, paths, results: all, stamp }: SavedRun): void {
  // A burst has hundreds of tools: it is summed up in lines of its own, not as a column or panel.
  const results = all.filter((r) => !isBurst(r));
  const { buildMinMs, buildMaxMs } = config.workload;
  const perTool = (scenario: string) => scenario.startsWith('per-tool');
  const podQuota = (scenario: string) => Number(
    (perTool(scenario) ? config.layout.perToolQuota : config.layout.sharedQuota).pods ?? Infinity);
  const floodTool = config.workload.flood.tool;
  const summary = results.map((r) => {
    const o = othersDelay(r, floodTool);
    return `- ${scenarioTitle(r.scenario)}: tools B..J waited ${formatSeconds(o.p50)} s (median), ${formatSeconds(o.max)} s at most.`;
  });
  const markdown = [
    '# Simulation results',
    '',
    `Generated by \`make simulate\` (run ${stamp}): kwok ${paths.kwokVersion}, ` +
      `Tekton Pipelines ${paths.tektonVersion}, ${config.cluster.nodes} nodes of ${config.cluster.nodeCpu} CPU / ` +
      `${config.cluster.nodeMemory}; builds request ${config.cluster.buildResources.cpu} CPU / ${config.cluster.buildResources.memory} ` +
      `and last ${buildMinMs / 1000}-${buildMaxMs / 1000} s; tool A submits ${config.workload.flood.builds} builds at once, ` +
      `${config.workload.others.afterMs / 1000} s later B..J one each. Shared quota: ${JSON.stringify(config.layout.sharedQuota)}; ` +
      `per-tool quota: ${JSON.stringify(config.layout.perToolQuota)} (per-tool-capped adds ${JSON.stringify(PIPELINERUN_CAP)}). ` +
      `Raw records: bench/results/simulation-${stamp}.json.`,
    '',
    ...summary,
    '',
    'Start delay (PipelineRun creation to its pod running), seconds:',
    '',
    delayTable(results),
    '',
    totalsTable(all, podQuota),
    '',
    ...queueLines(all, floodTool, Number(config.layout.perToolQuota.pods ?? 4)),
    '',
    ...all.flatMap((r) => r.notes.map((n) => `- ${scenarioTitle(r.scenario)}: ${n}`)),
    ...cpuLines(all),
    '',
  ].join('\n');
  const outDir = resolve(repoRoot(), values['out-dir']);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.md'), markdown);
  const svgPath = join(outDir, 'start-delay.svg');
  writeFileSync(svgPath, startDelaySvg(results.map((r) => ({
    title: scenarioTitle(r.scenario),
    subtitle: perTool(r.scenario)
      ? `own quota per tool: ${config.layout.perToolQuota.pods} pods${r.scenario.startsWith('per-tool-capped')
        ? `, ${PIPELINERUN_CAP['count/pipelineruns.tekton.dev']} runs` : ''}`
      : `one quota: ${config.layout.sharedQuota.pods} pods`,
    builds: r.builds,
    windowSeconds: r.endedAtMs / 1000,
  })), `Start delay of every build: tool A floods ${config.workload.flood.builds} builds, B..J start one each 10 s later`));
  const png = svgToPng(svgPath, join(outDir, 'start-delay.png'));
  process.stdout.write(`${markdown}\n`);
  log(png ? `wrote ${outDir}/results.md, start-delay.svg and start-delay.png`
    : `wrote ${outDir}/results.md and start-delay.svg; no PNG: install librsvg2-bin (rsvg-convert)`);
}

const interrupt = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The running scenario ends and stops its cluster; a second signal exits at once.
    if (interrupt.signal.aborted) process.exit(130);
    log(`${signal}: stopping the simulated cluster (again to exit at once)`);
    interrupt.abort(new Error(`interrupted by ${signal}`));
  });
}

main().then((code) => process.exit(code), (err: unknown) => {
  log(`simulation failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
