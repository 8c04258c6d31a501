// The operator's controllers, set up on a manager (kubebuilder's SetupWithManager): build
// namespaces, policy status, build retention and the build queue, sharing one cache, one writer and one
// deletion guard. `run`, `plan` and the tests all assemble the operator here.
import type { KubeObject } from '../api/meta.js';
import { EventRecorder } from '../kube/events.js';
import { ResourceTypes, servedKinds } from '../kube/resources.js';
import { Writer, type ObjectWriter } from '../kube/writer.js';
import type { InformerCacheOptions } from '../runtime/cache.js';
import type { Manager } from '../runtime/manager.js';
import { Interner } from '../runtime/intern.js';
import { BuildNamespaceController, keepOwnManagedFields } from './build-namespaces.js';
import { DeletionGuard } from './deletion-guard.js';
import { ConfigMapGuardStore, DELETION_GUARD_CONFIG_MAP, OPERATOR_NAMESPACE } from '../kube/deletion-guard-store.js';
import { errorMessage } from '../kube/client.js';
import { reportForbidden } from './forbidden.js';
import { AdmissionPolicyController } from './admission-policies.js';
import { renderBuildPodFence, type BuildPodFenceSettings } from '../render/build-pod-fence.js';
import { DEFAULT_FENCE_EXEMPT_USERS, renderFencePolicy } from '../render/fence.js';
import { PolicyStatusController, ToolStatusTracker } from './policy-status.js';
import { buildsForNamespace, RetentionController } from './retention.js';
import { BuildQueueController } from './build-queue.js';
import { renderHoldPolicy, renderRequireHeldPolicy } from '../render/build-queue-admission.js';

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
  /**
   * The build pod fence (layer 2): what build pods may run. Unset, the operator keeps no pod
   * fence, since only the admin knows Tekton's and the builders' images.
   */
  podFence?: BuildPodFenceSettings;
  /**
   * The build queue's cluster-wide cap on running builds. Above 0 the queue is on: every
   * PipelineRun of a build namespace is created held (a MutatingAdmissionPolicy, so the
   * cluster must serve admissionregistration.k8s.io/v1 MutatingAdmissionPolicy) and started
   * in turn; 0, runs start as created. Off unless asked here; `run` turns it on (--max-running-builds).
   */
  maxRunningBuilds: number;
  /** How long the queue waits after an event before its pass, so a burst makes one pass. */
  buildQueueDebounceMs?: number;
}

export const DEFAULT_OPTIONS: OperatorOptions = {
  workers: 8,
  relistIntervalMs: 30 * 60_000,
  deletionGuard: { maxShare: 0.1, maxCount: 5, windowMs: 60_000 },
  statusIntervalMs: 1_000,
  fenceExemptUsers: DEFAULT_FENCE_EXEMPT_USERS,
  buildFence: true,
  maxRunningBuilds: 0,
};

/** The cache settings the operator's controllers expect of their manager. */
export function cacheOptions(options: OperatorOptions): InformerCacheOptions {
  const interner = new Interner();
  return { relistIntervalMs: options.relistIntervalMs, defaultTransform: <T extends KubeObject>(obj: T) => interner.object(keepOwnManagedFields(obj)) };
}

export interface Controllers {
  buildNamespaces: BuildNamespaceController;
  status: PolicyStatusController;
  retention: RetentionController;
  tracker: ToolStatusTracker;
  guard: DeletionGuard;
  admission: AdmissionPolicyController;
  /** Undefined while the queue is off (maxRunningBuilds 0). */
  buildQueue?: BuildQueueController;
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
  const events = overrides.events ?? new EventRecorder(client, {
    onDropped: () => metrics.eventsDropped.inc({ reason: 'rate_limited' }),
    // Per-object rate limits bound these lines as they bound the Events.
    onRefused: (err) => {
      metrics.eventsDropped.inc({ reason: 'refused' });
      log.warn('event not recorded', { error: errorMessage(err) });
    },
  });
  const tracker = new ToolStatusTracker();
  const { namespace = OPERATOR_NAMESPACE, configMap = DELETION_GUARD_CONFIG_MAP } = options.deletionGuard;
  const guard = overrides.guard ?? new DeletionGuard({
    ...options.deletionGuard,
    onError: (err) => log.warn('deletion guard state not written; trying again', { error: errorMessage(err) }),
  }, new ConfigMapGuardStore(client, namespace, configMap));
  let retentionMessage: string | undefined;
  // Retention is told of namespaces and policies by the build-namespace controller's events.
  const later: { retention?: RetentionController; admission?: AdmissionPolicyController; buildQueue?: BuildQueueController } = {};
  const buildNamespaces = new BuildNamespaceController({
    cache, types, writer, events, guard, status: tracker, metrics, log, workers: options.workers,
    onBuildNamespaceChanged: (namespace) => {
      later.retention?.enqueue(namespace);
      later.buildQueue?.enqueue();
    },
    onPolicyChanged: () => {
      later.retention?.enqueueAll();
      later.admission?.enqueue();
      later.buildQueue?.enqueue();
    },
  });
  const retention = new RetentionController(client, cache, log.child({ controller: 'retention' }), metrics, buildsForNamespace(buildNamespaces.caches), {
    writer: overrides.writer,
    onAvailabilityChange: (available, message) => {
      retentionMessage = available ? undefined : message;
      tracker.touch();
      // The queue reads the same cache of PipelineRuns, there while Tekton's API is served.
      later.buildQueue?.watchPipelineRuns(retention.pipelineRuns);
    },
  });
  later.retention = retention;
  const queueOn = options.maxRunningBuilds > 0;
  const buildQueue = queueOn ? new BuildQueueController({
    caches: buildNamespaces.caches, writer, metrics, log: log.child({ controller: 'build-queue' }),
    buildsFor: buildsForNamespace(buildNamespaces.caches),
    clusterMaxRunning: options.maxRunningBuilds,
    debounceMs: options.buildQueueDebounceMs,
  }) : undefined;
  later.buildQueue = buildQueue;
  const status = new PolicyStatusController({
    policies: buildNamespaces.caches.policies, tracker, guard, writer, events, metrics, log,
    intervalMs: options.statusIntervalMs,
    firstPassDone: () => buildNamespaces.firstPassDone,
    retentionMessage: () => retentionMessage,
    admissionAvailability: () => later.admission?.availability,
    unavailableSources: (policy) => buildNamespaces.unavailableSources(policy),
    unsyncedSources: () => buildNamespaces.unsyncedSources,
  });
  const { podFence } = options;
  const admission = new AdmissionPolicyController({
    cache, writer, metrics, log: log.child({ controller: 'admission-policies' }),
    servedKinds: (apiVersion) => servedKinds(client, apiVersion),
    onAvailabilityChange: () => tracker.touch(),
    features: [
      ...(options.buildFence ? [{ name: 'the build fence', render: () => renderFencePolicy(options.fenceExemptUsers) }] : []),
      ...(queueOn ? [{
        name: 'the build queue\'s hold',
        render: renderHoldPolicy,
        fallback: {
          render: () => renderRequireHeldPolicy(options.fenceExemptUsers),
          means: 'PipelineRuns not created held (spec.status: PipelineRunPending) are refused instead',
        },
      }] : []),
      // Tekton mounts the build ServiceAccount's credential Secrets: those every policy names.
      ...(podFence ? [{
        name: 'the build pod fence',
        render: () => renderBuildPodFence({
          ...podFence, secretNames: buildNamespaces.caches.policies.list().flatMap((p) => p.spec.serviceAccount?.secrets ?? []),
        }),
      }] : []),
    ],
  });
  later.admission = admission;
  manager.add(buildNamespaces);
  manager.add(status);
  manager.add(retention);
  manager.add(admission);
  if (buildQueue) manager.add(buildQueue);
  return { buildNamespaces, status, retention, tracker, guard, admission, buildQueue };
}
