// The build-namespace controller: its informers (tool and build namespaces, policies, the
// managed kinds by our label), the mapping of their events to tool keys, one work queue
// keyed by tool, and the workers that run reconcile(tool). Event handlers only enqueue keys.
import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../api/meta.js';
import {
  ANNOTATION_POLICIES, LABEL_MANAGED_BY, LABEL_TOOL, MANAGER, TOOL_NAMESPACE_PREFIX, type BuildQuotaPolicy,
} from '../api/types.js';
import { policyMatchesTool } from '../policy/index.js';
import { errorMessage } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import {
  BUILD_QUOTA_POLICIES, LIMIT_RANGES, NAMESPACES, NETWORK_POLICIES, RESOURCE_QUOTAS, ROLE_BINDINGS, SERVICE_ACCOUNTS,
  type ResourceType, type ResourceTypes,
} from '../kube/resources.js';
import type { ObjectWriter } from '../kube/writer.js';
import type { Logger } from '../log.js';
import { queueMetrics, reconcileMetrics, type OperatorMetrics } from '../metrics/metrics.js';
import type { InformerCache } from '../runtime/cache.js';
import type { Informer } from '../runtime/informer.js';
import type { Runnable } from '../runtime/manager.js';
import { runWorkers } from '../runtime/workers.js';
import { defaultControllerRateLimiter } from '../runtime/workqueue/rate-limiters.js';
import { RateLimitingQueue } from '../runtime/workqueue/rate-limiting-queue.js';
import { BY_MANAGED, BY_NAMESPACE, BY_TOOL, REASON_SOURCE_PENDING, Reconciler, type Caches } from './build-namespace-reconciler.js';
import type { DeletionGuard } from './deletion-guard.js';
import { objectKey, RecentWrites } from './recent-writes.js';
import { ReplicationSources, sourceKey, type SourceRef, type UnavailableSource } from './replication.js';
import type { ToolStatusTracker } from './policy-status.js';

/** The managed namespaced kinds, watched by our label only. */
export const MANAGED_TYPES: ResourceType[] = [RESOURCE_QUOTAS, LIMIT_RANGES, SERVICE_ACCOUNTS, ROLE_BINDINGS, NETWORK_POLICIES];

const CONTROLLER = 'buildnamespace';
const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGER}`;

export interface BuildNamespaceDeps {
  cache: InformerCache;
  types: ResourceTypes;
  writer: ObjectWriter;
  events: EventRecorder;
  guard: DeletionGuard;
  status: ToolStatusTracker;
  metrics: OperatorMetrics;
  log: Logger;
  workers: number;
  /** Told of the namespaces whose builds retention should look at again. */
  onBuildNamespaceChanged?: (namespace: string) => void;
  /** Told when a policy changed, so that retention looks at every namespace again. */
  onPolicyChanged?: () => void;
}

export class BuildNamespaceController implements Runnable {
  readonly name = CONTROLLER;
  readonly caches: Caches;
  readonly queue: RateLimitingQueue;
  private readonly reconciler: Reconciler;
  private readonly recent = new RecentWrites();
  private readonly sources: ReplicationSources;
  private workers?: Promise<void>;
  /** Tools of the first pass not yet reconciled: until it is done, status sums would be partial. */
  private readonly firstPass = new Set<string>();
  private firstPassStarted = false;

  constructor(private readonly deps: BuildNamespaceDeps) {
    const { cache } = deps;
    // Nothing reads a Namespace's spec or status: its name, labels and deletion say it all.
    const namespaces = cache.informer<KubeObject>(NAMESPACES, { metadataOnly: true });
    namespaces.addIndex(BY_TOOL, (ns) => {
      const tool = ns.metadata.labels?.[LABEL_TOOL];
      return tool ? [tool] : [];
    });
    namespaces.addIndex(BY_MANAGED, (ns) => (ns.metadata.labels?.[LABEL_MANAGED_BY] === MANAGER ? ['true'] : []));
    const policies = cache.informer<BuildQuotaPolicy>(BUILD_QUOTA_POLICIES);
    this.caches = { namespaces, policies, managed: new Map() };
    for (const type of MANAGED_TYPES) this.watchManaged(type);

    this.queue = new RateLimitingQueue({ rateLimiter: defaultControllerRateLimiter(), metrics: queueMetrics(deps.metrics, CONTROLLER) });
    this.sources = new ReplicationSources({
      types: deps.types,
      watchSource: (type, namespace) => {
        const informer = cache.informer<KubeObject>(type, { namespace });
        informer.onChange((_t, obj) => {
          for (const tool of this.toolsReplicating({ ...type, namespace: obj.metadata.namespace ?? '' })) this.queue.add(tool);
        });
        return informer;
      },
      watchCopies: (type) => this.watchManaged(type),
      forgetSource: (informer) => cache.remove(informer),
      onStateChange: (ref) => {
        for (const tool of this.toolsReplicating(ref)) this.queue.add(tool);
      },
    });
    this.reconciler = new Reconciler({
      caches: this.caches,
      writer: deps.writer,
      events: deps.events,
      guard: deps.guard,
      status: deps.status,
      recent: this.recent,
      sources: this.sources,
      metrics: deps.metrics,
      log: deps.log,
    });

    namespaces.onChange((type, ns, old) => {
      // The echo of our own write changes nothing a reconcile would see.
      if (type !== 'delete' && this.recent.seen(ns)) return;
      for (const tool of this.toolsOfNamespace(ns, old)) {
        this.queue.add(tool);
        for (const buildNs of this.caches.namespaces.byIndex(BY_TOOL, tool)) deps.onBuildNamespaceChanged?.(buildNs.metadata.name);
      }
    });
    policies.onChange((type, policy, old) => {
      // Our own status writes change the policy too; only a new spec or a changed
      // annotation (a lifted deletion hold) can change what a tool should have.
      if (type === 'update' && old && old.metadata.generation === policy.metadata.generation &&
        JSON.stringify(old.metadata.annotations ?? {}) === JSON.stringify(policy.metadata.annotations ?? {})) return;
      this.watchReplicationSources();
      for (const tool of this.toolsOfPolicy(policy, old)) this.queue.add(tool);
      deps.onPolicyChanged?.();
    });
  }

  /** The cache of one managed kind: only our objects, by our label, indexed by namespace. */
  private watchManaged(type: ResourceType): Informer<KubeObject> {
    const key = `${type.apiVersion}/${type.kind}`;
    const existing = this.caches.managed.get(key);
    if (existing) return existing;
    const made = this.deps.cache.informer<KubeObject>(type, { labelSelector: MANAGED_SELECTOR });
    made.addIndex(BY_NAMESPACE, (o) => [o.metadata.namespace ?? '']);
    made.onChange((change, obj, old) => {
      if (change === 'delete') this.recent.forget(objectKey(obj));
      // Nothing we own changed: the echo of our own write, or a status-only update (quota usage).
      else if (this.recent.seen(obj) || (change === 'update' && old && onlyStatusChanged(old, obj))) return;
      const tool = obj.metadata.labels?.[LABEL_TOOL];
      if (tool) this.queue.add(tool);
    });
    this.caches.managed.set(key, made);
    return made;
  }

  /** Tools whose policies copy objects of this kind from this namespace. */
  private toolsReplicating(source: SourceRef): string[] {
    const tools = new Set<string>();
    for (const policy of this.caches.policies.list()) {
      const copies = replicateEntries(policy).some((e) => sourceKey(e) === sourceKey(source));
      if (copies) for (const tool of this.toolsOfPolicy(policy)) tools.add(tool);
    }
    return [...tools];
  }

  /** The tools a namespace event concerns: its own tool, or the tool its label names. */
  private toolsOfNamespace(ns: KubeObject, old?: KubeObject): string[] {
    const tools = new Set<string>();
    for (const o of [ns, old]) {
      if (!o) continue;
      if (o.metadata.name.startsWith(TOOL_NAMESPACE_PREFIX) && o.metadata.labels?.[LABEL_MANAGED_BY] !== MANAGER) {
        tools.add(o.metadata.name.slice(TOOL_NAMESPACE_PREFIX.length));
      }
      const tool = o.metadata.labels?.[LABEL_TOOL];
      if (tool) tools.add(tool);
    }
    return [...tools];
  }

  /** Every tool the policy matched before the change or matches after it. */
  private toolsOfPolicy(policy: BuildQuotaPolicy, old?: BuildQuotaPolicy): string[] {
    const tools = new Set<string>();
    for (const ns of this.caches.namespaces.list()) {
      if (!ns.metadata.name.startsWith(TOOL_NAMESPACE_PREFIX)) continue;
      const view = { name: ns.metadata.name, labels: ns.metadata.labels ?? {} };
      if (policyMatchesTool(policy, view) || (old && policyMatchesTool(old, view))) {
        tools.add(ns.metadata.name.slice(TOOL_NAMESPACE_PREFIX.length));
      }
    }
    // Tools that still have a build namespace but may have lost their match.
    for (const ns of this.caches.namespaces.byIndex(BY_MANAGED, 'true')) {
      const tool = ns.metadata.labels?.[LABEL_TOOL];
      if (tool && ns.metadata.annotations?.[ANNOTATION_POLICIES]?.split(',').includes(policy.metadata.name)) tools.add(tool);
    }
    return [...tools];
  }

  /** Watches what the policies replicate from, and stops watching what none names any more. */
  private watchReplicationSources(): void {
    const entries = this.caches.policies.list().flatMap(replicateEntries);
    this.sources.watch(entries);
    this.sources.retain(entries);
  }

  /**
   * Waits (bounded) until every source the policies replicate from has synced or been found
   * unavailable: `plan` reconciles each tool once and should not see a source still listing.
   */
  async prepareReplication(): Promise<void> {
    this.watchReplicationSources();
    await this.sources.settled(this.caches.policies.list().flatMap(replicateEntries));
  }

  /** The sources this policy replicates from that cannot be read now. */
  unavailableSources(policy: BuildQuotaPolicy): UnavailableSource[] {
    return this.sources.unavailable(replicateEntries(policy));
  }

  /** How many sources the policies replicate from have not synced. */
  get unsyncedSources(): number {
    return this.sources.unsyncedCount;
  }

  /**
   * Enqueues every tool and starts the workers; the manager calls it once the cache synced.
   * Replication sources are not waited for: a tool whose source is still listing is
   * reconciled again when it has.
   */
  async start(): Promise<void> {
    if (this.workers) return;
    this.watchReplicationSources();
    // The hold a previous leader left in force, read before any deletion; its held tools
    // are looked at again even when nothing of them is left, so a hold whose cause is gone ends.
    const held = await this.deps.guard.load().then(() => this.deps.guard.heldTools, (err: unknown) => {
      this.deps.log.error('deletion guard state not read; no build namespace is deleted until it is', { error: errorMessage(err) });
      return [];
    });
    const tools = [...new Set([...this.allTools(), ...held])].sort();
    this.firstPassStarted = true;
    for (const tool of tools) this.firstPass.add(tool);
    for (const tool of tools) this.queue.add(tool);
    this.workers = runWorkers(this.queue, this.deps.workers, (tool) => this.reconcileOne(tool), {
      metrics: reconcileMetrics(this.deps.metrics, CONTROLLER),
      onError: (tool, err) => this.deps.log.warn('reconcile failed; retrying with backoff', { tool, error: errorMessage(err) }),
    });
  }

  /** Whether every tool known at start has been reconciled once, so status sums are whole. */
  get firstPassDone(): boolean {
    return this.firstPassStarted && this.firstPass.size === 0;
  }

  /** Every tool key the caches know of: tool namespaces and tools that still have a build namespace. */
  allTools(): string[] {
    const tools = new Set<string>();
    for (const ns of this.caches.namespaces.list()) for (const tool of this.toolsOfNamespace(ns)) tools.add(tool);
    return [...tools].sort();
  }

  /** One reconcile of one tool, outside the queue too (for `plan`). */
  async reconcileOne(tool: string) {
    const reconcileId = randomBytes(6).toString('hex');
    const log = this.deps.log.child({ tool, namespace: `${TOOL_NAMESPACE_PREFIX}${tool}`, reconcileId });
    const started = performance.now();
    try {
      return await this.reconciler.reconcile(tool, log);
    } finally {
      // A tool waiting for its source's first list counts once that is known (bounded):
      // policy status is not written from a pass that saw the source still listing.
      if (this.deps.status.get(tool)?.reason !== REASON_SOURCE_PENDING) this.firstPass.delete(tool);
      log.debug('reconciled', { durationMs: Math.round(performance.now() - started) });
    }
  }

  async stop(drainTimeoutMs: number): Promise<void> {
    const drained = this.queue.shutDownWithDrain();
    await Promise.race([drained, new Promise((r) => setTimeout(r, drainTimeoutMs).unref())]);
    this.sources.stop();
    await this.deps.guard.flush().catch((err: unknown) => this.deps.log.warn('deletion guard state not written on shutdown', { error: errorMessage(err) }));
  }
}

/**
 * Drops every managedFields entry but our own Apply entry (all the diff reads), and its
 * time: other managers' entries (kubectl, the controller manager's status) and the time of
 * our last apply only cost memory, and without the time every object of a kind and policy
 * has the same entry, which the cache then keeps once.
 */
export function keepOwnManagedFields<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata;
  if (!meta.managedFields) return obj;
  const own = meta.managedFields.filter((e) => e.manager === MANAGER && e.operation === 'Apply');
  for (const entry of own) delete entry.time;
  if (own.length > 0) meta.managedFields = own;
  else delete meta.managedFields;
  return obj;
}

/** Whether an update changed nothing but status (and the bookkeeping that comes with it). */
function onlyStatusChanged(old: KubeObject, obj: KubeObject): boolean {
  const owned = (o: KubeObject & { status?: unknown }) => {
    const { status: _status, metadata, ...rest } = o;
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata;
    // Sorted keys: list items and watch events order their keys differently.
    return JSON.stringify(canonical({ ...rest, metadata: meta }));
  };
  return owned(old) === owned(obj);
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(record).sort().map((k) => [k, canonical(record[k])]));
}

/** A policy's replicate entries, with the default apiVersion filled in. */
function replicateEntries(policy: BuildQuotaPolicy): SourceRef[] {
  return (policy.spec.replicate ?? []).map((e) => ({ apiVersion: e.apiVersion ?? 'v1', kind: e.kind, namespace: e.namespace }));
}
