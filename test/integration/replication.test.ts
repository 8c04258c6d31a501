// Replication against the real control plane: the registry secret and the Pipeline reach
// every build namespace, follow their source from its watch event, come back when
// deleted, go when the policy drops them, and survive a source that went missing.
import { AuthorizationV1Api } from '@kubernetes/client-node';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/meta.js';
import { collectionPath, NAMESPACES, objectPath, BUILD_QUOTA_POLICIES, SECRETS, SERVICE_ACCOUNTS } from '../../src/kube/resources.js';
import { adminConfig, eventually, uniqueName } from '../../envtest/cluster.js';
import { repoRoot } from '../../envtest/controlplane.js';
import { adminClient, applyFiles, installOperatorPrerequisites } from '../../envtest/install.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const admin = adminClient();
const suite = uniqueName('repl');
const adminNs = `${suite}-admin`;
const tools = Array.from({ length: 20 }, (_, i) => `${suite}-t${i}`);
const PIPELINES = { apiVersion: 'tekton.dev/v1', kind: 'Pipeline', plural: 'pipelines', namespaced: true };
let running: RunningOperator;

interface Secret extends KubeObject { data?: Record<string, string>; type?: string }
interface Policy { status?: { failures?: { tool: string; reason: string }[]; failedTools?: number } }

const b64 = (s: string) => Buffer.from(s).toString('base64');
const replicate = [
  { kind: 'Secret', namespace: adminNs, name: 'harbor-push' },
  { apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: adminNs, name: 'buildpacks' },
];

async function applyPolicy(spec: Record<string, unknown>): Promise<void> {
  const body = {
    apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: suite },
    spec: { toolSelector: { matchLabels: { suite } }, resourceQuota: { hard: { pods: '4' } }, ...spec },
  };
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, suite), {
    query: { fieldManager: 'test-admin', force: true }, body, contentType: 'application/apply-patch+yaml',
  });
}

async function putSecret(password: string): Promise<void> {
  await admin.request('PATCH', objectPath(SECRETS, 'harbor-push', adminNs), {
    query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'harbor-push', namespace: adminNs }, type: 'Opaque', data: { password: b64(password) } },
  });
}

const copyOf = (tool: string) => admin.request<Secret>('GET', objectPath(SECRETS, 'harbor-push', `image-build-${tool}`));

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  await applyFiles(admin, [join(repoRoot(), 'envtest/tekton-crds.yaml')]);
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: adminNs } } });
  await putSecret('first');
  await eventually(() => admin.request('POST', collectionPath(PIPELINES, adminNs), { body: {
    apiVersion: 'tekton.dev/v1', kind: 'Pipeline', metadata: { name: 'buildpacks', namespace: adminNs },
    spec: { tasks: [{ name: 'build', taskRef: { name: 'buildpacks' } }] },
  } }), { timeoutMs: 20_000 });
  await Promise.all(tools.map((tool) => admin.request('POST', collectionPath(NAMESPACES), {
    body: { metadata: { name: `tool-${tool}`, labels: { name: `tool-${tool}`, tenancy: 'tool', suite } } },
  })));
  await applyPolicy({ replicate, serviceAccount: { name: 'buildpacks-service-account', secrets: ['harbor-push'] } });
  running = await startOperator();
}, 90_000);

afterAll(async () => {
  await running?.stop();
  admin.close();
});

describe('replication', () => {
  it('copies the secret and the Pipeline into every build namespace, attached to the build ServiceAccount', async () => {
    await eventually(async () => {
      for (const tool of tools) {
        const copy = await copyOf(tool);
        expect(copy.data?.password).toBe(b64('first'));
        expect(copy.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('build-namespace-operator');
        expect(copy.metadata.annotations?.['builds.toolforge.org/replicated-from']).toBe(`${adminNs}/harbor-push`);
        await admin.request('GET', objectPath(PIPELINES, 'buildpacks', `image-build-${tool}`));
      }
    }, { timeoutMs: 30_000 });
    const sa = await admin.request<{ secrets?: { name: string }[] }>('GET', objectPath(SERVICE_ACCOUNTS, 'buildpacks-service-account', `image-build-${tools[0]}`));
    expect(sa.secrets).toEqual([{ name: 'harbor-push' }]);
  });

  it('never lets the tool read the replicated secret', async () => {
    const review = await adminConfig().makeApiClient(AuthorizationV1Api).createSubjectAccessReview({ body: { spec: {
      user: tools[0], groups: ['toolforge', 'system:authenticated'],
      resourceAttributes: { namespace: `image-build-${tools[0]}`, verb: 'get', resource: 'secrets', name: 'harbor-push' },
    } } });
    expect(review.status?.allowed).toBe(false);
  });

  it('brings a rotated password to all 20 copies, from the watch event, one write each', async () => {
    const writesBefore = running.writes.length;
    await putSecret('rotated');
    const started = Date.now();
    await eventually(async () => {
      const copies = await Promise.all(tools.map(copyOf));
      expect(copies.filter((c) => c.data?.password !== b64('rotated')).map((c) => c.metadata.namespace)).toEqual([]);
    }, { timeoutMs: 15_000, intervalMs: 20 });
    // A figure to read, not a bound: speed is the benchmark's to judge (bench/README.md).
    process.stderr.write(`rotation reached 20 copies in ${Date.now() - started} ms\n`);
    // One write per copy, and nothing else.
    await running.settled();
    const writes = running.writes.slice(writesBefore).filter((w) => !w.includes('/events') && !w.includes('buildquotapolicies'));
    expect(writes).toHaveLength(tools.length);
  });

  it('restores a deleted copy', async () => {
    await admin.request('DELETE', objectPath(SECRETS, 'harbor-push', `image-build-${tools[1]}`));
    await eventually(async () => expect((await copyOf(tools[1]!)).data?.password).toBe(b64('rotated')), { timeoutMs: 15_000 });
  });

  it('keeps the copies and reports the tools while the source is missing', async () => {
    await admin.request('DELETE', objectPath(SECRETS, 'harbor-push', adminNs));
    await eventually(async () => {
      const policy = await admin.request<Policy>('GET', objectPath(BUILD_QUOTA_POLICIES, suite));
      expect(policy.status?.failedTools).toBe(tools.length);
      expect(policy.status?.failures?.[0]?.reason).toBe('SourceMissing');
    }, { timeoutMs: 10_000 });
    expect((await copyOf(tools[2]!)).data?.password).toBe(b64('rotated'));
    // Everything else is still reconciled: drift on the quota is undone.
    await admin.request('PATCH', objectPath({ apiVersion: 'v1', kind: 'ResourceQuota', plural: 'resourcequotas', namespaced: true }, 'build-quota', `image-build-${tools[2]}`), {
      body: { spec: { hard: { pods: '99' } } }, contentType: 'application/merge-patch+json',
    });
    await eventually(async () => {
      const quota = await admin.request<{ spec: { hard: Record<string, string> } }>('GET', `/api/v1/namespaces/image-build-${tools[2]}/resourcequotas/build-quota`);
      expect(quota.spec.hard.pods).toBe('4');
    }, { timeoutMs: 15_000 });
    await putSecret('rotated');
  });

  it('removes the copies when the policy drops the source, and nothing else', async () => {
    const namespace = `image-build-${tools[3]}`;
    await admin.request('POST', collectionPath(SECRETS, namespace), {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'someone-elses', namespace }, data: { x: b64('y') } },
    });
    await applyPolicy({ replicate: [replicate[1]], serviceAccount: { name: 'buildpacks-service-account' } });
    await eventually(async () => {
      const gone = await Promise.all(tools.map((t) => copyOf(t).then(() => false, () => true)));
      expect(gone.every(Boolean)).toBe(true);
    }, { timeoutMs: 10_000 });
    await admin.request('GET', objectPath(SECRETS, 'someone-elses', namespace));
    await admin.request('GET', objectPath(PIPELINES, 'buildpacks', namespace));
  });
});
