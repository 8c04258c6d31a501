// The queue controllers use (client-go's RateLimitingInterface): a failed key comes back
// after its rate limiter's delay, and forget(key) on success resets its backoff.
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiters.js';
import { DelayingQueue } from './delaying-queue.js';
import type { QueueOptions } from './queue.js';

export interface RateLimitingQueueOptions extends QueueOptions {
  rateLimiter?: RateLimiter;
}

export class RateLimitingQueue extends DelayingQueue {
  private readonly rateLimiter: RateLimiter;

  constructor(options: RateLimitingQueueOptions = {}) {
    super(options);
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter({ clock: this.clock });
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
}
