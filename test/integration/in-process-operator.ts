// Runs the operator in-process for an integration test, under its own identity: the
// ServiceAccount and ClusterRole of manifests/, never the admin.
import { KubeClient } from '../../src/kube/client.js';
import { createLogger } from '../../src/log.js';
import { createMetrics, type OperatorMetrics } from '../../src/metrics/metrics.js';
import { Manager } from '../../src/runtime/manager.js';
import { addControllers, cacheOptions, DEFAULT_OPTIONS, type Controllers, type OperatorOptions } from '../../src/controller/setup.js';
import { configForServiceAccount } from '../../envtest/cluster.js';
import type { ControlPlaneInfo } from '../../envtest/controlplane.js';
import { adminClient, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT } from '../../envtest/install.js';
import { eventually } from '../../envtest/cluster.js';
import { waitUntilIdle } from '../../envtest/operator-process.js';
import { DELETION_GUARD_CONFIG_MAP } from '../../src/kube/deletion-guard-store.js';
import { CONFIG_MAPS, objectPath } from '../../src/kube/resources.js';
import { isNotFound } from '../../src/kube/client.js';

export interface RunningOperator {
  manager: Manager;
  controllers: Controllers;
  client: KubeClient;
  metrics: OperatorMetrics;
  /** Writes this operator sent, by "VERB kind-path". */
  writes: string[];
  /**
   * Resolves once the operator has nothing left to do: its first pass done, its queues idle
   * (waitUntilIdle), and one more policy status pass made, so that a test that counts writes
   * counts all of them without a fixed sleep.
   */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Forgets the deletion guard's stored window and hold. The test files share one cluster, so
 * the deletions one file counted must not hold back the next file's.
 */
export async function resetDeletionGuard(): Promise<void> {
  const admin = adminClient();
  await admin.request('DELETE', objectPath(CONFIG_MAPS, DELETION_GUARD_CONFIG_MAP, OPERATOR_NAMESPACE))
    .catch((err: unknown) => { if (!isNotFound(err)) throw err; })
    .finally(() => admin.close());
}

/**
 * Starts an operator as the operator's ServiceAccount and waits until it reconciles: on the
 * shared control plane unless `plane` names another (which starts with no guard state), and
 * with a fresh deletion guard unless `keepGuardState` (a restart, as a test of the hold wants it).
 */
export async function startOperator(
  options: Partial<OperatorOptions> = {},
  { plane, keepGuardState = false }: { plane?: ControlPlaneInfo; keepGuardState?: boolean } = {},
): Promise<RunningOperator> {
  if (!keepGuardState && !plane) await resetDeletionGuard();
  const client = new KubeClient(await configForServiceAccount(OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, plane));
  const writes: string[] = [];
  client.onRequest((verb, path) => {
    if (!['GET', 'WATCH'].includes(verb)) writes.push(`${verb} ${path}`);
  });
  const metrics = createMetrics({ processMetrics: false });
  const log = createLogger(process.env.BNO_TEST_LOG_LEVEL ?? 'error');
  const operatorOptions = { ...DEFAULT_OPTIONS, statusIntervalMs: 200, ...options };
  const manager = new Manager(client, log, metrics, { cache: cacheOptions(operatorOptions) });
  const controllers = addControllers(manager, operatorOptions);
  await manager.start();
  await manager.leaderWorkStarted();
  return {
    manager, controllers, client, metrics, writes,
    async settled() {
      await eventually(() => { if (!controllers.buildNamespaces.firstPassDone) throw new Error('first pass not done'); }, { timeoutMs: 30_000 });
      await waitUntilIdle(() => metrics.registry.metrics());
      await controllers.status.flushStatus();
    },
    async stop() {
      await manager.stop(5_000);
      client.close();
    },
  };
}
