// The basic work queue (client-go's workqueue.Typed): fair, stingy, many producers and
// consumers, a key re-added while it is processed is marked dirty and queued again at done.
import { systemClock, type Clock, type Timer } from '../clock.js';
import { noopQueueMetrics, type QueueMetrics } from './metrics.js';

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

export interface QueueOptions {
  clock?: Clock;
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
export class Queue {
  readonly clock: Clock;
  protected readonly metrics: QueueMetrics;
  private readonly metricsUpdatePeriodMs: number;

  private readonly pending = new Fifo();
  /** Keys that need processing: every pending key, and held keys added again. */
  private readonly dirty = new Set<string>();
  /** Held keys and when their processing started. */
  private readonly processing = new Map<string, number>();
  private readonly addedAt = new Map<string, number>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private readonly drainers: Array<() => void> = [];
  private ticker: Timer | undefined;
  protected shuttingDown = false;

  constructor(options: QueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
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

  /** Keys waiting to be handed out (not those held by workers, nor those waiting out a delay). */
  len(): number {
    return this.pending.length;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting adds, drops pending keys, and releases waiting workers. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
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
