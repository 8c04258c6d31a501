// The shared informer cache (controller-runtime's cache, client-go's SharedInformerFactory):
// it owns every informer of the process, one per resource type, namespace and label
// selector, made on first use and started at once if the cache already runs, so that kinds
// found later (Tekton's, a policy's replicated kind) join the same lifecycle.
import type { KubeObject } from '../api/meta.js';
import type { KubeClient } from '../kube/client.js';
import type { ResourceType } from '../kube/resources.js';
import { Informer } from './informer.js';

export interface InformerRequest<T extends KubeObject> {
  namespace?: string;
  labelSelector?: string;
  /** Shapes each object before it is cached; replaces the cache's default transform. */
  transform?: (obj: T) => T;
  /** Only the objects' metadata (see InformerOptions.metadataOnly): a different informer from the full one. */
  metadataOnly?: boolean;
}

export interface InformerCacheOptions {
  /** Relist every informer this often, as a safety net under the watches; 0 = never. */
  relistIntervalMs: number;
  /** Applied to every object cached, unless an informer asks for its own transform. */
  defaultTransform?: <T extends KubeObject>(obj: T) => T;
  /** Told each time an informer starts its watch again. */
  onRestart?: (type: ResourceType, namespace: string | undefined, reason: string) => void;
}

interface Entry {
  informer: Informer<KubeObject>;
  running?: Promise<void>;
}

const informerKey = (type: ResourceType, { namespace = '', labelSelector = '', metadataOnly = false }: Omit<InformerRequest<KubeObject>, 'transform'>) =>
  `${type.apiVersion}/${type.kind}|${namespace}|${labelSelector}|${metadataOnly ? 'metadata' : 'full'}`;

export class InformerCache {
  private readonly entries = new Map<string, Entry>();
  /** The informers known when the cache started: what `synced` and `waitForSync` speak of. */
  private startup: Informer<KubeObject>[] = [];
  private started = false;

  constructor(
    private readonly client: KubeClient,
    private readonly options: InformerCacheOptions,
  ) {}

  /** The informer for this type, namespace and selector: the existing one, or a new one. */
  informer<T extends KubeObject>(type: ResourceType, request: InformerRequest<T> = {}): Informer<T> {
    const key = informerKey(type, request);
    const existing = this.entries.get(key);
    // One informer serves every caller of one key; the cache holds them as KubeObjects.
    if (existing) return existing.informer as unknown as Informer<T>;
    const informer = new Informer<T>(this.client, type, {
      namespace: request.namespace,
      labelSelector: request.labelSelector,
      metadataOnly: request.metadataOnly,
      relistIntervalMs: this.options.relistIntervalMs,
      transform: request.transform ?? this.options.defaultTransform,
      onRestart: (reason) => this.options.onRestart?.(type, request.namespace, reason),
    });
    const entry: Entry = { informer: informer as unknown as Informer<KubeObject> };
    this.entries.set(key, entry);
    if (this.started) entry.running = informer.run();
    return informer;
  }

  /** Stops an informer and forgets it (its API went away); a later request makes a new one. */
  remove<T extends KubeObject>(informer: Informer<T>): void {
    for (const [key, entry] of this.entries) {
      if ((entry.informer as unknown) !== informer) continue;
      informer.stop();
      this.entries.delete(key);
    }
    this.startup = this.startup.filter((i) => (i as unknown) !== informer);
  }

  /** Starts every informer; those made later start as they are made. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.startup = [...this.entries.values()].map((e) => e.informer);
    for (const entry of this.entries.values()) entry.running ??= entry.informer.run();
  }

  /** Resolves once every informer known at start has listed (client-go's WaitForCacheSync). */
  async waitForSync(): Promise<void> {
    await Promise.all(this.startup.map((i) => i.synced));
  }

  /** Whether every informer known at start has listed: what /readyz reports. */
  get synced(): boolean {
    return this.started && this.startup.every((i) => i.hasSynced);
  }

  /** Stops every watch; resolves when their loops ended, or after the bound. */
  async stop(boundMs = 2_000): Promise<void> {
    const running = [...this.entries.values()].map((e) => e.running).filter((r) => r !== undefined);
    for (const entry of this.entries.values()) entry.informer.stop();
    await Promise.race([Promise.allSettled(running), new Promise((r) => setTimeout(r, boundMs).unref())]);
  }
}
