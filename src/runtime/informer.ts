// A shared informer: lists (paged), then watches from where the list ended, keeping an
// indexed cache. It adds what client-node's informer lacks: a restart with backoff on any
// error, a relist on 410 Gone, a watchdog for a watch that went quiet, a periodic relist
// that emits only real changes, and a `synced` promise. stop() aborts whatever is in
// flight, list or watch, so that nothing outlives it; repeated failures back off, and only
// a watch that ran a while counts as health again.
import type { KubeClient } from '../kube/client.js';
import { systemClock, type Clock } from './clock.js';
import { ApiError, errorMessage, isGone, statusCode } from '../kube/client.js';
import { collectionPath, type ResourceType } from '../kube/resources.js';
import type { KubeObject, ObjectMeta } from '../api/meta.js';

export type ChangeType = 'add' | 'update' | 'delete';
export type ChangeHandler<T> = (type: ChangeType, obj: T, old?: T) => void;

export interface InformerOptions<T = KubeObject> {
  labelSelector?: string;
  namespace?: string;
  pageSize?: number;
  /** Relist this often even when the watch is healthy; 0 turns it off. */
  relistIntervalMs?: number;
  /** Restart a watch that delivered nothing, not even a bookmark, for this long. */
  quietTimeoutMs?: number;
  /** Called with the reason each time the watch is started again. */
  onRestart?: (reason: string) => void;
  /**
   * Shapes each object before it is cached (client-go's SetTransform): drop what nothing
   * reads, so large objects cost little memory.
   */
  transform?: (obj: T) => T;
  /**
   * Ask for metadata only (the API server's PartialObjectMetadata form, controller-runtime's
   * OnlyMetadata): for a kind whose spec and status nothing reads, they are never sent, parsed
   * or kept. The objects keep the kind's apiVersion and kind.
   */
  metadataOnly?: boolean;
  /**
   * A watch that ran this long proves the server healthy again and resets the backoff; a
   * shorter one, even a clean end, counts as a failure (client-go: a "very short watch").
   */
  stableWatchMs?: number;
  clock?: Clock;
}

/** What an informer needs of a client: a fake one can stand in for unit tests. */
export type InformerClient = Pick<KubeClient, 'request' | 'watch'>;

interface ListResponse<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | { kind: 'Status'; code?: number; message?: string; metadata?: ObjectMeta };
}

/** The metadata-only forms; plain JSON after them, should a server not offer them. */
const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json';
const METADATA_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json';

const key = (m: ObjectMeta) => (m.namespace ? `${m.namespace}/${m.name}` : m.name);

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly indexers = new Map<string, (obj: T) => string[]>();
  /**
   * Per index, value -> the keys of the objects under it. Most values name one object (a
   * namespace's ResourceQuota, a tool's build namespace): that key is kept as it is, and a
   * Set (some 150 bytes) is made only for a value with more.
   */
  private readonly indexes = new Map<string, Map<string, string | Set<string>>>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly errorHandlers: ((err: unknown) => void)[] = [];
  private resourceVersion = '';
  private stopped = false;
  private abort?: AbortController;
  /** Aborted by stop(): every list and watch request listens to it. */
  private readonly stopping = new AbortController();
  private readonly clock: Clock;
  private markSynced!: () => void;
  private lastEventAt = 0;
  private watchdog?: NodeJS.Timeout;
  /** How many lists and watches this informer started: tests and benchmarks count them. */
  readonly counts = { lists: 0, watches: 0 };
  private relistTimer?: NodeJS.Timeout;
  private relistDue = false;
  private wake?: () => void;
  readonly synced: Promise<void>;
  hasSynced = false;
  /** The last error that stopped a list or watch, cleared by the next good list. */
  lastError?: string;
  /** The HTTP status of that error, when the API server answered (403, 404, ...). */
  lastErrorCode?: number;

  constructor(
    private readonly client: InformerClient,
    readonly type: ResourceType,
    private readonly options: InformerOptions<T> = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** An index: the values a lookup by `name` finds an object under. */
  addIndex(name: string, indexer: (obj: T) => string[]): void {
    this.indexers.set(name, indexer);
    this.indexes.set(name, new Map());
  }

  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  /** Told of each error that stopped a list or watch (a 403, an unknown resource, a timeout). */
  onError(handler: (err: unknown) => void): void {
    this.errorHandlers.push(handler);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  byIndex(index: string, value: string): T[] {
    const keys = this.indexes.get(index)?.get(value);
    if (keys === undefined) return [];
    return (typeof keys === 'string' ? [keys] : [...keys]).map((k) => this.store.get(k)).filter((o): o is T => o !== undefined);
  }

  get size(): number {
    return this.store.size;
  }

  /** Runs until stop(); never throws. */
  async run(): Promise<void> {
    const { relistIntervalMs = 0, quietTimeoutMs = 5 * 60_000 } = this.options;
    if (relistIntervalMs > 0) {
      this.relistTimer = setInterval(() => {
        this.relistDue = true;
        this.abort?.abort();
      }, relistIntervalMs);
      this.relistTimer.unref();
    }
    this.watchdog = setInterval(() => {
      if (this.abort && this.clock.now() - this.lastEventAt > quietTimeoutMs) {
        this.options.onRestart?.('watch quiet');
        this.abort.abort();
      }
    }, Math.min(quietTimeoutMs, 10_000));
    this.watchdog.unref();

    const { stableWatchMs = 10_000 } = this.options;
    let failures = 0;
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList || this.relistDue) {
          this.relistDue = false;
          await this.relist();
          needList = false;
          this.lastError = undefined;
          this.lastErrorCode = undefined;
        }
        // stop() may have come while the list was answered: no watch after it.
        if (this.stopped) break;
        const startedAt = this.clock.now();
        await this.watchOnce();
        if (this.stopped) break;
        const ranMs = this.clock.now() - startedAt;
        // Ended on purpose (the periodic relist) or after a good run: healthy.
        if (this.relistDue || ranMs >= stableWatchMs) {
          failures = 0;
          continue;
        }
        failures++;
        this.options.onRestart?.(`watch ended after ${Math.round(ranMs)} ms`);
        await this.sleep(backoffMs(failures));
      } catch (err) {
        if (this.stopped) break;
        this.lastError = errorMessage(err);
        this.lastErrorCode = statusCode(err);
        for (const handler of this.errorHandlers) handler(err);
        failures++;
        if (isGone(err)) {
          needList = true;
          this.options.onRestart?.('resource version too old');
          // One 410 is routine (the watch fell behind compaction): relist at once. Another
          // before any watch ran a while means relisting does not help: back off.
          if (failures === 1) continue;
        } else {
          this.options.onRestart?.(this.lastError);
        }
        await this.sleep(backoffMs(failures));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearInterval(this.relistTimer);
    this.abort?.abort();
    this.stopping.abort();
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const timer = this.clock.setTimeout(resolve, ms);
      this.wake = () => {
        timer.cancel();
        resolve();
      };
    });
  }

  private async relist(): Promise<void> {
    const { pageSize = 500, labelSelector, namespace } = this.options;
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      this.counts.lists++;
      const page = await this.client.request<ListResponse<T>>('GET', collectionPath(this.type, namespace), {
        query: { limit: pageSize, continue: continueToken, labelSelector }, signal: this.stopping.signal,
        accept: this.options.metadataOnly ? METADATA_LIST : undefined,
      });
      for (const raw of page.items) {
        const item = this.shape(raw);
        fresh.set(key(item.metadata), item);
      }
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);

    for (const [k, old] of this.store) {
      if (!fresh.has(k)) this.apply('delete', old);
    }
    for (const obj of fresh.values()) this.apply('upsert', obj);
    this.resourceVersion = resourceVersion;
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.markSynced();
    }
  }

  private async watchOnce(): Promise<void> {
    this.abort = new AbortController();
    this.lastEventAt = this.clock.now();
    this.counts.watches++;
    let failed: ApiError | undefined;
    const { labelSelector, namespace } = this.options;
    await this.client.watch(collectionPath(this.type, namespace), {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      labelSelector,
      // The server ends each watch after this long; spread so watches don't restart together.
      timeoutSeconds: 300 + Math.floor(Math.random() * 300),
    }, (raw) => {
      const event = raw as WatchEvent<T>;
      this.lastEventAt = this.clock.now();
      if (event.type === 'ERROR') {
        const status = event.object as { code?: number; message?: string };
        failed = new ApiError(status.code ?? 500, status.message ?? 'watch error');
        this.abort?.abort();
        return;
      }
      const obj = event.object as T;
      if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
      if (event.type === 'BOOKMARK') return;
      this.apply(event.type === 'DELETED' ? 'delete' : 'upsert', this.shape(obj));
    }, AbortSignal.any([this.abort.signal, this.stopping.signal]), this.options.metadataOnly ? METADATA_WATCH : undefined);
    this.abort = undefined;
    if (failed) throw failed;
  }

  /**
   * One shape for every object: list items carry no apiVersion and kind, watch events do, and
   * metadata-only ones say PartialObjectMetadata; then the transform.
   */
  private shape(raw: T): T {
    if (this.options.metadataOnly || raw.apiVersion === undefined) raw.apiVersion = this.type.apiVersion;
    if (this.options.metadataOnly || raw.kind === undefined) raw.kind = this.type.kind;
    return this.options.transform ? this.options.transform(raw) : raw;
  }

  private apply(action: 'upsert' | 'delete', obj: T): void {
    const k = key(obj.metadata);
    const old = this.store.get(k);
    if (action === 'delete') {
      if (!old) return;
      this.store.delete(k);
      this.unindex(k, old);
      this.emit('delete', old);
      return;
    }
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    if (old) this.unindex(k, old);
    this.store.set(k, obj);
    for (const [name, indexer] of this.indexers) {
      const index = this.indexes.get(name)!;
      for (const value of indexer(obj)) {
        const keys = index.get(value);
        if (keys === undefined) index.set(value, k);
        else if (typeof keys !== 'string') keys.add(k);
        else if (keys !== k) index.set(value, new Set([keys, k]));
      }
    }
    this.emit(old ? 'update' : 'add', obj, old);
  }

  private unindex(k: string, obj: T): void {
    for (const [name, indexer] of this.indexers) {
      const index = this.indexes.get(name)!;
      for (const value of indexer(obj)) {
        const keys = index.get(value);
        if (keys === k) index.delete(value);
        else if (keys !== undefined && typeof keys !== 'string' && keys.delete(k) && keys.size <= 1) {
          const [last] = keys;
          if (last === undefined) index.delete(value);
          else index.set(value, last);
        }
      }
    }
  }

  private emit(type: ChangeType, obj: T, old?: T): void {
    for (const handler of this.handlers) handler(type, obj, old);
  }
}

/** 200 ms doubling to 30 s, with jitter so many informers do not retry in step. */
function backoffMs(failures: number): number {
  const base = Math.min(200 * 2 ** (failures - 1), 30_000);
  return base / 2 + Math.random() * (base / 2);
}
