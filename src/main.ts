// `run`: the operator process. Configuration, caches, leader election, the HTTP
// endpoints, and a graceful shutdown that finishes in-flight work and hands the lease on.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { KubeClient, loadKubeConfig } from './kube/client.js';
import { LeaderElector } from './kube/leader.js';
import { createLogger } from './log.js';
import { createMetrics } from './server/metrics.js';
import { startHttpServer } from './server/http.js';
import { DEFAULT_OPTIONS, Operator } from './controller/operator.js';

export interface RunConfig {
  kubeconfig?: string;
  workers: number;
  relistIntervalSeconds: number;
  deletionGuardShare: number;
  deletionGuardCount: number;
  logLevel: string;
  metricsAddress: string;
  healthAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionName: string;
  /** Lease timings; client-go's 15 s / 10 s / 2 s when unset. */
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  shutdownTimeoutSeconds: number;
}

export const DEFAULT_RUN_CONFIG: RunConfig = {
  workers: DEFAULT_OPTIONS.workers,
  relistIntervalSeconds: DEFAULT_OPTIONS.relistIntervalMs / 1000,
  deletionGuardShare: DEFAULT_OPTIONS.deletionGuard.maxShare,
  deletionGuardCount: DEFAULT_OPTIONS.deletionGuard.maxCount,
  logLevel: 'info',
  metricsAddress: ':8080',
  healthAddress: ':8081',
  leaderElect: true,
  leaderElectionNamespace: 'build-namespace-operator',
  leaderElectionName: 'build-namespace-operator',
  shutdownTimeoutSeconds: 20,
};

/** Runs until SIGTERM or SIGINT; resolves with the exit code. */
export async function runOperator(config: RunConfig): Promise<number> {
  const log = createLogger(config.logLevel);
  const metrics = createMetrics();
  const client = new KubeClient(loadKubeConfig(config.kubeconfig));
  const operator = new Operator(client, log, metrics, {
    ...DEFAULT_OPTIONS,
    workers: config.workers,
    relistIntervalMs: config.relistIntervalSeconds * 1000,
    deletionGuard: { ...DEFAULT_OPTIONS.deletionGuard, maxShare: config.deletionGuardShare, maxCount: config.deletionGuardCount },
  });
  const identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
  let elector: LeaderElector | undefined;
  let leading = !config.leaderElect;

  const health = {
    notReadyReason: () => (operator.cachesSynced ? undefined : 'caches not synced'),
  };
  const servers: Server[] = [await startHttpServer(config.healthAddress, metrics.registry, health)];
  if (config.metricsAddress !== config.healthAddress) servers.push(await startHttpServer(config.metricsAddress, metrics.registry, health));
  log.info('starting', { identity, workers: config.workers, leaderElect: config.leaderElect });

  const done = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });

  const startLeading = () => {
    leading = true;
    metrics.leader.set(1);
    log.info('leading; reconciling', { identity });
    void operator.startWorkers();
  };
  void operator.startCaches().then(() => log.info('caches synced'));
  if (config.leaderElect) {
    elector = new LeaderElector(client, {
      namespace: config.leaderElectionNamespace,
      name: config.leaderElectionName,
      identity,
      leaseDurationMs: config.leaseDurationSeconds === undefined ? undefined : config.leaseDurationSeconds * 1000,
      renewDeadlineMs: config.renewDeadlineSeconds === undefined ? undefined : config.renewDeadlineSeconds * 1000,
      retryPeriodMs: config.retryPeriodSeconds === undefined ? undefined : config.retryPeriodSeconds * 1000,
      onStartedLeading: startLeading,
      onStoppedLeading: () => {
        // Another replica may already be reconciling: stop at once, as client-go does.
        log.error('leadership lost; exiting');
        process.exit(1);
      },
      log: (message) => log.warn(message),
    });
    elector.start();
  } else {
    startLeading();
  }

  await done;
  await operator.stop(config.shutdownTimeoutSeconds * 1000);
  if (leading) await elector?.release();
  metrics.leader.set(0);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  client.close();
  log.info('stopped');
  return 0;
}
