// A scoped quota from the policy on the real control plane: build-quota-<name> counts only the
// pods its scopeSelector selects, so a pod at a system priority is refused in a build
// namespace while a plain one is admitted; when the policy drops the scoped quota, the
// operator deletes its object and the system priority is no longer refused by it.
import type { KubeObject } from '../../src/api/meta.js';
import { ApiError } from '../../src/kube/client.js';
import { BUILD_QUOTA_POLICIES, collectionPath, NAMESPACES, objectPath, RESOURCE_QUOTAS } from '../../src/kube/resources.js';
import { eventually, uniqueName } from '../../envtest/cluster.js';
import { adminClient, installOperatorPrerequisites } from '../../envtest/install.js';
import { removeAndWait } from '../../envtest/operator-process.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const admin = adminClient();
const suite = uniqueName('scoped');
const tool = `${suite}-a`;
const buildNs = `image-build-${tool}`;
const SCOPED = 'build-quota-system-priorities';
const systemPriorities = { scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical', 'system-cluster-critical'] };
let running: RunningOperator;

async function applyPolicy(scoped: unknown[] | undefined): Promise<void> {
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, suite), {
    query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
    body: {
      apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: suite },
      spec: { toolSelector: { matchLabels: { suite } }, resourceQuota: { hard: { pods: '4' }, ...(scoped ? { scoped } : {}) } },
    },
  });
}

/** Creates a pod as Tekton would (admin), at the given priority class; the refusal's message, or undefined. */
async function podRefusal(name: string, priorityClassName?: string): Promise<string | undefined> {
  const body = {
    metadata: { name: uniqueName(name) },
    spec: { containers: [{ name: 'build', image: 'registry.invalid/buildpacks' }], ...(priorityClassName ? { priorityClassName } : {}) },
  };
  return admin.request('POST', collectionPath({ apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true }, buildNs), { body })
    .then(() => undefined, (e: unknown) => { if (e instanceof ApiError) return e.message; throw e; });
}

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: `tool-${tool}`, labels: { name: `tool-${tool}`, tenancy: 'tool', suite } } } });
  await applyPolicy([{ name: 'system-priorities', hard: { pods: '0' }, scopeSelector: { matchExpressions: [systemPriorities] } }]);
  running = await startOperator();
  await eventually(async () => {
    const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, buildNs));
    expect(ns.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
    // Pods need the namespace's default ServiceAccount, which the controller manager makes.
    await admin.request('GET', objectPath({ apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true }, 'default', buildNs));
  }, { timeoutMs: 30_000 });
}, 90_000);

afterAll(async () => {
  await running?.stop();
  await removeAndWait(admin, [objectPath(NAMESPACES, `tool-${tool}`), objectPath(NAMESPACES, buildNs), objectPath(BUILD_QUOTA_POLICIES, suite)]);
  admin.close();
}, 90_000);

describe('a scoped quota from the policy', () => {
  it('refuses a build pod at a system priority and admits a plain one', async () => {
    const scoped = await admin.request<KubeObject & { spec: unknown }>('GET', objectPath(RESOURCE_QUOTAS, SCOPED, buildNs));
    expect(scoped.spec).toEqual({ hard: { pods: '0' }, scopeSelector: { matchExpressions: [systemPriorities] } });
    // Until the quota controller has filled in the quota's status, admission refuses anything it
    // selects as "status unknown"; wait for the refusal that names the exceeded quota.
    await eventually(async () => expect(await podRefusal('critical', 'system-node-critical')).toContain(`exceeded quota: ${SCOPED}`),
      { timeoutMs: 30_000, intervalMs: 500 });
    expect(await podRefusal('cluster-critical', 'system-cluster-critical')).toContain(`exceeded quota: ${SCOPED}`);
    expect(await eventually(async () => {
      const refusal = await podRefusal('plain');
      expect(refusal).toBeUndefined();
      return refusal;
    }, { timeoutMs: 30_000, intervalMs: 500 })).toBeUndefined();
  });

  it('deletes the scoped quota when the policy drops it', async () => {
    await applyPolicy(undefined);
    await eventually(async () => {
      const gone = await admin.request('GET', objectPath(RESOURCE_QUOTAS, SCOPED, buildNs)).then(() => false, (e: unknown) => e instanceof ApiError && e.code === 404);
      expect(gone).toBe(true);
    }, { timeoutMs: 20_000 });
    const quotas = await admin.request<{ items: KubeObject[] }>('GET', collectionPath(RESOURCE_QUOTAS, buildNs));
    expect(quotas.items.map((q) => q.metadata.name)).toEqual(['build-quota']);
  });
});
