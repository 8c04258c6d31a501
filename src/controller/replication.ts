// The caches replication needs: one informer per source (kind and namespace) that any
// policy copies from, and one per copied kind for the copies themselves (by our label).
// Both are made as soon as a policy names the source, so a standby is warm, and a
// policy can name any kind, CRDs included. Nothing here waits for a cache: a source that
// cannot be listed (a kind outside the operator's ClusterRole, a kind not served, a list
// that never answers) is unavailable, reported to the tools and policies that name it,
// and never holds back a reconcile of anything else. It heals by itself: an informer
// retries its list, and a kind not served is looked for again on a timer.
import type { Informer } from '../runtime/informer.js';
import { systemClock, type Clock, type Timer } from '../runtime/clock.js';
import type { KubeObject } from '../api/meta.js';
import type { ResourceType, ResourceTypes } from '../kube/resources.js';
import type { EffectiveReplicateEntry } from '../policy/effective.js';
import type { SourceLookup, SourceObject } from '../render/replicas.js';

/** A source cache that has neither listed nor failed within this long is reported unavailable. */
export const SOURCE_SYNC_BOUND_MS = 10_000;
/** How often a kind the API server does not serve is looked for again (its CRD may come). */
export const REDISCOVER_MS = 15_000;

/** Where copies come from: one informer per kind and namespace. */
export interface SourceRef {
  apiVersion: string;
  kind: string;
  namespace: string;
}

export type UnavailableCause = 'Forbidden' | 'NotServed' | 'NotSynced' | 'Error';

export type SourceState =
  | { state: 'synced' }
  | { state: 'syncing' }
  | { state: 'unavailable'; cause: UnavailableCause; message: string };

export interface UnavailableSource {
  ref: SourceRef;
  cause: UnavailableCause;
  message: string;
}

export interface ReplicationSourcesOptions {
  types: Pick<ResourceTypes, 'lookup'>;
  /** The informer of one source kind in one namespace. */
  watchSource: (type: ResourceType, namespace: string) => Informer<KubeObject>;
  /** The informer of the copies of one kind, in every build namespace. */
  watchCopies: (type: ResourceType) => Informer<KubeObject>;
  /** Stops and forgets a source informer no policy names any more. */
  forgetSource: (informer: Informer<KubeObject>) => void;
  /** The source synced, failed or ran out of time: the tools that replicate it look again. */
  onStateChange: (ref: SourceRef) => void;
  syncBoundMs?: number;
  rediscoverMs?: number;
  clock?: Clock;
}

interface Source {
  ref: SourceRef;
  /** Set once discovery found the kind; undefined while unknown or not served. */
  type?: ResourceType;
  source?: Informer<KubeObject>;
  copies?: Informer<KubeObject>;
  /** The first discovery, which a reconcile may wait for (one request, shared). */
  discovered: Promise<void>;
  notServed: boolean;
  /** When its informers were made: the sync bound counts from here. */
  since: number;
  /** The cause last told to onStateChange, so that a retrying informer tells it once. */
  told?: string;
  boundTimer?: Timer;
  waiters: (() => void)[];
}

export const sourceKey = (ref: SourceRef) => `${ref.apiVersion}/${ref.kind}/${ref.namespace}`;
const refOf = (entry: SourceRef): SourceRef => ({ apiVersion: entry.apiVersion, kind: entry.kind, namespace: entry.namespace });

export class ReplicationSources {
  private readonly sources = new Map<string, Source>();
  private readonly clock: Clock;
  private rediscoverTimer?: Timer;
  private stopped = false;

  constructor(private readonly options: ReplicationSourcesOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Starts watching every entry's source and copies; returns at once. */
  watch(entries: readonly SourceRef[]): void {
    for (const entry of entries) this.ensure(entry);
  }

  /** Stops watching the sources none of these entries name (a typo fixed, an entry dropped). */
  retain(entries: readonly SourceRef[]): void {
    const named = new Set(entries.map(sourceKey));
    for (const [key, source] of this.sources) {
      if (named.has(key)) continue;
      source.boundTimer?.cancel();
      if (source.source) this.options.forgetSource(source.source);
      this.sources.delete(key);
      this.wake(source);
    }
  }

  /**
   * The lookup over the entries' caches. It waits only for a source's first discovery (one
   * request), never for a cache to sync: a source not synced yet is pending, one that
   * cannot sync is unavailable.
   */
  async prepare(entries: readonly EffectiveReplicateEntry[]): Promise<SourceLookup> {
    await Promise.all(entries.map((entry) => this.ensure(entry).discovered));
    return (entry) => {
      const source = this.sources.get(sourceKey(entry));
      const state = source ? this.stateOf(source) : { state: 'syncing' as const };
      if (state.state === 'unavailable') return { unavailable: state.message };
      if (state.state === 'syncing') return { pending: `the cache of ${entry.kind} in ${entry.namespace} has not synced yet` };
      return source!.source!.list() as SourceObject[];
    };
  }

  /** What the cache of this source can say now. */
  state(ref: SourceRef): SourceState {
    const source = this.sources.get(sourceKey(ref));
    return source ? this.stateOf(source) : { state: 'syncing' };
  }

  /** The entries' sources that cannot be read now, one per source. */
  unavailable(entries: readonly SourceRef[]): UnavailableSource[] {
    const found = new Map<string, UnavailableSource>();
    for (const entry of entries) {
      const state = this.state(entry);
      if (state.state === 'unavailable') found.set(sourceKey(entry), { ref: refOf(entry), cause: state.cause, message: state.message });
    }
    return [...found.values()];
  }

  /** How many watched sources have not synced (pending or unavailable): the metric. */
  get unsyncedCount(): number {
    return [...this.sources.values()].filter((s) => this.stateOf(s).state !== 'synced').length;
  }

  /** Resolves once each entry's source synced or was found unavailable, or after the bound (`plan`). */
  async settled(entries: readonly SourceRef[], boundMs = this.options.syncBoundMs ?? SOURCE_SYNC_BOUND_MS): Promise<void> {
    let timer: Timer | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, boundMs)));
    const each = entries.map(async (entry) => {
      const source = this.ensure(entry);
      await source.discovered;
      while (this.sources.get(sourceKey(entry)) === source && this.stateOf(source).state === 'syncing') {
        await new Promise<void>((resolve) => source.waiters.push(resolve));
      }
    });
    await Promise.race([Promise.all(each), timedOut]);
    timer?.cancel();
  }

  stop(): void {
    this.stopped = true;
    this.rediscoverTimer?.cancel();
    for (const source of this.sources.values()) {
      source.boundTimer?.cancel();
      this.wake(source);
    }
  }

  private stateOf(source: Source): SourceState {
    const { ref } = source;
    if (!source.type) {
      return source.notServed
        ? { state: 'unavailable', cause: 'NotServed', message: `the API server does not serve ${ref.apiVersion} ${ref.kind}` }
        : { state: 'syncing' };
    }
    const informers = [source.source!, source.copies!];
    if (informers.every((i) => i.hasSynced)) return { state: 'synced' };
    const failing = informers.find((i) => !i.hasSynced && i.lastError !== undefined);
    if (failing) {
      const what = failing === source.source ? `${ref.kind} in ${ref.namespace}` : `the copies of ${ref.kind}`;
      return { state: 'unavailable', cause: causeOf(failing.lastErrorCode), message: `cannot list ${what}: ${failing.lastError}` };
    }
    const boundMs = this.options.syncBoundMs ?? SOURCE_SYNC_BOUND_MS;
    if (this.clock.now() - source.since >= boundMs) {
      return { state: 'unavailable', cause: 'NotSynced', message: `the cache of ${ref.kind} in ${ref.namespace} has not synced within ${boundMs / 1000} s` };
    }
    return { state: 'syncing' };
  }

  private ensure(entry: SourceRef): Source {
    const key = sourceKey(entry);
    const existing = this.sources.get(key);
    if (existing) return existing;
    const source: Source = { ref: refOf(entry), discovered: Promise.resolve(), notServed: false, since: this.clock.now(), waiters: [] };
    this.sources.set(key, source);
    source.discovered = this.discover(source);
    return source;
  }

  private async discover(source: Source): Promise<void> {
    const type = await this.options.types.lookup(source.ref.apiVersion, source.ref.kind);
    if (this.sources.get(sourceKey(source.ref)) !== source || this.stopped) return;
    if (!type) {
      const first = !source.notServed;
      source.notServed = true;
      if (first) this.told(source);
      this.scheduleRediscovery();
      return;
    }
    source.notServed = false;
    source.type = type;
    source.since = this.clock.now();
    source.copies = this.options.watchCopies(type);
    source.source = this.options.watchSource(type, source.ref.namespace);
    for (const informer of [source.source, source.copies]) informer.onError(() => this.told(source));
    void Promise.all([source.source.synced, source.copies.synced]).then(() => this.told(source));
    // A little past the bound, so that the state it reads is already NotSynced.
    source.boundTimer = this.clock.setTimeout(() => this.told(source), (this.options.syncBoundMs ?? SOURCE_SYNC_BOUND_MS) + 10);
  }

  /** Says a source's state changed, once per state and cause. */
  private told(source: Source): void {
    if (this.sources.get(sourceKey(source.ref)) !== source) return;
    const state = this.stateOf(source);
    const said = state.state === 'unavailable' ? `${state.state}/${state.cause}/${state.message}` : state.state;
    if (state.state === 'synced') source.boundTimer?.cancel();
    this.wake(source);
    if (said === source.told || state.state === 'syncing') return;
    source.told = said;
    this.options.onStateChange(source.ref);
  }

  private wake(source: Source): void {
    for (const resolve of source.waiters.splice(0)) resolve();
  }

  /** Looks for the kinds not served, while there are any. */
  private scheduleRediscovery(): void {
    if (this.rediscoverTimer || this.stopped) return;
    this.rediscoverTimer = this.clock.setTimeout(() => {
      this.rediscoverTimer = undefined;
      for (const source of this.sources.values()) {
        if (source.notServed) source.discovered = this.discover(source);
      }
    }, this.options.rediscoverMs ?? REDISCOVER_MS);
  }
}

function causeOf(code: number | undefined): UnavailableCause {
  if (code === 403) return 'Forbidden';
  if (code === 404) return 'NotServed';
  return 'Error';
}
