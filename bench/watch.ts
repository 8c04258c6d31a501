// The benchmark's eyes: an informer (the operator's own, from src/kube) on one kind, and
// waiters that resolve at the moment a watch event shows every object they wait for in the
// state they want. Times are taken in the event handler, so they do not depend on polling.
import type { KubeClient } from '../src/kube/client.js';
import { Informer } from '../src/runtime/informer.js';
import type { KubeObject } from '../src/api/meta.js';
import type { ResourceType } from '../src/kube/resources.js';

interface Waiter<T> {
  remaining: Set<string>;
  want: (obj: T) => boolean;
  resolve: (at: number) => void;
}

export const keyOf = (name: string, namespace?: string) => (namespace ? `${namespace}/${name}` : name);

export class Watched<T extends KubeObject> {
  private readonly informer: Informer<T>;
  private readonly waiters = new Set<Waiter<T>>();
  private running?: Promise<void>;

  constructor(client: KubeClient, type: ResourceType, labelSelector?: string) {
    this.informer = new Informer<T>(client, type, { labelSelector });
    this.informer.onChange((change, obj) => {
      if (change !== 'delete') this.seen(obj);
    });
  }

  async start(): Promise<void> {
    this.running ??= this.informer.run();
    await this.informer.synced;
  }

  async stop(): Promise<void> {
    this.informer.stop();
    await this.running;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  get size(): number {
    return this.informer.size;
  }

  /** How many of the keys are in the wanted state now. */
  count(keys: Iterable<string>, want: (obj: T) => boolean): number {
    let n = 0;
    for (const key of keys) {
      const [a, b] = key.split('/');
      const obj = b === undefined ? this.informer.get(a!) : this.informer.get(b, a);
      if (obj && want(obj)) n++;
    }
    return n;
  }

  /**
   * Resolves with performance.now() of the event that made the last of the keys ("ns/name" or
   * "name") satisfy want; rejects after timeoutMs saying how many were still missing.
   */
  until(keys: Iterable<string>, want: (obj: T) => boolean, timeoutMs: number): Promise<number> {
    const remaining = new Set(keys);
    for (const key of [...remaining]) {
      const [a, b] = key.split('/');
      const obj = b === undefined ? this.informer.get(a!) : this.informer.get(b, a);
      if (obj && want(obj)) remaining.delete(key);
    }
    if (remaining.size === 0) return Promise.resolve(performance.now());
    const total = remaining.size;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${waiter.remaining.size} of ${total} objects not as wanted after ${timeoutMs} ms ` +
          `(e.g. ${[...waiter.remaining].slice(0, 3).join(', ')})`));
      }, timeoutMs);
      const waiter: Waiter<T> = {
        remaining,
        want,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.waiters.add(waiter);
    });
  }

  private seen(obj: T): void {
    if (this.waiters.size === 0) return;
    const key = keyOf(obj.metadata.name, obj.metadata.namespace);
    for (const waiter of this.waiters) {
      if (!waiter.remaining.has(key) || !waiter.want(obj)) continue;
      waiter.remaining.delete(key);
      if (waiter.remaining.size === 0) {
        this.waiters.delete(waiter);
        waiter.resolve(performance.now());
      }
    }
  }
}
