// The results as Markdown: start delay per tool and scenario side by side, and what each
// scenario got done. Pure: results in, text out.
import type { ScenarioResult } from './scenario.js';
import { formatSeconds, idleSlotSeconds, nthStarts, percentile, slotGapSeconds, summariseByTool, type BuildRecord } from './stats.js';

const TITLES: Record<string, string> = {
  baseline: 'baseline (B..J, no flood)',
  shared: 'shared namespace',
  'per-tool': 'per-tool namespaces',
  'per-tool-capped': 'per-tool, ≤ 20 PipelineRuns',
  'per-tool-queue': 'per-tool + build queue',
  'burst-queue': 'burst: 200 tools × 5 builds, build queue',
};

/** A burst scenario has hundreds of tools: it gets its own lines, not a column of the per-tool table. */
export const isBurst = (r: ScenarioResult) => r.scenario.startsWith('burst');

export function scenarioTitle(scenario: string): string {
  const [base, ...rest] = scenario.split(', ');
  return [TITLES[base!] ?? base, ...rest].join(', ');
}

/** Rows: tools; columns: p50 / p95 / max start delay in seconds for each scenario. */
export function delayTable(results: ScenarioResult[]): string {
  const tools = [...new Set(results.flatMap((r) => r.builds.map((b) => b.tool)))].sort();
  const summaries = results.map((r) => new Map(summariseByTool(r.builds).map((s) => [s.tool, s])));
  const head = `| tool | ${results.map((r) => `${scenarioTitle(r.scenario)}: p50 / p95 / max (s)`).join(' | ')} |`;
  const rule = `|---|${results.map(() => '---|').join('')}`;
  const rows = tools.map((tool) => {
    const cells = results.map((r, i) => {
      const s = summaries[i]!.get(tool);
      if (!s) return '–';
      const w = Math.round(r.endedAtMs / 1000);
      const notStarted = s.builds - s.refusedAtSubmit - s.started;
      const extra = [
        s.builds > 1 ? `${s.builds} builds` : '',
        notStarted > 0 ? `${notStarted} not started` : '',
        s.refusedAtSubmit > 0 ? `${s.refusedAtSubmit} refused` : '',
      ].filter(Boolean).join(', ');
      return `${formatSeconds(s.p50, w)} / ${formatSeconds(s.p95, w)} / ${formatSeconds(s.max, w)}${extra ? ` (${extra})` : ''}`;
    });
    return `| ${tool.toUpperCase()} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...rows].join('\n');
}

/** What each scenario got done within its run. */
export function totalsTable(results: ScenarioResult[], podQuota: (scenario: string, namespace: string) => number): string {
  const head = '| scenario | builds | started | finished | median to pod created (Tekton) | pod creations refused by quota | ' +
    'quota slot-seconds idle while refused builds waited for a retry | watched for |';
  const rule = '|---|---|---|---|---|---|---|---|';
  const rows = results.map((r) => {
    const accepted = r.builds.filter((b) => !b.refusedAtSubmit);
    const idle = idleSlotSeconds(r.builds, (ns) => podQuota(r.scenario, ns), r.endedAtMs);
    const toPod = accepted.map((b) => (b.podCreatedAt === undefined ? Infinity : (b.podCreatedAt - b.submittedAt) / 1000)).sort((a, b) => a - b);
    return `| ${scenarioTitle(r.scenario)} | ${r.builds.length} | ${accepted.filter((b) => b.runningAt !== undefined).length} | ` +
      `${accepted.filter((b) => b.outcome === 'Succeeded').length} | ${formatSeconds(percentile(toPod, 50))} s | ${r.refusedPodCreates} | ${idle} | ` +
      `${Math.round(r.endedAtMs / 1000)} s |`;
  });
  return [head, rule, ...rows].join('\n');
}

/** B..J only: the experience of everybody but the flooding tool. */
export function othersDelay(result: ScenarioResult, floodTool: string): { p50: number; p95: number; max: number } {
  const others = result.builds.filter((b) => b.tool !== floodTool);
  const summary = summariseByTool(others.map((b) => ({ ...b, tool: 'others' })))[0];
  return { p50: summary?.p50 ?? NaN, p95: summary?.p95 ?? NaN, max: summary?.max ?? NaN };
}

/**
 * Where B..J's start delay went, medians in seconds: waiting for the queue to start the run
 * (0 when it is never held), Tekton's part until the pod exists, the scheduler's and the node's
 * until it runs. Builds whose pod never ran are left out.
 */
export function othersStages(result: ScenarioResult, floodTool: string): { queue: number; tekton: number; pod: number } {
  const ran = result.builds.filter((b) => b.tool !== floodTool && b.runningAt !== undefined && b.podCreatedAt !== undefined);
  const median = (values: number[]) => percentile(values.sort((a, b) => a - b), 50);
  const released = (b: BuildRecord) => b.releasedAt ?? b.submittedAt;
  return {
    queue: median(ran.map((b) => (released(b) - b.submittedAt) / 1000)),
    tekton: median(ran.map((b) => (b.podCreatedAt! - released(b)) / 1000)),
    pod: median(ran.map((b) => (b.runningAt! - b.podCreatedAt!) / 1000)),
  };
}

const fmt = (s: number) => `${formatSeconds(s)} s`;
const triple = (sorted: number[]) => `${fmt(percentile(sorted, 50))} / ${fmt(percentile(sorted, 95))} / ${fmt(sorted[sorted.length - 1] ?? NaN)}`;

/**
 * What the build queue has to show: B..J's p95 start delay against the no-flood baseline of
 * the same run; for the flood, how soon each of its builds started after a slot of its own
 * freed up (`slots` at a time); for a burst, fairness and the cap, sampled from the cluster.
 */
export function queueLines(results: ScenarioResult[], floodTool: string, slots: number): string[] {
  const out: string[] = [];
  const baseline = results.find((r) => r.scenario.startsWith('baseline'));
  for (const r of results) {
    const title = scenarioTitle(r.scenario);
    const flood = r.builds.filter((b) => b.tool === floodTool && !b.refusedAtSubmit);
    if (!isBurst(r) && baseline && r !== baseline && flood.length) {
      const o = othersDelay(r, floodTool);
      const b = othersDelay(baseline, floodTool);
      out.push(`- ${title}: B..J start delay p95 ${fmt(o.p95)} against ${fmt(b.p95)} in the baseline of the same run (${o.p95 - b.p95 >= 0 ? '+' : ''}${formatSeconds(o.p95 - b.p95)} s).`);
    }
    if (!isBurst(r) && r.builds.some((x) => x.tool !== floodTool)) {
      const st = othersStages(r, floodTool);
      out.push(`- ${title}: B..J's delay by stage (medians): started by the queue ${fmt(st.queue)}, then Tekton to the pod ${fmt(st.tekton)}, then the pod to running ${fmt(st.pod)}.`);
    }
    if (!isBurst(r) && flood.length) {
      const byRun = slotGapSeconds(flood, slots, (x) => x.finishedAt);
      const byPod = slotGapSeconds(flood, slots, (x) => x.podDoneAt);
      const finished = flood.filter((x) => x.finishedAt !== undefined).length;
      out.push(`- ${title}: ${floodTool.toUpperCase()} finished ${finished} of ${flood.length}; each build that waited for one of its ${slots} slots started (pod running) ` +
        `after the previous build's PipelineRun finished by p50 / p95 / max ${triple(byRun)} (${byRun.length} builds; after its pod ended: ${triple(byPod)}), ` +
        `${byRun.filter((g) => g >= 30).length} of them 30 s or more.`);
    }
    if (isBurst(r)) out.push(...burstLines(r, title));
    if (r.operatorRunPatches !== undefined) out.push(`- ${title}: the operator patched PipelineRuns ${r.operatorRunPatches} times (starts and places in line) for ${r.builds.length} builds.`);
  }
  return out;
}

function burstLines(r: ScenarioResult, title: string): string[] {
  const accepted = r.builds.filter((b) => !b.refusedAtSubmit);
  const tools = new Set(accepted.map((b) => b.tool)).size;
  const fair = (what: string, at: (b: BuildRecord) => number | undefined) => {
    const first = nthStarts(accepted, 1, at);
    const third = nthStarts(accepted, 3, at);
    return `by ${what}, the last tool's first build at ${fmt(first.latest / 1000)}, the first tool's third at ${fmt(third.earliest / 1000)}: ` +
      `${first.latest < third.earliest ? 'every first before any third' : 'NOT every first before any third'}`;
  };
  const delays = accepted.map((b) => (b.runningAt === undefined ? Infinity : (b.runningAt - b.submittedAt) / 1000)).sort((a, b) => a - b);
  const lines = [
    `- ${title}: ${accepted.length} builds of ${tools} tools; ${accepted.filter((b) => b.runningAt !== undefined).length} started and ` +
      `${accepted.filter((b) => b.finishedAt !== undefined).length} finished in ${Math.round(r.endedAtMs / 1000)} s; start delay p50 / p95 / max ${triple(delays)}.`,
    `- ${title}: fairness ${fair('the queue\'s start (hold cleared)', (b) => b.releasedAt)}; ${fair('pod running', (b) => b.runningAt)}.`,
  ];
  const c = r.clusterRunning;
  if (c) {
    lines.push(`- ${title}: started and unfinished PipelineRuns in the cluster, listed from the API server every ${c.everyMs / 1000} s (${c.samples} samples): ` +
      `at most ${c.max}${c.cap !== undefined ? ` against the cap of ${c.cap}: ${c.max <= c.cap ? 'never exceeded' : 'EXCEEDED'}` : ''}.`);
  }
  return lines;
}

/** Where the machine's CPU went while a scenario ran (older saved runs have no such record). */
export function cpuLines(results: ScenarioResult[]): string[] {
  return results.filter((r) => r.cpuSeconds && Object.keys(r.cpuSeconds).length).map((r) => {
    const parts = Object.entries(r.cpuSeconds).sort((a, b) => b[1] - a[1]).map(([name, s]) => `${name} ${s.toFixed(0)} s`);
    return `- ${scenarioTitle(r.scenario)}: CPU used in ${Math.round(r.endedAtMs / 1000)} s: ${parts.join(', ')}.`;
  });
}
