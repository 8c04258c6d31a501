// Kubernetes Events for admins and tool owners, rate-limited twice so that nothing the
// operator does can flood the API server with Events: the same event is sent at most once
// per window, and each involved object has a token bucket (a burst, then one per interval),
// as client-go's event correlator does with its spam filter.
import type { KubeClient } from './client.js';
import type { KubeObject } from '../api/meta.js';
import { collectionPath, EVENTS } from './resources.js';

export type EventType = 'Normal' | 'Warning';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export const targetOf = (obj: KubeObject): EventTarget => ({
  apiVersion: obj.apiVersion ?? 'v1',
  kind: obj.kind ?? '',
  name: obj.metadata.name,
  namespace: obj.metadata.namespace,
  uid: obj.metadata.uid,
});

/** client-go's spam filter defaults: 25 Events per object at once, then one per 5 minutes. */
export const EVENT_BURST = 25;
export const EVENT_REFILL_MS = 5 * 60_000;

export interface EventRecorderOptions {
  component?: string;
  /** The same event is sent once per window. */
  windowMs?: number;
  now?: () => number;
  /** Per involved object: this many Events at once, then one per refillMs. */
  burst?: number;
  refillMs?: number;
  /** Told of every Event the per-object limit dropped. */
  onDropped?: () => void;
}

interface Bucket { tokens: number; at: number }

export class EventRecorder {
  private readonly sent = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly component: string;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly client: KubeClient | undefined, private readonly options: EventRecorderOptions = {}) {
    this.component = options.component ?? 'build-namespace-operator';
    this.windowMs = options.windowMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Takes a token from the object's bucket; false when it is empty. */
  private allow(objectKey: string, now: number): boolean {
    const burst = this.options.burst ?? EVENT_BURST;
    const refillMs = this.options.refillMs ?? EVENT_REFILL_MS;
    const bucket = this.buckets.get(objectKey) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + Math.floor((now - bucket.at) / refillMs));
    if (bucket.tokens < burst) bucket.at += Math.floor((now - bucket.at) / refillMs) * refillMs;
    else bucket.at = now;
    this.buckets.set(objectKey, bucket);
    if (bucket.tokens === 0) return false;
    bucket.tokens--;
    return true;
  }

  /**
   * Records the event unless the API server already holds one of ours with this reason
   * about this object: a restarted operator repeats nothing it already said.
   */
  async recordOnce(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    if (this.client) {
      const namespace = eventNamespace(target);
      try {
        const existing = await this.client.request<{ items: { source?: { component?: string } }[] }>('GET', collectionPath(EVENTS, namespace), {
          query: { fieldSelector: `involvedObject.name=${target.name},involvedObject.kind=${target.kind},reason=${reason}` },
        });
        if (existing.items.some((e) => e.source?.component === this.component)) return;
      } catch {
        // Unknown: say it again rather than not at all.
      }
    }
    await this.record(target, type, reason, message);
  }

  /** Records the event; failures are swallowed: an Event is never worth failing work for. */
  async record(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    const dedupeKey = `${target.kind}/${target.namespace ?? ''}/${target.name}/${reason}/${message}`;
    const last = this.sent.get(dedupeKey);
    const now = this.now();
    if (last !== undefined && now - last < this.windowMs) return;
    if (!this.allow(`${target.kind}/${target.namespace ?? ''}/${target.name}`, now)) {
      this.options.onDropped?.();
      return;
    }
    this.sent.set(dedupeKey, now);
    if (this.sent.size > 10_000) this.prune(now);
    if (!this.client) return;
    const namespace = eventNamespace(target);
    const involvedObject = target.kind === 'Namespace' ? { ...target, namespace } : { ...target };
    const time = new Date(now).toISOString();
    try {
      await this.client.request('POST', collectionPath(EVENTS, namespace), {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${target.name}.`, namespace },
          involvedObject,
          reason,
          message,
          type,
          source: { component: this.component },
          reportingComponent: this.component,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      });
    } catch {
      this.sent.delete(dedupeKey);
    }
  }

  private prune(now: number): void {
    for (const [k, at] of this.sent) if (now - at >= this.windowMs) this.sent.delete(k);
    // A full bucket says nothing a fresh one would not.
    const full = (this.options.burst ?? EVENT_BURST) * (this.options.refillMs ?? EVENT_REFILL_MS);
    for (const [k, b] of this.buckets) if (now - b.at >= full) this.buckets.delete(k);
  }
}

/**
 * An Event about a Namespace lives in that namespace (the API server wants the involved
 * object's namespace to say so too), so the tool sees it there; Events about other
 * cluster-scoped objects live in `default`.
 */
function eventNamespace(target: EventTarget): string {
  return target.namespace ?? (target.kind === 'Namespace' ? target.name : 'default');
}
