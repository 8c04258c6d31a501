// PipelineRun retention: a controller of its own, keyed by build namespace, that deletes the
// finished runs `runsToDelete` chooses as soon as a run finishes (from the watch), not only
// when a new build starts. Tekton is optional: while the PipelineRun API is not served,
// retention is off and says so once, and discovery is asked again on a timer.
import { ANNOTATION_QUEUE, LABEL_MANAGED_BY, LABEL_TOOL, MANAGER, type BuildsSection } from '../api/types.js';
import { toolNamespaceName } from '../api/tool.js';
import { effectivePolicy } from '../policy/index.js';
import { nextExpiryMs, runOutcome, runsToDelete, type PipelineRunView } from '../render/retention-decision.js';
import { errorMessage, isConflict, isNotFound, type KubeClient } from '../kube/client.js';
import type { Informer } from '../runtime/informer.js';
import type { InformerCache } from '../runtime/cache.js';
import type { Runnable } from '../runtime/manager.js';
import type { KubeObject } from '../api/meta.js';
import type { QueuedRunView } from '../render/build-queue.js';
import { PIPELINE_RUNS, ResourceTypes, type ResourceType } from '../kube/resources.js';
import { Writer, type ObjectWriter } from '../kube/writer.js';
import type { Logger } from '../log.js';
import { queueMetrics, reconcileMetrics, type OperatorMetrics } from '../metrics/metrics.js';
import { runWorkers, type Result } from '../runtime/workers.js';
import { RateLimitingQueue } from '../runtime/workqueue/rate-limiting-queue.js';
import { BY_NAMESPACE, type Caches } from './build-namespace-reconciler.js';

const CONTROLLER = 'retention';

/** A PipelineRun as the shared cache keeps it: what retention and the build queue read. */
export type CachedPipelineRun = KubeObject & PipelineRunView & QueuedRunView;

/** The effective retention of a build namespace, or undefined if it is not one of ours. */
export type BuildsFor = (namespace: string) => BuildsSection | undefined;

export interface RetentionOptions {
  /** The PipelineRun API; tests point it at a group that is not served. */
  type?: ResourceType;
  /** How often discovery is asked whether the API is (still) served. */
  discoveryIntervalMs?: number;
  workers?: number;
  /** Wall clock (ms since the epoch), compared with completionTime for the ttl. */
  now?: () => number;
  writer?: ObjectWriter;
  /** Told each time retention turns on or off, e.g. to report it in status or an Event. */
  onAvailabilityChange?: (available: boolean, message: string) => void;
}

export const DEFAULT_RETENTION_OPTIONS = {
  discoveryIntervalMs: 30_000,
  workers: 2,
};

interface ApiResourceList {
  resources?: { name: string; kind: string }[];
}

/**
 * The effective retention of a build namespace from the operator's caches: the `builds`
 * section of its tool's effective policy; undefined for a namespace we do not manage, a tool
 * that is gone or unmatched, or before the caches synced (nothing is deleted from a partial view).
 */
export function buildsForNamespace(caches: Caches): BuildsFor {
  return (namespace) => {
    if (!caches.namespaces.hasSynced || !caches.policies.hasSynced) return undefined;
    const ns = caches.namespaces.get(namespace);
    const tool = ns?.metadata.labels?.[LABEL_TOOL];
    if (!ns || ns.metadata.deletionTimestamp || ns.metadata.labels?.[LABEL_MANAGED_BY] !== MANAGER || !tool) return undefined;
    const toolNs = caches.namespaces.get(toolNamespaceName(tool));
    if (!toolNs || toolNs.metadata.deletionTimestamp) return undefined;
    const policies = caches.policies.list().filter((p) => !p.metadata.deletionTimestamp);
    return effectivePolicy(tool, { name: toolNs.metadata.name, labels: toolNs.metadata.labels ?? {} }, policies)?.builds;
  };
}

/**
 * Tekton stores the resolved pipeline spec, child references and results in a run's status:
 * tens of KB per run, hundreds of MB across thousands of build namespaces. The cache, shared
 * with the build queue, keeps only what the two read: the outcome and times, whether the run
 * is held (spec.status), and the queue's annotation (an empty map still says that the run has
 * annotations, so a JSON patch knows whether to add the map or a key).
 */
function trim(run: CachedPipelineRun): CachedPipelineRun {
  const record = run as unknown as Record<string, unknown>;
  for (const field of Object.keys(record)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(field)) delete record[field];
  }
  const { name, namespace, uid, resourceVersion, creationTimestamp, deletionTimestamp, annotations } = run.metadata;
  run.metadata = { name, namespace, uid, resourceVersion, creationTimestamp, deletionTimestamp };
  if (annotations) {
    const queue = annotations[ANNOTATION_QUEUE];
    run.metadata.annotations = queue === undefined ? {} : { [ANNOTATION_QUEUE]: queue };
  }
  const wanted = run.spec?.status;
  if (wanted) run.spec = { status: wanted };
  else delete run.spec;
  const succeeded = run.status?.conditions?.find((c) => c.type === 'Succeeded');
  run.status = {
    ...(succeeded ? { conditions: [{ type: succeeded.type, status: succeeded.status, reason: succeeded.reason, lastTransitionTime: succeeded.lastTransitionTime }] } : {}),
    ...(run.status?.startTime ? { startTime: run.status.startTime } : {}),
    ...(run.status?.completionTime ? { completionTime: run.status.completionTime } : {}),
  };
  return run;
}

/** One period of the API being served: its informer, from discovery to discovery. */
interface Session {
  informer: Informer<CachedPipelineRun>;
}

export class RetentionController implements Runnable {
  readonly name = CONTROLLER;
  readonly queue: RateLimitingQueue;
  private readonly type: ResourceType;
  private readonly options: Required<Pick<RetentionOptions, 'discoveryIntervalMs' | 'workers' | 'now'>>;
  private readonly writer: ObjectWriter;
  private session?: Session;
  private workers?: Promise<void>;
  private discoveryTimer?: NodeJS.Timeout;
  private discovering?: Promise<void>;
  /** Undefined until the first discovery answered. */
  private served?: boolean;
  private stopped = false;
  /** UIDs we deleted whose delete event has not arrived yet: not counted, not deleted twice. */
  private readonly deleting = new Set<string>();

  constructor(
    private readonly client: KubeClient,
    private readonly cache: InformerCache,
    private readonly log: Logger,
    private readonly metrics: OperatorMetrics,
    private readonly buildsFor: BuildsFor,
    private readonly opts: RetentionOptions = {},
  ) {
    this.type = opts.type ?? PIPELINE_RUNS;
    this.options = {
      discoveryIntervalMs: opts.discoveryIntervalMs ?? DEFAULT_RETENTION_OPTIONS.discoveryIntervalMs,
      workers: opts.workers ?? DEFAULT_RETENTION_OPTIONS.workers,
      now: opts.now ?? Date.now,
    };
    this.writer = opts.writer ?? new Writer(client, new ResourceTypes(client));
    this.queue = new RateLimitingQueue({ metrics: queueMetrics(metrics, CONTROLLER) });
  }

  /** Whether the PipelineRun API is served, so retention is on. */
  get available(): boolean {
    return this.served === true;
  }

  /** The cache of PipelineRuns while the API is served (what the build queue reads too). */
  get pipelineRuns(): Informer<CachedPipelineRun> | undefined {
    return this.session?.informer;
  }

  /** True once retention is on and its cache of PipelineRuns has synced. */
  get synced(): boolean {
    return this.session?.informer.hasSynced === true;
  }

  /**
   * Asks discovery once (retention starts at once if the API is served), starts the workers
   * and the discovery timer. Resolves after that first answer, not after the cache synced.
   */
  async start(): Promise<void> {
    if (this.workers || this.stopped) return;
    this.workers = runWorkers(this.queue, this.options.workers, (namespace) => this.reconcile(namespace), {
      metrics: reconcileMetrics(this.metrics, CONTROLLER),
      onError: (namespace, err) => this.log.warn('retention failed; retrying with backoff', { namespace, error: errorMessage(err) }),
    });
    await this.discover();
    const tick = (): void => {
      this.discoveryTimer = setTimeout(() => void this.discover().finally(() => this.stopped || tick()), this.options.discoveryIntervalMs);
      this.discoveryTimer.unref();
    };
    tick();
  }

  /** Stops discovery, the watch and the workers (in-flight deletes finish within the bound). */
  async stop(drainTimeoutMs = 5_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.discoveryTimer);
    await this.discovering;
    const drained = this.queue.shutDownWithDrain();
    await Promise.race([drained, new Promise((r) => setTimeout(r, drainTimeoutMs).unref())]);
    this.endSession();
  }

  /** Looks at every namespace that has PipelineRuns again, e.g. after a policy's builds section changed. */
  enqueueAll(): void {
    if (!this.synced) return;
    for (const namespace of new Set(this.session!.informer.list().map((r) => r.metadata.namespace ?? ''))) {
      this.queue.add(namespace);
    }
  }

  /** Looks at one namespace again, e.g. after its tool namespace changed labels. */
  enqueue(namespace: string): void {
    if (this.synced) this.queue.add(namespace);
  }

  /** Deletes the runs of one namespace that retention no longer keeps; level-triggered. */
  async reconcile(namespace: string): Promise<Result | undefined> {
    const informer = this.session?.informer;
    if (!informer?.hasSynced) return undefined;
    const builds = this.buildsFor(namespace);
    if (!builds) return undefined;
    const runs = informer.byIndex(BY_NAMESPACE, namespace).filter((r) => !this.deleting.has(r.metadata.uid ?? ''));
    const now = this.options.now();
    for (const name of runsToDelete(runs, builds, now)) {
      const run = informer.get(name, namespace);
      if (!run) continue;
      try {
        await this.writer.delete(this.type, run);
        this.metrics.apiWrites.inc({ verb: 'delete', kind: this.type.kind });
        this.log.info('deleted finished PipelineRun', {
          namespace, name, outcome: runOutcome(run), reason: run.status?.conditions?.[0]?.reason, created: run.metadata.creationTimestamp,
        });
      } catch (err) {
        // Gone already, or replaced by a new run of the same name (the UID precondition): nothing to do.
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
      // Unless its delete event came first: then the cache has already let it go.
      if (run.metadata.uid && informer.get(name, namespace)?.metadata.uid === run.metadata.uid) this.deleting.add(run.metadata.uid);
    }
    const next = nextExpiryMs(runs.filter((r) => !this.deleting.has(r.metadata.uid ?? '')), builds, now);
    // Timestamps have whole seconds: look again just after the expiry, not just before it.
    return next === undefined ? undefined : { requeueAfter: Math.max(next, 0) + 1_000 };
  }

  /** One discovery: starts or ends retention when the API appeared or went away. Never throws. */
  private discover(): Promise<void> {
    const run = async (): Promise<void> => {
      let served: boolean;
      try {
        served = await this.isServed();
      } catch (err) {
        // Not an answer: keep what we had (retention stays on through a blip of the API server).
        this.log.warn('retention: discovery failed; asking again later', { resource: this.type.plural, apiVersion: this.type.apiVersion, error: errorMessage(err) });
        return;
      }
      if (this.stopped || served === this.served) return;
      this.served = served;
      const message = served
        ? `retention on: ${this.type.plural}.${this.type.apiVersion} is served`
        : `retention off: Tekton PipelineRun CRD not installed (${this.type.apiVersion} ${this.type.plural} is not served); asking again every ${Math.round(this.options.discoveryIntervalMs / 1000)} s`;
      this.log[served ? 'info' : 'warn'](message, { resource: this.type.plural, apiVersion: this.type.apiVersion });
      if (served) this.startSession();
      else this.endSession();
      try {
        this.opts.onAvailabilityChange?.(served, message);
      } catch (err) {
        this.log.warn('retention: availability listener failed', { error: errorMessage(err) });
      }
    };
    this.discovering = run();
    return this.discovering;
  }

  /** Whether discovery lists the resource in its group version; 404 means the group version is not served. */
  private async isServed(): Promise<boolean> {
    const path = this.type.apiVersion.includes('/') ? `/apis/${this.type.apiVersion}` : `/api/${this.type.apiVersion}`;
    try {
      const list = await this.client.request<ApiResourceList>('GET', path);
      return (list.resources ?? []).some((r) => r.name === this.type.plural && r.kind === this.type.kind);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private startSession(): void {
    const informer = this.cache.informer<CachedPipelineRun>(this.type, { transform: trim });
    informer.addIndex(BY_NAMESPACE, (run) => [run.metadata.namespace ?? '']);
    informer.onChange((type, run) => {
      if (type === 'delete') this.deleting.delete(run.metadata.uid ?? '');
      // A run that starts or runs changes nothing retention decides; one that finished or
      // went away may (a delete changes what is kept, and is how a resync catches up).
      if (type === 'delete' || runOutcome(run) !== 'running') this.queue.add(run.metadata.namespace ?? '');
    });
    const session: Session = { informer };
    this.session = session;
    // Events during the first list come before `synced`; look at everything once it is.
    void informer.synced.then(() => {
      if (this.session === session) this.enqueueAll();
    });
  }

  private endSession(): void {
    if (this.session) this.cache.remove(this.session.informer);
    this.session = undefined;
    this.deleting.clear();
  }
}
