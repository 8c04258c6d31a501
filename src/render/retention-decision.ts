// PipelineRun retention, pure: which finished runs of one build namespace to delete so that
// the newest keepSuccessful succeeded and keepFailed failed runs remain, and which outlived
// ttlSecondsAfterFinished. Running and pending runs are never chosen.
import type { BuildsSection } from '../api/types.js';

/**
 * Used when no matching policy sets the field: what Toolforge's builds-api keeps today. A
 * namespace with a `count/pipelineruns.tekton.dev` quota and no pruning stops building once
 * the quota fills, so "unset" cannot mean "keep everything" (as with a CronJob's history limits).
 */
export const DEFAULT_KEEP_SUCCESSFUL = 4;
export const DEFAULT_KEEP_FAILED = 2;

/** The retention in force, defaults filled in. No ttl means finished runs never expire by age. */
export interface Retention {
  keepSuccessful: number;
  keepFailed: number;
  ttlSecondsAfterFinished?: number;
}

/** What retention reads of a Tekton PipelineRun (tekton.dev/v1); any PipelineRun object fits. */
export interface PipelineRunView {
  metadata: { name: string; creationTimestamp?: string; deletionTimestamp?: string };
  status?: {
    conditions?: { type: string; status: string; reason?: string; lastTransitionTime?: string }[];
    completionTime?: string;
  };
}

/**
 * From Tekton's `Succeeded` condition: True succeeded; False failed (reasons Failed,
 * PipelineRunTimeout, Cancelled, CancelledRunFinally, StoppedRunFinally, validation
 * failures, ...: all are final); Unknown or absent is running or pending.
 */
export type RunOutcome = 'succeeded' | 'failed' | 'running';

export function runOutcome(run: PipelineRunView): RunOutcome {
  const succeeded = run.status?.conditions?.find((c) => c.type === 'Succeeded');
  if (succeeded?.status === 'True') return 'succeeded';
  if (succeeded?.status === 'False') return 'failed';
  return 'running';
}

export function retentionOf(builds: BuildsSection): Retention {
  const retention: Retention = {
    keepSuccessful: builds.keepSuccessful ?? DEFAULT_KEEP_SUCCESSFUL,
    keepFailed: builds.keepFailed ?? DEFAULT_KEEP_FAILED,
  };
  if (builds.ttlSecondsAfterFinished != null) retention.ttlSecondsAfterFinished = builds.ttlSecondsAfterFinished;
  return retention;
}

/**
 * When a finished run finished (ms since the epoch): status.completionTime, else the time its
 * Succeeded condition last changed; undefined when neither says, and then it never expires.
 */
export function finishedAt(run: PipelineRunView): number | undefined {
  const times = [run.status?.completionTime, run.status?.conditions?.find((c) => c.type === 'Succeeded')?.lastTransitionTime];
  for (const time of times) {
    const ms = time ? Date.parse(time) : NaN;
    if (!Number.isNaN(ms)) return ms;
  }
  return undefined;
}

const createdAt = (run: PipelineRunView): number => {
  const ms = Date.parse(run.metadata.creationTimestamp ?? '');
  return Number.isNaN(ms) ? 0 : ms;
};

/** Newest first: by creation time, then (creationTimestamp has whole seconds) by name, greater first. */
function newestFirst(a: PipelineRunView, b: PipelineRunView): number {
  const byTime = createdAt(b) - createdAt(a);
  if (byTime !== 0) return byTime;
  const [x, y] = [a.metadata.name, b.metadata.name];
  return x < y ? 1 : x > y ? -1 : 0;
}

/** Finished runs that are not already being deleted, newest first, with their outcome. */
function finishedRuns(runs: readonly PipelineRunView[]): { run: PipelineRunView; outcome: Exclude<RunOutcome, 'running'> }[] {
  return runs
    .filter((run) => !run.metadata.deletionTimestamp)
    .map((run) => ({ run, outcome: runOutcome(run) }))
    .filter((r): r is { run: PipelineRunView; outcome: Exclude<RunOutcome, 'running'> } => r.outcome !== 'running')
    .sort((a, b) => newestFirst(a.run, b.run));
}

const expired = (run: PipelineRunView, ttlSeconds: number | undefined, now: number): boolean => {
  if (ttlSeconds === undefined) return false;
  const finished = finishedAt(run);
  return finished !== undefined && finished + ttlSeconds * 1000 <= now;
};

/**
 * The names of the runs to delete, oldest first: finished runs beyond the newest
 * keepSuccessful succeeded or keepFailed failed ones (by creation time, so a rerun of an old
 * build does not push out newer builds), and finished runs whose ttl since finishing has
 * passed at `now` (ms since the epoch). Runs already being deleted are neither counted nor chosen.
 */
export function runsToDelete(runs: readonly PipelineRunView[], builds: BuildsSection, now: number): string[] {
  const { keepSuccessful, keepFailed, ttlSecondsAfterFinished } = retentionOf(builds);
  const kept = { succeeded: 0, failed: 0 };
  const limit = { succeeded: keepSuccessful, failed: keepFailed };
  const doomed: string[] = [];
  for (const { run, outcome } of finishedRuns(runs)) {
    if (kept[outcome] >= limit[outcome] || expired(run, ttlSecondsAfterFinished, now)) {
      doomed.push(run.metadata.name);
    } else {
      kept[outcome]++;
    }
  }
  return doomed.reverse();
}

/**
 * How long (ms from `now`) until the next finished run that `runsToDelete` keeps outlives
 * its ttl; undefined when no ttl is set or no kept run will ever expire. Runs are not
 * watched for the passing of time, so the controller looks again then.
 */
export function nextExpiryMs(runs: readonly PipelineRunView[], builds: BuildsSection, now: number): number | undefined {
  const { ttlSecondsAfterFinished } = retentionOf(builds);
  if (ttlSecondsAfterFinished === undefined) return undefined;
  const doomed = new Set(runsToDelete(runs, builds, now));
  let next: number | undefined;
  for (const { run } of finishedRuns(runs)) {
    const finished = finishedAt(run);
    if (doomed.has(run.metadata.name) || finished === undefined) continue;
    const due = finished + ttlSecondsAfterFinished * 1000 - now;
    if (next === undefined || due < next) next = due;
  }
  return next;
}
