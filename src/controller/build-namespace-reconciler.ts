// reconcile(tool): read the caches, resolve the tool's effective policy, render what its
// build namespace should hold, apply only what differs, then mark it ready. A tool that is
// gone or no longer matched loses its build namespace (Delete) or keeps it marked
// orphaned (Retain). Level-triggered: it looks at everything afresh on every call.
import {
  ANNOTATION_ALLOW_MASS_DELETION, ANNOTATION_DELETION_POLICY, ANNOTATION_ORPHANED, ANNOTATION_REPLICATED_FROM, LABEL_MANAGED_BY, LABEL_READY, LABEL_TOOL, MANAGER,
  type BuildQuotaPolicy,
} from '../api/types.js';
import { toolFromNamespace, toolNamespaceName } from '../api/tool.js';
import { effectivePolicy, policiesForTool } from '../policy/index.js';
import { diffObject, needsRecreate, renderBuildNamespace } from '../render/index.js';
import type { DesiredObject } from '../api/meta.js';
import { errorMessage, isNotFound } from '../kube/client.js';
import { targetOf, type EventRecorder } from '../kube/events.js';
import type { Informer } from '../runtime/informer.js';
import type { KubeObject } from '../api/meta.js';
import { NAMESPACES, type ResourceType } from '../kube/resources.js';
import type { ObjectWriter } from '../kube/writer.js';
import type { Logger } from '../log.js';
import type { OperatorMetrics } from '../metrics/metrics.js';
import type { DeletionGuard } from './deletion-guard.js';
import type { Result } from '../runtime/workers.js';
import { objectKey, type RecentWrites } from './recent-writes.js';
import type { ToolStatusTracker } from './policy-status.js';
import type { ReplicationSources } from './replication.js';
import { renderReplicas, type ReplicaProblem } from '../render/replicas.js';

/** The pending state of a tool whose replication source has not synced yet. */
export const REASON_SOURCE_PENDING = 'ReplicationSourcePending';

/** How often a tool whose deletion is held back looks again. */
const HELD_RECHECK_MS = 15_000;

export interface Caches {
  namespaces: Informer<KubeObject>;
  policies: Informer<BuildQuotaPolicy>;
  /** Managed namespaced objects by "apiVersion/kind", each indexed by namespace. */
  managed: Map<string, Informer<KubeObject>>;
}

export const BY_NAMESPACE = 'namespace';
export const BY_TOOL = 'tool';
export const BY_MANAGED = 'managed';

export interface ReconcilerDeps {
  caches: Caches;
  writer: ObjectWriter;
  events: EventRecorder;
  guard: DeletionGuard;
  status: ToolStatusTracker;
  recent: RecentWrites;
  sources: ReplicationSources;
  metrics: OperatorMetrics;
  log: Logger;
}

const isManaged = (obj: KubeObject) =>
  obj.metadata.labels?.[LABEL_MANAGED_BY] === MANAGER && Boolean(obj.metadata.labels?.[LABEL_TOOL]);

export function massDeletionAllowed(policies: BuildQuotaPolicy[], now = Date.now()): boolean {
  return policies.some((p) => {
    const value = p.metadata.annotations?.[ANNOTATION_ALLOW_MASS_DELETION];
    if (value === undefined) return false;
    const until = Date.parse(value);
    return Number.isNaN(until) || until > now;
  });
}

export class Reconciler {
  private readonly reportedInvalid = new Set<string>();

  constructor(private readonly deps: ReconcilerDeps) {}

  private informerFor(obj: KubeObject): Informer<KubeObject> | undefined {
    if (obj.kind === 'Namespace') return this.deps.caches.namespaces;
    return this.deps.caches.managed.get(`${obj.apiVersion}/${obj.kind}`);
  }

  private cached(obj: KubeObject): KubeObject | undefined {
    return this.informerFor(obj)?.get(obj.metadata.name, obj.metadata.namespace);
  }

  /** The live object, from the cache or from our own newer write. */
  private live(obj: KubeObject): KubeObject | undefined {
    return this.deps.recent.newest(objectKey(obj), this.cached(obj));
  }

  private async apply(obj: KubeObject, log: Logger): Promise<void> {
    const live = this.live(obj);
    // Force only over our own object; a stranger's object of the same name is a conflict.
    const written = await this.deps.writer.apply(obj, live !== undefined && isManaged(live));
    this.deps.recent.remember(written, this.cached(written));
    this.deps.metrics.apiWrites.inc({ verb: 'apply', kind: obj.kind ?? '' });
    if (live && isManaged(live)) {
      // It existed as ours and differed: someone changed it, or the policy did.
      this.deps.metrics.driftCorrections.inc({ kind: obj.kind ?? '' });
    }
    log.debug('applied', { kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace });
  }

  async reconcile(tool: string, log: Logger): Promise<Result | undefined> {
    const { caches, status } = this.deps;
    const toolNs = caches.namespaces.get(toolNamespaceName(tool));
    const buildNamespaces = caches.namespaces.byIndex(BY_TOOL, tool).filter(isManaged);
    const policies = caches.policies.list().filter((p) => !p.metadata.deletionTimestamp);

    if (toolNs && !toolNs.metadata.deletionTimestamp) {
      const named = toolFromNamespace({ name: toolNs.metadata.name, labels: toolNs.metadata.labels });
      if (!named.ok) {
        this.reportInvalid(toolNs, named.error.reason, named.error.message, log);
        return undefined;
      }
      const toolNsView = { name: toolNs.metadata.name, labels: toolNs.metadata.labels ?? {} };
      const matched = policiesForTool(toolNsView, policies).map((p) => p.metadata.name);
      const effective = effectivePolicy(tool, toolNsView, policies);
      if (effective) {
        await this.deps.guard.cancel(tool);
        return this.converge(tool, toolNs, effective, matched, buildNamespaces, log);
      }
    }
    status.delete(tool);
    return this.collect(tool, buildNamespaces, policies, log);
  }

  private async converge(
    tool: string,
    toolNs: KubeObject,
    effective: NonNullable<ReturnType<typeof effectivePolicy>>,
    matched: string[],
    buildNamespaces: KubeObject[],
    log: Logger,
  ): Promise<Result | undefined> {
    const { status, events } = this.deps;
    const rendered = renderBuildNamespace(tool, effective, { ready: true });
    if (!rendered.ok) {
      status.set(tool, { state: 'failed', matched, reason: rendered.error.reason, message: rendered.error.message });
      await events.record(targetOf(toolNs), 'Warning', rendered.error.reason, rendered.error.message);
      return undefined;
    }
    const [namespace, ...fences] = rendered.value as (DesiredObject & KubeObject)[];
    if (!namespace || namespace.kind !== 'Namespace') throw new Error('render must put the Namespace first');
    const nsName = namespace.metadata.name;
    log = log.child({ namespace: nsName });
    const lookup = await this.deps.sources.prepare(effective.replicate);
    const replicas = renderReplicas(tool, nsName, effective.replicate, lookup);
    const inside = [...fences, ...(replicas.objects as (DesiredObject & KubeObject)[])];

    const liveNs = this.live(namespace);
    if (liveNs && !isManaged(liveNs)) {
      // A namespace of that name exists and is not ours: never take it over.
      const message = `namespace ${nsName} exists and is not managed by ${MANAGER}; not touching it`;
      status.set(tool, { state: 'failed', matched, reason: 'NamespaceNotOwned', message });
      await events.record(targetOf(toolNs), 'Warning', 'NamespaceNotOwned', message);
      return undefined;
    }
    if (liveNs?.metadata.deletionTimestamp) {
      status.set(tool, { state: 'pending', matched, reason: 'NamespaceTerminating', message: `${nsName} is being deleted` });
      return { requeueAfter: 2_000 };
    }

    // Ready before this pass (also in an earlier process): no second "ready" Event.
    const wasReady = liveNs?.metadata.labels?.[LABEL_READY] === 'true';
    const notYetReady = { ...namespace, metadata: { ...namespace.metadata, labels: withoutReady(namespace.metadata.labels) } };
    try {
      if (!liveNs) await this.apply(notYetReady, log);
      await Promise.all(inside.map(async (obj) => {
        const live = this.live(obj);
        const diffs = live ? diffObject(obj, live) : [];
        if (live && diffs.length === 0) return;
        // Some fields (a RoleBinding's roleRef) cannot change in place.
        if (live && needsRecreate(obj, diffs)) await this.deleteObject(this.informerFor(obj)!.type, live, log);
        await this.apply(obj, log);
      }));
      await this.prune(nsName, inside, replicas.problems, log);
      // Everything inside exists as desired: now the namespace may say it is ready. With
      // a replication source missing it is not ready, unless it already was.
      const currentNs = this.live(namespace);
      const target = replicas.problems.length && currentNs?.metadata.labels?.[LABEL_READY] !== 'true' ? notYetReady : namespace;
      if (!currentNs || diffObject(target, currentNs).length > 0) await this.apply(target, log);
      if (currentNs?.metadata.annotations?.[ANNOTATION_ORPHANED]) await this.unorphan(currentNs);
    } catch (err) {
      status.set(tool, { state: 'failed', matched, reason: 'ApplyFailed', message: errorMessage(err) });
      throw err;
    }

    // A change of name template leaves the old build namespace behind: collect it.
    const leftovers = buildNamespaces.filter((ns) => ns.metadata.name !== nsName);
    if (leftovers.length) await this.collect(tool, leftovers, this.deps.caches.policies.list(), log);

    const reported = replicas.problems.filter((p) => p.reason !== 'SourcePending');
    if (reported.length) {
      const message = reported.map((p) => p.message).join('; ');
      status.set(tool, { state: 'failed', matched, reason: reported[0]!.reason, message });
      log.warn('replication incomplete; other objects reconciled, existing copies kept', { problems: message });
      await events.record(targetOf(toolNs), 'Warning', reported[0]!.reason, message);
      return undefined;
    }
    if (replicas.problems.length) {
      // No wait here: the source's sync (or its failure, or the bound) enqueues the tool again.
      const message = replicas.problems.map((p) => p.message).join('; ');
      status.set(tool, { state: 'pending', matched, reason: REASON_SOURCE_PENDING, message });
      return undefined;
    }
    status.set(tool, { state: 'ready', matched });
    if (!wasReady) {
      log.info('build namespace ready', { policies: effective.sources });
      await events.record(targetOf(toolNs), 'Normal', 'BuildNamespaceReady', `build namespace ${nsName} is ready`);
    }
    return undefined;
  }

  /**
   * Deletes managed objects in the build namespace that the policy no longer asks for,
   * but keeps copies whose source cannot be read right now.
   */
  private async prune(nsName: string, desired: KubeObject[], problems: ReplicaProblem[], log: Logger): Promise<void> {
    const wanted = new Set(desired.map(objectKey));
    const keep = (obj: KubeObject) => problems.some(({ entry }) => {
      const from = obj.metadata.annotations?.[ANNOTATION_REPLICATED_FROM];
      return obj.apiVersion === entry.apiVersion && obj.kind === entry.kind && from !== undefined &&
        (entry.name ? from === `${entry.namespace}/${entry.name}` : from.startsWith(`${entry.namespace}/`));
    });
    for (const informer of this.deps.caches.managed.values()) {
      for (const obj of informer.byIndex(BY_NAMESPACE, nsName)) {
        if (!isManaged(obj) || wanted.has(objectKey(obj)) || obj.metadata.deletionTimestamp || keep(obj)) continue;
        await this.deleteObject(informer.type, obj, log);
      }
    }
  }

  private async deleteObject(type: ResourceType, obj: KubeObject, log: Logger): Promise<void> {
    try {
      await this.deps.writer.delete(type, obj);
      this.deps.metrics.apiWrites.inc({ verb: 'delete', kind: type.kind });
      log.info('deleted', { kind: type.kind, name: obj.metadata.name, namespace: obj.metadata.namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.deps.recent.forget(objectKey(obj));
  }

  /** The tool is gone or unmatched: delete or keep each of its build namespaces. */
  private async collect(tool: string, buildNamespaces: KubeObject[], policies: BuildQuotaPolicy[], log: Logger): Promise<Result | undefined> {
    const { caches, guard, events, metrics } = this.deps;
    let result: Result | undefined;
    let wantsDeletion = false;
    for (const ns of buildNamespaces) {
      if (ns.metadata.deletionTimestamp) continue;
      const nsLog = log.child({ namespace: ns.metadata.name });
      if (ns.metadata.annotations?.[ANNOTATION_DELETION_POLICY] === 'Retain') {
        if (!ns.metadata.annotations?.[ANNOTATION_ORPHANED]) {
          await this.deps.writer.mergePatch(NAMESPACES, ns, {
            metadata: { annotations: { [ANNOTATION_ORPHANED]: new Date().toISOString() }, labels: { [LABEL_READY]: null } },
          });
          metrics.apiWrites.inc({ verb: 'patch', kind: 'Namespace' });
          nsLog.info('tool gone; build namespace retained and marked orphaned');
        }
        this.deps.status.set(tool, { state: 'orphaned', matched: [] });
        continue;
      }
      wantsDeletion = true;
      const total = caches.namespaces.byIndex(BY_MANAGED, 'true').length;
      const decision = await guard.request({ tool, namespace: ns.metadata.name }, total, massDeletionAllowed(policies));
      if (!decision.allowed) {
        metrics.deletionsHeld.inc();
        this.deps.writer.held?.(NAMESPACES, ns);
        nsLog.warn('deletion held back', { reason: decision.message });
        // Said once per hold, not once per held tool: a typo over N tools is one Event per policy.
        if (decision.started) {
          for (const policy of policies) await events.record(targetOf(policy), 'Warning', 'DeletionsHeld', decision.message, 'Delete');
        }
        result = { requeueAfter: HELD_RECHECK_MS };
        continue;
      }
      await this.deleteObject(NAMESPACES, ns, nsLog);
    }
    // Nothing of this tool's is left to delete (gone meanwhile, or retained): not the hold's cause.
    if (!wantsDeletion) await guard.cancel(tool);
    return result;
  }

  private async unorphan(ns: KubeObject): Promise<void> {
    await this.deps.writer.mergePatch(NAMESPACES, ns, { metadata: { annotations: { [ANNOTATION_ORPHANED]: null } } });
    this.deps.metrics.apiWrites.inc({ verb: 'patch', kind: 'Namespace' });
  }

  private reportInvalid(ns: KubeObject, reason: string, message: string, log: Logger): void {
    if (this.reportedInvalid.has(ns.metadata.name)) return;
    this.reportedInvalid.add(ns.metadata.name);
    this.deps.metrics.invalidToolNamespaces.inc({ reason });
    log.warn('skipping tool namespace', { namespace: ns.metadata.name, reason, detail: message });
    void this.deps.events.recordOnce(targetOf(ns), 'Warning', reason, `${message}; no build namespace is made for it`);
  }
}

function withoutReady(labels: Record<string, string> | undefined): Record<string, string> {
  const rest = { ...labels };
  delete rest[LABEL_READY];
  return rest;
}

