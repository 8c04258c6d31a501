// The mass-deletion guard says a hold once, not once per tool: 200 tools under 3 policies,
// then a selector typo in every policy unmatches all of them. The guard lets its count go
// and holds the rest; the operator records one DeletionsHeld Event per policy, and at most
// a handful of Events of any kind after the typo, where per-tool, per-pass Events would
// have been hundreds. A control plane of its own: 200 build namespaces would slow the
// shared one for every other test file.
import type { KubeObject } from '../../src/api/meta.js';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/credentials.js';
import { BUILD_QUOTA_POLICIES, collectionPath, EVENTS, NAMESPACES, objectPath } from '../../src/kube/resources.js';
import { eventually } from '../../envtest/cluster.js';
import { installOperatorPrerequisites } from '../../envtest/install.js';
import { startSupervisedControlPlane, type SupervisedControlPlane } from '../../envtest/spawn.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const TOOLS = 200;
const COUNT = 5;
const POLICIES = ['alpha', 'beta', 'gamma'];
const tools = Array.from({ length: TOOLS }, (_, i) => `t${String(i).padStart(3, '0')}`);
let plane: SupervisedControlPlane;
let admin: KubeClient;
let running: RunningOperator | undefined;

interface Event { reason: string; type: string; regarding: { kind: string; name: string }; reportingController?: string }

/** Every policy selects the tools by the label value given: the right one, or a typo. */
async function applyPolicies(selectorValue: string): Promise<void> {
  for (const [i, name] of POLICIES.entries()) {
    await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, name), {
      query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
      body: {
        apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name },
        spec: { priority: i, toolSelector: { matchLabels: { fleet: selectorValue } }, resourceQuota: { hard: { pods: String(i + 1) } } },
      },
    });
  }
}

/** The operator's Events in the whole cluster. */
async function operatorEvents(): Promise<Event[]> {
  const list = await admin.request<{ items: Event[] }>('GET', collectionPath(EVENTS));
  return list.items.filter((e) => e.reportingController === 'build-namespace-operator');
}

beforeAll(async () => {
  plane = await startSupervisedControlPlane();
  admin = new KubeClient(loadKubeConfig(plane.info.adminKubeconfig));
  await installOperatorPrerequisites(admin);
  for (let i = 0; i < tools.length; i += 20) {
    await Promise.all(tools.slice(i, i + 20).map((tool) => admin.request('POST', collectionPath(NAMESPACES), {
      body: { metadata: { name: `tool-${tool}`, labels: { name: `tool-${tool}`, tenancy: 'tool', fleet: 'builds' } } },
    })));
  }
  await applyPolicies('builds');
  running = await startOperator({ deletionGuard: { maxShare: 0, maxCount: COUNT, windowMs: 60_000 } }, { plane: plane.info });
  await eventually(async () => {
    const list = await admin.request<{ items: KubeObject[] }>('GET', collectionPath(NAMESPACES), { query: { labelSelector: 'builds.toolforge.org/ready=true' } });
    expect(list.items).toHaveLength(TOOLS);
  }, { timeoutMs: 240_000, intervalMs: 1_000 });
  await running.settled();
}, 300_000);

afterAll(async () => {
  await running?.stop();
  admin?.close();
  await plane?.stop();
}, 60_000);

describe('a held mass deletion of 200 tools under 3 policies', () => {
  it('deletes what the guard allows, holds the rest, and says so in a handful of Events', async () => {
    const before = new Set((await operatorEvents()).map((e) => JSON.stringify(e)));
    await applyPolicies('buidls');
    await eventually(() => expect(running!.controllers.guard.heldTools.length).toBe(TOOLS - COUNT), { timeoutMs: 60_000, intervalMs: 250 });
    await running!.settled();
    // A second pass over every tool, as a relist would make: it must say nothing new.
    for (const tool of tools) await running!.controllers.buildNamespaces.reconcileOne(tool);
    await running!.settled();

    const list = await admin.request<{ items: KubeObject[] }>('GET', collectionPath(NAMESPACES), { query: { labelSelector: 'app.kubernetes.io/managed-by=build-namespace-operator' } });
    expect(list.items.filter((ns) => ns.metadata.deletionTimestamp)).toHaveLength(COUNT);
    const after = (await operatorEvents()).filter((e) => !before.has(JSON.stringify(e)));
    const held = after.filter((e) => e.reason === 'DeletionsHeld');
    expect(held.map((e) => `${e.regarding.kind}/${e.regarding.name}`).sort()).toEqual(POLICIES.map((p) => `BuildQuotaPolicy/${p}`));
    process.stderr.write(`hold-events: ${after.length} Events after the typo (${after.map((e) => e.reason).join(', ')})\n`);
    expect(after.length).toBeLessThanOrEqual(POLICIES.length + 3);
  }, 180_000);
});
