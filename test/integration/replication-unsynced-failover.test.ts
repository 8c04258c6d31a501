// A standby that wins the Lease while a replication source cannot sync: two operator
// processes (`run --leader-elect`) under the shipped ClusterRole, one policy replicating a kind
// outside it. The leader is SIGKILLed; the standby takes over and does its whole job at once:
// it reconciles the tools that came during the handover, the good policy's and the bad one's
// (everything but the source it cannot list), reports the source in the policy status and a
// metric, and says it is ready. Before the fix, a new leader waited for every informer to
// sync, so it never started its workers while its probes said all was well.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/meta.js';
import { BUILD_QUOTA_POLICIES, collectionPath, LEASES, NAMESPACES, objectPath, SECRETS } from '../../src/kube/resources.js';
import { controlPlaneInfo, eventually, uniqueName } from '../../envtest/cluster.js';
import { adminClient, applyPolicy, installOperatorPrerequisites, OPERATOR_NAMESPACE, policyCondition } from '../../envtest/install.js';
import {
  leaderOf, leaseHolder, metricValue, removeAndWait, startOperatorProcess, writeOperatorKubeconfig, type OperatorProcess,
} from '../../envtest/operator-process.js';

const admin = adminClient();
const suite = uniqueName('unsyncfo');
const lease = uniqueName('bno-unsync-failover');
const adminNs = `${suite}-admin`;
const group = `${suite}.test.example`;
const WIDGETS = { apiVersion: `${group}/v1`, kind: 'Widget', plural: 'widgets', namespaced: true };
const CRDS = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false };
const badPolicy = `${suite}-bad`;
const goodPolicy = `${suite}-good`;
const UNSYNCED = 'build_namespace_operator_replication_sources_unsynced';
const LEASE_SECONDS = 6;
const ELECTION = [
  '--leader-elect', `--leader-election-namespace=${OPERATOR_NAMESPACE}`, `--leader-election-id=${lease}`,
  `--leader-election-lease-duration=${LEASE_SECONDS}s`, '--leader-election-renew-deadline=4s', '--leader-election-retry-period=1s',
  '--shutdown-timeout=5s',
];
const dir = mkdtempSync(join(tmpdir(), 'bno-unsync-failover-'));
const processes: OperatorProcess[] = [];
const tools: string[] = [];
let kubeconfig = '';

const buildNs = (tool: string) => `image-build-${tool}`;
const exists = (path: string) => admin.request('GET', path).then(() => true, () => false);
const holder = () => leaseHolder(admin, lease);

async function createTool(tool: string, flavour: 'good' | 'bad'): Promise<void> {
  tools.push(tool);
  await admin.request('POST', collectionPath(NAMESPACES), {
    body: { metadata: { name: `tool-${tool}`, labels: { name: `tool-${tool}`, tenancy: 'tool', suite, flavour } } },
  });
}

/** Reconciled as far as the cluster lets it be: marked ready and given the Secret it replicates. */
async function reconciled(tool: string): Promise<boolean> {
  const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, buildNs(tool))).catch(() => undefined);
  return ns !== undefined && await exists(objectPath(SECRETS, 'harbor-push', buildNs(tool)));
}

const applyFlavourPolicy = (name: string, flavour: string, replicate: Record<string, string>[]) =>
  applyPolicy(admin, name, { toolSelector: { matchLabels: { suite, flavour } }, resourceQuota: { hard: { pods: '4' } }, replicate });

async function startReplica(): Promise<OperatorProcess> {
  const p = await startOperatorProcess({ kubeconfig, args: ELECTION });
  processes.push(p);
  return p;
}

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: adminNs } } });
  await admin.request('POST', collectionPath(SECRETS, adminNs), {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'harbor-push', namespace: adminNs }, data: { password: Buffer.from('p').toString('base64') } },
  });
  // A kind the shipped ClusterRole does not cover, with a source object to copy.
  await admin.request('POST', collectionPath(CRDS), { body: {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `widgets.${group}` },
    spec: {
      group, scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets', singular: 'widget' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  } });
  await eventually(() => admin.request('POST', collectionPath(WIDGETS, adminNs), {
    body: { apiVersion: WIDGETS.apiVersion, kind: 'Widget', metadata: { name: 'template', namespace: adminNs }, spec: { size: 3 } },
  }), { timeoutMs: 30_000, intervalMs: 200 });
  const secret = { kind: 'Secret', namespace: adminNs, name: 'harbor-push' };
  await applyFlavourPolicy(badPolicy, 'bad', [secret, { apiVersion: WIDGETS.apiVersion, kind: 'Widget', namespace: adminNs, name: 'template' }]);
  await applyFlavourPolicy(goodPolicy, 'good', [secret]);
  await createTool(`${suite}-good-0`, 'good');
  await createTool(`${suite}-bad-0`, 'bad');
  kubeconfig = (await writeOperatorKubeconfig(dir, controlPlaneInfo())).path;
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await removeAndWait(admin, [
    ...tools.flatMap((t) => [objectPath(NAMESPACES, `tool-${t}`), objectPath(NAMESPACES, buildNs(t))]),
    objectPath(NAMESPACES, adminNs), objectPath(BUILD_QUOTA_POLICIES, badPolicy), objectPath(BUILD_QUOTA_POLICIES, goodPolicy),
    objectPath(CRDS, `widgets.${group}`), objectPath(LEASES, lease, OPERATOR_NAMESPACE),
  ]);
  admin.close();
  rmSync(dir, { recursive: true, force: true });
}, 90_000);

describe('a standby that takes over while a replication source cannot sync', () => {
  it('reconciles every tool at once, reports the source and is ready', async () => {
    const { leader, standby } = await leaderOf(admin, lease, [await startReplica(), await startReplica()]);
    // The leader does its job despite the source: both tools are reconciled, the bad one without its Widget.
    await eventually(async () => expect((await Promise.all(tools.map(reconciled))).every(Boolean)).toBe(true), { timeoutMs: 60_000, intervalMs: 200 });
    // The gauge is refreshed with the policy status, once per status interval: wait for a pass.
    await eventually(async () => expect(metricValue(await leader.metrics(), UNSYNCED)).toBe(1), { timeoutMs: 30_000, intervalMs: 200 });

    expect((await leader.stop('SIGKILL')).signal).toBe('SIGKILL');
    // Tools that come while nobody leads: one on each policy.
    const newGood = `${suite}-good-1`;
    const newBad = `${suite}-bad-1`;
    await createTool(newGood, 'good');
    await createTool(newBad, 'bad');
    await eventually(async () => expect(await holder()).toBe(await standby.identity), { timeoutMs: 6 * LEASE_SECONDS * 1000, intervalMs: 200 });

    // The new leader's workers run though one of its informers never syncs.
    await eventually(async () => {
      expect(await reconciled(newGood)).toBe(true);
      expect(await reconciled(newBad)).toBe(true);
    }, { timeoutMs: 60_000, intervalMs: 200 });
    expect(await exists(objectPath(WIDGETS, 'template', buildNs(newBad)))).toBe(false);
    // What it cannot do, it says: the policy counts both bad tools as failed and names the source,
    await eventually(async () => {
      const status = (await admin.request<{ status?: { failedTools?: number } }>('GET', objectPath(BUILD_QUOTA_POLICIES, badPolicy))).status;
      expect(status?.failedTools).toBe(2);
      const unavailable = await policyCondition(admin, badPolicy, 'ReplicationSourcesAvailable');
      expect(unavailable).toMatchObject({ status: 'False', reason: 'ReplicationSourceUnavailable' });
      expect(unavailable!.message).toContain(`${WIDGETS.apiVersion} Widget in ${adminNs}`);
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(await policyCondition(admin, goodPolicy, 'ReplicationSourcesAvailable')).toMatchObject({ status: 'True' });
    // and its metric counts the source, while its probes say it is doing its job.
    await eventually(async () => expect(metricValue(await standby.metrics(), UNSYNCED)).toBe(1), { timeoutMs: 30_000, intervalMs: 200 });
    expect((await fetch(`http://${standby.healthAddress}/readyz`)).status).toBe(200);
    expect((await fetch(`http://${standby.healthAddress}/healthz`)).status).toBe(200);
  }, 240_000);
});
