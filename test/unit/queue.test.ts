// The work queue's contract, one behaviour per test: client-go's fair, stingy, rate-limited
// semantics, the worker loop's mapping of reconcile results, shutdown and metrics hooks.
import assert from 'node:assert/strict';
import { systemClock } from '../../src/runtime/clock.js';
import { runWorkers, type Result } from '../../src/runtime/workers.js';
import { type QueueMetrics } from '../../src/runtime/workqueue/metrics.js';
import { defaultControllerRateLimiter, ExponentialFailureRateLimiter } from '../../src/runtime/workqueue/rate-limiters.js';
import { RateLimitingQueue } from '../../src/runtime/workqueue/rate-limiting-queue.js';
import { FakeClock, settle } from './fixtures/fake-clock.js';

async function eventually(condition: () => boolean, message: () => string, rounds = 10_000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (condition()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  assert.fail(message());
}

/** Whether a promise has settled yet, without waiting for it. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  await settle(2);
  return (await Promise.race([promise, Promise.resolve(marker)])) !== marker;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('RateLimitingQueue', () => {
  it('marks a key added while it is processed dirty, and hands it out again only after done', async () => {
    const queue = new RateLimitingQueue({ clock: new FakeClock() });
    queue.add('tool-a');
    assert.equal(await queue.get(), 'tool-a', 'first get returns the added key');

    queue.add('tool-a');
    assert.equal(queue.len(), 0, 'a key re-added while held must not be pending while held');
    const second = queue.get();
    assert.equal(await isSettled(second), false, 'a second worker must not get a key that is being processed');

    queue.done('tool-a');
    assert.equal(await second, 'tool-a', 'the dirty key is handed out again once the first worker called done');
    queue.done('tool-a');
    assert.equal(queue.len(), 0, 'after the second done nothing is left pending');
  });

  it('processes a key added many times before it is processed only once', async () => {
    const queue = new RateLimitingQueue({ clock: new FakeClock() });
    for (let i = 0; i < 10; i++) queue.add('tool-a');
    assert.equal(queue.len(), 1, `10 adds of one key should leave 1 pending key, saw ${queue.len()}`);

    const seen: string[] = [];
    const workers = runWorkers(queue, 4, async (key) => {
      seen.push(key);
      return {};
    });
    await eventually(() => seen.length > 0, () => 'the key was never processed');
    await settle();
    queue.shutDown();
    await workers;
    assert.deepEqual(seen, ['tool-a'], `expected one reconcile of tool-a, saw ${JSON.stringify(seen)}`);
  });

  it('hands keys out in the order they were first added (FIFO)', async () => {
    const queue = new RateLimitingQueue({ clock: new FakeClock() });
    for (const key of ['c', 'a', 'b', 'a', 'c', 'd']) queue.add(key);
    const order: Array<string | undefined> = [];
    for (let i = 0; i < 4; i++) order.push(await queue.get());
    assert.deepEqual(order, ['c', 'a', 'b', 'd'], `expected FIFO order of first adds, got ${JSON.stringify(order)}`);
  });

  it('never lets two of many workers process one key at once, and processes every key after its last add', async () => {
    const queue = new RateLimitingQueue({ clock: new FakeClock() });
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const active = new Map<string, number>();
    const maxActivePerKey = new Map<string, number>();
    const lastAddedAt = new Map<string, number>();
    const lastStartedAt = new Map<string, number>();
    let step = 0;
    let running = 0;
    let maxRunning = 0;

    const workers = runWorkers(queue, 16, async (key) => {
      lastStartedAt.set(key, step++);
      active.set(key, (active.get(key) ?? 0) + 1);
      maxActivePerKey.set(key, Math.max(maxActivePerKey.get(key) ?? 0, active.get(key) ?? 0));
      maxRunning = Math.max(maxRunning, ++running);
      await settle(1 + (key.charCodeAt(0) % 3));
      active.set(key, (active.get(key) ?? 0) - 1);
      running--;
      return {};
    });

    for (let i = 0; i < 500; i++) {
      const key = keys[(i * 7) % keys.length] ?? 'a';
      lastAddedAt.set(key, step++);
      queue.add(key);
      if (i % 10 === 0) await settle(1);
    }
    await eventually(
      () => running === 0 && queue.len() === 0 && keys.every((k) => (lastStartedAt.get(k) ?? -1) > (lastAddedAt.get(k) ?? 0)),
      () => `not every key was processed after its last add: ${JSON.stringify([...lastStartedAt])}`,
    );
    queue.shutDown();
    await workers;

    for (const key of keys) {
      assert.equal(maxActivePerKey.get(key), 1, `key ${key} was processed by ${maxActivePerKey.get(key)} workers at once`);
    }
    assert.ok(maxRunning > 1, `distinct keys should be processed concurrently, max concurrency was ${maxRunning}`);
  });
});

describe('rate limiting', () => {
  it('backs a failing key off exponentially from 5 ms up to the cap, and forget resets it', () => {
    const limiter = new ExponentialFailureRateLimiter(5, 1000);
    const delays = Array.from({ length: 10 }, () => limiter.when('tool-a'));
    assert.deepEqual(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000], `backoff sequence was ${delays}`);
    assert.equal(limiter.numRequeues('tool-a'), 10, 'each failure counts as a requeue');
    assert.equal(limiter.when('tool-b'), 5, 'backoff is per key: another key starts at 5 ms');

    limiter.forget('tool-a');
    assert.equal(limiter.numRequeues('tool-a'), 0, 'forget resets the requeue count');
    assert.equal(limiter.when('tool-a'), 5, 'after forget the backoff starts again at 5 ms');
  });

  it('caps the per-key backoff at 1000 s by default, like client-go', () => {
    const limiter = new ExponentialFailureRateLimiter();
    let last = 0;
    for (let i = 0; i < 40; i++) last = limiter.when('tool-a');
    assert.equal(last, 1_000_000, `after 40 failures the delay should be the 1000 s cap, was ${last} ms`);
  });

  it('applies the backoff to addRateLimited through the queue', async () => {
    const clock = new FakeClock();
    const queue = new RateLimitingQueue({ clock });
    for (const expected of [5, 10, 20]) {
      queue.addRateLimited('tool-a');
      clock.advance(expected - 1);
      assert.equal(queue.len(), 0, `retry ${queue.numRequeues('tool-a')} must wait the full ${expected} ms`);
      clock.advance(1);
      assert.equal(queue.len(), 1, `retry ${queue.numRequeues('tool-a')} should be pending after ${expected} ms`);
      queue.done((await queue.get()) ?? '');
    }
    assert.equal(queue.numRequeues('tool-a'), 3, 'three rate-limited adds are three requeues');
    queue.forget('tool-a');
    assert.equal(queue.numRequeues('tool-a'), 0, 'forget resets the key through the queue');
  });

  it('spreads a storm of failures across many keys at the token bucket rate (10 qps, burst 100)', () => {
    const clock = new FakeClock();
    const queue = new RateLimitingQueue({ clock, rateLimiter: defaultControllerRateLimiter({ clock }) });
    for (let i = 0; i < 150; i++) queue.addRateLimited(`tool-${i}`);

    clock.advance(5);
    assert.equal(queue.len(), 100, `the burst of 100 should pass after the 5 ms backoff, ${queue.len()} did`);
    clock.advance(995);
    assert.equal(queue.len(), 110, `one second later 10 more should pass (10 qps), saw ${queue.len() - 100}`);
    clock.advance(4000);
    assert.equal(queue.len(), 150, `after 5 s all 150 should be pending, saw ${queue.len()}`);
  });
});

describe('addAfter', () => {
  it('adds the key only once the delay has passed on the clock', () => {
    const clock = new FakeClock();
    const queue = new RateLimitingQueue({ clock });
    queue.addAfter('tool-a', 100);
    clock.advance(99);
    assert.equal(queue.len(), 0, 'the key must not be pending before its delay ends');
    clock.advance(1);
    assert.equal(queue.len(), 1, 'the key should be pending when its delay ends');
  });

  it('keeps the earlier of two pending delays for one key', async () => {
    const clock = new FakeClock();
    const queue = new RateLimitingQueue({ clock });
    queue.addAfter('sooner', 100);
    queue.addAfter('sooner', 50);
    queue.addAfter('later', 50);
    queue.addAfter('later', 100);

    clock.advance(50);
    assert.equal(queue.len(), 2, `both keys should be pending at 50 ms, saw ${queue.len()}`);
    for (let i = 0; i < 2; i++) queue.done((await queue.get()) ?? '');
    clock.advance(100);
    assert.equal(queue.len(), 0, 'the later delay was superseded and must not add the key again');
    assert.equal(clock.pendingTimers(), 0, 'no delay timer is left behind');
  });

  it('adds at once when the delay is not positive', () => {
    const queue = new RateLimitingQueue({ clock: new FakeClock() });
    queue.addAfter('tool-a', 0);
    assert.equal(queue.len(), 1, 'a zero delay is an immediate add');
  });
});

describe('runWorkers', () => {
  it('forgets the backoff and re-adds after requeueAfter when reconcile asks for it', async () => {
    const clock = new FakeClock();
    const queue = new RateLimitingQueue({ clock });
    const results: Result[] = [{ requeueAfter: 1000 }, {}];
    let calls = 0;
    queue.addRateLimited('tool-a');
    clock.advance(5);
    const workers = runWorkers(queue, 2, async () => results[calls++] ?? {});

    await eventually(() => calls === 1, () => `expected one reconcile, saw ${calls}`);
    await settle();
    assert.equal(queue.numRequeues('tool-a'), 0, 'a requeueAfter result forgets the key backoff');
    clock.advance(999);
    await settle();
    assert.equal(calls, 1, 'the key must not be reconciled again before requeueAfter');
    clock.advance(1);
    await eventually(() => calls === 2, () => `expected a second reconcile after 1000 ms, saw ${calls}`);
    queue.shutDown();
    await workers;
  });

  it('retries a throwing reconcile with backoff and forgets it on success', async () => {
    const clock = new FakeClock();
    const queue = new RateLimitingQueue({ clock });
    const errors: string[] = [];
    let calls = 0;
    const workers = runWorkers(
      queue,
      1,
      async () => {
        if (++calls <= 3) throw new Error(`failure ${calls}`);
        return {};
      },
      { onError: (key, error) => errors.push(`${key}: ${(error as Error).message}`) },
    );
    queue.add('tool-a');
    for (const [attempt, delay] of [[1, 5], [2, 10], [3, 20]] as const) {
      await eventually(() => calls === attempt, () => `expected attempt ${attempt}, saw ${calls}`);
      await settle();
      assert.equal(queue.numRequeues('tool-a'), attempt, `after ${attempt} failures the key has ${attempt} requeues`);
      clock.advance(delay - 1);
      await settle();
      assert.equal(calls, attempt, `attempt ${attempt + 1} must wait the full ${delay} ms backoff`);
      clock.advance(1);
    }
    await eventually(() => calls === 4, () => `expected the 4th attempt, saw ${calls}`);
    await settle();
    assert.equal(queue.numRequeues('tool-a'), 0, 'success forgets the backoff');
    assert.deepEqual(errors, ['tool-a: failure 1', 'tool-a: failure 2', 'tool-a: failure 3'], 'every failure is reported');
    queue.shutDown();
    await workers;
  });

  it('refuses a worker count that is not a positive integer', async () => {
    await assert.rejects(runWorkers(new RateLimitingQueue(), 0, async () => ({})), RangeError, 'zero workers is a bug');
  });
});

describe('shutdown', () => {
  it('shutDownWithDrain waits for in-flight work, drops pending keys, then get() yields undefined', async () => {
    const clock = new FakeClock();
    const queue = new RateLimitingQueue({ clock });
    const gates = new Map([['a', deferred()], ['b', deferred()]]);
    const started: string[] = [];
    const finished: string[] = [];
    const workers = runWorkers(queue, 2, async (key) => {
      started.push(key);
      await gates.get(key)?.promise;
      finished.push(key);
      return {};
    });
    queue.add('a');
    queue.add('b');
    queue.add('c');
    queue.addAfter('later', 60_000);
    await eventually(() => started.length === 2, () => `both workers should be busy, started ${started}`);

    const drained = queue.shutDownWithDrain();
    queue.add('d');
    assert.equal(queue.len(), 0, 'adds after shutdown are ignored and pending keys dropped');
    assert.equal(clock.pendingTimers(), 1, 'only the metrics ticker of held keys remains; delayed adds are cancelled');
    assert.equal(await isSettled(drained), false, 'drain must wait while work is in flight');

    gates.get('a')?.resolve();
    await settle();
    assert.equal(await isSettled(drained), false, 'drain must wait for the last in-flight key');
    gates.get('b')?.resolve();
    await drained;
    await workers;

    assert.deepEqual(finished.sort(), ['a', 'b'], `in-flight keys finish, saw ${finished}`);
    assert.deepEqual(started.sort(), ['a', 'b'], `no key is started after shutdown, saw ${started}`);
    assert.equal(await queue.get(), undefined, 'get() after a drained shutdown yields undefined');
    assert.equal(clock.pendingTimers(), 0, 'no timer is left to keep the process alive');
  });

  it('releases workers waiting in get() when the queue is shut down', async () => {
    const queue = new RateLimitingQueue({ clock: new FakeClock() });
    const waiting = queue.get();
    queue.shutDown();
    assert.equal(await waiting, undefined, 'a waiting get() resolves undefined on shutdown');
    await queue.shutDownWithDrain();
  });
});

describe('queue metrics hooks', () => {
  function recorder(): { metrics: QueueMetrics; events: Record<string, number[]> } {
    const events: Record<string, number[]> = {};
    const record = (name: string) => (value = 1) => void (events[name] ??= []).push(value);
    return {
      events,
      metrics: {
        depth: record('depth'),
        added: record('added'),
        queueDuration: record('queueDuration'),
        workDuration: record('workDuration'),
        unfinishedWork: record('unfinishedWork'),
        longestRunningProcessor: record('longestRunningProcessor'),
        retried: record('retried'),
      },
    };
  }

  it('reports depth going up on add and down on get, and counts adds once per pending key', async () => {
    const { metrics, events } = recorder();
    const queue = new RateLimitingQueue({ clock: new FakeClock(), metrics });
    queue.add('a');
    queue.add('b');
    queue.add('a');
    await queue.get();
    await queue.get();
    assert.deepEqual(events.depth, [1, 2, 1, 0], `depth sequence was ${events.depth}`);
    assert.equal(events.added?.length, 2, 'a duplicate add is not counted');
  });

  it('reports time in queue, work duration, unfinished work and retries', async () => {
    const clock = new FakeClock();
    const { metrics, events } = recorder();
    const queue = new RateLimitingQueue({ clock, metrics, metricsUpdatePeriodMs: 500 });
    queue.add('a');
    clock.advance(2000);
    const key = (await queue.get()) ?? '';
    assert.deepEqual(events.queueDuration, [2], 'the key waited 2 s in the queue');

    clock.advance(500);
    assert.deepEqual(events.unfinishedWork, [0.5], 'half a second of unfinished work is reported while held');
    assert.deepEqual(events.longestRunningProcessor, [0.5], 'the longest running processor has run 0.5 s');
    clock.advance(500);
    queue.done(key);
    assert.deepEqual(events.workDuration, [1], 'the work took 1 s');
    assert.deepEqual(events.unfinishedWork, [0.5, 1, 0], 'unfinished work drops to 0 when nothing is held');
    assert.equal(clock.pendingTimers(), 0, 'the ticker stops when nothing is held');

    queue.addRateLimited('a');
    queue.addRateLimited('a');
    assert.equal(events.retried?.length, 2, 'each rate-limited add is a retry');
  });
});

describe('systemClock', () => {
  const refTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  it('fires timers and honours cancel', async () => {
    const fired: string[] = [];
    systemClock.setTimeout(() => fired.push('kept'), 1);
    systemClock.setTimeout(() => fired.push('cancelled'), 1).cancel();
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(fired, ['kept'], `only the uncancelled timer fires, saw ${fired}`);
  });

  it('schedules timers that do not keep the process alive, even beyond the 2^31 ms timer limit', () => {
    const before = refTimers();
    const timers = [systemClock.setTimeout(() => {}, 60_000), systemClock.setTimeout(() => {}, 2 ** 32)];
    try {
      assert.equal(refTimers(), before, 'a pending systemClock timer must be unref\'d');
    } finally {
      for (const timer of timers) timer.cancel();
    }
  });
});
