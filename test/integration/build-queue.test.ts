// The build queue against the real control plane: the operator (in-process, under its own
// ServiceAccount) holds every new PipelineRun and starts them in turn. No Tekton controller
// runs: a run counts as running from the moment the operator clears its hold until, as
// admin, the test writes its status finished. Proven: FIFO per tool within maxRunning,
// finishing one starts the next, a freed slot under the cluster cap goes to the tool with
// fewer running, the quota's room bounds starts, a cancelled held run is never started, a
// restart starts nothing twice and keeps the order, and a tool cannot clear its own hold.
import type { KubeObject } from '../../src/api/meta.js';
import { ApiError, type KubeClient } from '../../src/kube/client.js';
import {
  BUILD_QUOTA_POLICIES, collectionPath, MUTATING_ADMISSION_POLICIES, MUTATING_ADMISSION_POLICY_BINDINGS, NAMESPACES, objectPath, PIPELINE_RUNS,
} from '../../src/kube/resources.js';
import { PIPELINE_RUN_PENDING, renderHoldPolicy } from '../../src/render/build-queue-admission.js';
import { ANNOTATION_QUEUE, QUEUE_IN_LINE } from '../../src/api/types.js';
import { PLACES_TOLD } from '../../src/render/build-queue.js';
import { configFor, eventually, uniqueName } from '../../envtest/cluster.js';
import { adminClient, buildsApiRun, clientFor, installAdminPipeline, installOperatorPrerequisites } from '../../envtest/install.js';
import { metricValue, removeAndWait } from '../../envtest/operator-process.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const admin = adminClient();
const suite = uniqueName('queue');
const [toolA, toolB, toolC] = ['a', 'b', 'c'].map((t) => `${suite}-${t}`) as [string, string, string];
const ADMIN_NS = `${suite}-admin`;
const CLUSTER_CAP = 4;
const replicate = [{ apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: ADMIN_NS, name: 'buildpacks' }];
let running: RunningOperator;
const tools = new Map<string, KubeClient>();

type Run = KubeObject & { spec?: { status?: string }; status?: Record<string, unknown> };
const buildNs = (tool: string) => `image-build-${tool}`;
const asTool = (tool: string) => tools.get(tool)!;

async function applyPolicy(name: string, spec: Record<string, unknown>): Promise<void> {
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, name), {
    query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
    body: { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name }, spec },
  });
}


/**
 * Creates runs `<prefix>-1..n` as the tool, one after the other: the line's order. Numbered so
 * that names sort in that order too: creation times are whole seconds, and the line orders the
 * runs of one second by name.
 */
async function submit(tool: string, prefix: string, n: number): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(String(n).length, '0')}`);
  for (const name of names) {
    await asTool(tool).request('POST', collectionPath(PIPELINE_RUNS, buildNs(tool)), { body: buildsApiRun(tool, name) });
  }
  return names;
}

const get = (tool: string, name: string) => admin.request<Run>('GET', objectPath(PIPELINE_RUNS, name, buildNs(tool)));
const isHeld = (run: Run) => run.spec?.status === PIPELINE_RUN_PENDING;

/** The runs of `names` the queue has started (hold cleared), in the given order. */
async function startedOf(tool: string, names: readonly string[]): Promise<string[]> {
  const runs = await Promise.all(names.map((n) => get(tool, n)));
  return runs.filter((r) => !isHeld(r)).map((r) => r.metadata.name);
}

/**
 * Waits until the queue has told the held runs of `names` (in line order) their place, the
 * next few exactly, past the in-line text the hold gave them: the pass that decided is over.
 */
async function untilPlaced(tool: string, names: readonly string[], want: Record<string, string> = {}): Promise<void> {
  await eventually(async () => {
    let held = 0;
    for (const name of names) {
      const run = await get(tool, name);
      if (!isHeld(run)) continue;
      const mark = run.metadata.annotations?.[ANNOTATION_QUEUE] ?? '';
      expect(`${name}: ${mark}`).toMatch(new RegExp(`^${name}: waiting: `));
      if (held++ < PLACES_TOLD) expect(`${name}: ${mark}`).not.toBe(`${name}: ${QUEUE_IN_LINE}`);
      if (want[name]) expect(`${name}: ${mark}`).toBe(`${name}: ${want[name]}`);
    }
  }, { timeoutMs: 30_000, intervalMs: 250 });
}

/** As admin, what Tekton would write when a run ends. */
async function finish(tool: string, name: string): Promise<void> {
  const now = new Date().toISOString();
  await admin.request('PATCH', `${objectPath(PIPELINE_RUNS, name, buildNs(tool))}/status`, {
    contentType: 'application/merge-patch+json',
    body: { status: { completionTime: now, conditions: [{ type: 'Succeeded', status: 'True', reason: 'Succeeded', lastTransitionTime: now }] } },
  });
}

const startedTotal = async (op: RunningOperator) => metricValue(await op.metrics.registry.metrics(), 'build_namespace_operator_builds_started_total');

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  await installAdminPipeline(admin, ADMIN_NS);
  for (const t of [toolA, toolB, toolC]) {
    await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: `tool-${t}`, labels: { name: `tool-${t}`, tenancy: 'tool', suite } } } });
    tools.set(t, clientFor(configFor({ user: t, groups: ['toolforge'] })));
  }
  await applyPolicy(suite, { toolSelector: { matchLabels: { suite } }, resourceQuota: { hard: { pods: '20' } }, replicate, builds: { maxRunning: 2, keepSuccessful: 100 } });
  // Tool C: room in its quota for two builds (1 CPU, 500m per build pod), whatever its cap.
  await applyPolicy(`${suite}-c`, {
    priority: 5, toolSelector: { matchLabels: { suite } }, tools: [toolC], builds: { maxRunning: 5 },
    resourceQuota: { hard: { 'requests.cpu': '1' } },
    limitRange: { limits: [{ type: 'Container', default: { cpu: '500m' }, defaultRequest: { cpu: '500m' } }] },
  });
  running = await startOperator({ maxRunningBuilds: CLUSTER_CAP, buildQueueDebounceMs: 50 });
  await eventually(async () => {
    for (const t of [toolA, toolB, toolC]) {
      const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, buildNs(t)));
      expect(ns.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
    }
  }, { timeoutMs: 30_000 });
  // The API server loads the hold and the fence a moment after the operator applies them: a
  // run created before then would start at once. Ask with dry runs until both are in force.
  for (const t of [toolA, toolB, toolC]) {
    await eventually(async () => {
      const probe = await asTool(t).request<Run>('POST', collectionPath(PIPELINE_RUNS, buildNs(t)), {
        query: { dryRun: 'All' }, body: buildsApiRun(t, 'probe'),
      });
      expect(probe.spec?.status).toBe(PIPELINE_RUN_PENDING);
      const unfenced = await asTool(t).request('POST', collectionPath(PIPELINE_RUNS, buildNs(t)), {
        query: { dryRun: 'All' }, body: { ...buildsApiRun(t, 'probe'), spec: { pipelineSpec: { tasks: [] } } },
      }).then(() => true, () => false);
      expect(unfenced).toBe(false);
    }, { timeoutMs: 60_000, intervalMs: 500 });
  }
}, 180_000);

afterAll(async () => {
  await running?.stop();
  // The test files share one cluster: the hold must not outlive the queue that starts the runs.
  for (const obj of renderHoldPolicy().reverse()) {
    const type = obj.kind === 'MutatingAdmissionPolicy' ? MUTATING_ADMISSION_POLICIES : MUTATING_ADMISSION_POLICY_BINDINGS;
    await admin.request('DELETE', objectPath(type, obj.metadata.name)).catch(() => undefined);
  }
  for (const client of tools.values()) client.close();
  await removeAndWait(admin, [
    ...[toolA, toolB, toolC].flatMap((t) => [objectPath(NAMESPACES, `tool-${t}`), objectPath(NAMESPACES, buildNs(t))]),
    objectPath(NAMESPACES, ADMIN_NS), objectPath(BUILD_QUOTA_POLICIES, suite), objectPath(BUILD_QUOTA_POLICIES, `${suite}-c`),
    objectPath(BUILD_QUOTA_POLICIES, `${suite}-a-more`),
  ]);
  admin.close();
}, 90_000);

describe('the build queue', () => {
  it('starts a tool\'s runs first come, first served, at most maxRunning at once; finishing one starts the next', async () => {
    const runs = await submit(toolA, 'fifo', 4);
    await untilPlaced(toolA, runs, {
      'fifo-3': 'waiting: 0 ahead of it for this tool; the tool runs 2 of 2',
      'fifo-4': 'waiting: 1 ahead of it for this tool; the tool runs 2 of 2',
    });
    expect(await startedOf(toolA, runs)).toEqual(['fifo-1', 'fifo-2']);
    expect((await get(toolA, 'fifo-1')).metadata.annotations?.[ANNOTATION_QUEUE]).toMatch(/^started \d{4}-/);

    await finish(toolA, 'fifo-1');
    await eventually(async () => expect(await startedOf(toolA, runs)).toEqual(['fifo-1', 'fifo-2', 'fifo-3']), { timeoutMs: 30_000 });
    await untilPlaced(toolA, runs, { 'fifo-4': 'waiting: 0 ahead of it for this tool; the tool runs 2 of 2' });
    for (const name of ['fifo-2', 'fifo-3']) await finish(toolA, name);
    await eventually(async () => expect(await startedOf(toolA, runs)).toEqual(runs), { timeoutMs: 30_000 });
    await finish(toolA, 'fifo-4');
  }, 120_000);

  it('under the cluster cap, a freed slot goes to the tool with fewer running, not to the flood', async () => {
    await applyPolicy(`${suite}-a-more`, { priority: 5, toolSelector: { matchLabels: { suite } }, tools: [toolA], builds: { maxRunning: 10 } });
    const flood = await submit(toolA, 'flood', 6);
    await eventually(async () => expect(await startedOf(toolA, flood)).toHaveLength(CLUSTER_CAP), { timeoutMs: 30_000 });
    const others = await submit(toolB, 'late', 2);
    await untilPlaced(toolB, others, {
      'late-1': `waiting: 0 ahead of it for this tool; cluster at ${CLUSTER_CAP} of ${CLUSTER_CAP}`,
      'late-2': `waiting: 1 ahead of it for this tool; cluster at ${CLUSTER_CAP} of ${CLUSTER_CAP}`,
    });
    expect(await startedOf(toolA, flood)).toEqual(flood.slice(0, CLUSTER_CAP));

    // A runs 3, B none: B's first. Then A 2, B 1... B's second before A's fifth.
    await finish(toolA, 'flood-1');
    await eventually(async () => expect(await startedOf(toolB, others)).toEqual(['late-1']), { timeoutMs: 30_000 });
    await finish(toolA, 'flood-2');
    await eventually(async () => expect(await startedOf(toolB, others)).toEqual(others), { timeoutMs: 30_000 });
    await untilPlaced(toolA, flood);
    expect(await startedOf(toolA, flood)).toEqual(flood.slice(0, CLUSTER_CAP));
    await finish(toolA, 'flood-3');
    await eventually(async () => expect(await startedOf(toolA, flood)).toEqual(flood.slice(0, 5)), { timeoutMs: 30_000 });
    for (const name of ['flood-4', 'flood-5']) await finish(toolA, name);
    for (const name of others) await finish(toolB, name);
    await eventually(async () => expect(await startedOf(toolA, flood)).toEqual(flood), { timeoutMs: 30_000 });
    await finish(toolA, 'flood-6');
    await admin.request('DELETE', objectPath(BUILD_QUOTA_POLICIES, `${suite}-a-more`));
  }, 120_000);

  it('starts no more than the tool\'s quota has room for', async () => {
    const runs = await submit(toolC, 'quota', 4);
    await untilPlaced(toolC, runs, {
      'quota-3': 'waiting: 0 ahead of it for this tool; the tool\'s build-quota has no room',
      'quota-4': 'waiting: 1 ahead of it for this tool; the tool\'s build-quota has no room',
    });
    expect(await startedOf(toolC, runs)).toEqual(['quota-1', 'quota-2']);
    for (const name of runs.slice(0, 2)) await finish(toolC, name);
    await eventually(async () => expect(await startedOf(toolC, runs)).toEqual(runs), { timeoutMs: 30_000 });
    for (const name of runs.slice(2)) await finish(toolC, name);
  }, 120_000);

  it('never starts a held run the tool cancelled, and the tool cannot clear its own hold', async () => {
    const runs = await submit(toolB, 'cancel', 3);
    await untilPlaced(toolB, runs);
    expect(await startedOf(toolB, runs)).toEqual(['cancel-1', 'cancel-2']);

    const path = objectPath(PIPELINE_RUNS, 'cancel-3', buildNs(toolB));
    const refused = await asTool(toolB).request('PATCH', path, {
      contentType: 'application/merge-patch+json', body: { spec: { status: null } },
    }).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).message).toMatch(/PipelineRunPending/);
    expect(isHeld(await get(toolB, 'cancel-3'))).toBe(true);

    await asTool(toolB).request('PATCH', path, { contentType: 'application/merge-patch+json', body: { spec: { status: 'Cancelled' } } });
    for (const name of runs.slice(0, 2)) await finish(toolB, name);
    // The slots are free: a run submitted after the cancelled one starts, and the cancelled one stays as it was.
    const [next] = await submit(toolB, 'after-cancel', 1);
    await eventually(async () => expect(await startedOf(toolB, [next!])).toEqual([next]), { timeoutMs: 30_000 });
    expect((await get(toolB, 'cancel-3')).spec?.status).toBe('Cancelled');
    await finish(toolB, next!);
  }, 120_000);

  it('after a restart mid-line, starts nothing twice and keeps the order', async () => {
    const runs = await submit(toolA, 'restart', 4);
    await untilPlaced(toolA, runs);
    expect(await startedOf(toolA, runs)).toEqual(['restart-1', 'restart-2']);
    const marks = async () => Promise.all(runs.map(async (n) => (await get(toolA, n)).metadata.annotations?.[ANNOTATION_QUEUE]));
    const before = await marks();

    await running.stop();
    await finish(toolA, 'restart-1');
    running = await startOperator({ maxRunningBuilds: CLUSTER_CAP, buildQueueDebounceMs: 50 }, { keepGuardState: true });
    await eventually(async () => expect(await startedOf(toolA, runs)).toEqual(['restart-1', 'restart-2', 'restart-3']), { timeoutMs: 45_000 });
    await untilPlaced(toolA, runs, { 'restart-4': 'waiting: 0 ahead of it for this tool; the tool runs 2 of 2' });
    expect(await startedTotal(running)).toBe(1);
    const after = await marks();
    // The runs the first operator started keep the start it recorded: not started again.
    expect(after.slice(0, 2)).toEqual(before.slice(0, 2));
    for (const name of runs.slice(1, 3)) await finish(toolA, name);
    await eventually(async () => expect(await startedOf(toolA, runs)).toEqual(runs), { timeoutMs: 30_000 });
    await finish(toolA, 'restart-4');
  }, 150_000);

  it('tells a flood its place at a cost per run that does not grow with the flood', async () => {
    // Worst case for the rewrites: one start at a time, each moving every run behind it up a place.
    const flood = await submit(toolB, 'cost', 30);
    const patchesOf = (names: readonly string[]) => running.writes.filter((w) =>
      w.startsWith('PATCH ') && names.some((n) => w.endsWith(`/namespaces/${buildNs(toolB)}/pipelineruns/${n}`))).length;
    await untilPlaced(toolB, flood, {
      'cost-03': 'waiting: 0 ahead of it for this tool; the tool runs 2 of 2',
      'cost-06': 'waiting: 3 ahead of it for this tool; the tool runs 2 of 2',
      'cost-07': QUEUE_IN_LINE,
      'cost-30': QUEUE_IN_LINE,
    });
    for (let i = 0; i < flood.length - 2; i++) {
      await finish(toolB, flood[i]!);
      await eventually(async () => expect(await startedOf(toolB, [flood[i + 2]!])).toEqual([flood[i + 2]]), { timeoutMs: 30_000 });
    }
    await untilPlaced(toolB, flood);
    // Per run: its start, then at most one per exact place told; the hold told it it was in
    // line when it was created (telling every held run its exact place at every start cost
    // 436 patches here, and telling each one as it joined cost one more per run).
    const held = flood.length - 2;
    expect(patchesOf(flood)).toBeLessThanOrEqual(flood.length + held * PLACES_TOLD);
    process.stderr.write(`build queue: ${patchesOf(flood)} patches for a flood of ${flood.length} runs, one start at a time\n`);
    for (const name of flood.slice(-2)) await finish(toolB, name);
  }, 180_000);

  it('writes nothing at rest: a pass over a line with nothing to change patches no run', async () => {
    const runs = await submit(toolB, 'rest', 3);
    await untilPlaced(toolB, runs);
    const passes = async () => metricValue(await running.metrics.registry.metrics(), 'controller_runtime_reconcile_total', { controller: 'build-queue' });
    const runWrites = () => running.writes.filter((w) => w.includes('/pipelineruns/')).length;
    await eventually(async () => {
      const before = { passes: await passes(), writes: runWrites() };
      // An event that changes nothing the queue decides: a label on a held run.
      await admin.request('PATCH', objectPath(PIPELINE_RUNS, 'rest-3', buildNs(toolB)), {
        contentType: 'application/merge-patch+json', body: { metadata: { labels: { touched: String(before.passes) } } },
      });
      await eventually(async () => expect(await passes()).toBeGreaterThan(before.passes), { timeoutMs: 15_000 });
      expect(runWrites()).toBe(before.writes);
    }, { timeoutMs: 30_000 });
    for (const name of runs) await finish(toolB, name);
  }, 120_000);
});
