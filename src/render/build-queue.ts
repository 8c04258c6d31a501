// Whose build starts next: the build queue's decision as a pure function of plain data,
// rebuilt from the cluster on every pass (held PipelineRuns, running ones, quota usage), so
// a restart or a new leader decides exactly as the old one would have. The controller only
// applies what this returns.
import type { ResourceList } from '../api/types.js';
import { parseQuantity, type Quantity } from '../api/quantity.js';

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
