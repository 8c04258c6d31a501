// The workers that drain a rate-limiting queue: get -> reconcile -> done, with the
// reconcile's result mapped back to the queue as controller-runtime does.
import type { RateLimitingQueue } from './workqueue/rate-limiting-queue.js';

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
  queue: RateLimitingQueue,
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
