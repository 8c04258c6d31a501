// The results as Markdown: start delay per tool and scenario side by side, and what each
// scenario got done. Pure: results in, text out.
import type { ScenarioResult } from './scenario.js';
import { formatSeconds, idleSlotSeconds, percentile, summariseByTool } from './stats.js';

const TITLES: Record<string, string> = {
  baseline: 'baseline (B..J, no flood)',
  shared: 'shared namespace',
  'per-tool': 'per-tool namespaces',
  'per-tool-capped': 'per-tool, ≤ 20 PipelineRuns',
  'per-tool-queue': 'per-tool + build queue',
};

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
export function othersDelay(result: ScenarioResult, floodTool: string): { p50: number; max: number } {
  const others = result.builds.filter((b) => b.tool !== floodTool);
  const summary = summariseByTool(others.map((b) => ({ ...b, tool: 'others' })))[0];
  return { p50: summary?.p50 ?? NaN, max: summary?.max ?? NaN };
}

/** Where the machine's CPU went while a scenario ran (older saved runs have no such record). */
export function cpuLines(results: ScenarioResult[]): string[] {
  return results.filter((r) => r.cpuSeconds && Object.keys(r.cpuSeconds).length).map((r) => {
    const parts = Object.entries(r.cpuSeconds).sort((a, b) => b[1] - a[1]).map(([name, s]) => `${name} ${s.toFixed(0)} s`);
    return `- ${scenarioTitle(r.scenario)}: CPU used in ${Math.round(r.endedAtMs / 1000)} s: ${parts.join(', ')}.`;
  });
}
