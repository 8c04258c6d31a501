// A work queue whose keys can also be added after a delay (client-go's DelayingInterface):
// how requeueAfter and backoff wait without holding a worker.
import type { Timer } from '../clock.js';
import { Queue } from './queue.js';

export class DelayingQueue extends Queue {
  private readonly delayed = new Map<string, { readyAt: number; timer: Timer }>();

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

  /** Also drops the keys still waiting out a delay. */
  override shutDown(): void {
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    super.shutDown();
  }
}
