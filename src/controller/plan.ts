// `plan`: what `run` would change, found by running the same reconcile against the same
// caches with a writer that records instead of writing. Applies go to the API server as
// server-side dry-runs, so defaulting and admission are exactly as a real apply would see.
import type { KubeClient } from '../kube/client.js';
import { errorMessage, isNotFound } from '../kube/client.js';
import type { KubeObject } from '../api/meta.js';
import { ResourceTypes, type ResourceType } from '../kube/resources.js';
import { Writer, type JsonPatchOperation, type ObjectWriter } from '../kube/writer.js';
import type { Caches } from './build-namespace-reconciler.js';
import { EventRecorder } from '../kube/events.js';
import { createLogger } from '../log.js';
import { diffObject, type FieldDiff } from '../render/index.js';
import { createMetrics } from '../metrics/metrics.js';
import { Manager } from '../runtime/manager.js';
import { addControllers, cacheOptions, DEFAULT_OPTIONS, type OperatorOptions } from './setup.js';
import { objectKey } from './recent-writes.js';
import { DeletionGuard } from './deletion-guard.js';
import { ConfigMapGuardStore, OPERATOR_NAMESPACE, readOnlyStore } from '../kube/deletion-guard-store.js';

export type PlannedAction = 'create' | 'update' | 'delete';

export interface PlannedChange {
  tool: string;
  kind: string;
  namespace?: string;
  name: string;
  action: PlannedAction;
  diffs: FieldDiff[];
  /** A deletion the mass-deletion guard holds back: `run` would not make it now. */
  held?: boolean;
}

class RecordingWriter implements ObjectWriter {
  readonly changes = new Map<string, PlannedChange>();
  tool = '';

  /** The operator's caches, where the live objects are; set once the operator exists. */
  caches?: Caches;

  constructor(private readonly dryRun: Writer) {}

  private live(obj: KubeObject): KubeObject | undefined {
    const informer = obj.kind === 'Namespace' ? this.caches?.namespaces : this.caches?.managed.get(`${obj.apiVersion}/${obj.kind}`);
    return informer?.get(obj.metadata.name, obj.metadata.namespace);
  }

  private record(obj: KubeObject, action: PlannedAction, diffs: FieldDiff[], held = false): void {
    const key = objectKey(obj);
    // reconcile may touch an object twice (a new namespace, then its ready label): one change.
    if (this.changes.has(key)) return;
    this.changes.set(key, {
      tool: this.tool, kind: obj.kind ?? '', namespace: obj.metadata.namespace, name: obj.metadata.name, action, diffs,
      ...(held ? { held } : {}),
    });
  }

  held(_type: ResourceType, obj: KubeObject): void {
    this.record({ ...obj, kind: obj.kind ?? 'Namespace' }, 'delete', [], true);
  }

  async apply<T extends KubeObject>(obj: T, force?: boolean): Promise<T> {
    const live = this.live(obj);
    this.record(obj, live ? 'update' : 'create', live ? diffObject(obj, live) : []);
    try {
      return await this.dryRun.apply(obj, force);
    } catch (err) {
      // A dry-run inside a namespace that is itself only planned cannot succeed.
      if (isNotFound(err)) return obj;
      throw err;
    }
  }

  async applyStatus<T extends KubeObject>(obj: T): Promise<T> {
    return obj;
  }

  async delete(_type: ResourceType, obj: KubeObject): Promise<void> {
    this.record(obj, 'delete', []);
  }

  async mergePatch(_type: ResourceType, obj: KubeObject, patch: unknown): Promise<KubeObject> {
    this.record(obj, 'update', [{ path: 'metadata', want: patch, got: obj.metadata }] as FieldDiff[]);
    return obj;
  }

  async jsonPatch(_type: ResourceType, obj: KubeObject, operations: readonly JsonPatchOperation[]): Promise<KubeObject> {
    this.record(obj, 'update', operations.filter((o) => o.op !== 'test').map((o) => ({ path: o.path, want: o.value, got: undefined })));
    return obj;
  }
}

/**
 * The changes `run` would make now, tool by tool, sorted; nothing is written. Deletions are
 * asked of a guard that reads the hold `run` keeps (in `guardNamespace`) and never writes:
 * every pending deletion is listed, and those the guard would hold are marked held.
 */
export async function planChanges(client: KubeClient, options: OperatorOptions = DEFAULT_OPTIONS): Promise<PlannedChange[]> {
  const guardNamespace = options.deletionGuard.namespace ?? OPERATOR_NAMESPACE;
  const log = createLogger('error', true);
  const recorder = new RecordingWriter(new Writer(client, new ResourceTypes(client), true));
  const manager = new Manager(client, log, createMetrics({ processMetrics: false }), { cache: cacheOptions(options) });
  const guard = new DeletionGuard(options.deletionGuard, readOnlyStore(new ConfigMapGuardStore(client, guardNamespace)));
  const { buildNamespaces, admission } = addControllers(manager, options, { writer: recorder, events: new EventRecorder(undefined), guard });
  recorder.caches = buildNamespaces.caches;
  try {
    // The caches only: no controller runs, each tool is reconciled once, here.
    manager.cache.start();
    await manager.cache.waitForSync();
    await buildNamespaces.prepareReplication();
    // The cluster-scoped admission objects: the build fence, the queue's hold, the pod fence.
    recorder.tool = '(cluster)';
    await admission.reconcile();
    for (const tool of buildNamespaces.allTools()) {
      recorder.tool = tool;
      try {
        await buildNamespaces.reconcileOne(tool);
      } catch (err) {
        log.error('plan failed for tool', { tool, error: errorMessage(err) });
        throw err;
      }
    }
  } finally {
    await manager.cache.stop();
  }
  return [...recorder.changes.values()].sort((a, b) =>
    a.tool.localeCompare(b.tool) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}
