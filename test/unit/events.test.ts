import { EVENT_BURST, EventRecorder, eventBody } from '../../src/kube/events.js';
import { ApiError, type KubeClient } from '../../src/kube/client.js';

const target = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', name });

function recorder(clock = { t: 0 }) {
  const dropped = { n: 0 };
  const events = new EventRecorder(undefined, { now: () => clock.t, refillMs: 60_000, onDropped: () => dropped.n++ });
  return { clock, dropped, events };
}

describe('EventRecorder rate limits', () => {
  it('sends the same event once per window', async () => {
    const { dropped, events } = recorder();
    for (let i = 0; i < 10; i++) await events.record(target('a'), 'Warning', 'Held', 'same message');
    // Deduplicated, not dropped by the bucket: one token used.
    expect(dropped.n).toBe(0);
  });

  it('lets an object say a burst of different things, then one per interval', async () => {
    const { clock, dropped, events } = recorder();
    for (let i = 0; i < EVENT_BURST + 10; i++) await events.record(target('a'), 'Warning', 'Held', `message ${i}`);
    expect(dropped.n).toBe(10);
    // Another object has a bucket of its own.
    await events.record(target('b'), 'Warning', 'Held', 'first');
    expect(dropped.n).toBe(10);
    // One interval later, one more gets through and the next is dropped again.
    clock.t = 60_000;
    await events.record(target('a'), 'Warning', 'Held', 'after a minute');
    await events.record(target('a'), 'Warning', 'Held', 'and another');
    expect(dropped.n).toBe(11);
    // A long quiet refills the whole burst.
    clock.t = 60_000 * (EVENT_BURST + 2);
    for (let i = 0; i < EVENT_BURST; i++) await events.record(target('a'), 'Warning', 'Held', `later ${i}`);
    expect(dropped.n).toBe(11);
  });
});

describe('eventBody', () => {
  const fields = { type: 'Warning' as const, reason: 'Held', note: 'n', action: 'Delete', reportingController: 'c', reportingInstance: 'c-pod' };

  it('is an events.k8s.io/v1 Event with the microsecond time the API server parses', () => {
    const body = eventBody({ apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', name: 'p', uid: 'u' }, fields, Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    expect(body).toEqual({
      apiVersion: 'events.k8s.io/v1', kind: 'Event',
      // A cluster-scoped object's Events live in default, and say no namespace of it.
      metadata: { generateName: 'p-', namespace: 'default' },
      regarding: { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', name: 'p', uid: 'u' },
      ...fields,
      eventTime: '2026-01-02T03:04:05.678000Z',
    });
  });

  it('puts an Event about a Namespace in that namespace, and says so of it', () => {
    const body = eventBody({ apiVersion: 'v1', kind: 'Namespace', name: 'tool-a' }, fields, 0);
    expect(body.metadata).toEqual({ generateName: 'tool-a-', namespace: 'tool-a' });
    expect(body.regarding).toEqual({ apiVersion: 'v1', kind: 'Namespace', name: 'tool-a', namespace: 'tool-a' });
  });

  it('cuts a note past the 1 kB a reader may stop at', () => {
    const body = eventBody({ apiVersion: 'v1', kind: 'Namespace', name: 'a' }, { ...fields, note: 'x'.repeat(2000) }, 0);
    expect(body.note).toHaveLength(1024);
    expect(body.note).toMatch(/x\.\.\.$/);
  });
});

describe('EventRecorder when the API server refuses an Event', () => {
  it('tells onRefused and does not throw, and tries the same event again next time', async () => {
    const refused: unknown[] = [];
    let posts = 0;
    const client = { request: () => { posts++; return Promise.reject(new ApiError(422, 'Event is invalid')); } } as unknown as KubeClient;
    const events = new EventRecorder(client, { onRefused: (err) => refused.push(err) });
    await events.record(target('a'), 'Warning', 'Held', 'm');
    await events.record(target('a'), 'Warning', 'Held', 'm');
    expect(posts).toBe(2);
    expect(refused.map((e) => (e as ApiError).code)).toEqual([422, 422]);
  });
});
