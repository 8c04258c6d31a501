// The cluster-scoped admission objects the operator keeps: the build fence's
// ValidatingAdmissionPolicy and its binding today; each further one (the build queue's hold,
// a pod-layer fence) is one more renderer in the list. The same level-triggered loop as the
// build namespaces on a single key: watched by our label, applied when missing or when
// someone changed a field we own, never written at rest.
import { LABEL_MANAGED_BY, MANAGER } from '../api/types.js';
import type { DesiredObject, KubeObject } from '../api/meta.js';
import { errorMessage } from '../kube/client.js';
import { VALIDATING_ADMISSION_POLICIES, VALIDATING_ADMISSION_POLICY_BINDINGS, type ResourceType } from '../kube/resources.js';
import type { ObjectWriter } from '../kube/writer.js';
import type { Logger } from '../log.js';
import { queueMetrics, reconcileMetrics, type OperatorMetrics } from '../metrics/metrics.js';
import { diffObject } from '../render/index.js';
import type { InformerCache } from '../runtime/cache.js';
import type { Informer } from '../runtime/informer.js';
import type { Runnable } from '../runtime/manager.js';
import { runWorkers } from '../runtime/workers.js';
import { defaultControllerRateLimiter } from '../runtime/workqueue/rate-limiters.js';
import { RateLimitingQueue } from '../runtime/workqueue/rate-limiting-queue.js';
import { objectKey, RecentWrites } from './recent-writes.js';

const CONTROLLER = 'admission-policies';
const KEY = 'cluster';
const TYPES: ResourceType[] = [VALIDATING_ADMISSION_POLICIES, VALIDATING_ADMISSION_POLICY_BINDINGS];

/** The cluster-scoped objects one feature needs, the same for every build namespace. */
export type ClusterObjectsRenderer = () => DesiredObject[];

export interface AdmissionPolicyDeps {
  cache: InformerCache;
  writer: ObjectWriter;
  metrics: OperatorMetrics;
  log: Logger;
  renderers: readonly ClusterObjectsRenderer[];
  /** Kinds the renderers make beyond the build fence's; watched only when asked for, as not every cluster serves them. */
  types?: readonly ResourceType[];
}

export class AdmissionPolicyController implements Runnable {
  readonly name = CONTROLLER;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly queue: RateLimitingQueue;
  private readonly recent = new RecentWrites();
  private workers?: Promise<void>;

  constructor(private readonly deps: AdmissionPolicyDeps) {
    this.queue = new RateLimitingQueue({ rateLimiter: defaultControllerRateLimiter(), metrics: queueMetrics(deps.metrics, CONTROLLER) });
    for (const type of [...TYPES, ...(deps.types ?? [])]) {
      const informer = deps.cache.informer<KubeObject>(type, { labelSelector: `${LABEL_MANAGED_BY}=${MANAGER}` });
      informer.onChange((change, obj) => {
        if (change === 'delete') this.recent.forget(objectKey(obj));
        else if (this.recent.seen(obj)) return;
        this.queue.add(KEY);
      });
      this.informers.set(`${type.apiVersion}/${type.kind}`, informer);
    }
  }

  /** What the renderers want now, in order (a policy before the binding that names it). */
  desired(): DesiredObject[] {
    return this.deps.renderers.flatMap((render) => render());
  }

  /** Asks for a pass: what a renderer reads (the policies) has changed. */
  enqueue(): void {
    this.queue.add(KEY);
  }

  async start(): Promise<void> {
    if (this.workers) return;
    this.queue.add(KEY);
    this.workers = runWorkers(this.queue, 1, () => this.reconcile(), {
      metrics: reconcileMetrics(this.deps.metrics, CONTROLLER),
      onError: (_key, err) => this.deps.log.warn('admission policies not applied; retrying with backoff', { error: errorMessage(err) }),
    });
  }

  async reconcile(): Promise<undefined> {
    for (const obj of this.desired()) {
      const informer = this.informers.get(`${obj.apiVersion}/${obj.kind}`);
      const cached = informer?.get(obj.metadata.name);
      const live = this.recent.newest(objectKey(obj as KubeObject), cached);
      if (live && diffObject(obj, live).length === 0) continue;
      const written = await this.deps.writer.apply(obj, live !== undefined);
      this.recent.remember(written);
      this.deps.metrics.apiWrites.inc({ verb: 'apply', kind: obj.kind ?? '' });
      if (live) this.deps.metrics.driftCorrections.inc({ kind: obj.kind ?? '' });
      this.deps.log.info('admission object applied', { kind: obj.kind, name: obj.metadata.name });
    }
    return undefined;
  }

  async stop(drainTimeoutMs: number): Promise<void> {
    const drained = this.queue.shutDownWithDrain();
    await Promise.race([drained, new Promise((r) => setTimeout(r, drainTimeoutMs).unref())]);
  }
}
