// `plan` against the real control plane: on a converged cluster it prints "no changes" and
// exits 0; after a policy edit, a new tool and a removed one, it lists exactly the objects
// that `run` then writes (from the operator's own log of its writes), and exits 2; once
// `run` has converged again it is back to "no changes".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlannedChange } from '../../src/controller/plan.js';
import type { KubeObject } from '../../src/api/meta.js';
import {
  BUILD_QUOTA_POLICIES, collectionPath, MUTATING_ADMISSION_POLICIES, MUTATING_ADMISSION_POLICY_BINDINGS, NAMESPACES, objectPath, RESOURCE_QUOTAS,
} from '../../src/kube/resources.js';
import { HOLD_POLICY_NAME } from '../../src/render/build-queue-admission.js';
import { controlPlaneInfo, eventually, uniqueName } from '../../envtest/cluster.js';
import { adminClient, installOperatorPrerequisites } from '../../envtest/install.js';
import {
  removeAndWait, runCli, startOperatorProcess, waitUntilIdle, writeOperatorKubeconfig, type LogLine, type OperatorProcess,
} from '../../envtest/operator-process.js';
import { resetDeletionGuard } from './in-process-operator.js';

const admin = adminClient();
const suite = uniqueName('plan');
const [kept, raised, removed, added] = ['kept', 'raised', 'removed', 'added'].map((t) => uniqueName(t)) as [string, string, string, string];
const dir = mkdtempSync(join(tmpdir(), 'bno-plan-test-'));
const adminKubeconfig = controlPlaneInfo().adminKubeconfig;
let operatorKubeconfig = '';
const running: OperatorProcess[] = [];

async function applyPolicy(name: string, spec: Record<string, unknown>): Promise<void> {
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, name), {
    query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
    body: { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name }, spec: { toolSelector: { matchLabels: { suite } }, ...spec } },
  });
}

async function createTool(tool: string): Promise<void> {
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: `tool-${tool}`, labels: { name: `tool-${tool}`, tenancy: 'tool', suite } } } });
}

const buildNamespace = (tool: string) => admin.request<KubeObject>('GET', objectPath(NAMESPACES, `image-build-${tool}`)).catch(() => undefined);

/** Starts `run`, waits until it has done everything `until` asks and its queue is idle, and stops it. */
async function runUntilConverged(until: () => Promise<void>): Promise<LogLine[]> {
  const operator = await startOperatorProcess({ kubeconfig: operatorKubeconfig, args: ['--leader-elect=false', '--log-level=debug'] });
  running.push(operator);
  await eventually(until, { timeoutMs: 20_000, intervalMs: 100 });
  await waitUntilIdle(() => operator.metrics());
  expect(await operator.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  return operator.log;
}

/** The objects written by a run, from its log: "<apply|delete> <Kind> <namespace/>name". */
function writesOf(log: LogLine[]): string[] {
  const writes = log.filter((l) => l.message === 'applied' || l.message === 'deleted').map((l) => {
    const object = l.kind === 'Namespace' ? String(l.name) : `${String(l.namespace)}/${String(l.name)}`;
    return `${l.message === 'applied' ? 'apply' : 'delete'} ${String(l.kind)} ${object}`;
  });
  return [...new Set(writes)].sort();
}

function writesOfPlan(changes: PlannedChange[]): string[] {
  return changes.map((c) => `${c.action === 'delete' ? 'delete' : 'apply'} ${c.kind} ${c.namespace ? `${c.namespace}/` : ''}${c.name}`).sort();
}

/** As the operator under test runs: without the build queue (see startOperatorProcess). */
async function plan(...args: string[]) {
  return runCli(['plan', `--kubeconfig=${adminKubeconfig}`, '--max-running-builds=0', ...args]);
}

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  // Deletions counted by earlier files in this shared cluster must not hold back this one's.
  await resetDeletionGuard();
  operatorKubeconfig = (await writeOperatorKubeconfig(dir, controlPlaneInfo())).path;
  await applyPolicy(`${suite}-base`, { resourceQuota: { hard: { pods: '2', 'requests.cpu': '1' } } });
  for (const tool of [kept, raised, removed]) await createTool(tool);
  await runUntilConverged(async () => {
    for (const tool of [kept, raised, removed]) expect((await buildNamespace(tool))?.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL')));
  await removeAndWait(admin, [
    ...[kept, raised, removed, added].flatMap((t) => [objectPath(NAMESPACES, `tool-${t}`), objectPath(NAMESPACES, `image-build-${t}`)]),
    objectPath(BUILD_QUOTA_POLICIES, `${suite}-base`), objectPath(BUILD_QUOTA_POLICIES, `${suite}-raised`),
  ]);
  admin.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('plan', () => {
  it('prints "no changes" and exits 0 on a converged cluster', async () => {
    const result = await plan();
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 0, stdout: 'no changes\n', stderr: '' });
  });

  it('plans what run would keep with the same settings: at run\'s defaults, the build queue\'s hold, and writes nothing', async () => {
    const defaults = await runCli(['plan', `--kubeconfig=${adminKubeconfig}`, '-o', 'json']);
    expect({ code: defaults.code, stderr: defaults.stderr }).toEqual({ code: 2, stderr: '' });
    const { changes } = JSON.parse(defaults.stdout) as { changes: PlannedChange[] };
    expect(changes.map((c) => `${c.tool} ${c.kind} ${c.name} ${c.action}`)).toEqual([
      `(cluster) MutatingAdmissionPolicy ${HOLD_POLICY_NAME} create`,
      `(cluster) MutatingAdmissionPolicyBinding ${HOLD_POLICY_NAME} create`,
    ]);
    // The same settings from the environment, as the Deployment gives them to run.
    const fromEnv = await runCli(['plan', `--kubeconfig=${adminKubeconfig}`], { env: { BNO_MAX_RUNNING_BUILDS: '0' } });
    expect({ code: fromEnv.code, stdout: fromEnv.stdout }).toEqual({ code: 0, stdout: 'no changes\n' });
    for (const type of [MUTATING_ADMISSION_POLICIES, MUTATING_ADMISSION_POLICY_BINDINGS]) {
      expect(await admin.request('GET', objectPath(type, HOLD_POLICY_NAME)).then(() => 'written', () => 'not written')).toBe('not written');
    }
  });

  it('lists, after a policy edit, a new tool and a removed one, exactly the objects that run then writes', async () => {
    await applyPolicy(`${suite}-raised`, { priority: 10, tools: [raised], resourceQuota: { hard: { pods: '5' } } });
    await createTool(added);
    await admin.request('DELETE', objectPath(NAMESPACES, `tool-${removed}`));

    const json = await plan('-o', 'json');
    expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 2, stderr: '' });
    const { changes } = JSON.parse(json.stdout) as { changes: PlannedChange[] };
    const mine = (c: PlannedChange) => [kept, raised, removed, added].includes(c.tool);
    expect(changes.filter((c) => !mine(c))).toEqual([]);
    expect(changes.map((c) => `${c.tool} ${c.kind} ${c.action}`).sort()).toEqual([
      `${added} Namespace create`, `${added} ResourceQuota create`, `${added} RoleBinding create`,
      `${added} ServiceAccount create`,
      // The quota's pods key, and the namespace's record of the policies that shaped it.
      `${raised} Namespace update`, `${raised} ResourceQuota update`,
      `${removed} Namespace delete`,
    ].sort());
    const quota = changes.find((c) => c.tool === raised && c.kind === 'ResourceQuota')!;
    expect(quota.diffs).toEqual([{ path: 'spec.hard[pods]', want: '5', got: '2' }]);

    const table = await plan('--diff');
    expect(table.code).toBe(2);
    const rows = table.stdout.split('\n');
    expect(rows[0]).toMatch(/^TOOL\s+KIND\s+NAMESPACE\/NAME\s+ACTION$/);
    expect(rows).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^${raised}\\s+ResourceQuota\\s+image-build-${raised}/build-quota\\s+update$`)),
      expect.stringMatching(new RegExp(`^${removed}\\s+Namespace\\s+image-build-${removed}\\s+delete$`)),
      expect.stringMatching(new RegExp(`^${added}\\s+RoleBinding\\s+image-build-${added}/tool-builds\\s+create$`)),
      `ResourceQuota image-build-${raised}/build-quota (tool ${raised}):`,
      expect.stringMatching(/^ {2}spec\.hard\[pods\]\s+"5"\s+"2"$/),
    ]));
    expect(table.stdout).toContain('7 change(s) for 3 tool(s): 4 to create, 2 to update, 1 to delete');

    const log = await runUntilConverged(async () => {
      expect((await buildNamespace(added))?.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
      const quota = await admin.request<{ spec: { hard: Record<string, string> } }>('GET', objectPath(RESOURCE_QUOTAS, 'build-quota', `image-build-${raised}`));
      expect(quota.spec.hard.pods).toBe('5');
      const gone = await buildNamespace(removed);
      expect(gone === undefined || gone.metadata.deletionTimestamp !== undefined).toBe(true);
    });
    expect(writesOf(log)).toEqual(writesOfPlan(changes));
  });

  it('is back to "no changes", exit 0, once run has converged', async () => {
    const result = await plan('--diff');
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 0, stdout: 'no changes\n', stderr: '' });
  });
});
