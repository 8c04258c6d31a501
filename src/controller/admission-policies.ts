// The cluster-scoped admission objects the operator keeps: the build fence's
// ValidatingAdmissionPolicy, the build queue's hold and the pod fence, each a feature with its
// renderer. The same level-triggered loop as the build namespaces on a single key: watched by
// our label, applied when missing or when someone changed a field we own, never written at
// rest. What a feature needs is asked of the API server, not assumed from its version: a
// feature whose kinds are not served falls back where it has a fallback (the hold, before
// MutatingAdmissionPolicy: a ValidatingAdmissionPolicy that requires it), and is otherwise
// reported in the policies' status; either way nothing waits on a kind that is not there.
import { LABEL_MANAGED_BY, MANAGER } from '../api/types.js';
import type { DesiredObject, KubeObject } from '../api/meta.js';
import { errorMessage } from '../kube/client.js';
import {
  MUTATING_ADMISSION_POLICIES, MUTATING_ADMISSION_POLICY_BINDINGS, VALIDATING_ADMISSION_POLICIES, VALIDATING_ADMISSION_POLICY_BINDINGS,
  type ResourceType,
} from '../kube/resources.js';
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
const TYPES = new Map([VALIDATING_ADMISSION_POLICIES, VALIDATING_ADMISSION_POLICY_BINDINGS, MUTATING_ADMISSION_POLICIES, MUTATING_ADMISSION_POLICY_BINDINGS]
  .map((t) => [`${t.apiVersion}/${t.kind}`, t]));
/** While a feature's kinds are missing, how often the API server is asked again (an upgrade serves them). */
export const ADMISSION_REDISCOVER_MS = 30_000;

/** The cluster-scoped objects one feature needs, the same for every build namespace. */
export type ClusterObjectsRenderer = () => DesiredObject[];

export interface AdmissionFeature {
  /** What it gives, as the policy status names it: "the build fence". */
  name: string;
  render: ClusterObjectsRenderer;
  /** Applied instead where the kinds `render` makes are not served; removed where they are. */
  fallback?: { render: ClusterObjectsRenderer; /** What holds instead, for the status. */ means: string };
}

/** What the policies' status reports of the admission objects. */
export interface AdmissionAvailability {
  /** Every feature is in force, some perhaps through its fallback. */
  inForce: boolean;
  reason: 'InForce' | 'NotServed' | 'ApplyFailed';
  message: string;
}

export interface AdmissionPolicyDeps {
  cache: InformerCache;
  writer: ObjectWriter;
  metrics: OperatorMetrics;
  log: Logger;
  features: readonly AdmissionFeature[];
  /** The kinds the API server serves in a group version (discovery). */
  servedKinds: (apiVersion: string) => Promise<Set<string>>;
  /** Told when what `availability` says has changed. */
  onAvailabilityChange?: () => void;
  rediscoverMs?: number;
}

const kindKey = (obj: { apiVersion?: string; kind?: string }) => `${obj.apiVersion}/${obj.kind}`;
const kindName = (key: string) => key.slice(key.lastIndexOf('/') + 1);

export class AdmissionPolicyController implements Runnable {
  readonly name = CONTROLLER;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly queue: RateLimitingQueue;
  private readonly recent = new RecentWrites();
  private workers?: Promise<void>;
  /** "apiVersion/kind" served, from the last discovery; undefined until asked. */
  private served?: Set<string>;
  private rediscoverTimer?: NodeJS.Timeout;
  /** Undefined until the first pass: the status keeps what it said before, so a restart writes nothing. */
  private state?: AdmissionAvailability;

  constructor(private readonly deps: AdmissionPolicyDeps) {
    this.queue = new RateLimitingQueue({ rateLimiter: defaultControllerRateLimiter(), metrics: queueMetrics(deps.metrics, CONTROLLER) });
  }

  /** Whether what the features need is served and applied: the policies' AdmissionPolicies condition. */
  get availability(): AdmissionAvailability | undefined {
    return this.state;
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
      onError: (_key, err) => {
        this.setState({ inForce: false, reason: 'ApplyFailed', message: `admission objects not applied: ${errorMessage(err)}` });
        this.deps.log.warn('admission policies not applied; retrying with backoff', { error: errorMessage(err) });
      },
    });
  }

  async reconcile(): Promise<undefined> {
    const { desired, unwanted, missing, fallbacks } = await this.choose();
    for (const obj of desired) {
      const informer = await this.informer(kindKey(obj));
      const live = this.recent.newest(objectKey(obj as KubeObject), informer.get(obj.metadata.name));
      if (live && diffObject(obj, live).length === 0) continue;
      const written = await this.deps.writer.apply(obj, live !== undefined);
      this.recent.remember(written, informer.get(obj.metadata.name));
      this.deps.metrics.apiWrites.inc({ verb: 'apply', kind: obj.kind ?? '' });
      if (live) this.deps.metrics.driftCorrections.inc({ kind: obj.kind ?? '' });
      this.deps.log.info('admission object applied', { kind: obj.kind, name: obj.metadata.name });
    }
    // A fallback's objects once the cluster serves what they stood in for; only our own names.
    for (const obj of unwanted) {
      const key = kindKey(obj);
      const live = this.served?.has(key) ? (await this.informer(key)).get(obj.metadata.name) : undefined;
      if (!live || live.metadata.labels?.[LABEL_MANAGED_BY] !== MANAGER) continue;
      await this.deps.writer.delete(TYPES.get(key)!, live);
      this.deps.metrics.apiWrites.inc({ verb: 'delete', kind: obj.kind ?? '' });
      this.deps.log.info('fallback admission object removed: what it stood in for is served', { kind: obj.kind, name: obj.metadata.name });
    }
    this.setState(missing.length
      ? { inForce: false, reason: 'NotServed', message: missing.join('; ') }
      : { inForce: true, reason: 'InForce', message: fallbacks.length ? fallbacks.join('; ') : this.deps.features.length ? `in force: ${this.deps.features.map((f) => f.name).join(', ')}` : 'none asked for' });
    this.scheduleRediscovery(missing.length + fallbacks.length > 0);
    return undefined;
  }

  async stop(drainTimeoutMs: number): Promise<void> {
    clearTimeout(this.rediscoverTimer);
    const drained = this.queue.shutDownWithDrain();
    await Promise.race([drained, new Promise((r) => setTimeout(r, drainTimeoutMs).unref())]);
  }

  /**
   * Each feature's objects, or its fallback's, as the served kinds allow; desired in order (a
   * policy before the binding that names it).
   */
  private async choose(): Promise<{ desired: DesiredObject[]; unwanted: DesiredObject[]; missing: string[]; fallbacks: string[] }> {
    const result = { desired: [] as DesiredObject[], unwanted: [] as DesiredObject[], missing: [] as string[], fallbacks: [] as string[] };
    const rendered = this.deps.features.map((f) => ({ feature: f, main: f.render(), fallback: f.fallback?.render() ?? [] }));
    const served = await this.servedKinds(rendered.flatMap((r) => [...r.main, ...r.fallback]));
    const unserved = (objs: DesiredObject[]) => [...new Set(objs.map(kindKey).filter((k) => !served.has(k)))];
    for (const { feature, main, fallback } of rendered) {
      const lacking = unserved(main);
      if (lacking.length === 0) {
        result.desired.push(...main);
        result.unwanted.push(...fallback);
      } else if (feature.fallback && fallback.length && unserved(fallback).length === 0) {
        result.desired.push(...fallback);
        result.fallbacks.push(`${feature.name}: the API server does not serve ${lacking.map(kindName).join(', ')}; ${feature.fallback.means}`);
      } else {
        result.missing.push(`${feature.name} is not in force: the API server does not serve ${unserved([...main, ...fallback]).join(', ')}`);
      }
    }
    return result;
  }

  /** The served kinds among these objects' group versions; asked once, and again while some are missing. */
  private async servedKinds(objs: DesiredObject[]): Promise<Set<string>> {
    if (this.served) return this.served;
    const served = new Set<string>();
    for (const apiVersion of new Set(objs.map((o) => o.apiVersion ?? ''))) {
      for (const kind of await this.deps.servedKinds(apiVersion)) served.add(`${apiVersion}/${kind}`);
    }
    this.served = served;
    return served;
  }

  /** The informer of one of our kinds, made on first use (only for a served kind) and synced. */
  private async informer(key: string): Promise<Informer<KubeObject>> {
    let informer = this.informers.get(key);
    if (!informer) {
      const type: ResourceType | undefined = TYPES.get(key);
      if (!type) throw new Error(`admission objects of kind ${key} are not kept by this controller`);
      informer = this.deps.cache.informer<KubeObject>(type, { labelSelector: `${LABEL_MANAGED_BY}=${MANAGER}` });
      informer.onChange((change, obj) => {
        if (change === 'delete') this.recent.forget(objectKey(obj));
        else if (this.recent.seen(obj)) return;
        this.queue.add(KEY);
      });
      this.informers.set(key, informer);
    }
    // Nothing is written from a partial view: at rest that would be a write on every start.
    await informer.synced;
    return informer;
  }

  private scheduleRediscovery(needed: boolean): void {
    if (!needed || this.rediscoverTimer || !this.workers) return;
    this.rediscoverTimer = setTimeout(() => {
      this.rediscoverTimer = undefined;
      this.served = undefined;
      this.queue.add(KEY);
    }, this.deps.rediscoverMs ?? ADMISSION_REDISCOVER_MS);
    this.rediscoverTimer.unref();
  }

  private setState(state: AdmissionAvailability): void {
    const changed = JSON.stringify(state) !== JSON.stringify(this.state);
    this.state = state;
    if (changed) this.deps.onAvailabilityChange?.();
  }
}
