// The registry exposes controller-runtime's metric names and the operator's own, and the
// queue and worker hooks land in them.
import assert from 'node:assert/strict';
import { runWorkers } from '../../src/runtime/workers.js';
import { RateLimitingQueue } from '../../src/runtime/workqueue/rate-limiting-queue.js';
import { createMetrics, queueMetrics, reconcileMetrics } from '../../src/metrics/metrics.js';

const EXPECTED_NAMES = [
  'controller_runtime_reconcile_total',
  'controller_runtime_reconcile_errors_total',
  'controller_runtime_reconcile_time_seconds',
  'controller_runtime_max_concurrent_reconciles',
  'controller_runtime_active_workers',
  'workqueue_depth',
  'workqueue_adds_total',
  'workqueue_queue_duration_seconds',
  'workqueue_work_duration_seconds',
  'workqueue_unfinished_work_seconds',
  'workqueue_longest_running_processor_seconds',
  'workqueue_retries_total',
  'build_namespace_operator_tools',
  'build_namespace_operator_drift_corrections_total',
  'build_namespace_operator_deletions_held_total',
  'build_namespace_operator_deletion_hold_active',
  'build_namespace_operator_invalid_tool_namespaces_total',
  'build_namespace_operator_leader',
  'build_namespace_operator_informer_restarts_total',
  'build_namespace_operator_api_writes_total',
  'build_namespace_operator_forbidden_requests_total',
  'build_namespace_operator_events_dropped_total',
];

describe('createMetrics', () => {
  it('exposes every controller-runtime, workqueue and operator metric by name, with process metrics', async () => {
    const { registry } = createMetrics();
    const text = await registry.metrics();
    const missing = EXPECTED_NAMES.filter((name) => !text.includes(`# TYPE ${name} `));
    assert.deepEqual(missing, [], `metrics missing from the exposition: ${missing.join(', ')}`);
    assert.match(text, /^process_cpu_user_seconds_total /m, 'default Node process metrics are on the same registry');
    assert.match(text, /^build_namespace_operator_tools\{state="orphaned"\} 0$/m, 'every tool state starts at 0');
  });

  it('records queue and reconcile activity under the queue and controller names', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const queue = new RateLimitingQueue({ metrics: queueMetrics(metrics, 'tools') });
    let calls = 0;
    const workers = runWorkers(
      queue,
      3,
      async () => {
        if (++calls === 1) throw new Error('transient');
        return {};
      },
      { metrics: reconcileMetrics(metrics, 'tools'), onError: () => {} },
    );
    queue.add('tool-a');
    for (let i = 0; i < 10_000 && calls < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    queue.shutDown();
    await workers;

    const text = await metrics.registry.metrics();
    const expectLine = (line: string, why: string): void =>
      assert.ok(text.split('\n').includes(line), `${why}: expected line "${line}" in\n${text}`);
    expectLine('controller_runtime_reconcile_total{controller="tools",result="error"} 1', 'the failed reconcile');
    expectLine('controller_runtime_reconcile_total{controller="tools",result="success"} 1', 'the retried reconcile');
    expectLine('controller_runtime_reconcile_total{controller="tools",result="requeue_after"} 0', 'unused results start at 0');
    expectLine('controller_runtime_reconcile_errors_total{controller="tools"} 1', 'errors are counted');
    expectLine('controller_runtime_max_concurrent_reconciles{controller="tools"} 3', 'the worker count');
    expectLine('controller_runtime_active_workers{controller="tools"} 0', 'no worker is busy after shutdown');
    expectLine('workqueue_adds_total{name="tools"} 2', 'the add and the retry');
    expectLine('workqueue_retries_total{name="tools"} 1', 'the retry');
    expectLine('workqueue_depth{name="tools"} 0', 'the queue is empty');
    expectLine('workqueue_work_duration_seconds_count{name="tools"} 2', 'two pieces of work');
  });
});
