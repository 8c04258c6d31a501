// The build queue across a crash and a change of leader in the middle of a flood: three
// operator processes (`run --leader-elect` with the queue on), as the Deployment runs its
// replicas. The leader is SIGKILLed while runs are held and running, its standby takes over;
// then that leader is SIGTERMed and a third takes over. No Tekton controller runs here: the
// test finishes each started run shortly after it starts, as Tekton would write it. A watch of
// its own sees every change in the API server's order, so the counts it keeps are the
// cluster's at each step: no run is started twice, none is lost, each tool's runs start in the
// order they were submitted, and neither maxRunning nor the cluster-wide cap is ever exceeded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/meta.js';
import type { KubeClient } from '../../src/kube/client.js';
import {
  BUILD_QUOTA_POLICIES, collectionPath, LEASES, MUTATING_ADMISSION_POLICIES, MUTATING_ADMISSION_POLICY_BINDINGS, NAMESPACES, objectPath, PIPELINE_RUNS,
} from '../../src/kube/resources.js';
import { PIPELINE_RUN_PENDING, renderHoldPolicy } from '../../src/render/build-queue-admission.js';
import { ANNOTATION_QUEUE } from '../../src/api/types.js';
import { Informer } from '../../src/runtime/informer.js';
import { configFor, controlPlaneInfo, eventually, uniqueName } from '../../envtest/cluster.js';
import { adminClient, buildsApiRun, clientFor, installAdminPipeline, installOperatorPrerequisites, OPERATOR_NAMESPACE } from '../../envtest/install.js';
import { leaderOf, leaseHolder, metricValue, removeAndWait, startOperatorProcess, writeOperatorKubeconfig, type OperatorProcess } from '../../envtest/operator-process.js';

const admin = adminClient();
const suite = uniqueName('qfail');
const lease = uniqueName('bno-queue-failover');
const [toolA, toolB, toolC] = ['a', 'b', 'c'].map((t) => `${suite}-${t}`) as [string, string, string];
const TOOLS = [toolA, toolB, toolC];
const ADMIN_NS = `${suite}-admin`;
const MAX_RUNNING = 2;
const CLUSTER_CAP = 3;
// Three tools' maxRunning add up to twice the cap: the cap binds all through the flood.
const FLOOD = { [toolA]: 12, [toolB]: 10, [toolC]: 8 };
const LEASE_SECONDS = 6;
const ELECTION = [
  '--leader-elect', `--leader-election-namespace=${OPERATOR_NAMESPACE}`, `--leader-election-id=${lease}`,
  `--leader-election-lease-duration=${LEASE_SECONDS}s`, '--leader-election-renew-deadline=4s', '--leader-election-retry-period=1s',
  '--shutdown-timeout=5s', `--max-running-builds=${CLUSTER_CAP}`,
];
/** How long a started run "builds" before the test finishes it. */
const BUILD_MS = 400;
const dir = mkdtempSync(join(tmpdir(), 'bno-queue-failover-'));
const processes: OperatorProcess[] = [];
const tools = new Map<string, KubeClient>();
let kubeconfig = '';

type Run = KubeObject & { spec?: { status?: string }; status?: { conditions?: { type: string; status: string }[] } };
const buildNs = (tool: string) => `image-build-${tool}`;
const isHeld = (run: Run) => run.spec?.status === PIPELINE_RUN_PENDING;
const isFinished = (run: Run) => run.status?.conditions?.some((c) => c.type === 'Succeeded' && c.status !== 'Unknown') ?? false;

/** Zero-padded so that names sort in submission order: the line orders runs of one second by name. */
const runNames = (tool: string) => Array.from({ length: FLOOD[tool]! }, (_, i) => `flood-${String(i + 1).padStart(2, '0')}`);

async function finish(namespace: string, name: string): Promise<void> {
  const now = new Date().toISOString();
  await admin.request('PATCH', `${objectPath(PIPELINE_RUNS, name, namespace)}/status`, {
    contentType: 'application/merge-patch+json',
    body: { status: { completionTime: now, conditions: [{ type: 'Succeeded', status: 'True', reason: 'Succeeded', lastTransitionTime: now }] } },
  });
}

/**
 * What the cluster did with the flood's runs, from one watch: the API server sends a watch's
 * events in the order it wrote them, so the counts kept here are the cluster's after every write.
 */
class FloodRecord {
  readonly startOrder = new Map<string, string[]>(TOOLS.map((t) => [t, []]));
  /** The `started` mark each run was first seen with; a second start would write another. */
  readonly startMarks = new Map<string, string>();
  readonly violations: string[] = [];
  maxRunning = new Map<string, number>(TOOLS.map((t) => [t, 0]));
  maxClusterRunning = 0;
  readonly finished = new Set<string>();
  private readonly state = new Map<string, { started: boolean; finished: boolean }>();
  private readonly startedAtMs = new Map<string, number>();

  observe(run: Run): void {
    const ns = run.metadata.namespace ?? '';
    const tool = TOOLS.find((t) => buildNs(t) === ns);
    if (!tool) return;
    const key = `${ns}/${run.metadata.name}`;
    const before = this.state.get(key) ?? { started: false, finished: false };
    const now = { started: !isHeld(run), finished: isFinished(run) };
    if (before.started && !now.started) this.violations.push(`${key} was held again after it started`);
    if (!before.started && now.started) {
      this.startOrder.get(tool)!.push(run.metadata.name);
      this.startedAtMs.set(key, performance.now());
    }
    const mark = run.metadata.annotations?.[ANNOTATION_QUEUE] ?? '';
    if (now.started && mark.startsWith('started ')) {
      const first = this.startMarks.get(key);
      if (first === undefined) this.startMarks.set(key, mark);
      else if (first !== mark) this.violations.push(`${key} was started twice: "${first}", then "${mark}"`);
    }
    if (now.finished) this.finished.add(key);
    this.state.set(key, now);

    let cluster = 0;
    for (const t of TOOLS) {
      const running = [...this.state].filter(([k, s]) => k.startsWith(`${buildNs(t)}/`) && s.started && !s.finished).length;
      this.maxRunning.set(t, Math.max(this.maxRunning.get(t)!, running));
      cluster += running;
    }
    this.maxClusterRunning = Math.max(this.maxClusterRunning, cluster);
  }

  /** Started, unfinished runs that have built for BUILD_MS: Tekton's part, played by the test. */
  dueToFinish(): string[] {
    const due: string[] = [];
    for (const [key, s] of this.state) {
      if (s.started && !s.finished && performance.now() - (this.startedAtMs.get(key) ?? Infinity) >= BUILD_MS) due.push(key);
    }
    return due;
  }

  get started(): number {
    return [...this.startOrder.values()].reduce((n, names) => n + names.length, 0);
  }
}

async function startReplica(): Promise<OperatorProcess> {
  const p = await startOperatorProcess({ kubeconfig, args: ELECTION, buildQueue: true });
  processes.push(p);
  return p;
}

const holder = () => leaseHolder(admin, lease);
const startedBy = async (p: OperatorProcess) => metricValue(await p.metrics(), 'build_namespace_operator_builds_started_total');

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  await installAdminPipeline(admin, ADMIN_NS);
  for (const t of TOOLS) {
    await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: `tool-${t}`, labels: { name: `tool-${t}`, tenancy: 'tool', suite } } } });
    tools.set(t, clientFor(configFor({ user: t, groups: ['toolforge'] })));
  }
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, suite), {
    query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
    body: {
      apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: suite },
      spec: {
        toolSelector: { matchLabels: { suite } }, resourceQuota: { hard: { pods: '20' } },
        replicate: [{ apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: ADMIN_NS, name: 'buildpacks' }],
        builds: { maxRunning: MAX_RUNNING, keepSuccessful: 100 },
      },
    },
  });
  kubeconfig = (await writeOperatorKubeconfig(dir, controlPlaneInfo())).path;
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  // The test files share one cluster: the hold must not outlive the queue that starts the runs.
  for (const obj of renderHoldPolicy().reverse()) {
    const type = obj.kind === 'MutatingAdmissionPolicy' ? MUTATING_ADMISSION_POLICIES : MUTATING_ADMISSION_POLICY_BINDINGS;
    await admin.request('DELETE', objectPath(type, obj.metadata.name)).catch(() => undefined);
  }
  for (const client of tools.values()) client.close();
  await removeAndWait(admin, [
    ...TOOLS.flatMap((t) => [objectPath(NAMESPACES, `tool-${t}`), objectPath(NAMESPACES, buildNs(t))]),
    objectPath(NAMESPACES, ADMIN_NS), objectPath(BUILD_QUOTA_POLICIES, suite), objectPath(LEASES, lease, OPERATOR_NAMESPACE),
  ]);
  admin.close();
  rmSync(dir, { recursive: true, force: true });
}, 90_000);

describe('the build queue across a crash and a change of leader', () => {
  it('starts every run of a flood once, in order, within the caps, though its leader is killed and then replaced mid-flood', async () => {
    const { leader, standby } = await leaderOf(admin, lease, [await startReplica(), await startReplica()]);
    for (const t of TOOLS) {
      await eventually(async () => {
        const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, buildNs(t)));
        expect(ns.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
      }, { timeoutMs: 60_000 });
      // The API server loads the hold a moment after the operator applies it.
      await eventually(async () => {
        const probe = await tools.get(t)!.request<Run>('POST', collectionPath(PIPELINE_RUNS, buildNs(t)), { query: { dryRun: 'All' }, body: buildsApiRun(t, 'probe') });
        expect(probe.spec?.status).toBe(PIPELINE_RUN_PENDING);
      }, { timeoutMs: 60_000, intervalMs: 500 });
    }

    const record = new FloodRecord();
    const watch = new Informer<Run>(admin, PIPELINE_RUNS, { relistIntervalMs: 0 });
    watch.onChange((type, run) => { if (type !== 'delete') record.observe(run); });
    const watching = watch.run();
    await watch.synced;
    let finishing = true;
    const finisher = (async () => {
      while (finishing) {
        for (const key of record.dueToFinish()) {
          const [ns, name] = key.split('/') as [string, string];
          await finish(ns, name);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    try {
      // As builds-api does: one tool floods, others submit behind it.
      for (const t of TOOLS) {
        for (const name of runNames(t)) {
          await tools.get(t)!.request('POST', collectionPath(PIPELINE_RUNS, buildNs(t)), { body: buildsApiRun(t, name) });
        }
      }
      const total = Object.values(FLOOD).reduce((a, b) => a + b, 0);

      // A crash mid-flood: runs are running and most are still held.
      await eventually(() => expect(record.started).toBeGreaterThanOrEqual(5), { timeoutMs: 60_000, intervalMs: 50 });
      const startedByFirstLeader = await startedBy(leader);
      expect((await leader.stop('SIGKILL')).signal).toBe('SIGKILL');
      const atCrash = record.started;
      expect(atCrash).toBeLessThan(total);

      // The standby takes the Lease and carries the line on; a third replica stands by.
      await eventually(async () => expect(await holder()).toBe(await standby.identity), { timeoutMs: 6 * LEASE_SECONDS * 1000, intervalMs: 200 });
      const third = await startReplica();
      await eventually(() => expect(record.started).toBeGreaterThanOrEqual(atCrash + 4), { timeoutMs: 60_000, intervalMs: 50 });
      const startedBySecondLeader = await startedBy(standby);

      // A change of leader mid-flood: the leader is stopped as a rollout stops it.
      expect((await standby.stop('SIGTERM')).code).toBe(0);
      const atHandover = record.started;
      expect(atHandover).toBeLessThan(total);
      await eventually(async () => expect(await holder()).toBe(await third.identity), { timeoutMs: 6 * LEASE_SECONDS * 1000, intervalMs: 200 });

      await eventually(() => expect(record.finished.size).toBe(total), { timeoutMs: 120_000, intervalMs: 200 });
      const startedByThirdLeader = await startedBy(third);
      process.stdout.write(`build queue failover: starts by leader 1/2/3: ${startedByFirstLeader}+/${startedBySecondLeader}/${startedByThirdLeader}; ` +
        `${atCrash} started at the crash, ${atHandover} at the handover; most running: ${record.maxClusterRunning} of ${CLUSTER_CAP}\n`);

      expect(record.violations).toEqual([]);
      // None lost, none started twice, each tool's in the order submitted.
      for (const t of TOOLS) expect(record.startOrder.get(t)).toEqual(runNames(t));
      expect(record.startMarks.size).toBe(total);
      // Every leader did its share: the line went on after each change.
      expect(startedBySecondLeader).toBeGreaterThan(0);
      expect(startedByThirdLeader).toBeGreaterThan(0);
      // Never more running than the caps, at any point the API server passed through.
      for (const t of TOOLS) expect(record.maxRunning.get(t)).toBeLessThanOrEqual(MAX_RUNNING);
      expect(record.maxClusterRunning).toBeLessThanOrEqual(CLUSTER_CAP);
      // The flood filled the cluster's room: the caps were reached, not merely respected.
      expect(record.maxClusterRunning).toBe(CLUSTER_CAP);
    } finally {
      finishing = false;
      await finisher;
      watch.stop();
      await watching.catch(() => undefined);
    }
  }, 300_000);
});
