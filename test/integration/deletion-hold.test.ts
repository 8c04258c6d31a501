// A mass-deletion hold outlives the process that started it: a selector typo over 20 tools
// is held after the guard's count, then the leader is SIGKILLed and a new one takes over,
// then that one hands over on SIGTERM; across all three leaders no more build namespaces go
// than the guard lets go once. `plan` meanwhile lists every pending deletion, marked held.
// With the guard's window in process memory only, each new leader let another 5 go.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/meta.js';
import { BUILD_QUOTA_POLICIES, collectionPath, LEASES, NAMESPACES, objectPath } from '../../src/kube/resources.js';
import { controlPlaneInfo, eventually, uniqueName } from '../../envtest/cluster.js';
import { adminClient, installOperatorPrerequisites, OPERATOR_NAMESPACE } from '../../envtest/install.js';
import {
  metricValue, removeAndWait, runCli, startOperatorProcess, writeOperatorKubeconfig, type OperatorProcess,
} from '../../envtest/operator-process.js';
import { resetDeletionGuard } from './in-process-operator.js';

const admin = adminClient();
const suite = uniqueName('hold');
const lease = uniqueName('bno-hold-test');
const COUNT = 5;
const tools = Array.from({ length: 20 }, (_, i) => `${suite}-t${i}`);
const ARGS = [
  '--leader-elect', `--leader-election-namespace=${OPERATOR_NAMESPACE}`, `--leader-election-id=${lease}`,
  '--leader-election-lease-duration=6s', '--leader-election-renew-deadline=4s', '--leader-election-retry-period=1s',
  '--shutdown-timeout=5s',
  // A share of 0 leaves the count alone in charge, whatever other files left in the cluster.
  `--deletion-guard-count=${COUNT}`, '--deletion-guard-share=0',
];
const dir = mkdtempSync(join(tmpdir(), 'bno-hold-test-'));
const processes: OperatorProcess[] = [];
let kubeconfig = '';
let adminKubeconfig = '';

async function applyPolicy(selectorValue: string, annotations?: Record<string, string>): Promise<void> {
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, suite), {
    query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
    body: {
      apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: suite, annotations },
      spec: { toolSelector: { matchLabels: { suite: selectorValue } }, resourceQuota: { hard: { pods: '1' } } },
    },
  });
}

async function start(): Promise<OperatorProcess> {
  const p = await startOperatorProcess({ kubeconfig, args: ARGS });
  processes.push(p);
  return p;
}

/** Build namespaces of the suite that are gone or going. */
async function deleted(): Promise<number> {
  const list = await admin.request<{ items: KubeObject[] }>('GET', collectionPath(NAMESPACES), {
    query: { labelSelector: 'app.kubernetes.io/managed-by=build-namespace-operator' },
  });
  const alive = new Set(list.items.filter((ns) => !ns.metadata.deletionTimestamp).map((ns) => ns.metadata.name));
  return tools.filter((t) => !alive.has(`image-build-${t}`)).length;
}

/** Waits until `p` leads and has looked at the held tools (its held-deletion counter moved). */
async function holding(p: OperatorProcess): Promise<void> {
  await eventually(async () => {
    const text = await p.metrics();
    expect(metricValue(text, 'build_namespace_operator_leader')).toBe(1);
    expect(metricValue(text, 'build_namespace_operator_deletions_held_total')).toBeGreaterThanOrEqual(tools.length - COUNT);
  }, { timeoutMs: 45_000 });
}

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  await resetDeletionGuard();
  const info = controlPlaneInfo();
  kubeconfig = (await writeOperatorKubeconfig(dir, info)).path;
  adminKubeconfig = info.adminKubeconfig;
  await Promise.all(tools.map((tool) => admin.request('POST', collectionPath(NAMESPACES), {
    body: { metadata: { name: `tool-${tool}`, labels: { name: `tool-${tool}`, tenancy: 'tool', suite } } },
  })));
  await applyPolicy(suite);
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await removeAndWait(admin, [
    ...tools.flatMap((t) => [objectPath(NAMESPACES, `tool-${t}`), objectPath(NAMESPACES, `image-build-${t}`)]),
    objectPath(BUILD_QUOTA_POLICIES, suite), objectPath(LEASES, lease, OPERATOR_NAMESPACE),
  ]);
  await resetDeletionGuard();
  admin.close();
  rmSync(dir, { recursive: true, force: true });
}, 90_000);

describe('a mass-deletion hold across restarts and leader changes', () => {
  it('lets no more build namespaces go than the guard allows once', async () => {
    const first = await start();
    await eventually(async () => {
      const list = await admin.request<{ items: KubeObject[] }>('GET', collectionPath(NAMESPACES), {
        query: { labelSelector: 'builds.toolforge.org/ready=true' },
      });
      const ready = new Set(list.items.map((ns) => ns.metadata.name));
      expect(tools.filter((t) => ready.has(`image-build-${t}`))).toHaveLength(tools.length);
    }, { timeoutMs: 60_000 });

    // The typo: the selector matches none of the 20 tools any more.
    await applyPolicy('typo');
    await holding(first);
    expect(await deleted()).toBe(COUNT);

    // plan lists all 20 pending deletions: the guard's share unmarked... none, since the hold
    // is in force: every one of the 15 left is held.
    const plan = await runCli(['plan', `--kubeconfig=${adminKubeconfig}`]);
    const heldRows = plan.stdout.split('\n').filter((l) => l.includes(suite) && l.includes('delete (held)'));
    expect(heldRows).toHaveLength(tools.length - COUNT);
    expect(plan.stdout).toContain('held back by the mass-deletion guard');

    // A crash: the next leader reads the hold back before it deletes anything.
    await first.stop('SIGKILL');
    const second = await start();
    await holding(second);
    expect(await deleted()).toBe(COUNT);

    // A change of leader: the third replica stands by, the second steps down on SIGTERM.
    const third = await start();
    await second.stop('SIGTERM');
    await holding(third);
    expect(await deleted()).toBe(COUNT);

    // The admin lifts the hold; then the rest goes.
    await applyPolicy('typo', { 'builds.toolforge.org/allow-mass-deletion': 'true' });
    await eventually(async () => expect(await deleted()).toBe(tools.length), { timeoutMs: 45_000 });
  }, 240_000);
});
