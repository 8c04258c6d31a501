// A replication source the operator cannot list, against the real control plane and under
// the shipped ClusterRole: a policy copies a kind outside the operator's RBAC and a kind
// the API server does not serve. Tools on other policies converge without waiting for it,
// the policy says which source and why (condition, one Event per cause, a gauge), the
// copies made before stay, and granting the RBAC or installing the kind heals it.
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/meta.js';
import { BUILD_QUOTA_POLICIES, collectionPath, EVENTS, NAMESPACES, objectPath, SECRETS } from '../../src/kube/resources.js';
import { eventually, uniqueName } from '../../envtest/cluster.js';
import { repoRoot } from '../../envtest/controlplane.js';
import { adminClient, applyPolicy, applyFiles, installOperatorPrerequisites, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT } from '../../envtest/install.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const admin = adminClient();
const suite = uniqueName('unsync');
const adminNs = `${suite}-admin`;
const group = `${suite}.test.example`;
const WIDGETS = { apiVersion: `${group}/v1`, kind: 'Widget', plural: 'widgets', namespaced: true };
const GADGETS = { apiVersion: `${group}/v1`, kind: 'Gadget', plural: 'gadgets', namespaced: true };
const CRDS = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false };
const CLUSTER_ROLES = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false };
const CLUSTER_ROLE_BINDINGS = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false };
// Sorted first, so that a first pass that waits on their source holds back the good tools behind them.
const badTools = Array.from({ length: 16 }, (_, i) => `${suite}-a-bad-${i}`);
const goodTools = Array.from({ length: 3 }, (_, i) => `${suite}-z-good-${i}`);
const badPolicy = `${suite}-bad`;
const goodPolicy = `${suite}-good`;
const GAUGE = 'build_namespace_operator_replication_sources_unsynced';
let running: RunningOperator | undefined;

interface Condition { type: string; status: string; reason: string; message: string }
interface PolicyStatus { failedTools?: number; readyTools?: number; matchedTools?: number; failures?: { tool: string; reason: string }[]; conditions?: Condition[] }
interface Event { reason: string; note: string; type: string }

const crd = (kind: string, plural: string) => ({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${plural}.${group}` },
  spec: {
    group, scope: 'Namespaced', names: { kind, plural, singular: kind.toLowerCase() },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
});

async function createCrd(kind: string, plural: string): Promise<void> {
  await admin.request('POST', collectionPath(CRDS), { body: crd(kind, plural) });
  await eventually(async () => {
    const made = await admin.request<{ status?: { conditions?: Condition[] } }>('GET', objectPath(CRDS, `${plural}.${group}`));
    expect(made.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
  }, { timeoutMs: 30_000 });
}

const applyFlavourPolicy = (name: string, flavour: string, replicate: Record<string, string>[]) =>
  applyPolicy(admin, name, { toolSelector: { matchLabels: { suite, flavour } }, resourceQuota: { hard: { pods: '4' } }, replicate });

const policyStatus = async (name: string) => (await admin.request<{ status?: PolicyStatus }>('GET', objectPath(BUILD_QUOTA_POLICIES, name))).status;
const condition = (status: PolicyStatus | undefined) => status?.conditions?.find((c) => c.type === 'ReplicationSourcesAvailable');
const gauge = async () => (await running!.metrics.registry.getSingleMetric(GAUGE)?.get())?.values[0]?.value;
const exists = (path: string) => admin.request('GET', path).then(() => true, () => false);
const copyPath = (type: typeof WIDGETS, name: string, tool: string) => objectPath(type, name, `image-build-${tool}`);

async function policyEvents(): Promise<Event[]> {
  const list = await admin.request<{ items: Event[] }>('GET', collectionPath(EVENTS, 'default'), {
    query: { fieldSelector: `regarding.name=${badPolicy},reason=ReplicationSourceUnavailable` },
  });
  return list.items;
}

async function readyNamespaces(tools: string[]): Promise<string[]> {
  const ready = await Promise.all(tools.map(async (tool) => {
    const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, `image-build-${tool}`)).catch(() => undefined);
    return ns?.metadata.labels?.['builds.toolforge.org/ready'] === 'true' && await exists(objectPath(SECRETS, 'harbor-push', `image-build-${tool}`));
  }));
  return tools.filter((_, i) => ready[i]);
}

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  await applyFiles(admin, [join(repoRoot(), 'envtest/tekton-crds.yaml')]);
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: adminNs } } });
  await admin.request('POST', collectionPath(SECRETS, adminNs), {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'harbor-push', namespace: adminNs }, data: { password: Buffer.from('p').toString('base64') } },
  });
  // Given a kind the operator's ClusterRole does not cover, with its source object,
  await createCrd('Widget', 'widgets');
  await eventually(() => admin.request('POST', collectionPath(WIDGETS, adminNs), {
    body: { apiVersion: WIDGETS.apiVersion, kind: 'Widget', metadata: { name: 'template', namespace: adminNs }, spec: { size: 3 } },
  }), { timeoutMs: 20_000 });
  // and a copy of it that an earlier operator made in one bad tool's build namespace,
  const tool = badTools[0]!;
  const owner = { 'app.kubernetes.io/managed-by': 'build-namespace-operator', 'builds.toolforge.org/tool': tool };
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: `image-build-${tool}`, labels: owner } } });
  await admin.request('POST', collectionPath(WIDGETS, `image-build-${tool}`), { body: {
    apiVersion: WIDGETS.apiVersion, kind: 'Widget', spec: { size: 3 },
    metadata: { name: 'template', namespace: `image-build-${tool}`, labels: owner, annotations: { 'builds.toolforge.org/replicated-from': `${adminNs}/template` } },
  } });
  await Promise.all([...badTools.map((t) => [t, 'bad']), ...goodTools.map((t) => [t, 'good'])].map(([t, flavour]) =>
    admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: `tool-${t}`, labels: { name: `tool-${t}`, tenancy: 'tool', suite, flavour: flavour! } } } })));
  // a policy that replicates it and a kind not served at all, next to a policy that does not.
  const secret = { kind: 'Secret', namespace: adminNs, name: 'harbor-push' };
  await applyFlavourPolicy(badPolicy, 'bad', [
    secret,
    { apiVersion: WIDGETS.apiVersion, kind: 'Widget', namespace: adminNs, name: 'template' },
    { apiVersion: GADGETS.apiVersion, kind: 'Gadget', namespace: adminNs, name: 'gizmo' },
  ]);
  await applyFlavourPolicy(goodPolicy, 'good', [secret]);
  running = await startOperator();
}, 120_000);

afterAll(async () => {
  await running?.stop();
  admin.close();
});

describe('a replication source that cannot sync', () => {
  it('holds back no other tool: the other policy\'s tools converge, and the bad tools get everything else', async () => {
    // Generous for a loaded machine; a first pass that waits 10 s per bad tool (16 over
    // 8 workers, sorted before these) would take over 30 s.
    await eventually(async () => expect(await readyNamespaces(goodTools)).toEqual(goodTools), { timeoutMs: 20_000, intervalMs: 200 });
    await eventually(async () => {
      const withSecret = await Promise.all(badTools.map((t) => exists(objectPath(SECRETS, 'harbor-push', `image-build-${t}`))));
      expect(badTools.filter((_, i) => !withSecret[i])).toEqual([]);
    }, { timeoutMs: 30_000, intervalMs: 200 });
    // The operator is doing its job for everyone else: still ready.
    expect(running!.manager.notReadyReason()).toBeUndefined();
  });

  it('reports the sources and why: the policy\'s condition and failures, one Event per cause, the gauge', async () => {
    const status = await eventually(async () => {
      const s = await policyStatus(badPolicy);
      expect(s?.failedTools).toBe(badTools.length);
      expect(condition(s)).toMatchObject({ status: 'False', reason: 'ReplicationSourceUnavailable' });
      return s;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const message = condition(status)!.message;
    expect(message).toContain(`${WIDGETS.apiVersion} Widget in ${adminNs}`);
    expect(message).toMatch(/forbidden/i);
    expect(message).toContain(`${GADGETS.apiVersion} Gadget in ${adminNs}: the API server does not serve`);
    expect(status?.failures?.[0]?.reason).toBe('SourceUnavailable');
    expect(condition(await policyStatus(goodPolicy))).toMatchObject({ status: 'True' });
    expect(await gauge()).toBe(2);
    await eventually(async () => {
      const events = await policyEvents();
      expect(events.map((e) => e.note.split(':')[0]).sort()).toEqual([`${GADGETS.apiVersion} Gadget in ${adminNs}`, `${WIDGETS.apiVersion} Widget in ${adminNs}`]);
      expect(events.every((e) => e.type === 'Warning')).toBe(true);
    }, { timeoutMs: 10_000 });
    // Never delete what we cannot see: the copy made before is still there.
    expect(await exists(copyPath(WIDGETS, 'template', badTools[0]!))).toBe(true);
  });

  it('heals by itself when the RBAC is granted and when the kind is installed', async () => {
    const role = `${suite}-replicate`;
    await admin.request('POST', collectionPath(CLUSTER_ROLES), { body: {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: role },
      rules: [{ apiGroups: [group], resources: ['*'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] }],
    } });
    await admin.request('POST', collectionPath(CLUSTER_ROLE_BINDINGS), { body: {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: role },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR_SERVICE_ACCOUNT, namespace: OPERATOR_NAMESPACE }],
    } });
    // The informers retry with a backoff of up to 30 s: every bad tool gets its Widget.
    await eventually(async () => {
      const copied = await Promise.all(badTools.map((t) => exists(copyPath(WIDGETS, 'template', t))));
      expect(badTools.filter((_, i) => !copied[i])).toEqual([]);
    }, { timeoutMs: 90_000, intervalMs: 500 });
    await eventually(async () => expect(await gauge()).toBe(1), { timeoutMs: 10_000 });

    // The kind appears: found again by discovery, listed, copied.
    await createCrd('Gadget', 'gadgets');
    await eventually(() => admin.request('POST', collectionPath(GADGETS, adminNs), {
      body: { apiVersion: GADGETS.apiVersion, kind: 'Gadget', metadata: { name: 'gizmo', namespace: adminNs }, spec: { colour: 'red' } },
    }), { timeoutMs: 20_000 });
    await eventually(async () => {
      const copied = await Promise.all(badTools.map((t) => exists(copyPath(GADGETS, 'gizmo', t))));
      expect(badTools.filter((_, i) => !copied[i])).toEqual([]);
    }, { timeoutMs: 60_000, intervalMs: 500 });

    await eventually(async () => {
      const s = await policyStatus(badPolicy);
      expect(condition(s)).toMatchObject({ status: 'True' });
      expect(s?.failedTools).toBe(0);
      expect(s?.readyTools).toBe(badTools.length);
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(await readyNamespaces(badTools)).toEqual(badTools);
    expect(await gauge()).toBe(0);
    // Each cause was told once however long it lasted.
    expect((await policyEvents()).length).toBe(2);
  });
});
