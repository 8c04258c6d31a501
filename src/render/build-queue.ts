// Whose build starts next: the build queue's decision as a pure function of plain data,
// rebuilt from the cluster on every pass (held PipelineRuns, running ones, quota usage), so
// a restart or a new leader decides exactly as the old one would have. The controller only
// applies what this returns.
import { ANNOTATION_QUEUE, QUEUE_IN_LINE, type ResourceList } from '../api/types.js';
import { parseQuantity, type Quantity } from '../api/quantity.js';
import { PIPELINE_RUN_PENDING } from './build-queue-admission.js';

/** A PipelineRun held in line (`spec.status: PipelineRunPending`). */
export interface HeldRun {
  namespace: string;
  name: string;
  uid: string;
  /** Creation time, ms since the epoch: the order of the line. */
  createdAt: number;
}

/** One tool's side of the line, as read from its build namespace. */
export interface ToolLine {
  tool: string;
  held: readonly HeldRun[];
  /** Started and not finished, whoever started them. */
  running: number;
  /**
   * Runs of the tool started since the oldest run still held anywhere was created: what the
   * tool has had of the line's turns. Read from the runs' start times, so it survives a
   * restart; without it a tool whose builds finish fast would take every free slot.
   */
  startedSince?: number;
  /** The tool's own cap on running builds (its effective policy). */
  maxRunning: number;
  /** How many more builds the tool's quota has room for (see buildsThatFit); Infinity when unbounded. */
  quotaRoom: number;
}

export interface QueueState {
  tools: readonly ToolLine[];
  /** The cluster-wide cap on running builds, protecting the one shared Tekton controller. */
  clusterMaxRunning: number;
}

/** Where a held run stands, for the annotation the tool reads. */
export interface LinePosition {
  /** Held runs of the same tool ahead of this one. */
  aheadForTool: number;
  /** Why it waits, when it does: its tool's cap, its quota, or the cluster's cap. */
  waitingFor?: 'tool-limit' | 'quota' | 'cluster-limit';
}

export interface QueueDecision {
  /** The runs to start now, in the order they should be started. */
  start: HeldRun[];
  /** Every held run that stays held, by uid. */
  positions: Map<string, LinePosition>;
  clusterRunning: number;
}

const inLineOrder = (a: HeldRun, b: HeldRun) => a.createdAt - b.createdAt || a.name.localeCompare(b.name);

/**
 * Starts runs one at a time, each to the tool with the fewest running among those that may
 * start one (under its own cap, room in its quota), ties going to the tool that has had the
 * fewest turns lately, then to the run that has waited longest; FIFO within a tool; nobody once the cluster is at its cap. So a tool
 * with fifty waiting gets no more than its share while others wait, and one that already
 * runs more than others waits until they have caught up.
 */
export function decideStarts(state: QueueState): QueueDecision {
  const lines = state.tools.map((t) => ({
    tool: t,
    queue: [...t.held].sort(inLineOrder),
    running: t.running,
    room: Math.min(Math.max(t.maxRunning - t.running, 0), Math.max(t.quotaRoom, 0)),
    served: t.startedSince ?? 0,
    started: 0,
  }));
  let clusterRunning = state.tools.reduce((sum, t) => sum + t.running, 0);
  const start: HeldRun[] = [];
  while (clusterRunning < state.clusterMaxRunning) {
    let next: (typeof lines)[number] | undefined;
    for (const line of lines) {
      if (line.started >= line.queue.length || line.started >= line.room) continue;
      if (!next || line.running < next.running || (line.running === next.running && (line.served < next.served ||
        (line.served === next.served && inLineOrder(line.queue[line.started]!, next.queue[next.started]!) < 0)))) next = line;
    }
    if (!next) break;
    start.push(next.queue[next.started]!);
    next.started++;
    next.running++;
    next.served++;
    clusterRunning++;
  }
  const positions = new Map<string, LinePosition>();
  for (const line of lines) {
    const { tool } = line;
    line.queue.slice(line.started).forEach((run, i) => {
      const waitingFor = line.running >= tool.maxRunning ? 'tool-limit'
        : line.started >= Math.max(tool.quotaRoom, 0) ? 'quota'
          : 'cluster-limit';
      positions.set(run.uid, { aheadForTool: i, waitingFor });
    });
  }
  return { start, positions, clusterRunning };
}

/** A quantity in nano units, exact: the API server keeps at most nine decimal places. */
function nanos(q: Quantity): bigint {
  const shift = q.exponent + 9;
  return shift >= 0 ? q.coefficient * 10n ** BigInt(shift) : q.coefficient / 10n ** BigInt(-shift);
}

function parsed(list: ResourceList | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [key, value] of Object.entries(list ?? {})) {
    const q = parseQuantity(value);
    if (q.ok) out.set(key, nanos(q.value));
  }
  return out;
}

/**
 * How many more builds, each asking `perBuild` (its pods' requests and limits as the
 * LimitRange defaults fill them in, `pods`, `count/...`), fit in a quota's hard limits given
 * what is used: the smallest room over the resources both name. Starting no more than this
 * means no build pod is refused by quota and left to Tekton's one-minute retry.
 */
export function buildsThatFit(hard: ResourceList | undefined, used: ResourceList | undefined, perBuild: ResourceList): number {
  const limits = parsed(hard);
  const usage = parsed(used);
  let fit = Number.POSITIVE_INFINITY;
  for (const [resource, need] of parsed(perBuild)) {
    const limit = limits.get(resource);
    if (limit === undefined || need <= 0n) continue;
    const room = limit - (usage.get(resource) ?? 0n);
    fit = Math.min(fit, room <= 0n ? 0 : Number(room / need));
  }
  return fit;
}

/** What the queue reads of a Tekton PipelineRun (tekton.dev/v1); any PipelineRun object fits. */
export interface QueuedRunView {
  metadata: { name: string; namespace?: string; uid?: string; creationTimestamp?: string; deletionTimestamp?: string; annotations?: Record<string, string> };
  spec?: { status?: string };
  status?: { startTime?: string; completionTime?: string; conditions?: { type: string; status: string }[] };
}

const STARTED_PREFIX = 'started ';
const CANCELLED = new Set(['Cancelled', 'CancelledRunFinally', 'StoppedRunFinally']);

/**
 * Where a run stands in the line: held (waits its turn), running (started, by us or anyone,
 * and not finished), finished, or gone (deleted, or cancelled before it ever started).
 */
export type QueueStanding = 'held' | 'running' | 'finished' | 'gone';

export function queueStanding(run: QueuedRunView): QueueStanding {
  const succeeded = run.status?.conditions?.find((c) => c.type === 'Succeeded');
  if (run.status?.completionTime || (succeeded && succeeded.status !== 'Unknown')) return 'finished';
  if (run.metadata.deletionTimestamp) return 'gone';
  const wanted = run.spec?.status;
  if (wanted === PIPELINE_RUN_PENDING) return 'held';
  if (wanted && CANCELLED.has(wanted) && startedAt(run) === undefined) return 'gone';
  return 'running';
}

/** When a run was started (ms since the epoch): by our mark, else by Tekton's startTime. */
export function startedAt(run: QueuedRunView): number | undefined {
  const mark = run.metadata.annotations?.[ANNOTATION_QUEUE];
  for (const time of [mark?.startsWith(STARTED_PREFIX) ? mark.slice(STARTED_PREFIX.length) : undefined, run.status?.startTime]) {
    const ms = time ? Date.parse(time) : NaN;
    if (!Number.isNaN(ms)) return ms;
  }
  return undefined;
}

export const startedMark = (now: number): string => `${STARTED_PREFIX}${new Date(now).toISOString()}`;

/** Used when no policy sets maxRunning and the quota bounds nothing: builds-api's parallel builds. */
export const DEFAULT_MAX_RUNNING = 4;

/**
 * One build pod as the quota sees it: `pods: 1` and one container at the LimitRange's
 * Container defaults (defaultRequest, else default, as the API server fills them in). Tekton
 * runs a build's tasks one pod at a time, and sizes a pod's steps so that it asks no more
 * than its largest step, one container's worth.
 */
export function buildPodRequest(limits: readonly { type?: string; default?: ResourceList; defaultRequest?: ResourceList }[] | undefined): ResourceList {
  const per: ResourceList = { pods: '1' };
  const container = limits?.find((l) => l.type === 'Container');
  for (const [resource, value] of Object.entries({ ...container?.default, ...container?.defaultRequest })) {
    per[`requests.${resource}`] = value;
    per[resource] = value;
  }
  for (const [resource, value] of Object.entries(container?.default ?? {})) per[`limits.${resource}`] = value;
  return per;
}

/** A tool's cap on running builds: its policy's, else as many as its quota holds at all, else the default. */
export function toolMaxRunning(maxRunning: number | undefined, hard: ResourceList | undefined, perBuild: ResourceList): number {
  if (maxRunning !== undefined) return maxRunning;
  const fit = buildsThatFit(hard, {}, perBuild);
  return Number.isFinite(fit) ? Math.max(fit, 1) : DEFAULT_MAX_RUNNING;
}

/**
 * How many more builds fit in a tool's quota. Usage lags a start (the pod comes later), so the
 * room is also bounded by the hard limits less what the running builds will ask: otherwise a
 * burst of starts would outrun the usage and have its pods refused.
 */
export function quotaRoom(hard: ResourceList | undefined, used: ResourceList | undefined, perBuild: ResourceList, running: number): number {
  const byUsage = buildsThatFit(hard, used, perBuild);
  const byRunning = buildsThatFit(hard, {}, perBuild) - running;
  return Math.max(Math.min(byUsage, byRunning), 0);
}

/**
 * How many of a tool's held runs are told their exact place: the ones that start next. Every
 * start moves each run behind it up one place, and each rewrite of a run makes Tekton's one
 * shared controller reconcile it, so a run further back keeps the QUEUE_IN_LINE the hold gave
 * it on create and is written only once per place over the last few: a flood's patches grow
 * with its size, not with its square, and a run deep in a flood costs no write until it nears
 * the front.
 */
export const PLACES_TOLD = 4;

/**
 * The text a held run carries in ANNOTATION_QUEUE: its place, and what the next ones wait for.
 * Past PLACES_TOLD it says neither the exact place nor the reason, which are the runs ahead's.
 */
export function queueMessage(position: LinePosition, clusterRunning: number, clusterMaxRunning: number, maxRunning: number): string {
  if (position.aheadForTool >= PLACES_TOLD) return QUEUE_IN_LINE;
  const ahead = `waiting: ${position.aheadForTool} ahead of it for this tool`;
  switch (position.waitingFor) {
    case 'tool-limit': return `${ahead}; the tool runs ${maxRunning} of ${maxRunning}`;
    case 'quota': return `${ahead}; the tool's build-quota has no room`;
    case 'cluster-limit': return `${ahead}; cluster at ${clusterRunning} of ${clusterMaxRunning}`;
    default: return ahead;
  }
}
