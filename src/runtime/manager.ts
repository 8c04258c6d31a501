// The composition root of a controller process (controller-runtime's Manager): it owns the
// client, the shared informer cache, the controllers, leader election and the health and
// metrics endpoints. The cache runs in every replica, so a standby is warm; controllers
// start only in the leader, and only once the cache has synced. The elector has a client
// of its own (its own sockets, a short deadline), so that no reconcile can starve a
// renewal; losing the lease closes the shared client's writes at once.
import type { Server } from 'node:http';
import { errorMessage, KubeClient } from '../kube/client.js';
import type { Logger } from '../log.js';
import type { OperatorMetrics } from '../metrics/metrics.js';
import { startHttpServer } from '../server/http.js';
import { InformerCache, type InformerCacheOptions } from './cache.js';
import type { Clock } from './clock.js';
import { LeaderElector, leaseClient, type LeaderElectionOptions } from './leader-election.js';

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
  leaderElection?: Omit<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading' | 'log' | 'clock'>;
  /**
   * Called when leadership is lost without being released, after every write of the
   * manager's client has been closed: the process should exit and start again clean.
   */
  onLostLeadership?: (reason: string) => void;
  /** The clock of leader election; the system's monotonic clock unless a test gives one. */
  clock?: Clock;
  healthAddress?: string;
  metricsAddress?: string;
}

export class Manager {
  readonly cache: InformerCache;
  private readonly runnables: Runnable[] = [];
  private readonly servers: Server[] = [];
  private elector?: LeaderElector;
  private electorClient?: KubeClient;
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

  /** Why this process is not healthy (/healthz), or undefined when it is. */
  unhealthyReason(): string | undefined {
    return this.elector?.check();
  }

  /** Serves the endpoints, starts the cache and runs for leadership (or leads at once). */
  async start(): Promise<void> {
    const health = { notReadyReason: () => this.notReadyReason(), unhealthyReason: () => this.unhealthyReason() };
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
    // client-go's rule: a renewal request may take half the renew deadline, so that a hung
    // one leaves time for another try before the deadline. Two sockets: one in use, one spare.
    this.electorClient = new KubeClient(this.client.config, {
      maxSockets: 2, requestTimeoutMs: LeaderElector.requestTimeoutMs(election.renewDeadlineMs), maxRetries: 0,
    });
    this.elector = new LeaderElector(leaseClient(this.electorClient, election.namespace, election.name), {
      ...election,
      clock: this.options.clock,
      onStartedLeading: () => this.startLeading(),
      onStoppedLeading: (reason) => {
        // First, before anything else can run: another replica may take the Lease soon.
        this.client.closeWrites(`leadership lost: ${reason}`);
        this.leading = false;
        this.metrics.leader.set(0);
        this.log.error('leadership lost; writes closed', { reason });
        this.options.onLostLeadership?.(reason);
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
    // Releases the Lease when leading; in any case stops campaigning.
    await this.elector?.release();
    this.electorClient?.close();
    this.leading = false;
    this.metrics.leader.set(0);
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
