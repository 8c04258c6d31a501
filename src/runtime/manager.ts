// The composition root of a controller process (controller-runtime's Manager): it owns the
// client, the shared informer cache, the controllers, leader election and the health and
// metrics endpoints. The cache runs in every replica, so a standby is warm; controllers
// start only in the leader, and only once the cache has synced.
import type { Server } from 'node:http';
import { errorMessage, type KubeClient } from '../kube/client.js';
import type { Logger } from '../log.js';
import type { OperatorMetrics } from '../metrics/metrics.js';
import { startHttpServer } from '../server/http.js';
import { InformerCache, type InformerCacheOptions } from './cache.js';
import { LeaderElector, type LeaderElectionOptions } from './leader-election.js';

/** A piece of leader-only work: a controller and its workers. */
export interface Runnable {
  readonly name: string;
  /** Starts the work; may resolve before the work ends (workers run in the background). */
  start(): Promise<void>;
  /** Stops taking work and lets in-flight work finish within the bound. */
  stop(drainTimeoutMs: number): Promise<void>;
}

export interface ManagerOptions {
  cache: InformerCacheOptions;
  /** Off: this process leads from the start (one replica, tests, `plan`). */
  leaderElection?: Omit<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading' | 'log'>;
  /** Called when leadership is lost without being released: the process must stop writing. */
  onLostLeadership?: () => void;
  healthAddress?: string;
  metricsAddress?: string;
}

export class Manager {
  readonly cache: InformerCache;
  private readonly runnables: Runnable[] = [];
  private readonly servers: Server[] = [];
  private elector?: LeaderElector;
  private leaderWork?: Promise<void>;
  private stopping = false;
  leading = false;

  constructor(
    readonly client: KubeClient,
    readonly log: Logger,
    readonly metrics: OperatorMetrics,
    private readonly options: ManagerOptions,
  ) {
    this.cache = new InformerCache(client, {
      ...options.cache,
      onRestart: (type, namespace, reason) => {
        metrics.informerRestarts.inc({ resource: type.plural });
        log.warn('watch restarted', { resource: type.plural, namespace, reason });
        options.cache.onRestart?.(type, namespace, reason);
      },
    });
  }

  /** Adds leader-only work; it starts when this process leads and the cache has synced. */
  add(runnable: Runnable): void {
    this.runnables.push(runnable);
  }

  /** Why this process is not ready, or undefined when it is: the cache has synced. */
  notReadyReason(): string | undefined {
    return this.cache.synced ? undefined : 'caches not synced';
  }

  /** Serves the endpoints, starts the cache and runs for leadership (or leads at once). */
  async start(): Promise<void> {
    const health = { notReadyReason: () => this.notReadyReason() };
    const { healthAddress, metricsAddress } = this.options;
    if (healthAddress) this.servers.push(await startHttpServer(healthAddress, this.metrics.registry, health));
    if (metricsAddress && metricsAddress !== healthAddress) this.servers.push(await startHttpServer(metricsAddress, this.metrics.registry, health));
    this.cache.start();
    void this.cache.waitForSync().then(() => this.log.info('caches synced'));
    const election = this.options.leaderElection;
    if (!election) {
      this.startLeading();
      return;
    }
    this.elector = new LeaderElector(this.client, {
      ...election,
      onStartedLeading: () => this.startLeading(),
      onStoppedLeading: () => {
        this.leading = false;
        this.metrics.leader.set(0);
        this.options.onLostLeadership?.();
      },
      log: (message) => this.log.warn(message),
    });
    this.elector.start();
  }

  /** Resolves once the leader-only work has started (immediately if it never will). */
  async leaderWorkStarted(): Promise<void> {
    await this.leaderWork;
  }

  private startLeading(): void {
    this.leading = true;
    this.metrics.leader.set(1);
    this.log.info('leading; reconciling', { identity: this.options.leaderElection?.identity });
    this.leaderWork = (async () => {
      // Nothing is decided, above all nothing deleted, from a partial view.
      await this.cache.waitForSync();
      for (const runnable of this.runnables) {
        if (this.stopping) return;
        try {
          await runnable.start();
        } catch (err) {
          this.log.error('controller failed to start', { controller: runnable.name, error: errorMessage(err) });
        }
      }
    })();
  }

  /** Stops the work (draining within the bound), the watches, the lease and the endpoints. */
  async stop(drainTimeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.runnables].reverse().map((r) => r.stop(drainTimeoutMs)));
    await this.cache.stop();
    if (this.leading) await this.elector?.release();
    this.leading = false;
    this.metrics.leader.set(0);
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
