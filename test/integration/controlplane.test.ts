// Proves the test control plane is real: quota admission, RBAC and CRDs behave as in a
// production cluster.
import {
  ApiextensionsV1Api, AuthorizationV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, Watch,
  type KubeConfig, type V1Pod,
} from '@kubernetes/client-node';
import { adminConfig, configFor, eventually, uniqueName } from '../../envtest/cluster.js';

const admin = adminConfig();
const core = admin.makeApiClient(CoreV1Api);

function pod(name: string): V1Pod {
  return {
    metadata: { name },
    spec: { containers: [{ name: 'main', image: 'registry.invalid/noop', resources: { requests: { cpu: '10m', memory: '8Mi' }, limits: { cpu: '10m', memory: '8Mi' } } }] },
  };
}

async function statusOf(call: Promise<unknown>): Promise<{ code: number; body: string }> {
  try {
    await call;
    return { code: 200, body: '' };
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    return { code: e.code ?? 0, body: typeof e.body === 'string' ? e.body : JSON.stringify(e.body) };
  }
}

describe('the test control plane', () => {
  it('refuses the pod beyond a ResourceQuota with 403 "exceeded quota"', async () => {
    const namespace = uniqueName('quota');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedResourceQuota({ namespace, body: { metadata: { name: 'q' }, spec: { hard: { pods: '2' } } } });
    // Quota admission refuses every pod until the resourcequota controller has set status.hard.
    await eventually(async () => {
      const quota = await core.readNamespacedResourceQuota({ name: 'q', namespace });
      expect(quota.status?.hard?.pods).toBe('2');
    });
    await eventually(() => core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'probe' } } }).catch((err: { code?: number }) => {
      if (err.code !== 409) throw err;
    }));
    await eventually(() => core.readNamespacedServiceAccount({ name: 'default', namespace }));
    await core.createNamespacedPod({ namespace, body: pod('one') });
    await core.createNamespacedPod({ namespace, body: pod('two') });
    const third = await statusOf(core.createNamespacedPod({ namespace, body: pod('three') }));
    expect(third.code).toBe(403);
    expect(third.body).toContain('exceeded quota');
  });

  it('enforces RBAC: a user bound to nothing cannot list pods, and can after a RoleBinding', async () => {
    const namespace = uniqueName('rbac');
    const user = uniqueName('someone');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const asUser = configFor({ user, groups: ['toolforge'] }).makeApiClient(CoreV1Api);
    const review = async (kc: KubeConfig) => (await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
      body: { spec: { user, groups: ['toolforge', 'system:authenticated'], resourceAttributes: { namespace, verb: 'list', resource: 'pods' } } },
    })).status?.allowed;

    expect((await statusOf(asUser.listNamespacedPod({ namespace }))).code).toBe(403);
    expect(await review(admin)).toBe(false);

    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace, body: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] } });
    await rbac.createNamespacedRoleBinding({ namespace, body: {
      metadata: { name: 'pod-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    } });
    await eventually(async () => expect((await statusOf(asUser.listNamespacedPod({ namespace }))).code).toBe(200));
    expect(await review(admin)).toBe(true);
  });

  it('installs a CRD whose objects can be created and watched', async () => {
    const group = `${uniqueName('crd')}.example.org`;
    const extensions = admin.makeApiClient(ApiextensionsV1Api);
    await extensions.createCustomResourceDefinition({ body: {
      metadata: { name: `widgets.${group}` },
      spec: {
        group, scope: 'Cluster', names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: {
          type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
        } } }],
      },
    } });
    await eventually(async () => {
      const crd = await extensions.readCustomResourceDefinition({ name: `widgets.${group}` });
      expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
    });

    const objects = admin.makeApiClient(CustomObjectsApi);
    await eventually(() => objects.createClusterCustomObject({ group, version: 'v1', plural: 'widgets', body: {
      apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'first' }, spec: { size: 3 },
    } }));
    // A new resource's watch cache answers 429 for a moment after the CRD is established,
    // so the watch is started again until it delivers.
    const seen: string[] = [];
    await eventually(async () => {
      const ended = new Promise<unknown>((resolve) => {
        void new Watch(admin).watch(`/apis/${group}/v1/widgets`, {}, (phase, obj: { metadata: { name: string } }) => {
          seen.push(`${phase} ${obj.metadata.name}`);
        }, resolve).then((req) => setTimeout(() => req.abort(), 2000));
      });
      await ended;
      expect(seen).toContain('ADDED first');
    }, { timeoutMs: 20_000 });
  });
});
