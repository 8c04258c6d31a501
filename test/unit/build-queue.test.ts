// The build queue's decision, case by case: FIFO within a tool, round-robin across tools
// (fewest running first), each tool's cap, its quota's room and the cluster's cap.
import { ANNOTATION_QUEUE, QUEUE_IN_LINE, type ResourceList } from '../../src/api/types.js';
import {
  buildPodRequest, buildsThatFit, decideStarts, PLACES_TOLD, queueMessage, queueStanding, quotaRoom, startedAt, startedMark, toolMaxRunning,
  type HeldRun, type QueuedRunView, type ToolLine,
} from '../../src/render/build-queue.js';
import { pointerToken } from '../../src/kube/writer.js';

const run = (tool: string, n: number, createdAt = n): HeldRun => ({ namespace: `image-build-${tool}`, name: `${tool}-${n}`, uid: `${tool}-${n}`, createdAt });
const line = (tool: string, held: number, extra: Partial<ToolLine> = {}): ToolLine => ({
  tool, held: Array.from({ length: held }, (_, i) => run(tool, i + 1)), running: 0, maxRunning: 4, quotaRoom: Infinity, ...extra,
});
const names = (runs: HeldRun[]) => runs.map((r) => r.name);

describe('decideStarts', () => {
  // Ties between tools go to the run that has waited longest (then the name).
  it.each([
    { name: 'nothing held, nothing started', tools: [line('a', 0)], cap: 10, want: [] },
    { name: 'FIFO within a tool, up to its cap', tools: [line('a', 6)], cap: 10, want: ['a-1', 'a-2', 'a-3', 'a-4'] },
    {
      name: 'FIFO by creation time, not by name',
      tools: [{ ...line('a', 0), held: [run('a', 1, 30), run('a', 2, 10), run('a', 3, 20)], maxRunning: 2 }],
      cap: 10, want: ['a-2', 'a-3'],
    },
    { name: 'the cap counts runs someone else started', tools: [line('a', 3, { running: 3 })], cap: 10, want: ['a-1'] },
    { name: 'the quota has room for one more', tools: [line('a', 3, { quotaRoom: 1 })], cap: 10, want: ['a-1'] },
    { name: 'a full quota starts nothing', tools: [line('a', 3, { quotaRoom: 0 })], cap: 10, want: [] },
    {
      name: 'a flood gets no more than its share of the cluster',
      tools: [line('a', 50), line('b', 1), line('c', 1)], cap: 3, want: ['a-1', 'b-1', 'c-1'],
    },
    {
      name: 'fewest running first: one that runs more waits until the others caught up',
      tools: [line('a', 5, { running: 2 }), line('b', 5, { running: 0 })], cap: 5, want: ['b-1', 'b-2', 'a-1'],
    },
    { name: 'the cluster at its cap starts nothing', tools: [line('a', 2, { running: 2 }), line('b', 1)], cap: 2, want: [] },
  ])('$name', ({ tools, cap, want }) => {
    expect(names(decideStarts({ tools, clusterMaxRunning: cap }).start)).toEqual(want);
  });

  it('tells each waiting run its place in its tool\'s line and what it waits for', () => {
    const { positions, clusterRunning } = decideStarts({ tools: [line('a', 6, { maxRunning: 2 }), line('b', 2, { quotaRoom: 1 }), line('c', 2)], clusterMaxRunning: 4 });
    expect(clusterRunning).toBe(4);
    expect(positions.get('a-3')).toEqual({ aheadForTool: 0, waitingFor: 'tool-limit' });
    expect(positions.get('a-6')).toEqual({ aheadForTool: 3, waitingFor: 'tool-limit' });
    expect(positions.get('b-2')).toEqual({ aheadForTool: 0, waitingFor: 'quota' });
    expect(positions.get('c-2')).toEqual({ aheadForTool: 0, waitingFor: 'cluster-limit' });
    expect(positions.has('a-1')).toBe(false);
  });

  it('in a burst of 200 tools with 5 builds each, every first build starts before any third', () => {
    // Each tool submits its five at once, one tool after the other: first come is not fair.
    const tools = Array.from({ length: 200 }, (_, i) => {
      const tool = `t${String(i).padStart(3, '0')}`;
      return { ...line(tool, 0), held: Array.from({ length: 5 }, (_, n) => run(tool, n + 1, i * 10 + n)) };
    });
    const order: HeldRun[] = [];
    const state = tools.map((t) => ({ ...t, held: [...t.held] }));
    // Pass after pass: 40 may run at once, and every build finishes before the next pass.
    const started = new Map<string, number>();
    for (let pass = 0; pass < 100 && order.length < 1000; pass++) {
      const decision = decideStarts({ tools: state.map((t) => ({ ...t, startedSince: started.get(t.tool) ?? 0 })), clusterMaxRunning: 40 });
      expect(decision.start.length).toBeLessThanOrEqual(40);
      for (const r of decision.start) {
        order.push(r);
        const t = state.find((s) => s.held.includes(r))!;
        t.held = t.held.filter((h) => h !== r);
        started.set(t.tool, (started.get(t.tool) ?? 0) + 1);
      }
    }
    expect(order).toHaveLength(1000);
    const indexOf = (n: number) => order.map((r, i) => (r.name.endsWith(`-${n}`) ? i : -1)).filter((i) => i >= 0);
    expect(Math.max(...indexOf(1))).toBeLessThan(Math.min(...indexOf(2)));
    expect(Math.max(...indexOf(2))).toBeLessThan(Math.min(...indexOf(3)));
  });
});

describe('buildsThatFit', () => {
  it.each<{ name: string; hard: ResourceList; used: ResourceList | undefined; per: ResourceList; want: number }>([
    { name: 'no shared resource: unbounded', hard: { 'requests.cpu': '2' }, used: {}, per: { 'requests.memory': '1Gi' }, want: Infinity },
    { name: 'by cpu, in millicores', hard: { 'requests.cpu': '2' }, used: { 'requests.cpu': '500m' }, per: { 'requests.cpu': '500m' }, want: 3 },
    { name: 'the tightest resource wins', hard: { pods: '4', 'requests.memory': '4Gi' }, used: { pods: '1', 'requests.memory': '3Gi' }, per: { pods: '1', 'requests.memory': '512Mi' }, want: 2 },
    { name: 'over-used quota: none', hard: { pods: '4' }, used: { pods: '5' }, per: { pods: '1' }, want: 0 },
    { name: 'usage unknown yet counts as none', hard: { pods: '4' }, used: undefined, per: { pods: '2' }, want: 2 },
  ])('$name', ({ hard, used, per, want }) => {
    expect(buildsThatFit(hard, used, per)).toBe(want);
  });
});

describe('queueStanding', () => {
  const at = '2026-01-01T00:00:00Z';
  const view = (spec: QueuedRunView['spec'], status: QueuedRunView['status'] = {}, annotations?: Record<string, string>): QueuedRunView =>
    ({ metadata: { name: 'r', ...(annotations ? { annotations } : {}) }, spec, status });
  it.each<{ name: string; run: QueuedRunView; want: string }>([
    { name: 'held', run: view({ status: 'PipelineRunPending' }), want: 'held' },
    { name: 'started by us or anyone: no status asked for', run: view({}), want: 'running' },
    { name: 'running until Succeeded is no longer Unknown', run: view({}, { conditions: [{ type: 'Succeeded', status: 'Unknown' }] }), want: 'running' },
    { name: 'finished by its condition', run: view({}, { conditions: [{ type: 'Succeeded', status: 'False' }] }), want: 'finished' },
    { name: 'finished by its completion time', run: view({}, { completionTime: at }), want: 'finished' },
    { name: 'cancelled while held: leaves the line', run: view({ status: 'Cancelled' }), want: 'gone' },
    { name: 'cancelled after we started it: running until Tekton ends it', run: view({ status: 'Cancelled' }, {}, { [ANNOTATION_QUEUE]: startedMark(0) }), want: 'running' },
    { name: 'cancelled after Tekton started it', run: view({ status: 'Cancelled' }, { startTime: at }), want: 'running' },
    { name: 'being deleted', run: { ...view({ status: 'PipelineRunPending' }), metadata: { name: 'r', deletionTimestamp: at } }, want: 'gone' },
  ])('$name', ({ run, want }) => {
    expect(queueStanding(run)).toBe(want);
  });

  it('reads the start from our mark, else from Tekton, else not at all', () => {
    expect(startedAt({ metadata: { name: 'r', annotations: { [ANNOTATION_QUEUE]: startedMark(5_000) } } })).toBe(5_000);
    expect(startedAt({ metadata: { name: 'r', annotations: { [ANNOTATION_QUEUE]: 'waiting: 0 ahead' } }, status: { startTime: '1970-01-01T00:00:07Z' } })).toBe(7_000);
    expect(startedAt({ metadata: { name: 'r' } })).toBeUndefined();
  });
});

describe('the quota side of the line', () => {
  const limits = [{ type: 'Container', default: { cpu: '1', memory: '1Gi' }, defaultRequest: { cpu: '500m' } }];
  it('asks one pod at the Container defaults, defaultRequest falling back to default', () => {
    expect(buildPodRequest(limits)).toEqual({
      pods: '1', cpu: '500m', memory: '1Gi', 'requests.cpu': '500m', 'requests.memory': '1Gi', 'limits.cpu': '1', 'limits.memory': '1Gi',
    });
    expect(buildPodRequest(undefined)).toEqual({ pods: '1' });
  });

  it.each([
    { name: 'the policy\'s cap wins', maxRunning: 3, hard: { pods: '8' }, want: 3 },
    { name: 'unset: what the quota holds', maxRunning: undefined, hard: { pods: '4', 'requests.cpu': '4' }, want: 4 },
    { name: 'unset: the tightest resource', maxRunning: undefined, hard: { 'requests.cpu': '1' }, want: 2 },
    { name: 'unset and unbounded: the default', maxRunning: undefined, hard: { 'count/pipelineruns.tekton.dev': '20' }, want: 4 },
    { name: 'a quota too small for one build still lets one run (the quota refuses its pod)', maxRunning: undefined, hard: { pods: '0' }, want: 1 },
  ] as { name: string; maxRunning?: number; hard: ResourceList; want: number }[])('toolMaxRunning: $name', ({ maxRunning, hard, want }) => {
    expect(toolMaxRunning(maxRunning, hard, buildPodRequest(limits))).toBe(want);
  });

  it('bounds the room by usage and by the running builds whose pods the usage does not show yet', () => {
    const per = buildPodRequest(limits);
    expect(quotaRoom({ pods: '4' }, { pods: '1' }, per, 1)).toBe(3);
    expect(quotaRoom({ pods: '4' }, { pods: '0' }, per, 3)).toBe(1);
    expect(quotaRoom({ pods: '4' }, { pods: '4' }, per, 0)).toBe(0);
    expect(quotaRoom({}, {}, per, 10)).toBe(Infinity);
  });
});

describe('queueMessage', () => {
  it.each([
    { position: { aheadForTool: 3, waitingFor: 'cluster-limit' as const }, want: 'waiting: 3 ahead of it for this tool; cluster at 40 of 40' },
    { position: { aheadForTool: 0, waitingFor: 'tool-limit' as const }, want: 'waiting: 0 ahead of it for this tool; the tool runs 2 of 2' },
    { position: { aheadForTool: 1, waitingFor: 'quota' as const }, want: 'waiting: 1 ahead of it for this tool; the tool\'s build-quota has no room' },
    // Further back, a text that does not change with every start ahead of it (each rewrite costs Tekton a reconcile).
    { position: { aheadForTool: PLACES_TOLD, waitingFor: 'tool-limit' as const }, want: QUEUE_IN_LINE },
    { position: { aheadForTool: 45, waitingFor: 'cluster-limit' as const }, want: QUEUE_IN_LINE },
  ])('$want', ({ position, want }) => {
    expect(queueMessage(position, 40, 40, 2)).toBe(want);
  });

  it('escapes the annotation key for a JSON patch path', () => {
    expect(pointerToken(ANNOTATION_QUEUE)).toBe('builds.toolforge.org~1queue');
    expect(pointerToken('a~b/c')).toBe('a~0b~1c');
  });
});
