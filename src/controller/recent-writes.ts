// What the operator itself wrote, until its own watch events catch up. Without it a
// reconcile that runs before the informer has seen our last apply compares against the
// older object and applies again: a wasted write per object while a fleet converges.

import type { KubeObject } from '../api/meta.js';

const version = (obj: KubeObject): bigint | undefined => {
  const rv = obj.metadata.resourceVersion;
  // Resource versions are opaque to clients in general; the API server backed by etcd
  // hands out its revision, so comparing them as numbers is sound here, and anything
  // else simply falls back to the cache.
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
};

export const objectKey = (obj: KubeObject) =>
  `${obj.apiVersion ?? 'v1'}/${obj.kind ?? ''}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;

export class RecentWrites {
  private readonly written = new Map<string, KubeObject>();

  remember(obj: KubeObject): void {
    if (version(obj) !== undefined) this.written.set(objectKey(obj), obj);
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  /** The newer of the cached object and what we last wrote. */
  newest<T extends KubeObject>(key: string, cached: T | undefined): T | undefined {
    const mine = this.written.get(key) as T | undefined;
    if (!mine) return cached;
    const cachedVersion = cached ? version(cached) : undefined;
    const mineVersion = version(mine)!;
    if (cachedVersion !== undefined && cachedVersion >= mineVersion) {
      this.written.delete(key);
      return cached;
    }
    return mine;
  }

  /**
   * A watch event brought the object into the cache: what we wrote is no longer newer, so
   * it is dropped (otherwise every object written stays here until its tool is reconciled
   * again). True when the event is the echo of our own write, which changes nothing.
   */
  seen(obj: KubeObject): boolean {
    const key = objectKey(obj);
    const mine = this.written.get(key);
    if (!mine) return false;
    const cachedVersion = version(obj);
    if (cachedVersion === undefined || cachedVersion < version(mine)!) return false;
    this.written.delete(key);
    return cachedVersion === version(mine);
  }

  get size(): number {
    return this.written.size;
  }
}
