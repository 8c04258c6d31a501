// The work queue between informer events and reconcile(tool), with client-go workqueue
// semantics (fair, stingy, delayed and rate-limited adds), and the workers that drain it.
import { performance } from 'node:perf_hooks';

// ---------------------------------------------------------------------------------------
// Clock: injectable so backoff and delays are tested with a fake clock, not sleeps.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  setTimeout(callback: () => void, ms: number): Timer;
}

// Node fires any timeout above 2^31-1 ms after 1 ms, so longer delays are chained.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The real clock. Its timers are unref'd: a pending retry must not keep the process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    let handle: NodeJS.Timeout;
    const arm = (remaining: number): void => {
      const step = Math.min(Math.max(remaining, 0), MAX_TIMER_MS);
      handle = setTimeout(() => (remaining > step ? arm(remaining - step) : callback()), step);
      handle.unref();
    };
    arm(ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

// ---------------------------------------------------------------------------------------
// Rate limiters: how long a failed key waits before it is tried again.

export interface RateLimiter {
  /** Records one more failure of key and returns how many ms it should wait. */
  when(key: string): number;
  /** The key succeeded: its backoff starts over. */
  forget(key: string): void;
  numRequeues(key: string): number;
}

/** Per key: baseDelayMs * 2^failures, capped at maxDelayMs (client-go's ItemExponentialFailureRateLimiter). */
export class ExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseDelayMs = 5,
    private readonly maxDelayMs = 1_000_000,
  ) {}

  when(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    return Math.min(this.baseDelayMs * 2 ** failures, this.maxDelayMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * One bucket for all keys (golang.org/x/time/rate's reservation semantics): a storm of
 * failures across many tools is spread out at qps instead of hitting the API server at once.
 */
export class TokenBucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly clock: Clock = systemClock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  when(_key: string): number {
    const now = Math.max(this.clock.now(), this.last);
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }
}

/** The longest delay any of the limiters asks for. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    // Every limiter must see the failure, so no short-circuit.
    return this.limiters.reduce((max, limiter) => Math.max(max, limiter.when(key)), 0);
  }

  forget(key: string): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiters.reduce((max, limiter) => Math.max(max, limiter.numRequeues(key)), 0);
  }
}

export interface RateLimiterOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  qps?: number;
  burst?: number;
  clock?: Clock;
}

/** client-go's DefaultControllerRateLimiter: 5 ms doubling to 1000 s per key, 10 qps burst 100 overall. */
export function defaultControllerRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  return new MaxOfRateLimiter(
    new ExponentialFailureRateLimiter(options.baseDelayMs ?? 5, options.maxDelayMs ?? 1_000_000),
    new TokenBucketRateLimiter(options.qps ?? 10, options.burst ?? 100, options.clock ?? systemClock),
  );
}

// ---------------------------------------------------------------------------------------
// Metrics hooks; src/server/metrics.ts adapts them to Prometheus.

export interface QueueMetrics {
  depth(keys: number): void;
  added(): void;
  queueDuration(seconds: number): void;
  workDuration(seconds: number): void;
  unfinishedWork(seconds: number): void;
  longestRunningProcessor(seconds: number): void;
  retried(): void;
}

export const noopQueueMetrics: QueueMetrics = {
  depth: () => {},
  added: () => {},
  queueDuration: () => {},
  workDuration: () => {},
  unfinishedWork: () => {},
  longestRunningProcessor: () => {},
  retried: () => {},
};

// ---------------------------------------------------------------------------------------
// The queue.

/** FIFO of keys; a head index keeps get() O(1) where Array.shift would copy the backlog. */
class Fifo {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(key: string): void {
    this.items.push(key);
  }

  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const key = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export interface WorkQueueOptions {
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: QueueMetrics;
  /** How often unfinished work and the longest running processor are reported (client-go: 500 ms). */
  metricsUpdatePeriodMs?: number;
}

/**
 * Fair: keys are handed out in the order they became pending. Stingy: a key is pending at
 * most once, and never handed out while a worker holds it; one added while held is marked
 * dirty and becomes pending again at done(key).
 *
 * Shutdown differs from client-go on purpose: keys still pending are dropped rather than
 * handed out. Reconcile is level-triggered and the next process (or leader) lists and
 * enqueues every tool anyway, while a process that lost its lease must stop writing.
 */
export class WorkQueue {
  readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly metrics: QueueMetrics;
  private readonly metricsUpdatePeriodMs: number;

  private readonly pending = new Fifo();
  /** Keys that need processing: every pending key, and held keys added again. */
  private readonly dirty = new Set<string>();
  /** Held keys and when their processing started. */
  private readonly processing = new Map<string, number>();
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { readyAt: number; timer: Timer }>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private readonly drainers: Array<() => void> = [];
  private ticker: Timer | undefined;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter({ clock: this.clock });
    this.metrics = options.metrics ?? noopQueueMetrics;
    this.metricsUpdatePeriodMs = options.metricsUpdatePeriodMs ?? 500;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics.added();
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    if (!this.processing.has(key)) {
      this.pending.push(key);
      this.dispatch();
    }
    this.metrics.depth(this.dirty.size);
  }

  /** Adds key after ms. If key is already waiting, whichever delay ends first wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const waiting = this.delayed.get(key);
    if (waiting && waiting.readyAt <= readyAt) return;
    waiting?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { readyAt, timer });
  }

  /** Adds key once the rate limiter allows it: the retry path for a failed reconcile. */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics.retried();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /**
   * The next key to process, held until done(key). Resolves undefined once the queue is
   * shut down: that is a worker's signal to exit.
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.pending.shift();
    if (key !== undefined) return Promise.resolve(this.hold(key));
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Releases key; if it was added while held, it becomes pending again. */
  done(key: string): void {
    const startedAt = this.processing.get(key);
    if (startedAt === undefined) return;
    this.processing.delete(key);
    this.metrics.workDuration(this.seconds(startedAt));
    if (this.processing.size === 0) this.stopTicker();
    if (this.dirty.has(key)) {
      this.pending.push(key);
      this.dispatch();
    }
    this.metrics.depth(this.dirty.size);
    if (this.shuttingDown && this.processing.size === 0) this.resolveDrainers();
  }

  /** Keys waiting to be handed out (not those held by workers or delayed). */
  len(): number {
    return this.pending.length;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting adds, drops pending and delayed keys, and releases waiting workers. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.pending.clear();
    this.dirty.clear();
    this.addedAt.clear();
    for (const resolve of this.getters.splice(0)) resolve(undefined);
    this.metrics.depth(0);
    if (this.processing.size === 0) this.resolveDrainers();
  }

  /** shutDown, then resolves once every held key has been released with done(key). */
  shutDownWithDrain(): Promise<void> {
    const drained = new Promise<void>((resolve) => this.drainers.push(resolve));
    this.shutDown();
    if (this.processing.size === 0) this.resolveDrainers();
    return drained;
  }

  /** Hands pending keys to workers already waiting in get(), oldest worker first. */
  private dispatch(): void {
    while (this.getters.length > 0 && this.pending.length > 0) {
      const key = this.pending.shift();
      const resolve = this.getters.shift();
      if (key !== undefined && resolve) resolve(this.hold(key));
    }
  }

  private hold(key: string): string {
    const now = this.clock.now();
    this.dirty.delete(key);
    this.processing.set(key, now);
    const addedAt = this.addedAt.get(key);
    if (addedAt !== undefined) this.metrics.queueDuration((now - addedAt) / 1000);
    this.addedAt.delete(key);
    this.metrics.depth(this.dirty.size);
    this.startTicker();
    return key;
  }

  private resolveDrainers(): void {
    for (const resolve of this.drainers.splice(0)) resolve();
  }

  private seconds(since: number): number {
    return Math.max(0, this.clock.now() - since) / 1000;
  }

  // A stuck reconcile never reaches done(), so work in progress is reported on a timer,
  // which runs only while something is held.
  private startTicker(): void {
    if (this.ticker) return;
    const tick = (): void => {
      let total = 0;
      let longest = 0;
      for (const startedAt of this.processing.values()) {
        const seconds = this.seconds(startedAt);
        total += seconds;
        longest = Math.max(longest, seconds);
      }
      this.metrics.unfinishedWork(total);
      this.metrics.longestRunningProcessor(longest);
      this.ticker = this.clock.setTimeout(tick, this.metricsUpdatePeriodMs);
    };
    this.ticker = this.clock.setTimeout(tick, this.metricsUpdatePeriodMs);
  }

  private stopTicker(): void {
    this.ticker?.cancel();
    this.ticker = undefined;
    this.metrics.unfinishedWork(0);
    this.metrics.longestRunningProcessor(0);
  }
}

// ---------------------------------------------------------------------------------------
// Workers.

/** What reconcile asks of the queue; an empty result (or undefined) is plain success. */
export interface Result {
  /** Retry with the key's rate-limited backoff, without counting it as an error. */
  requeue?: boolean;
  /** Reconcile again after this many ms (e.g. to wait for something with no watch event). */
  requeueAfter?: number;
}

export type Reconciler = (key: string) => Promise<Result | undefined>;

export type ReconcileOutcome = 'success' | 'error' | 'requeue' | 'requeue_after';

export interface ReconcileMetrics {
  maxConcurrentReconciles(workers: number): void;
  activeWorkers(delta: number): void;
  reconciled(outcome: ReconcileOutcome, seconds: number): void;
}

export const noopReconcileMetrics: ReconcileMetrics = {
  maxConcurrentReconciles: () => {},
  activeWorkers: () => {},
  reconciled: () => {},
};

export interface WorkerOptions {
  metrics?: ReconcileMetrics;
  /** Told of every reconcile that threw; the key is already scheduled for a retry. */
  onError?: (key: string, error: unknown) => void;
}

/**
 * Runs `workers` concurrent loops of get -> reconcile -> done, mapping the outcome to the
 * queue as controller-runtime does. Resolves once the queue is shut down and every worker
 * has finished its in-flight key.
 */
export async function runWorkers(
  queue: WorkQueue,
  workers: number,
  reconcile: Reconciler,
  options: WorkerOptions = {},
): Promise<void> {
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be a positive integer, got ${workers}`);
  }
  const metrics = options.metrics ?? noopReconcileMetrics;
  const onError = options.onError ?? ((key, error) => console.error(`reconcile ${key} failed:`, error));
  metrics.maxConcurrentReconciles(workers);

  const processOne = async (key: string): Promise<void> => {
    const startedAt = queue.clock.now();
    metrics.activeWorkers(1);
    let outcome: ReconcileOutcome = 'success';
    try {
      const result = await reconcile(key);
      if (result?.requeueAfter !== undefined && result.requeueAfter > 0) {
        outcome = 'requeue_after';
        queue.forget(key);
        queue.addAfter(key, result.requeueAfter);
      } else if (result?.requeue) {
        outcome = 'requeue';
        queue.addRateLimited(key);
      } else {
        queue.forget(key);
      }
    } catch (error) {
      outcome = 'error';
      queue.addRateLimited(key);
      try {
        onError(key, error);
      } catch {
        // A failing error reporter must not take a worker down with it.
      }
    } finally {
      metrics.reconciled(outcome, Math.max(0, queue.clock.now() - startedAt) / 1000);
      metrics.activeWorkers(-1);
      queue.done(key);
    }
  };

  const loop = async (): Promise<void> => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      await processOne(key);
      // A key that is ready again at once would otherwise loop on microtasks and starve
      // watches, timers and the health server.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };

  await Promise.all(Array.from({ length: workers }, loop));
}
