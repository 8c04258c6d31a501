// Where a CPU profile (node --cpu-prof, as `make bench BENCH_ARGS=--profile` writes them)
// spent its time: self time by function and by source (file of ours, or package), so a
// benchmark's bottleneck can be named without opening DevTools.
//
//   node dist-tools/bench/profile-summary.js bench/results/run-*/CPU.*.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  totalMs: number;
  byFunction: [string, number][];
  bySource: [string, number][];
}

/** A source as a person names it: a package, one of our files, node's internals, or GC/idle. */
function sourceOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const ours = /\/dist\/(.*)$/.exec(url);
  return ours ? ours[1]! : url;
}

export function summarise(profile: Profile, top = 25): ProfileSummary {
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  // Self time per node from the samples and their time deltas (more exact than hitCount).
  const selfMs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const next = deltas[i + 1] ?? 0;
    selfMs.set(samples[i]!, (selfMs.get(samples[i]!) ?? 0) + next / 1000);
  }
  const byFunction = new Map<string, number>();
  const bySource = new Map<string, number>();
  for (const node of profile.nodes) {
    const ms = selfMs.get(node.id) ?? 0;
    if (ms === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const source = sourceOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${url ? `${source}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    bySource.set(source, (bySource.get(source) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { totalMs, byFunction: sorted(byFunction), bySource: sorted(bySource) };
}

export function formatSummary(summary: ProfileSummary): string {
  const pct = (ms: number) => `${((100 * ms) / summary.totalMs).toFixed(1)}%`.padStart(6);
  const rows = (entries: [string, number][]) => entries.map(([name, ms]) => `${pct(ms)} ${String(Math.round(ms)).padStart(7)} ms  ${name}`).join('\n');
  return `profile of ${(summary.totalMs / 1000).toFixed(1)} s\n\nself time by source:\n${rows(summary.bySource)}\n\n` +
    `self time by function:\n${rows(summary.byFunction)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
  for (const file of positionals) {
    process.stdout.write(`== ${file}\n${formatSummary(summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(values.top)))}\n`);
  }
}
