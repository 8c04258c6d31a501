// Kubernetes Events for admins and tool owners, rate-limited so that a reconcile loop
// that repeats itself does not repeat its Events: the same event is sent at most once per
// window.
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

export class EventRecorder {
  private readonly sent = new Map<string, number>();

  constructor(
    private readonly client: KubeClient | undefined,
    private readonly component = 'build-namespace-operator',
    private readonly windowMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

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
