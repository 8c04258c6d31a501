// Runs the operator in-process for an integration test, under its own identity: the
// ServiceAccount and ClusterRole of manifests/, never the admin.
import { KubeClient } from '../../src/kube/client.js';
import { createLogger } from '../../src/log.js';
import { createMetrics, type OperatorMetrics } from '../../src/metrics/metrics.js';
import { Manager } from '../../src/runtime/manager.js';
import { addControllers, cacheOptions, DEFAULT_OPTIONS, type Controllers, type OperatorOptions } from '../../src/controller/setup.js';
import { configForServiceAccount } from '../../envtest/cluster.js';
import type { ControlPlaneInfo } from '../../envtest/controlplane.js';
import { OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT } from '../../envtest/install.js';

export interface RunningOperator {
  manager: Manager;
  controllers: Controllers;
  client: KubeClient;
  metrics: OperatorMetrics;
  /** Writes this operator sent, by "VERB kind-path". */
  writes: string[];
  stop(): Promise<void>;
}

/** Starts an operator as the operator's ServiceAccount and waits until it reconciles (on the shared control plane unless told another). */
export async function startOperator(options: Partial<OperatorOptions> = {}, plane?: ControlPlaneInfo): Promise<RunningOperator> {
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
    async stop() {
      await manager.stop(5_000);
      client.close();
    },
  };
}
