// The leader elector as client-go's leaderelection_test.go tests it: a fake clock and a fake
// Lease store with the API server's optimistic concurrency, so every rule is shown in
// virtual time: acquire, renew, a standby that counts on its own clock, a leader that loses
// at the renew deadline while its renewal hangs, release on stop, and the health check.
import { LeaderElector, type Lease, type LeaseClient } from '../../src/runtime/leader-election.js';
import { FakeClock, settle } from './fixtures/fake-clock.js';

const LEASE_MS = 15_000;
const DEADLINE_MS = 10_000;
const RETRY_MS = 2_000;
const SLACK_MS = 2_000;

/** One Lease with a resourceVersion, as the API server keeps it: a stale update conflicts. */
class FakeLeaseStore {
  lease?: Lease;
  private version = 0;

  read(): Lease | undefined {
    return this.lease && structuredClone(this.lease);
  }

  write(lease: Lease, create: boolean): Lease | undefined {
    if (create ? this.lease !== undefined : lease.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) return undefined;
    this.lease = structuredClone({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.version) } });
    return this.read();
  }
}

/** One candidate's way to the store; `hang` makes every request wait until it is aborted. */
class FakeLeaseClient implements LeaseClient {
  hang = false;
  readonly calls = { get: 0, create: 0, update: 0 };
  aborted = 0;

  constructor(private readonly store: FakeLeaseStore) {}

  private answer<T>(signal: AbortSignal, value: () => T): Promise<T> {
    if (!this.hang) return Promise.resolve(value());
    return new Promise((_, reject) => signal.addEventListener('abort', () => {
      this.aborted++;
      reject(signal.reason as Error);
    }, { once: true }));
  }

  get(signal: AbortSignal) {
    this.calls.get++;
    return this.answer(signal, () => this.store.read());
  }

  create(lease: Lease, signal: AbortSignal) {
    this.calls.create++;
    return this.answer(signal, () => this.store.write(lease, true));
  }

  update(lease: Lease, signal: AbortSignal) {
    this.calls.update++;
    return this.answer(signal, () => this.store.write(lease, false));
  }
}

interface Candidate {
  elector: LeaderElector;
  client: FakeLeaseClient;
  started: number;
  stopped: string[];
}

function candidate(identity: string, store: FakeLeaseStore, clock: FakeClock): Candidate {
  const client = new FakeLeaseClient(store);
  const c: Candidate = { client, started: 0, stopped: [], elector: undefined as unknown as LeaderElector };
  c.elector = new LeaderElector(client, {
    namespace: 'ops', name: 'bno', identity, clock,
    leaseDurationMs: LEASE_MS, renewDeadlineMs: DEADLINE_MS, retryPeriodMs: RETRY_MS, healthzSlackMs: SLACK_MS,
    // The longest jitter: a standby's tries are 1.2 retry periods apart.
    random: () => 0.999,
    onStartedLeading: () => c.started++,
    onStoppedLeading: (reason) => c.stopped.push(reason),
  });
  return c;
}

/** Lets `ms` of virtual time pass in small steps, so each request's answer is taken in between. */
async function pass(clock: FakeClock, ms: number, step = 100): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(Math.min(step, ms - done));
    await settle(5);
  }
}

describe('LeaderElector', () => {
  let clock: FakeClock;
  let store: FakeLeaseStore;

  beforeEach(() => {
    clock = new FakeClock();
    store = new FakeLeaseStore();
  });

  it('acquires a Lease that does not exist by creating it, and says so once', async () => {
    const a = candidate('a', store, clock);
    a.elector.start();
    await settle();
    expect(a.elector.isLeader).toBe(true);
    expect(a.started).toBe(1);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(a.client.calls.create).toBe(1);
  });

  it('renews every retry period, and stays leader as long as the renewals succeed', async () => {
    const a = candidate('a', store, clock);
    a.elector.start();
    await settle();
    const versions = new Set<string>();
    for (let i = 0; i < 10; i++) {
      await pass(clock, RETRY_MS);
      versions.add(store.lease!.metadata.resourceVersion!);
    }
    expect(a.client.calls.update).toBe(10);
    expect(versions.size).toBe(10);
    expect(a.elector.isLeader).toBe(true);
    expect(a.started).toBe(1);
    expect(a.stopped).toEqual([]);
    expect(a.elector.check()).toBeUndefined();
  });

  it('a standby does not take a Lease that is being renewed, however old its renewTime looks', async () => {
    // The holder's wall clock is far behind: a standby must not compare it with its own.
    const realWrite = store.write.bind(store);
    store.write = (lease, create) => realWrite({ ...lease, spec: { ...lease.spec, renewTime: '2000-01-01T00:00:00.000000Z' } }, create);
    const a = candidate('a', store, clock);
    a.elector.start();
    await settle();
    const b = candidate('b', store, clock);
    b.elector.start();
    await pass(clock, 5 * LEASE_MS);
    expect(b.elector.isLeader).toBe(false);
    expect(b.started).toBe(0);
    expect(b.client.calls.update).toBe(0);
    expect(store.lease?.spec.holderIdentity).toBe('a');
  });

  it('a standby takes the Lease only once it has seen no change for a lease duration on its own clock', async () => {
    const a = candidate('a', store, clock);
    a.elector.start();
    await settle();
    const b = candidate('b', store, clock);
    b.elector.start();
    await pass(clock, 3 * RETRY_MS);
    // The leader is cut off (its requests hang) right after a renewal b has not seen yet.
    a.client.hang = true;
    const cutAt = clock.now();
    // b last saw a change at or before cutAt; it must wait at least a lease duration from its
    // last sight of a change, which is no earlier than one standby retry before cutAt.
    await pass(clock, LEASE_MS - 1.2 * RETRY_MS - 100);
    expect(b.elector.isLeader).toBe(false);
    await pass(clock, 1.2 * RETRY_MS + 2 * 1.2 * RETRY_MS + 200);
    expect(b.elector.isLeader).toBe(true);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    // The old leader gave up at its renew deadline, well before b took over.
    expect(a.stopped).toHaveLength(1);
    expect(clock.now() - cutAt).toBeGreaterThan(DEADLINE_MS);
  });

  it('loses leadership at the renew deadline while a renewal hangs, without waiting for it, and aborts it', async () => {
    const a = candidate('a', store, clock);
    a.elector.start();
    await settle();
    const lastRenewAt = clock.now();
    a.client.hang = true;
    await pass(clock, DEADLINE_MS - 100);
    expect(a.elector.isLeader).toBe(true);
    expect(a.stopped).toEqual([]);
    // One renewal is in flight and hangs: there is no second until it ends.
    expect(a.client.calls.get).toBe(2);
    await pass(clock, 200);
    expect(a.elector.isLeader).toBe(false);
    expect(a.stopped).toEqual([expect.stringContaining('not renewed within the renew deadline')]);
    expect(clock.now() - lastRenewAt).toBeLessThanOrEqual(DEADLINE_MS + 100);
    expect(a.client.aborted).toBe(1);
    // It stopped campaigning: no more requests, even when the store answers again.
    a.client.hang = false;
    const calls = { ...a.client.calls };
    await pass(clock, 5 * LEASE_MS, 500);
    expect(a.client.calls).toEqual(calls);
    expect(a.stopped).toHaveLength(1);
  });

  it('counts the renew deadline from the last renewal that succeeded, not from any attempt', async () => {
    const a = candidate('a', store, clock);
    a.elector.start();
    await settle();
    // Every attempt fails (a conflict each time: someone else keeps writing the Lease object
    // without taking it), so no renewal succeeds after the first.
    const realWrite = store.write.bind(store);
    store.write = (lease, create) => (create ? realWrite(lease, create) : undefined);
    await pass(clock, DEADLINE_MS - 100);
    expect(a.elector.isLeader).toBe(true);
    expect(a.client.calls.update).toBeGreaterThanOrEqual(4);
    await pass(clock, 200);
    expect(a.elector.isLeader).toBe(false);
    expect(a.stopped).toHaveLength(1);
  });

  it('a leader that sees another holder in the Lease stops leading at once', async () => {
    const a = candidate('a', store, clock);
    a.elector.start();
    await settle();
    store.write({ ...store.read()!, spec: { ...store.read()!.spec, holderIdentity: 'intruder' } }, false);
    await pass(clock, RETRY_MS);
    expect(a.elector.isLeader).toBe(false);
    expect(a.stopped).toEqual([expect.stringContaining('held by intruder')]);
  });

  it('of two candidates racing for a free Lease, exactly one wins', async () => {
    const a = candidate('a', store, clock);
    const b = candidate('b', store, clock);
    a.elector.start();
    b.elector.start();
    await pass(clock, 3 * RETRY_MS);
    expect([a.elector.isLeader, b.elector.isLeader].filter(Boolean)).toHaveLength(1);
    expect(a.started + b.started).toBe(1);
  });

  it('on release, empties the Lease so that a standby takes it at its next try', async () => {
    const a = candidate('a', store, clock);
    a.elector.start();
    await settle();
    const b = candidate('b', store, clock);
    b.elector.start();
    await pass(clock, 2 * RETRY_MS);
    await a.elector.release();
    expect(store.lease?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(a.stopped).toEqual([]);
    await pass(clock, 1.2 * RETRY_MS + 100);
    expect(b.elector.isLeader).toBe(true);
    expect(store.lease?.spec.holderIdentity).toBe('b');
    // A released elector writes nothing more.
    const calls = { ...a.client.calls };
    await pass(clock, 3 * RETRY_MS);
    expect(a.client.calls).toEqual(calls);
  });

  it('release by a standby writes nothing', async () => {
    const a = candidate('a', store, clock);
    a.elector.start();
    await settle();
    const b = candidate('b', store, clock);
    b.elector.start();
    await settle();
    const before = store.lease!.metadata.resourceVersion;
    const updates = b.client.calls.update;
    await b.elector.release();
    expect(b.client.calls.update).toBe(updates);
    expect(store.lease!.metadata.resourceVersion).toBe(before);
  });

  describe('health check', () => {
    it('is healthy while leading and renewing, and while standing by', async () => {
      const a = candidate('a', store, clock);
      const b = candidate('b', store, clock);
      a.elector.start();
      await settle();
      b.elector.start();
      await pass(clock, 4 * LEASE_MS, 500);
      expect(a.elector.check()).toBeUndefined();
      expect(b.elector.check()).toBeUndefined();
    });

    it('fails once leadership was lost, naming why', async () => {
      const a = candidate('a', store, clock);
      a.elector.start();
      await settle();
      a.client.hang = true;
      await pass(clock, DEADLINE_MS + 100);
      expect(a.elector.check()).toMatch(/^leader election lost: the Lease was not renewed within the renew deadline/);
    });

    it('fails when a leader has not renewed for the deadline and the slack, though its timers did not run', async () => {
      const a = candidate('a', store, clock);
      a.elector.start();
      await settle();
      // The event loop is stuck: time passes, no timer fires, the elector believes it leads.
      clock.skip(DEADLINE_MS + SLACK_MS - 100);
      expect(a.elector.isLeader).toBe(true);
      expect(a.elector.check()).toBeUndefined();
      clock.skip(200);
      expect(a.elector.check()).toMatch(/leading, but the Lease was last renewed \d+ ms ago \(renew deadline 10000 ms\)/);
    });
  });

  it('requests time out at half the renew deadline, at least 1 s, as client-go sets them', () => {
    expect(LeaderElector.requestTimeoutMs(10_000)).toBe(5_000);
    expect(LeaderElector.requestTimeoutMs(1_500)).toBe(1_000);
    expect(LeaderElector.requestTimeoutMs()).toBe(5_000);
  });
});
