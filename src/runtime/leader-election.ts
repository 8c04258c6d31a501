// Leader election on a coordination.k8s.io/v1 Lease, with client-go's defaults and
// rules: a candidate takes the lease only when its holder has not renewed it for a whole
// lease duration as observed on the candidate's own clock (clocks of different machines
// are never compared); the leader renews every retry period and gives up leadership when
// it could not renew within the renew deadline; on shutdown it releases the lease so a
// standby takes over at once.
import { isConflict, isNotFound, type KubeClient } from '../kube/client.js';
import { collectionPath, LEASES, objectPath } from '../kube/resources.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  /** Leadership was lost without being released; the process should stop working at once. */
  onStoppedLeading: () => void;
  log?: (message: string) => void;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observedRecord = '';
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private lastRenew = 0;

  constructor(private readonly client: KubeClient, private readonly options: LeaderElectionOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    // Jitter on the candidate's retries, as client-go does, so standbys do not collide.
    const wait = this.leading ? this.retryPeriodMs : this.retryPeriodMs * (1 + Math.random() * 0.2);
    this.timer = setTimeout(() => void this.tick(), wait);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.options.log?.(`lease ${this.options.namespace}/${this.options.name}: ${String(err)}`);
    }
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.options.onStartedLeading();
      }
    } else if (this.leading && now - this.lastRenew > this.renewDeadlineMs) {
      this.leading = false;
      this.stopped = true;
      this.options.onStoppedLeading();
      return;
    }
    this.schedule();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = Date.now();
    const path = objectPath(LEASES, name, namespace);
    let lease: Lease;
    try {
      lease = await this.client.request<Lease>('GET', path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const fresh: Lease = {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: this.leaseDurationMs / 1000,
          acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      try {
        await this.client.request('POST', collectionPath(LEASES, namespace), { body: fresh });
      } catch (createErr) {
        if (isConflict(createErr)) return false;
        throw createErr;
      }
      this.observe(fresh, now);
      return true;
    }

    const record = JSON.stringify(lease.spec);
    if (record !== this.observedRecord) this.observe(lease, now);
    const holder = lease.spec.holderIdentity ?? '';
    const durationMs = (lease.spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    if (holder && holder !== identity && this.observedAt + durationMs > now) return false;

    const spec = { ...lease.spec, holderIdentity: identity, leaseDurationSeconds: this.leaseDurationMs / 1000, renewTime: microTime(now) };
    if (holder !== identity) {
      spec.acquireTime = microTime(now);
      spec.leaseTransitions = (lease.spec.leaseTransitions ?? 0) + 1;
    }
    try {
      const updated = await this.client.request<Lease>('PUT', path, { body: { ...lease, spec } });
      this.observe(updated, now);
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  private observe(lease: Lease, now: number): void {
    this.observedRecord = JSON.stringify(lease.spec);
    this.observedAt = now;
  }

  /** Stops campaigning and, when leading, hands the lease back so a standby takes over now. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    const path = objectPath(LEASES, this.options.name, this.options.namespace);
    try {
      const lease = await this.client.request<Lease>('GET', path);
      if (lease.spec.holderIdentity !== this.options.identity) return;
      await this.client.request('PUT', path, {
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(Date.now()) } },
      });
    } catch (err) {
      this.options.log?.(`releasing lease: ${String(err)}`);
    }
  }
}
