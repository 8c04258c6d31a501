// The policy-status controller: what each tool's last reconcile found, summed up per policy
// for its status. The sums are pure; the controller flushes them at most once an interval
// and only where they changed, so a fleet of thousands of reconciles costs a handful of
// status writes, not one each.
import {
  ANNOTATION_ALLOW_MASS_DELETION, API_VERSION, KIND, STATUS_MAX_LISTED,
  type BuildQuotaPolicy, type BuildQuotaPolicyStatus, type Condition, type ToolFailure,
} from '../api/types.js';
import { errorMessage } from '../kube/client.js';
import { targetOf, type EventRecorder } from '../kube/events.js';
import type { ObjectWriter } from '../kube/writer.js';
import type { Logger } from '../log.js';
import type { OperatorMetrics } from '../metrics/metrics.js';
import type { Informer } from '../runtime/informer.js';
import type { Runnable } from '../runtime/manager.js';
import { massDeletionAllowed } from './build-namespace-reconciler.js';
import type { DeletionGuard } from './deletion-guard.js';
import { sourceKey, type UnavailableSource } from './replication.js';
import type { AdmissionAvailability } from './admission-policies.js';

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

/** Whether the admission objects (build fence, build queue hold, pod fence) are in force. */
export const ADMISSION_CONDITION = 'AdmissionPoliciesInForce';

/** The policy's conditions, keeping each one's transition time while its status holds. */
export function policyConditions(
  sum: PolicySums,
  generation: number | undefined,
  hold: string | undefined,
  retentionOff: string | undefined,
  previous: Condition[] | undefined,
  now: string,
  unavailableSources: readonly UnavailableSource[] = [],
  admission?: AdmissionAvailability,
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
  // A source that cannot be listed is named here, whatever each tool's own failure says.
  const replication: Omit<Condition, 'lastTransitionTime'> = unavailableSources.length
    ? { type: 'ReplicationSourcesAvailable', status: 'False', reason: 'ReplicationSourceUnavailable', message: unavailableMessage(unavailableSources) }
    : { type: 'ReplicationSourcesAvailable', status: 'True', reason: 'SourcesSynced', message: 'every replicated source is watched' };
  // The build fence and the queue's hold, as the API server serves them. Until the admission
  // controller's first pass it is not known: what was said before stands.
  const admitted: Omit<Condition, 'lastTransitionTime'> | undefined = admission
    ? { type: ADMISSION_CONDITION, status: admission.inForce ? 'True' : 'False', reason: admission.reason, message: admission.message }
    : previous?.find((p) => p.type === ADMISSION_CONDITION);
  return [ready, degraded, retention, replication, ...(admitted ? [admitted] : [])].map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = before && before.status === c.status ? before.lastTransitionTime : now;
    return { ...c, observedGeneration: generation, lastTransitionTime };
  });
}

/** One line per source that cannot be read: which kind in which namespace, and the API's answer. */
export function unavailableMessage(sources: readonly UnavailableSource[]): string {
  return sources.map((s) => `${s.ref.apiVersion} ${s.ref.kind} in ${s.ref.namespace}: ${s.message}`).join('; ') +
    '; the tools replicating it keep their existing copies';
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

export interface PolicyStatusDeps {
  policies: Informer<BuildQuotaPolicy>;
  tracker: ToolStatusTracker;
  guard: DeletionGuard;
  writer: ObjectWriter;
  events: EventRecorder;
  metrics: OperatorMetrics;
  log: Logger;
  intervalMs: number;
  /** Whether every tool has been reconciled once: before that the sums are partial. */
  firstPassDone: () => boolean;
  /** Why build retention is off (Tekton not installed), or undefined while it is on. */
  retentionMessage: () => string | undefined;
  /** Whether the admission objects are in force; undefined until the admission controller's first pass. */
  admissionAvailability: () => AdmissionAvailability | undefined;
  /** The sources this policy replicates from that cannot be read now. */
  unavailableSources: (policy: BuildQuotaPolicy) => UnavailableSource[];
  /** How many replication sources have not synced: the gauge. */
  unsyncedSources: () => number;
}

export class PolicyStatusController implements Runnable {
  readonly name = 'policystatus';
  private timer?: NodeJS.Timeout;
  /** "policy|source|cause" already told in an Event: one Event per cause, until it is gone. */
  private readonly toldUnavailable = new Set<string>();

  constructor(private readonly deps: PolicyStatusDeps) {}

  async start(): Promise<void> {
    this.timer ??= setInterval(() => void this.flushStatus(), this.deps.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  /** Writes each policy's status where it changed; coalesced to one pass per interval. */
  async flushStatus(): Promise<void> {
    // Before every tool has been reconciled once, the sums count only some of them.
    this.deps.metrics.replicationSourcesUnsynced.set(this.deps.unsyncedSources());
    if (!this.deps.firstPassDone()) return;
    const holdActive = this.deps.guard.active;
    this.deps.metrics.deletionHoldActive.set(holdActive ? 1 : 0);
    const counts = this.deps.tracker.countByState();
    for (const [state, n] of Object.entries(counts)) this.deps.metrics.tools.set({ state }, n);
    const policies = this.deps.policies.list();
    const sums = this.deps.tracker.summarise(policies.map((p) => p.metadata.name));
    const now = new Date().toISOString();
    const lifted = massDeletionAllowed(policies);
    const hold = holdActive && !lifted ? this.holdMessage() : undefined;
    const told = new Set<string>();
    for (const policy of policies) {
      const sum = sums.get(policy.metadata.name)!;
      const unavailable = this.deps.unavailableSources(policy);
      await this.tellUnavailable(policy, unavailable, told);
      const status: BuildQuotaPolicyStatus = {
        observedGeneration: policy.metadata.generation,
        conditions: policyConditions(sum, policy.metadata.generation, hold, this.deps.retentionMessage(), policy.status?.conditions, now, unavailable,
          this.deps.admissionAvailability()),
        matchedTools: sum.matchedTools,
        readyTools: sum.readyTools,
        failedTools: sum.failedTools,
        failures: sum.failures,
        ...(hold ? {
          deletionHold: {
            since: new Date(this.deps.guard.heldSince ?? Date.now()).toISOString(),
            pendingDeletions: this.deps.guard.heldTools.length,
            tools: this.deps.guard.heldTools.slice(0, STATUS_MAX_LISTED),
            message: hold,
          },
        } : {}),
      };
      if (!statusChanged(policy.status, status)) continue;
      try {
        await this.deps.writer.applyStatus({ apiVersion: API_VERSION, kind: KIND, metadata: { name: policy.metadata.name }, status });
        this.deps.metrics.apiWrites.inc({ verb: 'apply', kind: KIND });
        const ready = status.conditions?.find((c) => c.type === 'Ready');
        const wasReady = policy.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status === 'True' && (wasReady?.status !== 'True' || wasReady.observedGeneration !== ready.observedGeneration)) {
          await this.deps.events.record(targetOf(policy),
            'Normal', 'RolledOut', `generation ${policy.metadata.generation} is in force in all ${sum.readyTools} matched tools`);
        }
      } catch (err) {
        this.deps.log.warn('policy status not written', { policy: policy.metadata.name, error: errorMessage(err) });
      }
    }
  }

  /** A Warning Event on the policy for each source newly unavailable, or unavailable for a new cause. */
  private async tellUnavailable(policy: BuildQuotaPolicy, unavailable: UnavailableSource[], told: Set<string>): Promise<void> {
    for (const source of unavailable) {
      const key = `${policy.metadata.name}|${sourceKey(source.ref)}|${source.cause}`;
      told.add(key);
      if (this.toldUnavailable.has(key)) continue;
      this.toldUnavailable.add(key);
      this.deps.log.warn('replication source unavailable; tools replicating it are not copied to', {
        policy: policy.metadata.name, source: sourceKey(source.ref), cause: source.cause, error: source.message,
      });
      await this.deps.events.record(targetOf(policy), 'Warning', 'ReplicationSourceUnavailable', unavailableMessage([source]), 'Replicate');
    }
    // A cause that went away may come back: then it is told again.
    for (const key of this.toldUnavailable) {
      if (key.startsWith(`${policy.metadata.name}|`) && !told.has(key)) this.toldUnavailable.delete(key);
    }
  }

  private holdMessage(): string {
    const held = this.deps.guard.heldTools;
    return `deletion of ${held.length} build namespace(s) held back (${held.slice(0, 5).join(', ')}${held.length > 5 ? ', …' : ''}); ` +
      `fix the selector or tool namespaces, or annotate a BuildQuotaPolicy with ${ANNOTATION_ALLOW_MASS_DELETION}`;
  }
}
