// The operator's Prometheus registry: controller-runtime's controller and workqueue metrics
// under their usual names (so existing dashboards and alerts work), plus the operator's own.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReconcileMetrics, ReconcileOutcome } from '../runtime/workers.js';
import type { QueueMetrics } from '../runtime/workqueue/metrics.js';

export const TOOL_STATES = ['ready', 'pending', 'failed', 'orphaned'] as const;
export type ToolState = (typeof TOOL_STATES)[number];

const RECONCILE_OUTCOMES: readonly ReconcileOutcome[] = ['success', 'error', 'requeue', 'requeue_after'];

// controller-runtime's buckets, so histograms aggregate with those of Go controllers.
const RECONCILE_TIME_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
  1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
// prometheus.ExponentialBuckets(10e-9, 10, 12): 10 ns to 1000 s.
const WORKQUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => Number((1e-8 * 10 ** i).toPrecision(1)));

const PREFIX = 'build_namespace_operator_';

export interface OperatorMetrics {
  registry: Registry;

  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileErrorsTotal: Counter<'controller'>;
  reconcileTime: Histogram<'controller'>;
  maxConcurrentReconciles: Gauge<'controller'>;
  activeWorkers: Gauge<'controller'>;

  workqueueDepth: Gauge<'name'>;
  workqueueAdds: Counter<'name'>;
  workqueueQueueDuration: Histogram<'name'>;
  workqueueWorkDuration: Histogram<'name'>;
  workqueueUnfinishedWork: Gauge<'name'>;
  workqueueLongestRunningProcessor: Gauge<'name'>;
  workqueueRetries: Counter<'name'>;

  /** Tools by state; set all four after each full pass. */
  tools: Gauge<'state'>;
  /** A managed object found different from desired and corrected; kind = its Kind. */
  driftCorrections: Counter<'kind'>;
  /** Deletion passes stopped because they would delete an unusual share of build namespaces. */
  deletionsHeld: Counter;
  /** 1 while such a hold is in force. */
  deletionHoldActive: Gauge;
  invalidToolNamespaces: Counter<'reason'>;
  /** 1 while this replica holds the leader lease. */
  leader: Gauge;
  informerRestarts: Counter<'resource'>;
  /** verb = apply|create|update|patch|delete; kind = the object's Kind. */
  apiWrites: Counter<'verb' | 'kind'>;
  /** Requests the API server refused with 403: the operator's RBAC lacks a rule. */
  forbiddenRequests: Counter<'verb' | 'resource'>;
  /** Replication sources (kind and namespace) a policy names whose cache has not synced. */
  replicationSourcesUnsynced: Gauge;
  /** Events not sent because their object already had its share (reason = rate_limited). */
  eventsDropped: Counter<'reason'>;
  /** The build queue, cluster-wide (no tool label: thousands of tools). */
  buildsQueued: Gauge;
  buildsRunning: Gauge;
  buildsStarted: Counter;
  buildQueueWait: Histogram;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC); on unless false. */
  processMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): OperatorMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const metrics: OperatorMetrics = {
    registry,

    reconcileTotal: new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'] as const,
      registers,
    }),
    reconcileErrorsTotal: new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'] as const,
      registers,
    }),
    reconcileTime: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'] as const,
      buckets: RECONCILE_TIME_BUCKETS,
      registers,
    }),
    maxConcurrentReconciles: new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'] as const,
      registers,
    }),
    activeWorkers: new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'] as const,
      registers,
    }),

    workqueueDepth: new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name'] as const,
      registers,
    }),
    workqueueAdds: new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'] as const,
      registers,
    }),
    workqueueQueueDuration: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'] as const,
      buckets: WORKQUEUE_BUCKETS,
      registers,
    }),
    workqueueWorkDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: ['name'] as const,
      buckets: WORKQUEUE_BUCKETS,
      registers,
    }),
    workqueueUnfinishedWork: new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        "How many seconds of work has been done that is in progress and hasn't been observed by " +
        'work_duration. Large values indicate stuck threads. One can deduce the number of stuck ' +
        'threads by observing the rate at which this increases.',
      labelNames: ['name'] as const,
      registers,
    }),
    workqueueLongestRunningProcessor: new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name'] as const,
      registers,
    }),
    workqueueRetries: new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'] as const,
      registers,
    }),

    tools: new Gauge({
      name: `${PREFIX}tools`,
      help: 'Tools with a build namespace, by state (ready, pending, failed, orphaned)',
      labelNames: ['state'] as const,
      registers,
    }),
    driftCorrections: new Counter({
      name: `${PREFIX}drift_corrections_total`,
      help: 'Managed objects found changed or missing and restored, by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    deletionsHeld: new Counter({
      name: `${PREFIX}deletions_held_total`,
      help: 'Garbage collection passes held back because they would delete too many build namespaces',
      registers,
    }),
    deletionHoldActive: new Gauge({
      name: `${PREFIX}deletion_hold_active`,
      help: '1 while build namespace deletion is held back, else 0',
      registers,
    }),
    invalidToolNamespaces: new Counter({
      name: `${PREFIX}invalid_tool_namespaces_total`,
      help: 'Tool namespaces skipped because no valid tool name derives from them, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    leader: new Gauge({
      name: `${PREFIX}leader`,
      help: '1 while this replica holds the leader lease, else 0',
      registers,
    }),
    informerRestarts: new Counter({
      name: `${PREFIX}informer_restarts_total`,
      help: 'Informer restarts after a watch error or a watch that went quiet, by resource',
      labelNames: ['resource'] as const,
      registers,
    }),
    apiWrites: new Counter({
      name: `${PREFIX}api_writes_total`,
      help: 'Writes sent to the Kubernetes API server, by verb and kind',
      labelNames: ['verb', 'kind'] as const,
      registers,
    }),
    forbiddenRequests: new Counter({
      name: `${PREFIX}forbidden_requests_total`,
      help: 'Requests refused with 403 Forbidden: the operator\'s RBAC lacks a rule, by verb and resource',
      labelNames: ['verb', 'resource'] as const,
      registers,
    }),
    replicationSourcesUnsynced: new Gauge({
      name: `${PREFIX}replication_sources_unsynced`,
      help: 'Replication sources (kind and namespace) named by a policy whose cache has not synced: still listing, forbidden, not served',
      registers,
    }),
    eventsDropped: new Counter({
      name: `${PREFIX}events_dropped_total`,
      help: 'Events not sent: their object had used up its burst (reason rate_limited, a per-object limit), or the API server refused them (reason refused)',
      labelNames: ['reason'] as const,
      registers,
    }),
    buildsQueued: new Gauge({
      name: `${PREFIX}builds_queued`,
      help: 'PipelineRuns held in the build queue, waiting their turn, across all build namespaces',
      registers,
    }),
    buildsRunning: new Gauge({
      name: `${PREFIX}builds_running`,
      help: 'PipelineRuns started and not finished, across all build namespaces (what the cluster-wide cap counts)',
      registers,
    }),
    buildsStarted: new Counter({
      name: `${PREFIX}builds_started_total`,
      help: 'Held PipelineRuns the build queue started',
      registers,
    }),
    buildQueueWait: new Histogram({
      name: `${PREFIX}build_queue_wait_seconds`,
      help: 'Time from a PipelineRun\'s creation to the build queue starting it',
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    }),
  };

  // Series that exist from the start, so rate() and absent() queries work before the first event.
  for (const state of TOOL_STATES) metrics.tools.set({ state }, 0);
  metrics.deletionHoldActive.set(0);
  metrics.leader.set(0);
  metrics.replicationSourcesUnsynced.set(0);
  metrics.eventsDropped.inc({ reason: 'rate_limited' }, 0);
  metrics.buildsQueued.set(0);
  metrics.buildsRunning.set(0);
  return metrics;
}

/** The QueueMetrics hooks of one named work queue. */
export function queueMetrics(metrics: OperatorMetrics, name: string): QueueMetrics {
  const labels = { name };
  metrics.workqueueDepth.set(labels, 0);
  metrics.workqueueAdds.inc(labels, 0);
  metrics.workqueueRetries.inc(labels, 0);
  metrics.workqueueUnfinishedWork.set(labels, 0);
  metrics.workqueueLongestRunningProcessor.set(labels, 0);
  return {
    depth: (keys) => metrics.workqueueDepth.set(labels, keys),
    added: () => metrics.workqueueAdds.inc(labels),
    queueDuration: (seconds) => metrics.workqueueQueueDuration.observe(labels, seconds),
    workDuration: (seconds) => metrics.workqueueWorkDuration.observe(labels, seconds),
    unfinishedWork: (seconds) => metrics.workqueueUnfinishedWork.set(labels, seconds),
    longestRunningProcessor: (seconds) => metrics.workqueueLongestRunningProcessor.set(labels, seconds),
    retried: () => metrics.workqueueRetries.inc(labels),
  };
}

/** The ReconcileMetrics hooks of one named controller, for runWorkers. */
export function reconcileMetrics(metrics: OperatorMetrics, controller: string): ReconcileMetrics {
  const labels = { controller };
  for (const result of RECONCILE_OUTCOMES) metrics.reconcileTotal.inc({ controller, result }, 0);
  metrics.reconcileErrorsTotal.inc(labels, 0);
  metrics.activeWorkers.set(labels, 0);
  return {
    maxConcurrentReconciles: (workers) => metrics.maxConcurrentReconciles.set(labels, workers),
    activeWorkers: (delta) => metrics.activeWorkers.inc(labels, delta),
    reconciled(result, seconds) {
      metrics.reconcileTotal.inc({ controller, result });
      if (result === 'error') metrics.reconcileErrorsTotal.inc(labels);
      metrics.reconcileTime.observe(labels, seconds);
    },
  };
}
