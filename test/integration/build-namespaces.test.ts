// The heart of the operator against the real control plane: tool namespaces and a policy
// become fenced build namespaces; the tool may run builds there and nothing more; quota is
// enforced; drift is undone; policy changes reach exactly the tools they concern; removed
// tools lose their build namespace; and a restart against a converged cluster writes nothing.
import { AuthorizationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/api/meta.js';
import { collectionPath, NAMESPACES, objectPath, BUILD_QUOTA_POLICIES, LIMIT_RANGES, RESOURCE_QUOTAS } from '../../src/kube/resources.js';
import { adminConfig, eventually, uniqueName } from '../../envtest/cluster.js';
import { adminClient, installOperatorPrerequisites } from '../../envtest/install.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const admin = adminClient();
const core = adminConfig().makeApiClient(CoreV1Api);
const authz = adminConfig().makeApiClient(AuthorizationV1Api);
// This file's tools and policies carry a label of their own, so that other test files'
// policies never select them and theirs never select ours.
const suite = uniqueName('suite');
const alpha = uniqueName('alpha');
const beta = uniqueName('beta');
let running: RunningOperator;

interface Quota extends KubeObject { spec: { hard: Record<string, string> }; status?: { hard?: Record<string, string> } }

function toolNamespace(tool: string, extraLabels: Record<string, string> = {}) {
  return { metadata: { name: `tool-${tool}`, labels: { name: `tool-${tool}`, tenancy: 'tool', suite, ...extraLabels } } };
}

function policy(name: string, spec: Record<string, unknown>): { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> } {
  return {
    apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name },
    spec: { toolSelector: { matchLabels: { suite } }, ...spec },
  };
}

const basePolicy = () => policy(`${suite}-base`, {
  resourceQuota: { hard: { pods: '2', 'requests.cpu': '2', 'requests.memory': '4Gi' } },
  limitRange: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '512Mi' }, defaultRequest: { cpu: '100m', memory: '128Mi' }, max: { cpu: '2', memory: '4Gi' } }] },
});

async function applyPolicy(body: ReturnType<typeof policy>): Promise<void> {
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, body.metadata.name), {
    query: { fieldManager: 'test-admin', force: true }, body, contentType: 'application/apply-patch+yaml',
  });
}

const quotaOf = (tool: string) => admin.request<Quota>('GET', objectPath(RESOURCE_QUOTAS, 'build-quota', `image-build-${tool}`));

async function readyNamespace(tool: string): Promise<KubeObject> {
  return eventually(async () => {
    const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, `image-build-${tool}`));
    expect(ns.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'build-namespace-operator',
      'builds.toolforge.org/tool': tool,
      'builds.toolforge.org/ready': 'true',
    });
    return ns;
  }, { timeoutMs: 15_000 });
}

async function can(user: string, verb: string, resource: string, namespace: string, subresource?: string): Promise<boolean> {
  const review = await authz.createSubjectAccessReview({ body: { spec: {
    user, groups: ['toolforge', 'system:authenticated'],
    resourceAttributes: { namespace, verb, resource: resource.split('.')[0], group: resource.includes('.') ? resource.split('.').slice(1).join('.') : '', subresource },
  } } });
  return review.status?.allowed === true;
}

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  await core.createNamespace({ body: toolNamespace(alpha) });
  await core.createNamespace({ body: toolNamespace(beta) });
  await applyPolicy(basePolicy());
  running = await startOperator();
}, 60_000);

afterAll(async () => {
  await running?.stop();
  admin.close();
});

describe('build namespaces', () => {
  it('gives every matched tool a ready build namespace with all its objects', async () => {
    for (const tool of [alpha, beta]) {
      await readyNamespace(tool);
      const ns = `image-build-${tool}`;
      const quota = await quotaOf(tool);
      expect(quota.spec.hard).toMatchObject({ pods: '2', 'requests.cpu': '2', 'requests.memory': '4Gi' });
      await admin.request('GET', objectPath(LIMIT_RANGES, 'build-limits', ns));
      await core.readNamespacedServiceAccount({ name: 'buildpacks-service-account', namespace: ns });
      const binding = await adminConfig().makeApiClient((await import('@kubernetes/client-node')).RbacAuthorizationV1Api)
        .readNamespacedRoleBinding({ name: 'tool-builds', namespace: ns });
      expect(binding.roleRef.name).toBe('build-namespace-tool');
      expect(binding.subjects).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'User', name: tool })]));
    }
  });

  it('tells the tool in its own namespace that its build namespace is ready', async () => {
    await readyNamespace(alpha);
    await eventually(async () => {
      const events = await core.listNamespacedEvent({ namespace: `tool-${alpha}` });
      expect(events.items.map((e) => `${e.type} ${e.reason}: ${e.message}`))
        .toContain(`Normal BuildNamespaceReady: build namespace image-build-${alpha} is ready`);
    });
  });

  it('gives a tool with a 53-character name a cut, hashed build namespace that its label identifies', async () => {
    const tool = `${suite}-${'l'.repeat(53 - suite.length - 1)}`;
    expect(tool).toHaveLength(53);
    await core.createNamespace({ body: toolNamespace(tool) });
    const ns = await eventually(async () => {
      const found = await admin.request<{ items: KubeObject[] }>('GET', '/api/v1/namespaces', { query: { labelSelector: `builds.toolforge.org/tool=${tool}` } });
      expect(found.items).toHaveLength(1);
      expect(found.items[0]!.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
      return found.items[0]!;
    }, { timeoutMs: 15_000 });
    expect(ns.metadata.name.length).toBeLessThanOrEqual(63);
    expect(ns.metadata.name).toMatch(/^image-build-[a-z0-9-]+-[0-9a-f]{8}$/);
    await core.deleteNamespace({ name: `tool-${tool}` });
  });

  it('lets the tool run and read its builds, and nothing else, and only in its own build namespace', async () => {
    const mine = `image-build-${alpha}`;
    const theirs = `image-build-${beta}`;
    await readyNamespace(alpha);
    const allowed = {
      'create pipelineruns': await can(alpha, 'create', 'pipelineruns.tekton.dev', mine),
      'list pipelineruns': await can(alpha, 'list', 'pipelineruns.tekton.dev', mine),
      'delete pipelineruns': await can(alpha, 'delete', 'pipelineruns.tekton.dev', mine),
      'get pods': await can(alpha, 'get', 'pods', mine),
      'get pods/log': await can(alpha, 'get', 'pods', mine, 'log'),
      'create pods': await can(alpha, 'create', 'pods', mine),
      'create pods/exec': await can(alpha, 'create', 'pods', mine, 'exec'),
      'get secrets': await can(alpha, 'get', 'secrets', mine),
      'update resourcequotas': await can(alpha, 'update', 'resourcequotas', mine),
      'patch resourcequotas': await can(alpha, 'patch', 'resourcequotas', mine),
      'create rolebindings': await can(alpha, 'create', 'rolebindings.rbac.authorization.k8s.io', mine),
      'create pipelineruns in another tool': await can(alpha, 'create', 'pipelineruns.tekton.dev', theirs),
      'get pods in another tool': await can(alpha, 'get', 'pods', theirs),
      'list pipelineruns in another tool': await can(alpha, 'list', 'pipelineruns.tekton.dev', theirs),
    };
    expect(allowed).toEqual({
      'create pipelineruns': true,
      'list pipelineruns': true,
      'delete pipelineruns': true,
      'get pods': true,
      'get pods/log': true,
      'create pods': false,
      'create pods/exec': false,
      'get secrets': false,
      'update resourcequotas': false,
      'patch resourcequotas': false,
      'create rolebindings': false,
      'create pipelineruns in another tool': false,
      'get pods in another tool': false,
      'list pipelineruns in another tool': false,
    });
  });

  it('has the API server refuse pods beyond the tool quota', async () => {
    const namespace = `image-build-${alpha}`;
    await readyNamespace(alpha);
    await eventually(async () => expect((await quotaOf(alpha)).status?.hard?.pods).toBe('2'));
    await eventually(() => core.readNamespacedServiceAccount({ name: 'default', namespace }));
    const pod = (name: string): V1Pod => ({ metadata: { name }, spec: { containers: [{ name: 'build', image: 'registry.invalid/build' }] } });
    await core.createNamespacedPod({ namespace, body: pod('build-1') });
    await core.createNamespacedPod({ namespace, body: pod('build-2') });
    const refused = await core.createNamespacedPod({ namespace, body: pod('build-3') }).then(() => undefined, (err: { code?: number; body?: unknown }) => err);
    expect(refused?.code).toBe(403);
    expect(String(refused?.body)).toContain('exceeded quota');
    await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 });
  });

  it('undoes a hand edit of the quota and restores a deleted LimitRange, from the watch events', async () => {
    const namespace = `image-build-${beta}`;
    await readyNamespace(beta);
    await admin.request('PATCH', objectPath(RESOURCE_QUOTAS, 'build-quota', namespace), {
      body: { spec: { hard: { pods: '100' } } }, contentType: 'application/merge-patch+json',
    });
    // Generous bounds: the latency is the benchmark's to measure (bench/README.md), and the
    // relist that would also restore them is 30 minutes away.
    await eventually(async () => expect((await quotaOf(beta)).spec.hard.pods).toBe('2'), { timeoutMs: 15_000 });
    await admin.request('DELETE', objectPath(LIMIT_RANGES, 'build-limits', namespace));
    await eventually(() => admin.request('GET', objectPath(LIMIT_RANGES, 'build-limits', namespace)), { timeoutMs: 15_000 });
  });

  it('rolls a raised quota key out to every matched tool, and a per-tool override to that tool and key alone', async () => {
    const raised = basePolicy();
    raised.spec.resourceQuota = { hard: { pods: '3', 'requests.cpu': '2', 'requests.memory': '4Gi' } };
    await applyPolicy(raised);
    await eventually(async () => {
      expect((await quotaOf(alpha)).spec.hard.pods).toBe('3');
      expect((await quotaOf(beta)).spec.hard.pods).toBe('3');
    });

    await applyPolicy(policy(`${suite}-beta-override`, { priority: 10, tools: [beta], resourceQuota: { hard: { 'requests.cpu': '4' } } }));
    await eventually(async () => expect((await quotaOf(beta)).spec.hard).toMatchObject({ pods: '3', 'requests.cpu': '4', 'requests.memory': '4Gi' }));
    expect((await quotaOf(alpha)).spec.hard).toMatchObject({ pods: '3', 'requests.cpu': '2', 'requests.memory': '4Gi' });
  });

  it('adds a NetworkPolicy where a policy asks for one, and removes it with that policy', async () => {
    const delta = uniqueName('delta');
    await core.createNamespace({ body: toolNamespace(delta) });
    const fenced = policy(`${suite}-fenced`, { priority: 5, tools: [delta], networkPolicy: { policyTypes: ['Ingress'] } });
    await applyPolicy(fenced);
    const networkPolicy = () => admin.request<{ spec: { policyTypes: string[] } }>('GET', `/apis/networking.k8s.io/v1/namespaces/image-build-${delta}/networkpolicies/build-network`);
    await eventually(async () => expect((await networkPolicy()).spec.policyTypes).toEqual(['Ingress']), { timeoutMs: 15_000 });
    await admin.request('DELETE', objectPath(BUILD_QUOTA_POLICIES, fenced.metadata.name));
    await eventually(async () => expect(await networkPolicy().then(() => 'present', () => 'gone')).toBe('gone'));
    await core.deleteNamespace({ name: `tool-${delta}` });
  });

  it('makes zero writes when restarted against a converged cluster', async () => {
    await readyNamespace(alpha);
    await readyNamespace(beta);
    // The namespace controller's own writes (emptying a deleted namespace) are not the
    // operator's: wait until no namespace is terminating. Then let the status loop settle.
    await eventually(async () => {
      const list = await admin.request<{ items: (KubeObject & { status?: { phase?: string } })[] }>('GET', collectionPath(NAMESPACES));
      expect(list.items.filter((ns) => ns.status?.phase === 'Terminating').map((ns) => ns.metadata.name)).toEqual([]);
    }, { timeoutMs: 60_000 });
    await running.settled();
    await running.stop();
    const before = await apiServerWrites(admin);
    running = await startOperator();
    await running.settled();
    const after = await apiServerWrites(admin);
    expect(running.writes).toEqual([]);
    expect(after - before).toBe(0);
  });

  it('removes the build namespace of a deleted tool and never touches an unlabelled namespace', async () => {
    const gamma = `image-build-${uniqueName('gamma')}`;
    await core.createNamespace({ body: { metadata: { name: gamma } } });
    await readyNamespace(alpha);
    await core.deleteNamespace({ name: `tool-${alpha}` });
    await eventually(async () => {
      const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, `image-build-${alpha}`)).catch(() => undefined);
      expect(ns === undefined || ns.metadata.deletionTimestamp !== undefined).toBe(true);
    }, { timeoutMs: 15_000 });
    const untouched = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, gamma));
    expect(untouched.metadata.deletionTimestamp).toBeUndefined();
  });

  it('reports the tools in the policy status', async () => {
    await eventually(async () => {
      const p = await admin.request<{ status?: { matchedTools?: number; readyTools?: number; observedGeneration?: number; conditions?: { type: string; status: string }[] }; metadata: { generation: number } }>(
        'GET', objectPath(BUILD_QUOTA_POLICIES, `${suite}-base`));
      expect(p.status).toMatchObject({ matchedTools: 1, readyTools: 1, observedGeneration: p.metadata.generation });
      expect(p.status?.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]));
    });
  });
});

/** Mutating requests the API server counted for the kinds the operator manages. */
async function apiServerWrites(client: KubeClient): Promise<number> {
  const text = await rawMetrics(client);
  const kinds = ['namespaces', 'resourcequotas', 'limitranges', 'serviceaccounts', 'rolebindings', 'networkpolicies', 'buildquotapolicies', 'events'];
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^apiserver_request_total\{(.*)\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (!['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION'].includes(labels.verb ?? '')) continue;
    if (!kinds.includes(labels.resource ?? '')) continue;
    // The controller manager writes quota status, and the harness asks for the operator's
    // token as a kubelet would: neither is the operator.
    if (labels.subresource === 'status' && labels.resource === 'resourcequotas') continue;
    if (labels.subresource === 'token') continue;
    total += Number(m[2]);
  }
  return total;
}

async function rawMetrics(client: KubeClient): Promise<string> {
  // /metrics is text, not JSON: read it through the same transport with a text accept.
  return client.requestText('GET', '/metrics');
}
