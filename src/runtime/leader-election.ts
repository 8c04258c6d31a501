// Leader election on a coordination.k8s.io/v1 Lease, with client-go's defaults and
// rules: a candidate takes the lease only when its holder has not renewed it for a whole
// lease duration as observed on the candidate's own clock (clocks of different machines
// are never compared); the leader renews every retry period and gives up leadership when
// it could not renew within the renew deadline. That deadline is a timer of its own: a
// renew that hangs does not hold it back, it is aborted when the deadline passes. All
// durations are on the monotonic clock. On shutdown the leader releases the lease so a
// standby takes over at once.
import { isConflict, isNotFound, type KubeClient } from '../kube/client.js';
import { collectionPath, LEASES, objectPath } from '../kube/resources.js';
import { systemClock, type Clock, type Timer } from './clock.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /**
   * How long past the renew deadline the health check tolerates a leader that has not
   * renewed (client-go's HealthzAdaptor timeout): the deadline timer should have ended
   * leadership by then, so a failing check means the process is stuck.
   */
  healthzSlackMs?: number;
  onStartedLeading: () => void;
  /** Leadership was lost without being released; the process must stop writing at once. */
  onStoppedLeading: (reason: string) => void;
  log?: (message: string) => void;
  clock?: Clock;
  /** In [0, 1); jitters a candidate's retries so that standbys do not collide. */
  random?: () => number;
}

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

/** The elector's only way to the Lease (client-go's resourcelock), so tests can fake it. */
export interface LeaseClient {
  /** The Lease, or undefined when there is none. */
  get(signal: AbortSignal): Promise<Lease | undefined>;
  /** The created Lease, or undefined when another candidate created it first. */
  create(lease: Lease, signal: AbortSignal): Promise<Lease | undefined>;
  /** The updated Lease, or undefined when it changed since it was read. */
  update(lease: Lease, signal: AbortSignal): Promise<Lease | undefined>;
}

/** The Lease namespace/name through a client; conflicts are answers, not errors. */
export function leaseClient(client: KubeClient, namespace: string, name: string): LeaseClient {
  const path = objectPath(LEASES, name, namespace);
  const orConflict = (err: unknown): undefined => {
    if (isConflict(err)) return undefined;
    throw err;
  };
  return {
    get: (signal) => client.request<Lease>('GET', path, { signal }).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    }),
    create: (lease, signal) => client.request<Lease>('POST', collectionPath(LEASES, namespace), { body: lease, signal }).catch(orConflict),
    update: (lease, signal) => client.request<Lease>('PUT', path, { body: lease, signal }).catch(orConflict),
  };
}

// The Lease's times are wall-clock MicroTime for people and other tools to read; no
// decision here is taken from them.
const microTime = () => new Date().toISOString().replace('Z', '000Z');

/**
 * What a candidate watches for change. The resourceVersion too: two renewals may write the
 * same renewTime (a coarse or stuck wall clock), yet each is a sign of life.
 */
const recordOf = (lease: Lease) => `${lease.metadata.resourceVersion ?? ''} ${JSON.stringify(lease.spec)}`;

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly healthzSlackMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private observedRecord = '';
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private lost?: string;
  private retryTimer?: Timer;
  private deadlineTimer?: Timer;
  private inflight?: AbortController;
  private lastRenewAt = 0;

  constructor(private readonly lease: LeaseClient, private readonly options: LeaderElectionOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.healthzSlackMs = options.healthzSlackMs ?? 2_000;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The Lease renewal's own request deadline, as client-go sets it: half the renew deadline, at least 1 s. */
  static requestTimeoutMs(renewDeadlineMs = 10_000): number {
    return Math.max(1000, renewDeadlineMs / 2);
  }

  start(): void {
    void this.tick();
  }

  /**
   * Undefined while healthy (client-go's Check); otherwise why not: leadership was lost, or
   * this process believes it leads but has not renewed for longer than the renew deadline
   * and the slack, so its deadline timer did not end leadership as it should have.
   */
  check(): string | undefined {
    if (this.lost) return `leader election lost: ${this.lost}`;
    if (!this.leading) return undefined;
    const sinceRenew = this.clock.now() - this.lastRenewAt;
    if (sinceRenew > this.renewDeadlineMs + this.healthzSlackMs) {
      return `leader election: leading, but the Lease was last renewed ${Math.round(sinceRenew)} ms ago (renew deadline ${this.renewDeadlineMs} ms)`;
    }
    return undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    const wait = this.leading ? this.retryPeriodMs : this.retryPeriodMs * (1 + this.random() * 0.2);
    this.retryTimer = this.clock.setTimeout(() => void this.tick(), wait);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const startedAt = this.clock.now();
    const inflight = new AbortController();
    this.inflight = inflight;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew(startedAt, inflight.signal);
    } catch (err) {
      if (!inflight.signal.aborted) this.options.log?.(`lease ${this.options.namespace}/${this.options.name}: ${String(err)}`);
    }
    if (this.inflight === inflight) this.inflight = undefined;
    // Lost (the deadline passed while the request hung) or released meanwhile.
    if (this.stopped) return;
    if (ok) {
      // Counted from when the renewal was sent, not when it came back: the standby counts
      // from when it saw the renewal, which is later still.
      this.lastRenewAt = startedAt;
      this.armDeadline();
      if (!this.leading) {
        this.leading = true;
        this.options.onStartedLeading();
      }
    }
    this.schedule();
  }

  private armDeadline(): void {
    this.deadlineTimer?.cancel();
    const remaining = this.lastRenewAt + this.renewDeadlineMs - this.clock.now();
    this.deadlineTimer = this.clock.setTimeout(
      () => this.lose(`the Lease was not renewed within the renew deadline of ${this.renewDeadlineMs} ms`), remaining);
  }

  private lose(reason: string): void {
    if (!this.leading || this.stopped) return;
    this.leading = false;
    this.stopped = true;
    this.lost = reason;
    this.retryTimer?.cancel();
    this.deadlineTimer?.cancel();
    this.inflight?.abort(new Error(reason));
    this.options.log?.(`lease ${this.options.namespace}/${this.options.name}: ${reason}`);
    this.options.onStoppedLeading(reason);
  }

  private async tryAcquireOrRenew(now: number, signal: AbortSignal): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    const lease = await this.lease.get(signal);
    if (!lease) {
      const fresh: Lease = {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(), renewTime: microTime(), leaseTransitions: 0 },
      };
      const created = await this.lease.create(fresh, signal);
      if (!created) return false;
      this.observe(created, now);
      return true;
    }

    if (recordOf(lease) !== this.observedRecord) this.observe(lease, now);
    const holder = lease.spec.holderIdentity ?? '';
    const durationMs = (lease.spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (holder && holder !== identity) {
      // Someone else renewed after us: we are no longer the leader, whatever our deadline says.
      if (this.leading) {
        this.lose(`the Lease is held by ${holder}`);
        return false;
      }
      if (this.observedAt + durationMs > now) return false;
    }

    const spec: LeaseSpec = { ...lease.spec, holderIdentity: identity, leaseDurationSeconds: durationSeconds, renewTime: microTime() };
    if (holder !== identity) {
      spec.acquireTime = microTime();
      spec.leaseTransitions = (lease.spec.leaseTransitions ?? 0) + 1;
    }
    const updated = await this.lease.update({ ...lease, spec }, signal);
    if (!updated) return false;
    this.observe(updated, now);
    return true;
  }

  private observe(lease: Lease, now: number): void {
    this.observedRecord = recordOf(lease);
    this.observedAt = now;
  }

  /** Stops campaigning and, when leading, hands the lease back so a standby takes over now. */
  async release(): Promise<void> {
    const wasLeading = this.leading;
    this.stopped = true;
    this.leading = false;
    this.retryTimer?.cancel();
    this.deadlineTimer?.cancel();
    this.inflight?.abort(new Error('released'));
    if (!wasLeading) return;
    const signal = new AbortController().signal;
    try {
      const lease = await this.lease.get(signal);
      if (lease?.spec.holderIdentity !== this.options.identity) return;
      await this.lease.update({
        ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() },
      }, signal);
    } catch (err) {
      this.options.log?.(`releasing lease: ${String(err)}`);
    }
  }
}
