// The caches replication needs: one informer per source (kind and namespace) that any
// policy copies from, and one per copied kind for the copies themselves (by our label).
// Both are made on first use, so a policy can name any kind, CRDs included, and a kind
// that is not served yet (Tekton not installed) is reported, not fatal.
import type { Informer } from '../runtime/informer.js';
import type { KubeObject } from '../api/meta.js';
import type { ResourceType, ResourceTypes } from '../kube/resources.js';
import type { EffectiveReplicateEntry } from '../policy/effective.js';
import type { SourceLookup, SourceObject } from '../render/replicas.js';

/** How long a reconcile waits for a new source cache before it reports the source unavailable. */
const SYNC_WAIT_MS = 10_000;

export class ReplicationSources {
  private readonly sources = new Map<string, Informer<KubeObject>>();
  private readonly copies = new Map<string, Informer<KubeObject>>();

  constructor(
    private readonly types: ResourceTypes,
    private readonly watchSource: (type: ResourceType, namespace: string) => Informer<KubeObject>,
    private readonly watchCopies: (type: ResourceType) => Informer<KubeObject>,
  ) {}

  /** Makes sure every entry's source and copies are watched and synced; the lookup over them. */
  async prepare(entries: readonly EffectiveReplicateEntry[]): Promise<SourceLookup> {
    const unavailable = new Map<string, string>();
    await Promise.all(entries.map(async (entry) => {
      const kindKey = `${entry.apiVersion}/${entry.kind}`;
      const sourceKey = `${kindKey}/${entry.namespace}`;
      const type = await this.types.lookup(entry.apiVersion, entry.kind);
      if (!type) {
        unavailable.set(sourceKey, `the API server does not serve ${entry.apiVersion} ${entry.kind}`);
        return;
      }
      let copies = this.copies.get(kindKey);
      if (!copies) this.copies.set(kindKey, (copies = this.watchCopies(type)));
      let source = this.sources.get(sourceKey);
      if (!source) this.sources.set(sourceKey, (source = this.watchSource(type, entry.namespace)));
      const synced = (source.hasSynced && copies.hasSynced) || await syncedWithin([source, copies], SYNC_WAIT_MS);
      if (!synced) unavailable.set(sourceKey, source.lastError ?? copies.lastError ?? 'cache not synced');
    }));
    return (entry) => {
      const sourceKey = `${entry.apiVersion}/${entry.kind}/${entry.namespace}`;
      const why = unavailable.get(sourceKey);
      if (why) return { unavailable: why };
      const informer = this.sources.get(sourceKey);
      if (!informer) return { unavailable: 'not watched' };
      return informer.list() as SourceObject[];
    };
  }
}

async function syncedWithin(informers: Informer<KubeObject>[], ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([Promise.all(informers.map((i) => i.synced)).then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
