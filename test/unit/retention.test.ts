import type { BuildsSection } from '../../src/api/types.js';
import {
  DEFAULT_KEEP_FAILED, DEFAULT_KEEP_SUCCESSFUL, finishedAt, nextExpiryMs, retentionOf, runOutcome, runsToDelete,
  type PipelineRunView,
} from '../../src/render/retention-decision.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const at = (secondsBeforeNow: number) => new Date(NOW - secondsBeforeNow * 1000).toISOString();

type Outcome = 'ok' | 'failed' | 'timeout' | 'cancelled' | 'stopped' | 'running' | 'pending' | 'new';

/**
 * A run created `created` seconds before NOW, finished `finished` seconds before NOW (when
 * it finished), in Tekton's status shape.
 */
function run(name: string, outcome: Outcome, created: number, finished = created - 60, extra: Partial<PipelineRunView['metadata']> = {}): PipelineRunView {
  const condition = (status: string, reason: string) => ({ type: 'Succeeded', status, reason, lastTransitionTime: at(finished) });
  const final = { completionTime: at(finished) };
  const status = {
    ok: { conditions: [condition('True', 'Succeeded')], ...final },
    failed: { conditions: [condition('False', 'Failed')], ...final },
    timeout: { conditions: [condition('False', 'PipelineRunTimeout')], ...final },
    cancelled: { conditions: [condition('False', 'Cancelled')], ...final },
    stopped: { conditions: [condition('False', 'StoppedRunFinally')], ...final },
    running: { conditions: [condition('Unknown', 'Running')] },
    pending: { conditions: [condition('Unknown', 'PipelineRunPending')] },
    new: undefined,
  }[outcome];
  return { metadata: { name, creationTimestamp: at(created), ...extra }, ...(status ? { status } : {}) };
}

/** n runs of one outcome, named prefix-1 (oldest) .. prefix-n (newest), created a minute apart from `oldest`. */
const runs = (prefix: string, outcome: Outcome, n: number, oldest = 10_000): PipelineRunView[] =>
  Array.from({ length: n }, (_, i) => run(`${prefix}-${i + 1}`, outcome, oldest - i * 60));

describe('runOutcome', () => {
  it.each([
    { name: 'Succeeded True', run: run('a', 'ok', 100), want: 'succeeded' },
    { name: 'Succeeded False, Failed', run: run('a', 'failed', 100), want: 'failed' },
    { name: 'Succeeded False, PipelineRunTimeout', run: run('a', 'timeout', 100), want: 'failed' },
    { name: 'Succeeded False, Cancelled', run: run('a', 'cancelled', 100), want: 'failed' },
    { name: 'Succeeded False, StoppedRunFinally', run: run('a', 'stopped', 100), want: 'failed' },
    { name: 'Succeeded Unknown, Running', run: run('a', 'running', 100), want: 'running' },
    { name: 'Succeeded Unknown, PipelineRunPending', run: run('a', 'pending', 100), want: 'running' },
    { name: 'no status yet', run: run('a', 'new', 100), want: 'running' },
    {
      name: 'other conditions do not count',
      run: { metadata: { name: 'a' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      want: 'running',
    },
  ])('$name is $want', ({ run: r, want }) => {
    expect(runOutcome(r)).toBe(want);
  });
});

describe('retentionOf', () => {
  it.each([
    { name: 'an empty section takes the defaults', builds: {}, want: { keepSuccessful: DEFAULT_KEEP_SUCCESSFUL, keepFailed: DEFAULT_KEEP_FAILED } },
    { name: 'the defaults are what builds-api keeps', builds: {}, want: { keepSuccessful: 4, keepFailed: 2 } },
    { name: 'zero is a value, not unset', builds: { keepSuccessful: 0, keepFailed: 0 }, want: { keepSuccessful: 0, keepFailed: 0 } },
    {
      name: 'a ttl is kept as given',
      builds: { keepFailed: 5, ttlSecondsAfterFinished: 3600 },
      want: { keepSuccessful: 4, keepFailed: 5, ttlSecondsAfterFinished: 3600 },
    },
  ])('$name', ({ builds, want }) => {
    expect(retentionOf(builds)).toEqual(want);
  });
});

describe('finishedAt', () => {
  it('is the completionTime, else when the Succeeded condition changed, else unknown', () => {
    expect(finishedAt(run('a', 'ok', 100, 30))).toBe(NOW - 30_000);
    const noCompletion = run('a', 'ok', 100, 30);
    delete noCompletion.status!.completionTime;
    expect(finishedAt(noCompletion)).toBe(NOW - 30_000);
    expect(finishedAt({ metadata: { name: 'a' }, status: { conditions: [{ type: 'Succeeded', status: 'True' }] } })).toBeUndefined();
  });
});

describe('runsToDelete', () => {
  const cases: { name: string; runs: PipelineRunView[]; builds: BuildsSection; want: string[] }[] = [
    { name: 'nothing to keep track of', runs: [], builds: {}, want: [] },
    { name: 'fewer runs than kept', runs: [...runs('ok', 'ok', 3), ...runs('bad', 'failed', 1)], builds: {}, want: [] },
    { name: 'exactly as many as kept', runs: [...runs('ok', 'ok', 4), ...runs('bad', 'failed', 2)], builds: {}, want: [] },
    {
      name: 'defaults keep the newest 4 succeeded and 2 failed, oldest deleted first',
      runs: [...runs('ok', 'ok', 6), ...runs('bad', 'failed', 4, 9_990)],
      builds: {},
      want: ['ok-1', 'bad-1', 'ok-2', 'bad-2'],
    },
    {
      name: 'timed out, cancelled and stopped runs count as failed',
      runs: [run('t', 'timeout', 500), run('c', 'cancelled', 400), run('s', 'stopped', 300), run('f', 'failed', 200)],
      builds: { keepFailed: 2 },
      want: ['t', 'c'],
    },
    {
      name: 'running, pending and unstarted runs are never deleted, however old',
      runs: [run('r', 'running', 99_999), run('p', 'pending', 99_998), run('n', 'new', 99_997), ...runs('ok', 'ok', 2)],
      builds: { keepSuccessful: 0, keepFailed: 0, ttlSecondsAfterFinished: 0 },
      want: ['ok-1', 'ok-2'],
    },
    {
      name: 'the newest by creation time are kept, whatever order they finished in',
      runs: [run('old-finished-last', 'ok', 1_000, 10), run('new-finished-first', 'ok', 500, 400)],
      builds: { keepSuccessful: 1 },
      want: ['old-finished-last'],
    },
    {
      name: 'runs created in the same second are ordered by name, the greater newer',
      runs: [run('build-b', 'ok', 100), run('build-c', 'ok', 100), run('build-a', 'ok', 100)],
      builds: { keepSuccessful: 1 },
      want: ['build-a', 'build-b'],
    },
    {
      name: 'succeeded and failed are counted apart',
      runs: [...runs('ok', 'ok', 3, 1_000), ...runs('bad', 'failed', 3, 990)],
      builds: { keepSuccessful: 3, keepFailed: 0 },
      want: ['bad-1', 'bad-2', 'bad-3'],
    },
    {
      name: 'keep 0 deletes every finished run of that outcome',
      runs: [...runs('ok', 'ok', 2), run('r', 'running', 5)],
      builds: { keepSuccessful: 0 },
      want: ['ok-1', 'ok-2'],
    },
    {
      name: 'runs already being deleted are neither counted nor deleted again',
      runs: [run('gone', 'ok', 50, 40, { deletionTimestamp: at(1) }), ...runs('ok', 'ok', 3)],
      builds: { keepSuccessful: 2 },
      want: ['ok-1'],
    },
    {
      name: 'the ttl deletes finished runs that finished at least that long ago, kept or not',
      runs: [run('ok-expired', 'ok', 7_300, 7_200), run('ok-fresh', 'ok', 200, 100), run('bad-expired', 'failed', 4_000, 3_600)],
      builds: { ttlSecondsAfterFinished: 3_600 },
      want: ['ok-expired', 'bad-expired'],
    },
    {
      name: 'an expired run leaves its place to the next newest',
      runs: [run('newest-expired', 'ok', 100, 90), run('older-fresh', 'ok', 200, 10), run('oldest', 'ok', 300, 20)],
      builds: { keepSuccessful: 1, ttlSecondsAfterFinished: 60 },
      want: ['oldest', 'newest-expired'],
    },
    {
      name: 'a run with no finish time never expires but still counts',
      runs: [{ metadata: { name: 'undated', creationTimestamp: at(9_000) }, status: { conditions: [{ type: 'Succeeded', status: 'True' }] } }],
      builds: { ttlSecondsAfterFinished: 1 },
      want: [],
    },
    {
      name: 'ttl 0 deletes a run as soon as it finished',
      runs: [run('just-now', 'failed', 10, 0), run('r', 'running', 5)],
      builds: { ttlSecondsAfterFinished: 0 },
      want: ['just-now'],
    },
  ];

  it.each(cases)('$name', ({ runs: input, builds, want }) => {
    expect(runsToDelete(input, builds, NOW)).toEqual(want);
  });

  it('does not depend on the order of its input', () => {
    const input = [...runs('ok', 'ok', 7), ...runs('bad', 'cancelled', 5), run('r', 'running', 1)];
    const want = runsToDelete(input, {}, NOW);
    expect(runsToDelete([...input].reverse(), {}, NOW)).toEqual(want);
    expect(runsToDelete([...input.slice(5), ...input.slice(0, 5)], {}, NOW)).toEqual(want);
  });
});

describe('nextExpiryMs', () => {
  it.each([
    { name: 'no ttl: never', runs: runs('ok', 'ok', 2), builds: {}, want: undefined },
    { name: 'no finished run: never', runs: [run('r', 'running', 10)], builds: { ttlSecondsAfterFinished: 60 }, want: undefined },
    {
      name: 'the earliest expiry among the runs kept',
      runs: [run('a', 'ok', 100, 50), run('b', 'failed', 90, 20), run('c', 'ok', 80, 10)],
      builds: { ttlSecondsAfterFinished: 60 },
      want: 10_000,
    },
    {
      name: 'runs deleted now do not count',
      runs: [run('a', 'ok', 100, 90), run('b', 'ok', 50, 40)],
      builds: { ttlSecondsAfterFinished: 60 },
      want: 20_000,
    },
    {
      name: 'runs deleted by count do not count',
      runs: [run('older', 'ok', 100, 50), run('newer', 'ok', 80, 30)],
      builds: { keepSuccessful: 1, ttlSecondsAfterFinished: 60 },
      want: 30_000,
    },
  ])('$name', ({ runs: input, builds, want }) => {
    expect(nextExpiryMs(input, builds, NOW)).toEqual(want);
  });
});
