// Kubernetes Events for admins and tool owners, rate-limited twice so that nothing the
// operator does can flood the API server with Events: the same event is sent at most once
// per window, and each involved object has a token bucket (a burst, then one per interval),
// as client-go's event correlator does with its spam filter. They are written as
// events.k8s.io/v1 Events, which say which controller and which replica reported them.
import { hostname } from 'node:os';
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
  /** The Event's reportingController. */
  component?: string;
  /** The Event's reportingInstance: this replica (the pod's host name). */
  instance?: string;
  /** The same event is sent once per window. */
  windowMs?: number;
  now?: () => number;
  /** Per involved object: this many Events at once, then one per refillMs. */
  burst?: number;
  refillMs?: number;
  /** Told of every Event the per-object limit dropped. */
  onDropped?: () => void;
  /** Told of every Event the API server did not take: an Event is not worth failing work for, but is not lost silently. */
  onRefused?: (err: unknown) => void;
}

interface Bucket { tokens: number; at: number }

/** Events remembered before the first prune of what is past its window. */
const PRUNE_ABOVE = 10_000;

export class EventRecorder {
  private readonly sent = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  /**
   * The size past which the maps are pruned. It doubles with what a prune kept: a fleet
   * converging posts more than 10,000 Events inside one window, and pruning the full map
   * again on every further Event would cost a pass over it each time.
   */
  private pruneAbove = PRUNE_ABOVE;
  private readonly component: string;
  private readonly instance: string;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly client: KubeClient | undefined, private readonly options: EventRecorderOptions = {}) {
    this.component = options.component ?? 'build-namespace-operator';
    this.instance = (options.instance ?? `${this.component}-${hostname()}`).slice(0, 128);
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
      try {
        const existing = await this.client.request<{ items: unknown[] }>('GET', collectionPath(EVENTS, eventNamespace(target)), {
          query: {
            fieldSelector: `regarding.name=${target.name},regarding.kind=${target.kind},reason=${reason},reportingController=${this.component}`,
            limit: 1,
          },
        });
        if (existing.items.length > 0) return;
      } catch {
        // Unknown (a 403 is reported by the client's observer): say it again rather than not at all.
      }
    }
    await this.record(target, type, reason, message);
  }

  /**
   * Records the event; a failure goes to onRefused, never to the caller: an Event is never worth failing work for.
   * The action says what the operator was doing to the object when it happened.
   */
  async record(target: EventTarget, type: EventType, reason: string, message: string, action = 'Reconcile'): Promise<void> {
    const dedupeKey = `${target.kind}/${target.namespace ?? ''}/${target.name}/${reason}/${message}`;
    const last = this.sent.get(dedupeKey);
    const now = this.now();
    if (last !== undefined && now - last < this.windowMs) return;
    if (!this.allow(`${target.kind}/${target.namespace ?? ''}/${target.name}`, now)) {
      this.options.onDropped?.();
      return;
    }
    this.sent.set(dedupeKey, now);
    if (this.sent.size > this.pruneAbove) this.prune(now);
    if (!this.client) return;
    try {
      await this.client.request('POST', collectionPath(EVENTS, eventNamespace(target)), {
        body: eventBody(target, { type, reason, note: message, action, reportingController: this.component, reportingInstance: this.instance }, now),
      });
    } catch (err) {
      this.sent.delete(dedupeKey);
      this.options.onRefused?.(err);
    }
  }

  private prune(now: number): void {
    for (const [k, at] of this.sent) if (now - at >= this.windowMs) this.sent.delete(k);
    // A full bucket says nothing a fresh one would not.
    const full = (this.options.burst ?? EVENT_BURST) * (this.options.refillMs ?? EVENT_REFILL_MS);
    for (const [k, b] of this.buckets) if (now - b.at >= full) this.buckets.delete(k);
    this.pruneAbove = Math.max(PRUNE_ABOVE, 2 * this.sent.size);
  }
}

export interface EventFields {
  type: EventType;
  reason: string;
  note: string;
  action: string;
  reportingController: string;
  reportingInstance: string;
}

/** An events.k8s.io/v1 Event about the target, first seen at `now` (ms since the epoch). */
export function eventBody(target: EventTarget, fields: EventFields, now: number): Record<string, unknown> {
  const namespace = eventNamespace(target);
  return {
    apiVersion: EVENTS.apiVersion,
    kind: EVENTS.kind,
    // events.k8s.io checks a generated name as a DNS subdomain, which may not end in '.'.
    metadata: { generateName: `${target.name}-`, namespace },
    regarding: target.kind === 'Namespace' ? { ...target, namespace } : { ...target },
    ...fields,
    // The API server keeps a longer note, but says a reader may stop at 1 kB.
    note: fields.note.length > 1024 ? `${fields.note.slice(0, 1021)}...` : fields.note,
    eventTime: microTime(now),
  };
}

/** metav1.MicroTime's form: RFC 3339 with exactly six digits of fraction. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * An Event about a Namespace lives in that namespace (the API server wants the involved
 * object's namespace to say so too), so the tool sees it there; Events about other
 * cluster-scoped objects live in `default`.
 */
function eventNamespace(target: EventTarget): string {
  return target.namespace ?? (target.kind === 'Namespace' ? target.name : 'default');
}
