// Pure arithmetic on what a simulation run recorded: start delays per tool, percentiles
// that keep builds that never started (as "longer than the run"), and the quota left idle
// while builds waited.

/** What the simulation knows about one build, in milliseconds since the run started. */
export interface BuildRecord {
  tool: string;
  /** The build namespace it was submitted to. */
  namespace: string;
  /** The PipelineRun's name; empty when the API server refused to create it. */
  name: string;
  durationMs: number;
  submittedAt: number;
  /** Set when the PipelineRun itself was refused (e.g. a count/pipelineruns quota). */
  refusedAtSubmit?: string;
  /** The TaskRun was seen waiting with reason ExceededResourceQuota. */
  quotaRefused: boolean;
  /** When that was first seen. */
  quotaRefusedAt?: number;
  /** When the PipelineRun was first seen not held (the build queue started it, or it was never held). */
  releasedAt?: number;
  podCreatedAt?: number;
  runningAt?: number;
  podDoneAt?: number;
  finishedAt?: number;
  outcome?: string;
}

export interface DelaySummary {
  tool: string;
  builds: number;
  /** Builds whose pod ran within the run. */
  started: number;
  finished: number;
  refusedAtSubmit: number;
  quotaRefused: number;
  /** Seconds from creation to the pod running; Infinity for a build that never started. */
  p50: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentile of sorted values (Infinity stands for "did not happen within the run"). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** The start delay of an accepted build in seconds; Infinity if its pod never ran. */
export function startDelaySeconds(build: BuildRecord): number {
  return build.runningAt === undefined ? Infinity : (build.runningAt - build.submittedAt) / 1000;
}

/** Per tool, in the order tools first appear. Builds refused at submission are counted apart. */
export function summariseByTool(builds: BuildRecord[]): DelaySummary[] {
  const tools = [...new Set(builds.map((b) => b.tool))];
  return tools.map((tool) => summarise(tool, builds.filter((b) => b.tool === tool)));
}

export function summarise(tool: string, builds: BuildRecord[]): DelaySummary {
  const accepted = builds.filter((b) => !b.refusedAtSubmit);
  const delays = accepted.map(startDelaySeconds).sort((a, b) => a - b);
  return {
    tool,
    builds: builds.length,
    started: accepted.filter((b) => b.runningAt !== undefined).length,
    finished: accepted.filter((b) => b.finishedAt !== undefined).length,
    refusedAtSubmit: builds.length - accepted.length,
    quotaRefused: accepted.filter((b) => b.quotaRefused).length,
    p50: percentile(delays, 50),
    p95: percentile(delays, 95),
    max: delays.length ? delays[delays.length - 1]! : NaN,
  };
}

/**
 * Quota slots left empty while builds refused by that quota waited for Tekton to try
 * again, in slot-seconds: for every second, min(waiting, quota - running) summed over
 * namespaces. Waiting means refused by quota and not yet running; running, between pod
 * start and pod end.
 */
export function idleSlotSeconds(builds: BuildRecord[], podQuota: (namespace: string) => number, endMs: number): number {
  const byNamespace = new Map<string, BuildRecord[]>();
  for (const b of builds) {
    if (b.refusedAtSubmit) continue;
    byNamespace.set(b.namespace, [...(byNamespace.get(b.namespace) ?? []), b]);
  }
  let idle = 0;
  for (const [namespace, list] of byNamespace) {
    const quota = podQuota(namespace);
    for (let t = 0; t < endMs; t += 1000) {
      let waiting = 0;
      let running = 0;
      for (const b of list) {
        const isRunning = b.runningAt !== undefined && b.runningAt <= t && (b.podDoneAt === undefined || b.podDoneAt > t);
        if (isRunning) running++;
        else if (b.quotaRefusedAt !== undefined && b.quotaRefusedAt <= t && (b.runningAt === undefined || b.runningAt > t)) waiting++;
      }
      idle += Math.max(0, Math.min(waiting, quota - running));
    }
  }
  return idle;
}

/** A delay in seconds as the README prints it. */
export function formatSeconds(s: number, windowSeconds?: number): string {
  if (Number.isNaN(s)) return '–';
  if (!Number.isFinite(s)) return windowSeconds ? `> ${windowSeconds}` : 'never';
  return s < 10 ? s.toFixed(1) : s.toFixed(0);
}

/**
 * For a tool with `slots` builds at a time: how long each build that had to wait for a slot
 * started after the slot freed, in seconds. The k-th build to start (k >= slots) took the slot
 * of the (k - slots)-th build to finish; a Tekton one-minute retry shows as a gap near 60 s.
 * `freedAt` says when a build counts as finished (its PipelineRun done, or its pod done).
 */
export function slotGapSeconds(builds: BuildRecord[], slots: number, freedAt: (b: BuildRecord) => number | undefined): number[] {
  const starts = builds.map((b) => b.runningAt).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
  const frees = builds.map(freedAt).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let k = slots; k < starts.length; k++) {
    const freed = frees[k - slots];
    if (freed !== undefined) gaps.push(Math.max(starts[k]! - freed, 0) / 1000);
  }
  return gaps.sort((a, b) => a - b);
}

/**
 * When the tools' n-th builds started (by `at`): the earliest and the latest over the tools that
 * submitted at least n. Fairness across tools that each submitted several builds at once is
 * every first build starting before any third: nthStarts(1).latest < nthStarts(3).earliest.
 * A build that never started counts as starting never (Infinity).
 */
export function nthStarts(builds: BuildRecord[], n: number, at: (b: BuildRecord) => number | undefined): { latest: number; earliest: number; tools: number } {
  const byTool = new Map<string, number[]>();
  for (const b of builds) {
    if (b.refusedAtSubmit) continue;
    byTool.set(b.tool, [...(byTool.get(b.tool) ?? []), at(b) ?? Infinity]);
  }
  let latest = -Infinity;
  let earliest = Infinity;
  let tools = 0;
  for (const times of byTool.values()) {
    times.sort((a, b) => a - b);
    if (times.length < n) continue;
    tools++;
    latest = Math.max(latest, times[n - 1]!);
    earliest = Math.min(earliest, times[n - 1]!);
  }
  return { latest, earliest, tools };
}
