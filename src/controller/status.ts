// What each tool's last reconcile found, summed up per policy for its status. The sums
// are pure; the writer flushes them at most once a second and only where they changed,
// so a fleet of thousands of reconciles costs a handful of status writes, not one each.
import { STATUS_MAX_LISTED, type BuildQuotaPolicyStatus, type Condition, type ToolFailure } from '../api/types.js';

export type ToolState = 'ready' | 'pending' | 'failed' | 'orphaned';

export interface ToolStatus {
  state: ToolState;
  /** Every policy that matches the tool, whether or not it shaped anything. */
  matched: string[];
  reason?: string;
  message?: string;
}


export interface PolicySums {
  matchedTools: number;
  readyTools: number;
  failedTools: number;
  failures: ToolFailure[];
}

export class ToolStatusTracker {
  private readonly tools = new Map<string, ToolStatus>();
  private dirty = true;

  set(tool: string, status: ToolStatus): void {
    const old = this.tools.get(tool);
    if (old && JSON.stringify(old) === JSON.stringify(status)) return;
    this.tools.set(tool, status);
    this.dirty = true;
  }

  /** Something outside the tools changed the statuses (retention turned on or off). */
  touch(): void {
    this.dirty = true;
  }

  delete(tool: string): void {
    if (this.tools.delete(tool)) this.dirty = true;
  }

  get(tool: string): ToolStatus | undefined {
    return this.tools.get(tool);
  }

  /** True once since the last call when anything changed. */
  takeDirty(): boolean {
    const was = this.dirty;
    this.dirty = false;
    return was;
  }

  countByState(): Record<ToolState, number> {
    const counts: Record<ToolState, number> = { ready: 0, pending: 0, failed: 0, orphaned: 0 };
    for (const status of this.tools.values()) counts[status.state]++;
    return counts;
  }

  /** Each policy's counts and first failures, sorted by tool name for a stable status. */
  summarise(policies: string[]): Map<string, PolicySums> {
    const sums = new Map(policies.map((p) => [p, { matchedTools: 0, readyTools: 0, failedTools: 0, failures: [] as ToolFailure[] }]));
    const names = [...this.tools.keys()].sort();
    for (const tool of names) {
      const status = this.tools.get(tool)!;
      for (const policy of status.matched) {
        const sum = sums.get(policy);
        if (!sum) continue;
        sum.matchedTools++;
        if (status.state === 'ready') sum.readyTools++;
        if (status.state === 'failed') {
          sum.failedTools++;
          if (sum.failures.length < STATUS_MAX_LISTED) {
            sum.failures.push({ tool, reason: status.reason ?? 'Failed', message: status.message ?? '' });
          }
        }
      }
    }
    return sums;
  }
}

/** The policy's conditions, keeping each one's transition time while its status holds. */
export function policyConditions(
  sum: PolicySums,
  generation: number | undefined,
  hold: string | undefined,
  retentionOff: string | undefined,
  previous: Condition[] | undefined,
  now: string,
): Condition[] {
  const pending = sum.matchedTools - sum.readyTools - sum.failedTools;
  const ready: Omit<Condition, 'lastTransitionTime'> = sum.failedTools > 0
    ? { type: 'Ready', status: 'False', reason: 'ToolsFailed', message: `${sum.failedTools} of ${sum.matchedTools} tools failed` }
    : pending > 0
      ? { type: 'Ready', status: 'False', reason: 'ToolsPending', message: `${sum.readyTools} of ${sum.matchedTools} tools ready` }
      : { type: 'Ready', status: 'True', reason: 'AllToolsReady', message: `${sum.readyTools} of ${sum.matchedTools} tools ready` };
  const degraded: Omit<Condition, 'lastTransitionTime'> = hold
    ? { type: 'Degraded', status: 'True', reason: 'DeletionsHeld', message: hold }
    : sum.failedTools > 0
      ? { type: 'Degraded', status: 'True', reason: 'ToolsFailed', message: `${sum.failedTools} tools failed; see status.failures` }
      : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'no tool failed' };
  // Without Tekton's CRDs nothing is pruned: worth saying, but no tool has failed.
  const retention: Omit<Condition, 'lastTransitionTime'> = retentionOff
    ? { type: 'RetentionAvailable', status: 'False', reason: 'TektonNotInstalled', message: retentionOff }
    : { type: 'RetentionAvailable', status: 'True', reason: 'TektonInstalled', message: 'finished PipelineRuns are pruned per spec.builds' };
  return [ready, degraded, retention].map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = before && before.status === c.status ? before.lastTransitionTime : now;
    return { ...c, observedGeneration: generation, lastTransitionTime };
  });
}

/** Whether two statuses differ in anything but transition times. */
export function statusChanged(a: BuildQuotaPolicyStatus | undefined, b: BuildQuotaPolicyStatus): boolean {
  if (!a) return true;
  const canonical = (s: BuildQuotaPolicyStatus) => JSON.stringify([
    s.observedGeneration, s.matchedTools, s.readyTools, s.failedTools,
    s.deletionHold ? [s.deletionHold.pendingDeletions, s.deletionHold.message, s.deletionHold.tools] : null,
    (s.failures ?? []).map((f) => [f.tool, f.reason, f.message]),
    (s.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]),
  ]);
  return canonical(a) !== canonical(b);
}
