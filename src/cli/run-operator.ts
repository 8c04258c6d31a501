// The operator process that `run` starts: a manager with the operator's controllers,
// leader election, the HTTP endpoints, and a graceful shutdown that finishes in-flight work
// and hands the lease on.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { KubeClient } from '../kube/client.js';
import { loadKubeConfig } from '../kube/credentials.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics/metrics.js';
import { Manager } from '../runtime/manager.js';
import { addControllers, cacheOptions, DEFAULT_OPTIONS, type OperatorOptions } from '../controller/setup.js';

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
  /** Users the build fence lets write PipelineRuns unchecked. */
  fenceExemptUsers: readonly string[];
  /** The build pod fence's images, root images and env names; no images = no pod fence. */
  podFenceImages: readonly string[];
  podFenceRootImages: readonly string[];
  podFenceEnv: readonly string[];
  /** The build queue's cluster-wide cap on running builds; 0 = no queue. */
  maxRunningBuilds: number;
  /** Lease timings; client-go's 15 s / 10 s / 2 s when unset. */
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  shutdownTimeoutSeconds: number;
  /** The deadline of every API request but a watch; 0 = none. */
  requestTimeoutSeconds: number;
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
  fenceExemptUsers: DEFAULT_OPTIONS.fenceExemptUsers,
  podFenceImages: [],
  podFenceRootImages: [],
  podFenceEnv: [],
  // On by default: one tool's flood must not delay the others. 40 is a starting point, not a
  // measurement: set it to what the cluster's one Tekton controller keeps up with.
  maxRunningBuilds: 40,
  shutdownTimeoutSeconds: 20,
  requestTimeoutSeconds: 30,
};

/**
 * After losing the Lease, how long the process lingers before it exits 1: its writes are
 * refused already, and /healthz says why meanwhile, for a probe or a person to see.
 */
const LOST_LEADERSHIP_EXIT_DELAY_MS = 2_000;

const ms = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);

/**
 * What the controllers are asked to keep, from the run's settings: `run` and `plan` both build
 * their controllers from this, so a plan shows what this configuration of `run` would do.
 */
export function operatorOptions(config: RunConfig): OperatorOptions {
  return {
    ...DEFAULT_OPTIONS,
    workers: config.workers,
    relistIntervalMs: config.relistIntervalSeconds * 1000,
    fenceExemptUsers: config.fenceExemptUsers,
    maxRunningBuilds: config.maxRunningBuilds,
    ...(config.podFenceImages.length > 0 ? {
      podFence: { images: [...config.podFenceImages], rootImages: [...config.podFenceRootImages], envNames: [...config.podFenceEnv] },
    } : {}),
    // The guard's state lives beside the Lease, in the operator's own namespace.
    deletionGuard: {
      ...DEFAULT_OPTIONS.deletionGuard, maxShare: config.deletionGuardShare, maxCount: config.deletionGuardCount,
      namespace: config.leaderElectionNamespace,
    },
  };
}

/**
 * How far V8's old space may grow past the live heap before a full GC: 25 %, not V8's own
 * factor of up to 4, which at 10,000 tools let 51 MB of live objects take 150 MB of heap
 * and 270 MB of RSS (bench/README.md, "Memory"). The operator's live set is its caches,
 * which grow only with the fleet, so a collection finds most of the rest garbage and costs
 * little. A limit that follows the live set, not a cap: the heap still grows as far as the
 * fleet needs. Set here because node takes it only on its command line, not in
 * NODE_OPTIONS (the Deployment's young generation setting is there); a
 * --heap-growing-percent given to node itself wins.
 */
const HEAP_GROWING_PERCENT = 25;

function tuneHeapGrowth(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((a) => a.startsWith('--heap-growing-percent'))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/** Runs until SIGTERM or SIGINT; resolves with the exit code. */
export async function runOperator(config: RunConfig): Promise<number> {
  tuneHeapGrowth();
  const log = createLogger(config.logLevel);
  const metrics = createMetrics();
  const client = new KubeClient(loadKubeConfig(config.kubeconfig), { requestTimeoutMs: config.requestTimeoutSeconds * 1000 });
  const options = operatorOptions(config);
  const identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
  const manager = new Manager(client, log, metrics, {
    cache: cacheOptions(options),
    healthAddress: config.healthAddress,
    metricsAddress: config.metricsAddress,
    leaderElection: config.leaderElect ? {
      namespace: config.leaderElectionNamespace,
      name: config.leaderElectionName,
      identity,
      leaseDurationMs: ms(config.leaseDurationSeconds),
      renewDeadlineMs: ms(config.renewDeadlineSeconds),
      retryPeriodMs: ms(config.retryPeriodSeconds),
    } : undefined,
    onLostLeadership: () => {
      // Another replica may soon be reconciling: exit, as controller-runtime does, and let
      // the restart begin clean. The manager has closed every write already.
      log.error('leadership lost; exiting');
      setTimeout(() => process.exit(1), LOST_LEADERSHIP_EXIT_DELAY_MS);
    },
  });
  addControllers(manager, options);

  const done = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  log.info('starting', { identity, workers: config.workers, leaderElect: config.leaderElect });
  await manager.start();

  await done;
  await manager.stop(config.shutdownTimeoutSeconds * 1000);
  client.close();
  log.info('stopped');
  return 0;
}
