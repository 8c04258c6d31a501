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

  /**
   * Keeps what we wrote, unless the cache already holds it or something newer: the watch
   * event often arrives before the write's own response, and an entry kept then would
   * outlive its use until the tool is next reconciled (some 4,500 full objects, 11 MB,
   * half-way through converging 10,000 tools).
   */
  remember(obj: KubeObject, cached?: KubeObject): void {
    const mine = version(obj);
    if (mine === undefined) return;
    const key = objectKey(obj);
    const cachedVersion = cached ? version(cached) : undefined;
    if (cachedVersion !== undefined && cachedVersion >= mine) this.written.delete(key);
    else this.written.set(key, obj);
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
