// Wires the operator together: informers feed one work queue keyed by tool, workers run
// reconcile(tool), and a status loop sums tool states into each policy's status. Event
// handlers only map an object to the tool keys it concerns; they never do work.
import { randomBytes } from 'node:crypto';
import {
  ANNOTATION_ALLOW_MASS_DELETION, ANNOTATION_POLICIES, API_VERSION, KIND, LABEL_MANAGED_BY, LABEL_TOOL, MANAGER, STATUS_MAX_LISTED, TOOL_NAMESPACE_PREFIX,
  type BuildQuotaPolicy, type BuildQuotaPolicyStatus,
} from '../api/types.js';
import { policyMatchesTool } from '../policy/index.js';
import { errorMessage, type KubeClient } from '../kube/client.js';
import { EventRecorder, targetOf } from '../kube/events.js';
import { Informer, type KubeObject } from '../kube/informer.js';
import {
  BUILD_QUOTA_POLICIES, LIMIT_RANGES, NAMESPACES, NETWORK_POLICIES, RESOURCE_QUOTAS, ROLE_BINDINGS,
  ResourceTypes, SERVICE_ACCOUNTS, type ResourceType,
} from '../kube/resources.js';
import { Writer, type ObjectWriter } from '../kube/writer.js';
import type { Logger } from '../log.js';
import { queueMetrics, reconcileMetrics, type OperatorMetrics } from '../server/metrics.js';
import { DeletionGuard } from './deletion-guard.js';
import { defaultControllerRateLimiter, runWorkers, WorkQueue } from './queue.js';
import { BY_MANAGED, BY_NAMESPACE, BY_TOOL, massDeletionAllowed, Reconciler, type Caches } from './reconciler.js';
import { objectKey, RecentWrites } from './recent-writes.js';
import { ReplicationSources } from './replication.js';
import { buildsForNamespace, RetentionController } from './retention.js';
import { policyConditions, statusChanged, ToolStatusTracker } from './status.js';

export interface OperatorOptions {
  workers: number;
  /** Relist every informer this often, as a safety net under the watches; 0 = never. */
  relistIntervalMs: number;
  deletionGuard: { maxShare: number; maxCount: number; windowMs: number };
  statusIntervalMs: number;
}

export const DEFAULT_OPTIONS: OperatorOptions = {
  workers: 8,
  relistIntervalMs: 30 * 60_000,
  deletionGuard: { maxShare: 0.1, maxCount: 5, windowMs: 60_000 },
  statusIntervalMs: 1_000,
};

/** The managed namespaced kinds, watched by our label only. */
export const MANAGED_TYPES: ResourceType[] = [RESOURCE_QUOTAS, LIMIT_RANGES, SERVICE_ACCOUNTS, ROLE_BINDINGS, NETWORK_POLICIES];

const CONTROLLER = 'buildnamespace';
const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGER}`;

export class Operator {
  readonly caches: Caches;
  readonly queue: WorkQueue;
  readonly status = new ToolStatusTracker();
  readonly guard: DeletionGuard;
  private readonly reconciler: Reconciler;
  private readonly writer: ObjectWriter;
  private readonly events: EventRecorder;
  readonly retention: RetentionController;
  /** Why build retention is off (Tekton not installed), for the policy status. */
  private retentionMessage?: string;
  private readonly informers: Informer<KubeObject>[] = [];
  private running: Promise<unknown>[] = [];
  private cachesStarted = false;
  private readonly client: KubeClient;
  private readonly recent: RecentWrites;
  private readonly sources: ReplicationSources;
  private statusTimer?: NodeJS.Timeout;
  private started = false;
  /** Tools of the first pass not yet reconciled: until it is done, sums would be partial. */
  private firstPass = new Set<string>();

  constructor(
    client: KubeClient,
    private readonly log: Logger,
    private readonly metrics: OperatorMetrics,
    private readonly options: OperatorOptions = DEFAULT_OPTIONS,
    /** `plan` records writes and sends no Events. */
    overrides: { writer?: ObjectWriter; events?: EventRecorder } = {},
  ) {
    this.client = client;
    this.recent = new RecentWrites();
    const namespaces = this.watch<KubeObject>(NAMESPACES);
    namespaces.addIndex(BY_TOOL, (ns) => {
      const tool = ns.metadata.labels?.[LABEL_TOOL];
      return tool ? [tool] : [];
    });
    namespaces.addIndex(BY_MANAGED, (ns) => (ns.metadata.labels?.[LABEL_MANAGED_BY] === MANAGER ? ['true'] : []));
    const policies = this.watch<BuildQuotaPolicy>(BUILD_QUOTA_POLICIES);
    this.caches = { namespaces, policies, managed: new Map() };
    for (const type of MANAGED_TYPES) this.watchManaged(type);

    this.queue = new WorkQueue({ rateLimiter: defaultControllerRateLimiter(), metrics: queueMetrics(metrics, CONTROLLER) });
    this.guard = new DeletionGuard(options.deletionGuard);
    const types = new ResourceTypes(client);
    this.writer = overrides.writer ?? new Writer(client, types);
    this.sources = new ReplicationSources(types, (type, namespace) => {
      const informer = this.watch<KubeObject>(type, undefined, namespace);
      informer.onChange((_t, obj) => {
        for (const tool of this.toolsReplicating(type, obj.metadata.namespace ?? '')) this.queue.add(tool);
      });
      return informer;
    }, (type) => this.watchManaged(type));
    this.events = overrides.events ?? new EventRecorder(client);
    this.reconciler = new Reconciler({
      caches: this.caches,
      writer: this.writer,
      events: this.events,
      guard: this.guard,
      status: this.status,
      recent: this.recent,
      sources: this.sources,
      metrics,
      log,
    });

    this.retention = new RetentionController(client, log.child({ controller: 'retention' }), metrics, buildsForNamespace(this.caches), {
      relistIntervalMs: options.relistIntervalMs,
      writer: overrides.writer,
      onAvailabilityChange: (available, message) => {
        this.retentionMessage = available ? undefined : message;
        this.status.touch();
      },
    });

    namespaces.onChange((type, ns, old) => {
      // The echo of our own write changes nothing a reconcile would see.
      if (type !== 'delete' && this.recent.seen(ns)) return;
      for (const tool of this.toolsOfNamespace(ns, old)) {
        this.queue.add(tool);
        for (const buildNs of this.caches.namespaces.byIndex(BY_TOOL, tool)) this.retention.enqueue(buildNs.metadata.name);
      }
    });
    policies.onChange((type, policy, old) => {
      // Our own status writes change the policy too; only a new spec or a changed
      // annotation (a lifted deletion hold) can change what a tool should have.
      if (type === 'update' && old && old.metadata.generation === policy.metadata.generation &&
        JSON.stringify(old.metadata.annotations ?? {}) === JSON.stringify(policy.metadata.annotations ?? {})) return;
      for (const tool of this.toolsOfPolicy(policy, old)) this.queue.add(tool);
      this.retention.enqueueAll();
    });
  }

  /** An informer, started at once when the operator already runs (kinds found later). */
  private watch<T extends KubeObject>(type: ResourceType, labelSelector?: string, namespace?: string): Informer<T> {
    const made = new Informer<T>(this.client, type, {
      labelSelector,
      namespace,
      relistIntervalMs: this.options.relistIntervalMs,
      transform: keepOwnManagedFields,
      onRestart: (reason) => {
        this.metrics.informerRestarts.inc({ resource: type.plural });
        this.log.warn('watch restarted', { resource: type.plural, namespace, reason });
      },
    });
    this.informers.push(made as unknown as Informer<KubeObject>);
    if (this.cachesStarted) this.running.push(made.run());
    return made;
  }

  /** The cache of one managed kind: only our objects, by our label, indexed by namespace. */
  private watchManaged(type: ResourceType): Informer<KubeObject> {
    const key = `${type.apiVersion}/${type.kind}`;
    const existing = this.caches.managed.get(key);
    if (existing) return existing;
    const made = this.watch<KubeObject>(type, MANAGED_SELECTOR);
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
  private toolsReplicating(type: ResourceType, namespace: string): string[] {
    const tools = new Set<string>();
    for (const policy of this.caches.policies.list()) {
      const copies = (policy.spec.replicate ?? []).some((e) =>
        (e.apiVersion ?? 'v1') === type.apiVersion && e.kind === type.kind && e.namespace === namespace);
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

  /** Starts the informers and waits for every cache to sync. */
  async startCaches(): Promise<void> {
    this.cachesStarted = true;
    for (const informer of this.informers) this.running.push(informer.run());
    await Promise.all(this.informers.map((i) => i.synced));
    // Sources and copies of kinds the policies replicate, so that the first reconciles
    // already compare against full caches.
    await this.sources.prepare(this.caches.policies.list().flatMap((p) => p.spec.replicate ?? []).map((e) => ({ ...e, apiVersion: e.apiVersion ?? 'v1' })));
  }

  /** The caches every reconcile needs; caches of replication sources may come and go. */
  get cachesSynced(): boolean {
    return [this.caches.namespaces, this.caches.policies, ...MANAGED_TYPES.map((t) => this.caches.managed.get(`${t.apiVersion}/${t.kind}`)!)]
      .every((i) => i.hasSynced);
  }

  /** Reconciles: only after every cache synced, so nothing is deleted from a partial view. */
  async startWorkers(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all(this.informers.map((i) => i.synced));
    const tools = this.allTools();
    this.firstPass = new Set(tools);
    for (const tool of tools) this.queue.add(tool);
    this.running.push(runWorkers(this.queue, this.options.workers, (tool) => this.reconcileOne(tool), {
      metrics: reconcileMetrics(this.metrics, CONTROLLER),
      onError: (tool, err) => this.log.warn('reconcile failed; retrying with backoff', { tool, error: errorMessage(err) }),
    }));
    this.statusTimer = setInterval(() => void this.flushStatus(), this.options.statusIntervalMs);
    await this.retention.start();
  }

  /** Every tool key the caches know of: tool namespaces and tools that still have a build namespace. */
  allTools(): string[] {
    const tools = new Set<string>();
    for (const ns of this.caches.namespaces.list()) for (const tool of this.toolsOfNamespace(ns)) tools.add(tool);
    return [...tools].sort();
  }

  /** One reconcile of one tool, outside the queue (for `plan`). */
  async reconcileOne(tool: string) {
    const reconcileId = randomBytes(6).toString('hex');
    const log = this.log.child({ tool, namespace: `${TOOL_NAMESPACE_PREFIX}${tool}`, reconcileId });
    const started = performance.now();
    try {
      return await this.reconciler.reconcile(tool, log);
    } finally {
      this.firstPass.delete(tool);
      log.debug('reconciled', { durationMs: Math.round(performance.now() - started) });
    }
  }

  /** Writes each policy's status where it changed; coalesced to one pass per interval. */
  async flushStatus(): Promise<void> {
    // Before every tool has been reconciled once, the sums count only some of them.
    if (this.firstPass.size > 0) return;
    const holdActive = this.guard.active;
    this.metrics.deletionHoldActive.set(holdActive ? 1 : 0);
    const counts = this.status.countByState();
    for (const [state, n] of Object.entries(counts)) this.metrics.tools.set({ state }, n);
    const policies = this.caches.policies.list();
    const sums = this.status.summarise(policies.map((p) => p.metadata.name));
    const now = new Date().toISOString();
    const lifted = massDeletionAllowed(policies);
    const hold = holdActive && !lifted ? this.holdMessage() : undefined;
    for (const policy of policies) {
      const sum = sums.get(policy.metadata.name)!;
      const status: BuildQuotaPolicyStatus = {
        observedGeneration: policy.metadata.generation,
        conditions: policyConditions(sum, policy.metadata.generation, hold, this.retentionMessage, policy.status?.conditions, now),
        matchedTools: sum.matchedTools,
        readyTools: sum.readyTools,
        failedTools: sum.failedTools,
        failures: sum.failures,
        ...(hold ? {
          deletionHold: {
            since: new Date(this.guard.heldSince ?? Date.now()).toISOString(),
            pendingDeletions: this.guard.heldTools.length,
            tools: this.guard.heldTools.slice(0, STATUS_MAX_LISTED),
            message: hold,
          },
        } : {}),
      };
      if (!statusChanged(policy.status, status)) continue;
      try {
        await this.writer.applyStatus({ apiVersion: API_VERSION, kind: KIND, metadata: { name: policy.metadata.name }, status });
        this.metrics.apiWrites.inc({ verb: 'apply', kind: KIND });
        const ready = status.conditions?.find((c) => c.type === 'Ready');
        const wasReady = policy.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status === 'True' && (wasReady?.status !== 'True' || wasReady.observedGeneration !== ready.observedGeneration)) {
          await this.events.record(targetOf(policy),
            'Normal', 'RolledOut', `generation ${policy.metadata.generation} is in force in all ${sum.readyTools} matched tools`);
        }
      } catch (err) {
        this.log.warn('policy status not written', { policy: policy.metadata.name, error: errorMessage(err) });
      }
    }
  }

  private holdMessage(): string {
    const held = this.guard.heldTools;
    return `deletion of ${held.length} build namespace(s) held back (${held.slice(0, 5).join(', ')}${held.length > 5 ? ', …' : ''}); ` +
      `fix the selector or tool namespaces, or annotate a BuildQuotaPolicy with ${ANNOTATION_ALLOW_MASS_DELETION}`;
  }

  /** Stops taking work, lets in-flight reconciles finish (within the bound) and stops the watches. */
  async stop(drainTimeoutMs = 10_000): Promise<void> {
    clearInterval(this.statusTimer);
    await this.retention.stop();
    const drained = this.queue.shutDownWithDrain();
    await Promise.race([drained, new Promise((r) => setTimeout(r, drainTimeoutMs).unref())]);
    for (const informer of this.informers) informer.stop();
    await Promise.race([Promise.allSettled(this.running), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }
}

/**
 * Drops every managedFields entry but our own Apply entry (all diff.ts reads): other
 * managers' entries (kubectl, the controller manager's status) only cost memory.
 */
function keepOwnManagedFields<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata as T['metadata'] & { managedFields?: { manager?: string; operation?: string }[] };
  if (!meta.managedFields) return obj;
  const own = meta.managedFields.filter((e) => e.manager === MANAGER && e.operation === 'Apply');
  if (own.length > 0) meta.managedFields = own;
  else delete meta.managedFields;
  return obj;
}

/** Whether an update changed nothing but status (and the bookkeeping that comes with it). */
function onlyStatusChanged(old: KubeObject, obj: KubeObject): boolean {
  const owned = (o: KubeObject) => {
    const { status: _status, metadata, ...rest } = o as KubeObject & { status?: unknown };
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata as KubeObject['metadata'] & { managedFields?: unknown };
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
