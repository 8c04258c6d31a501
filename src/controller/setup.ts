// The operator's controllers, set up on a manager (kubebuilder's SetupWithManager): build
// namespaces, policy status and build retention, sharing one cache, one writer and one
// deletion guard. `run`, `plan` and the tests all assemble the operator here.
import type { KubeObject } from '../api/meta.js';
import { EventRecorder } from '../kube/events.js';
import { ResourceTypes } from '../kube/resources.js';
import { Writer, type ObjectWriter } from '../kube/writer.js';
import type { InformerCacheOptions } from '../runtime/cache.js';
import type { Manager } from '../runtime/manager.js';
import { BuildNamespaceController, keepOwnManagedFields } from './build-namespaces.js';
import { DeletionGuard } from './deletion-guard.js';
import { ConfigMapGuardStore, DELETION_GUARD_CONFIG_MAP, OPERATOR_NAMESPACE } from '../kube/deletion-guard-store.js';
import { errorMessage } from '../kube/client.js';
import { reportForbidden } from './forbidden.js';
import { AdmissionPolicyController } from './admission-policies.js';
import { DEFAULT_FENCE_EXEMPT_USERS, renderFencePolicy } from '../render/fence.js';
import { PolicyStatusController, ToolStatusTracker } from './policy-status.js';
import { buildsForNamespace, RetentionController } from './retention.js';

export interface OperatorOptions {
  workers: number;
  /** Relist every informer this often, as a safety net under the watches; 0 = never. */
  relistIntervalMs: number;
  deletionGuard: {
    maxShare: number; maxCount: number; windowMs: number;
    /** Where the guard keeps its state: the operator's namespace, and the ConfigMap's name. */
    namespace?: string; configMap?: string;
  };
  statusIntervalMs: number;
  /** Who may write PipelineRuns past the build fence (Tekton's controller, the operator itself). */
  fenceExemptUsers: readonly string[];
  /**
   * Whether the operator keeps the build fence's cluster-scoped policy (layer 1); false on a
   * cluster that does not serve ValidatingAdmissionPolicy, or to test another layer alone.
   */
  buildFence: boolean;
}

export const DEFAULT_OPTIONS: OperatorOptions = {
  workers: 8,
  relistIntervalMs: 30 * 60_000,
  deletionGuard: { maxShare: 0.1, maxCount: 5, windowMs: 60_000 },
  statusIntervalMs: 1_000,
  fenceExemptUsers: DEFAULT_FENCE_EXEMPT_USERS,
  buildFence: true,
};

/** The cache settings the operator's controllers expect of their manager. */
export function cacheOptions(options: OperatorOptions): InformerCacheOptions {
  return { relistIntervalMs: options.relistIntervalMs, defaultTransform: <T extends KubeObject>(obj: T) => keepOwnManagedFields(obj) };
}

export interface Controllers {
  buildNamespaces: BuildNamespaceController;
  status: PolicyStatusController;
  retention: RetentionController;
  tracker: ToolStatusTracker;
  guard: DeletionGuard;
  admission: AdmissionPolicyController;
}

/** `plan` records writes, sends no Events and asks a guard that only reads. */
export interface ControllerOverrides {
  writer?: ObjectWriter;
  events?: EventRecorder;
  guard?: DeletionGuard;
}

export function addControllers(manager: Manager, options: OperatorOptions = DEFAULT_OPTIONS, overrides: ControllerOverrides = {}): Controllers {
  const { client, cache, log, metrics } = manager;
  const types = new ResourceTypes(client);
  const writer = overrides.writer ?? new Writer(client, types);
  // A 403 from our own RBAC is a broken install, whichever request met it: never silent.
  client.onRequest(reportForbidden(log, metrics));
  const events = overrides.events ?? new EventRecorder(client, { onDropped: () => metrics.eventsDropped.inc({ reason: 'rate_limited' }) });
  const tracker = new ToolStatusTracker();
  const { namespace = OPERATOR_NAMESPACE, configMap = DELETION_GUARD_CONFIG_MAP } = options.deletionGuard;
  const guard = overrides.guard ?? new DeletionGuard({
    ...options.deletionGuard,
    onError: (err) => log.warn('deletion guard state not written; trying again', { error: errorMessage(err) }),
  }, new ConfigMapGuardStore(client, namespace, configMap));
  let retentionMessage: string | undefined;
  // Retention is told of namespaces and policies by the build-namespace controller's events.
  const later: { retention?: RetentionController } = {};
  const buildNamespaces = new BuildNamespaceController({
    cache, types, writer, events, guard, status: tracker, metrics, log, workers: options.workers,
    onBuildNamespaceChanged: (namespace) => later.retention?.enqueue(namespace),
    onPolicyChanged: () => later.retention?.enqueueAll(),
  });
  const retention = new RetentionController(client, cache, log.child({ controller: 'retention' }), metrics, buildsForNamespace(buildNamespaces.caches), {
    writer: overrides.writer,
    onAvailabilityChange: (available, message) => {
      retentionMessage = available ? undefined : message;
      tracker.touch();
    },
  });
  later.retention = retention;
  const status = new PolicyStatusController({
    policies: buildNamespaces.caches.policies, tracker, guard, writer, events, metrics, log,
    intervalMs: options.statusIntervalMs,
    firstPassDone: () => buildNamespaces.firstPassDone,
    retentionMessage: () => retentionMessage,
    unavailableSources: (policy) => buildNamespaces.unavailableSources(policy),
    unsyncedSources: () => buildNamespaces.unsyncedSources,
  });
  const admission = new AdmissionPolicyController({
    cache, writer, metrics, log: log.child({ controller: 'admission-policies' }),
    renderers: options.buildFence ? [() => renderFencePolicy(options.fenceExemptUsers)] : [],
  });
  manager.add(buildNamespaces);
  manager.add(status);
  manager.add(retention);
  manager.add(admission);
  return { buildNamespaces, status, retention, tracker, guard, admission };
}
