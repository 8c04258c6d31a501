// The informer's retry rules with a fake transport and a fake clock, where no API server
// can be made to misbehave on cue: repeated 410s back off instead of relisting at once, a
// watch that ends at once (even cleanly) backs off too, and only a watch that ran a while
// resets the backoff. (Stop during a relist is proven against the real API server.)
import { ApiError, type Query } from '../../src/kube/client.js';
import { Informer, type InformerClient } from '../../src/runtime/informer.js';
import type { KubeObject } from '../../src/api/meta.js';
import { CONFIG_MAPS } from '../../src/kube/resources.js';
import { FakeClock, settle } from './fixtures/fake-clock.js';

type WatchBehaviour = (signal: AbortSignal) => Promise<void>;

/** Lists answer at once with nothing; each watch does what the test says. */
class FakeTransport implements InformerClient {
  watchBehaviour: WatchBehaviour = () => Promise.resolve();

  request<T>(): Promise<T> {
    return Promise.resolve({ metadata: { resourceVersion: '7' }, items: [] } as T);
  }

  watch(_path: string, _query: Query, _onEvent: (event: { type: string; object: unknown }) => void, signal: AbortSignal): Promise<void> {
    return this.watchBehaviour(signal);
  }
}

const gone = () => Promise.reject(new ApiError(410, 'too old resource version: 7 (9)'));

function setup(stableWatchMs = 10_000) {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const informer = new Informer<KubeObject>(transport, CONFIG_MAPS, { clock, stableWatchMs, quietTimeoutMs: 24 * 3600_000 });
  return { clock, transport, informer };
}

/** Lets virtual time pass in small steps, with the informer's promises run between them. */
async function pass(clock: FakeClock, ms: number, step = 50): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(Math.min(step, ms - done));
    await settle(5);
  }
}

describe('Informer retries', () => {
  it('relists at once after one 410, but backs off when 410s repeat', async () => {
    const { clock, transport, informer } = setup();
    transport.watchBehaviour = gone;
    const running = informer.run();
    await settle(50);
    // The first list, one relist at once after the first 410, then it waits.
    expect(informer.counts.lists).toBe(2);
    await settle(200);
    expect(informer.counts.lists).toBe(2);
    // Backoff from 200 ms doubling (with jitter between half and all of it): over 10 s of
    // 410s a handful of relists, not one per turn of the event loop.
    await pass(clock, 10_000);
    expect(informer.counts.lists).toBeGreaterThanOrEqual(5);
    expect(informer.counts.lists).toBeLessThanOrEqual(12);
    informer.stop();
    await running;
  });

  it('backs off after watches that end at once, even cleanly', async () => {
    const { clock, transport, informer } = setup();
    transport.watchBehaviour = () => Promise.resolve();
    const running = informer.run();
    await settle(200);
    expect(informer.counts.watches).toBe(1);
    await pass(clock, 10_000);
    expect(informer.counts.watches).toBeGreaterThanOrEqual(4);
    expect(informer.counts.watches).toBeLessThanOrEqual(11);
    // The list is not repeated for a watch that ended cleanly: its resourceVersion is good.
    expect(informer.counts.lists).toBe(1);
    informer.stop();
    await running;
  });

  it('resets the backoff only after a watch that ran a while', async () => {
    const { clock, transport, informer } = setup(10_000);
    transport.watchBehaviour = () => Promise.resolve();
    const running = informer.run();
    // Short watches drive the backoff up to several seconds.
    await pass(clock, 30_000, 100);
    const beforeLong = informer.counts.watches;
    // One watch runs 15 s, then the server ends it cleanly; short ones follow.
    let release!: () => void;
    transport.watchBehaviour = () => new Promise<void>((resolve) => (release = resolve));
    await pass(clock, 30_000, 100);
    expect(informer.counts.watches).toBe(beforeLong + 1);
    await pass(clock, 15_000, 100);
    transport.watchBehaviour = () => Promise.resolve();
    release();
    await settle(20);
    // The next watch starts at once, and the one after within the first backoff step.
    expect(informer.counts.watches).toBe(beforeLong + 2);
    await pass(clock, 200);
    expect(informer.counts.watches).toBe(beforeLong + 3);
    informer.stop();
    await running;
  });

  it('a short watch after short watches waits longer each time', async () => {
    const { clock, transport, informer } = setup();
    transport.watchBehaviour = () => Promise.resolve();
    const running = informer.run();
    const startedAt: number[] = [];
    let seen = 0;
    for (let t = 0; t < 40_000 && startedAt.length < 6; t += 10) {
      await pass(clock, 10, 10);
      if (informer.counts.watches > seen) {
        seen = informer.counts.watches;
        startedAt.push(clock.now());
      }
    }
    const gaps = startedAt.slice(1).map((t, i) => t - startedAt[i]!);
    // With jitter each gap lies in [base/2, base], the base doubling from 400 ms.
    gaps.slice(1).forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(400 * 2 ** i / 2 - 20));
    informer.stop();
    await running;
  });
});
