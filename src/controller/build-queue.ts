// The build queue: a leader-only controller that starts held PipelineRuns in turn. Each pass
// rebuilds the whole line from the caches (held runs, running runs, quota usage, policies),
// asks decideStarts whom to start, and starts them by clearing spec.status with a JSON patch
// that applies only while the run is still the one seen and still held: so a run is never
// started twice (by a restarted operator or a new leader), and one cancelled or deleted
// meanwhile is not brought back. Events only ask for a pass; a burst of them makes one.
import { ANNOTATION_QUEUE, LABEL_TOOL, type ResourceList } from '../api/types.js';
import type { KubeObject } from '../api/meta.js';
import { errorMessage, isConflict, isNotFound, statusCode } from '../kube/client.js';
import { LIMIT_RANGES, PIPELINE_RUNS, RESOURCE_QUOTAS } from '../kube/resources.js';
import { pointerToken, type JsonPatchOperation, type ObjectWriter } from '../kube/writer.js';
import type { Logger } from '../log.js';
import { queueMetrics, reconcileMetrics, type OperatorMetrics } from '../metrics/metrics.js';
import { PIPELINE_RUN_PENDING } from '../render/build-queue-admission.js';
import {
  buildPodRequest, decideStarts, queueMessage, queueStanding, quotaRoom, startedAt, startedMark, toolMaxRunning,
  type HeldRun, type ToolLine,
} from '../render/build-queue.js';
import type { Informer } from '../runtime/informer.js';
import type { Runnable } from '../runtime/manager.js';
import { runWorkers, type Result } from '../runtime/workers.js';
import { RateLimitingQueue } from '../runtime/workqueue/rate-limiting-queue.js';
import type { Caches } from './build-namespace-reconciler.js';
import type { BuildsFor, CachedPipelineRun } from './retention.js';

const CONTROLLER = 'build-queue';
/** The whole line is one key: the cluster-wide cap makes every tool's turn depend on the others'. */
const LINE = 'line';
const QUOTA_NAME = 'build-quota';
const LIMIT_RANGE_NAME = 'build-limits';
const ANNOTATION_PATH = `/metadata/annotations/${pointerToken(ANNOTATION_QUEUE)}`;

export interface BuildQueueDeps {
  caches: Caches;
  writer: ObjectWriter;
  metrics: OperatorMetrics;
  log: Logger;
  buildsFor: BuildsFor;
  /** The cluster-wide cap on running builds, protecting the one shared Tekton controller. */
  clusterMaxRunning: number;
  /**
   * How long a pass waits after an event. None by default: the events that arrive during a
   * pass make one more pass anyway, and a run that may start at once should be started before
   * Tekton reconciles its create, so that Tekton sees it started and never writes it Pending.
   */
  debounceMs?: number;
  now?: () => number;
}

type ManagedObject = KubeObject & { spec?: { limits?: { type?: string; default?: ResourceList; defaultRequest?: ResourceList }[] }; status?: { hard?: ResourceList; used?: ResourceList } };

/** The runs of one build namespace, sorted into the line. */
interface NamespaceLine {
  tool: string;
  line: ToolLine;
  held: CachedPipelineRun[];
  /** When the runs that are no longer held were started, where known. */
  startTimes: number[];
}

export class BuildQueueController implements Runnable {
  readonly name = CONTROLLER;
  readonly queue: RateLimitingQueue;
  private runs?: Informer<CachedPipelineRun>;
  private workers?: Promise<void>;
  /** UIDs we started whose update has not reached the cache yet: running, and not started again. */
  private readonly starting = new Set<string>();
  private readonly debounceMs: number;
  private readonly now: () => number;

  constructor(private readonly deps: BuildQueueDeps) {
    this.debounceMs = deps.debounceMs ?? 0;
    this.now = deps.now ?? Date.now;
    this.queue = new RateLimitingQueue({ metrics: queueMetrics(deps.metrics, CONTROLLER) });
    // Quota usage rises and falls with build pods: room may have opened, or closed.
    for (const type of [RESOURCE_QUOTAS, LIMIT_RANGES]) {
      deps.caches.managed.get(`${type.apiVersion}/${type.kind}`)?.onChange(() => this.enqueue());
    }
  }

  /**
   * Told whenever the PipelineRun API appears or goes away, with the shared cache's informer
   * for it (the one retention reads); while there is none the queue does nothing.
   */
  watchPipelineRuns(informer: Informer<CachedPipelineRun> | undefined): void {
    if (informer === this.runs) return;
    this.runs = informer;
    this.starting.clear();
    if (!informer) return;
    informer.onChange(() => {
      if (this.runs === informer) this.enqueue();
    });
    void informer.synced.then(() => this.enqueue());
  }

  /** Asks for a pass; the events of a burst that arrive during one make a single next pass. */
  enqueue(): void {
    this.queue.addAfter(LINE, this.debounceMs);
  }

  async start(): Promise<void> {
    if (this.workers) return;
    this.queue.add(LINE);
    this.workers = runWorkers(this.queue, 1, () => this.pass(), {
      metrics: reconcileMetrics(this.deps.metrics, CONTROLLER),
      onError: (_key, err) => this.deps.log.warn('build queue pass failed; retrying with backoff', { error: errorMessage(err) }),
    });
  }

  async stop(drainTimeoutMs: number): Promise<void> {
    const drained = this.queue.shutDownWithDrain();
    await Promise.race([drained, new Promise((r) => setTimeout(r, drainTimeoutMs).unref())]);
  }

  /** One pass over the whole line: start whom decideStarts chooses, then tell the rest their place. */
  async pass(): Promise<Result | undefined> {
    const runs = this.runs;
    const { caches } = this.deps;
    if (!runs?.hasSynced || !caches.namespaces.hasSynced || !caches.policies.hasSynced) return undefined;
    const lines = this.lines(runs);
    const decision = decideStarts({ tools: lines.map((l) => l.line), clusterMaxRunning: this.deps.clusterMaxRunning });
    for (const run of decision.start) await this.startRun(run);
    let queued = 0;
    for (const { line, held } of lines) {
      for (const run of held) {
        const position = decision.positions.get(run.metadata.uid ?? '');
        if (!position) continue;
        queued++;
        await this.mark(run, queueMessage(position, decision.clusterRunning, this.deps.clusterMaxRunning, line.maxRunning));
      }
    }
    this.deps.metrics.buildsQueued.set(queued);
    this.deps.metrics.buildsRunning.set(decision.clusterRunning);
    return undefined;
  }

  /** The line of every build namespace we manage that has runs, from the caches. */
  private lines(runs: Informer<CachedPipelineRun>): NamespaceLine[] {
    const byNamespace = new Map<string, CachedPipelineRun[]>();
    for (const run of runs.list()) {
      const namespace = run.metadata.namespace ?? '';
      byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), run]);
    }
    const out: NamespaceLine[] = [];
    for (const [namespace, nsRuns] of byNamespace) {
      const builds = this.deps.buildsFor(namespace);
      const tool = this.deps.caches.namespaces.get(namespace)?.metadata.labels?.[LABEL_TOOL];
      if (!builds || !tool) continue;
      const held: CachedPipelineRun[] = [];
      const started: number[] = [];
      let running = 0;
      for (const run of nsRuns) {
        const uid = run.metadata.uid ?? '';
        let standing = queueStanding(run);
        if (standing !== 'held') this.starting.delete(uid);
        else if (this.starting.has(uid)) standing = 'running';
        if (standing === 'held') held.push(run);
        if (standing === 'running') running++;
        const at = startedAt(run);
        if (at !== undefined && standing !== 'held') started.push(at);
      }
      const quota = this.managed(RESOURCE_QUOTAS, namespace, QUOTA_NAME);
      const perBuild = buildPodRequest(this.managed(LIMIT_RANGES, namespace, LIMIT_RANGE_NAME)?.spec?.limits);
      const hard = quota?.status?.hard;
      out.push({
        tool, held,
        line: {
          tool,
          held: held.map((r) => heldRun(r)),
          running,
          startedSince: 0,
          maxRunning: toolMaxRunning(builds.maxRunning, hard, perBuild),
          // Until the quota controller has filled in status.hard, the API server refuses pods anyway.
          quotaRoom: quota ? (hard ? quotaRoom(hard, quota.status?.used, perBuild, running) : 0) : Number.POSITIVE_INFINITY,
        },
        startTimes: started,
      });
    }
    // Turns had since the oldest run still waiting anywhere was created: the tie-break that
    // keeps a tool whose builds finish fast from taking every free slot, read from the runs.
    const oldestHeld = Math.min(...out.flatMap((l) => l.line.held.map((r) => r.createdAt)));
    for (const l of out) {
      l.line.startedSince = l.startTimes.filter((t) => t >= oldestHeld).length;
    }
    return out;
  }

  private managed(type: typeof RESOURCE_QUOTAS, namespace: string, name: string): ManagedObject | undefined {
    return this.deps.caches.managed.get(`${type.apiVersion}/${type.kind}`)?.get(name, namespace);
  }

  /** Clears the hold of exactly this run, if it is still held; says when it was started. */
  private async startRun(run: HeldRun): Promise<void> {
    const cached = this.runs?.get(run.name, run.namespace);
    if (!cached || cached.metadata.uid !== run.uid) return;
    const now = this.now();
    const patched = await this.patchHeld(cached, [
      { op: 'remove', path: '/spec/status' },
      ...annotate(cached, startedMark(now)),
    ]);
    if (!patched) return;
    this.starting.add(run.uid);
    this.deps.metrics.buildsStarted.inc();
    this.deps.metrics.buildQueueWait.observe(Math.max(now - run.createdAt, 0) / 1000);
    this.deps.log.info('build started', { namespace: run.namespace, name: run.name, waitedMs: now - run.createdAt });
  }

  /** Tells a held run its place, when that changed. */
  private async mark(run: CachedPipelineRun, message: string): Promise<void> {
    if (run.metadata.annotations?.[ANNOTATION_QUEUE] === message) return;
    await this.patchHeld(run, annotate(run, message));
  }

  /**
   * A JSON patch that applies only to this run (its uid) while it is held: false when the run
   * is gone, replaced, started or cancelled meanwhile (its next event asks for a new pass).
   */
  private async patchHeld(run: CachedPipelineRun, operations: JsonPatchOperation[]): Promise<boolean> {
    try {
      await this.deps.writer.jsonPatch(PIPELINE_RUNS, run, [
        { op: 'test', path: '/metadata/uid', value: run.metadata.uid },
        { op: 'test', path: '/spec/status', value: PIPELINE_RUN_PENDING },
        ...operations,
      ]);
      this.deps.metrics.apiWrites.inc({ verb: 'patch', kind: PIPELINE_RUNS.kind });
      return true;
    } catch (err) {
      if (isNotFound(err) || isConflict(err) || statusCode(err) === 422) {
        this.deps.log.debug('held run changed before the queue wrote it', { namespace: run.metadata.namespace, name: run.metadata.name, error: errorMessage(err) });
        return false;
      }
      throw err;
    }
  }
}

function heldRun(run: CachedPipelineRun): HeldRun {
  const created = Date.parse(run.metadata.creationTimestamp ?? '');
  return { namespace: run.metadata.namespace ?? '', name: run.metadata.name, uid: run.metadata.uid ?? '', createdAt: Number.isNaN(created) ? 0 : created };
}

/** Sets the queue annotation: the key into the map, or the map itself when the run has none. */
function annotate(run: CachedPipelineRun, value: string): JsonPatchOperation[] {
  return run.metadata.annotations
    ? [{ op: 'add', path: ANNOTATION_PATH, value }]
    : [{ op: 'add', path: '/metadata/annotations', value: { [ANNOTATION_QUEUE]: value } }];
}
