import { DeletionGuard } from '../../src/controller/deletion-guard.js';

function guard(clock = { t: 0 }) {
  return { clock, guard: new DeletionGuard({ maxShare: 0.1, maxCount: 5, windowMs: 60_000, now: () => clock.t }) };
}

describe('DeletionGuard', () => {
  it.each([
    { name: 'few deletions in a small fleet pass on the count', total: 20, deletions: 5, allowed: 5 },
    { name: 'many deletions in a big fleet pass on the share', total: 1000, deletions: 100, allowed: 100 },
    { name: 'beyond both the count and the share is held', total: 100, deletions: 30, allowed: 10 },
    { name: 'a small fleet may lose only the count', total: 10, deletions: 10, allowed: 5 },
  ])('$name', ({ total, deletions, allowed }) => {
    const { guard: g } = guard();
    const results = Array.from({ length: deletions }, (_, i) => g.request(`t${i}`, total, false).allowed);
    expect(results.filter(Boolean)).toHaveLength(allowed);
    expect(g.active).toBe(allowed < deletions);
  });

  it('keeps holding after the window until the cause goes away', () => {
    const { clock, guard: g } = guard();
    for (let i = 0; i < 7; i++) g.request(`t${i}`, 10, false);
    expect(g.heldTools).toEqual(['t5', 't6']);
    clock.t = 120_000;
    expect(g.request('t5', 10, false).allowed).toBe(false);
    g.cancel('t5');
    g.cancel('t6');
    expect(g.active).toBe(false);
    expect(g.request('t7', 10, false).allowed).toBe(true);
  });

  it('lets everything through while an admin lifts the hold', () => {
    const { guard: g } = guard();
    for (let i = 0; i < 7; i++) g.request(`t${i}`, 10, false);
    expect(g.active).toBe(true);
    expect(g.request('t6', 10, true)).toEqual({ allowed: true });
    expect(g.active).toBe(false);
  });
});
