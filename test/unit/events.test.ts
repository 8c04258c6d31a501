import { EVENT_BURST, EventRecorder } from '../../src/kube/events.js';

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
