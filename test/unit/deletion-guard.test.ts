import { DeletionGuard } from '../../src/controller/deletion-guard.js';
import { MemoryGuardStore } from '../../src/kube/deletion-guard-store.js';

const LIMITS = { maxShare: 0.1, maxCount: 5, windowMs: 60_000 };

function guard(clock = { t: 0 }, store = new MemoryGuardStore()) {
  return { clock, store, guard: new DeletionGuard({ ...LIMITS, now: () => clock.t }, store) };
}

const ask = (g: DeletionGuard, tool: string, total: number, lifted = false) =>
  g.request({ tool, namespace: `image-build-${tool}` }, total, lifted);

async function askAll(g: DeletionGuard, count: number, total: number, from = 0): Promise<boolean[]> {
  const allowed: boolean[] = [];
  for (let i = from; i < from + count; i++) allowed.push((await ask(g, `t${i}`, total)).allowed);
  return allowed;
}

describe('DeletionGuard', () => {
  it.each([
    { name: 'few deletions in a small fleet pass on the count', total: 20, deletions: 5, allowed: 5 },
    { name: 'many deletions in a big fleet pass on the share', total: 1000, deletions: 100, allowed: 100 },
    { name: 'beyond both the count and the share is held', total: 100, deletions: 30, allowed: 10 },
    { name: 'a small fleet may lose only the count', total: 10, deletions: 10, allowed: 5 },
  ])('$name', async ({ total, deletions, allowed }) => {
    const { guard: g } = guard();
    expect((await askAll(g, deletions, total)).filter(Boolean)).toHaveLength(allowed);
    expect(g.active).toBe(allowed < deletions);
  });

  it('keeps holding after the window until the cause goes away', async () => {
    const { clock, guard: g } = guard();
    await askAll(g, 7, 10);
    expect(g.heldTools).toEqual(['t5', 't6']);
    clock.t = 120_000;
    expect((await ask(g, 't5', 10)).allowed).toBe(false);
    await g.cancel('t5');
    await g.cancel('t6');
    expect(g.active).toBe(false);
    expect((await ask(g, 't7', 10)).allowed).toBe(true);
  });

  it('lets everything through while an admin lifts the hold', async () => {
    const { guard: g } = guard();
    await askAll(g, 7, 10);
    expect(g.active).toBe(true);
    expect(await ask(g, 't6', 10, true)).toEqual({ allowed: true });
    expect(g.active).toBe(false);
  });

  it('says a hold started once, with one message for the whole hold', async () => {
    const { guard: g } = guard();
    await askAll(g, 5, 100);
    const decisions = [];
    for (let i = 5; i < 50; i++) decisions.push(await ask(g, `t${i}`, 100));
    const held = decisions.filter((d) => !d.allowed);
    expect(held.filter((d) => d.started)).toHaveLength(1);
    expect(new Set(held.map((d) => d.message)).size).toBe(1);
  });

  it('a new guard on the same store starts where the last one stopped', async () => {
    const store = new MemoryGuardStore();
    const first = guard({ t: 0 }, store).guard;
    expect((await askAll(first, 5, 10)).every(Boolean)).toBe(true);
    // The restarted (or newly leading) process counts the window the last one used up.
    const second = guard({ t: 1_000 }, store).guard;
    expect((await askAll(second, 3, 10, 5)).some(Boolean)).toBe(false);
    expect(second.active).toBe(true);
    await second.flush();
    // And the hold itself survives a third start, past the window, until its cause is gone.
    const third = guard({ t: 600_000 }, store).guard;
    await third.load();
    expect(third.heldTools).toEqual(['t5', 't6', 't7']);
    expect((await ask(third, 't5', 10)).allowed).toBe(false);
  });

  it('decides again when another process wrote the state meanwhile', async () => {
    const store = new MemoryGuardStore();
    const a = guard({ t: 0 }, store).guard;
    const b = guard({ t: 0 }, store).guard;
    await a.load();
    await b.load();
    // Both read the same empty window; each deletion must still be counted once.
    const allowed: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      allowed.push((await ask(a, `a${i}`, 10)).allowed);
      allowed.push((await ask(b, `b${i}`, 10)).allowed);
    }
    expect(allowed.filter(Boolean)).toHaveLength(LIMITS.maxCount);
  });
});
