import { othersStages } from '../../bench/simulation/report.js';
import type { ScenarioResult } from '../../bench/simulation/scenario.js';
import type { BuildRecord } from '../../bench/simulation/stats.js';

const build = (tool: string, times: Partial<BuildRecord>): BuildRecord => ({
  tool, namespace: `image-build-${tool}`, name: `${tool}-run`, durationMs: 60_000, submittedAt: 0, quotaRefused: false, ...times,
});
const result = (builds: BuildRecord[]): ScenarioResult => ({
  scenario: 'per-tool-queue', layout: 'per-tool', builds, endedAtMs: 600_000, windowMs: 600_000, refusedPodCreates: 0, cpuSeconds: {}, notes: [],
});

describe('othersStages', () => {
  it('splits the others\' delay into the queue, Tekton and the pod, by median, and leaves out the flood', () => {
    const stages = othersStages(result([
      build('a', { submittedAt: 0, releasedAt: 100_000, podCreatedAt: 200_000, runningAt: 300_000 }),
      build('b', { submittedAt: 10_000, releasedAt: 10_500, podCreatedAt: 12_500, runningAt: 13_000 }),
      build('c', { submittedAt: 10_000, releasedAt: 11_000, podCreatedAt: 14_000, runningAt: 14_500 }),
      build('d', { submittedAt: 10_000, releasedAt: 10_200, podCreatedAt: 11_200, runningAt: 11_900 }),
      // Never ran: no stage of it is known.
      build('e', { submittedAt: 10_000, releasedAt: 10_100 }),
    ]), 'a');
    expect(stages).toEqual({ queue: 0.5, tekton: 2, pod: 0.5 });
  });

  it('counts a run that was never held as started at once', () => {
    expect(othersStages(result([build('b', { submittedAt: 10_000, podCreatedAt: 12_000, runningAt: 13_000 })]), 'a'))
      .toEqual({ queue: 0, tekton: 2, pod: 1 });
  });
});
