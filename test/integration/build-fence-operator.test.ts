// The build fence as the operator keeps it: the operator (in-process, under its own
// ServiceAccount and the ClusterRole of manifests/) applies the cluster-scoped
// ValidatingAdmissionPolicy and binding and each build namespace with its fence's parameters;
// the tool's legitimate build is accepted and an inline spec, a pod template and another
// tool's image are refused; a deleted binding comes back; nothing is written at rest; and a
// policy edit that changes one tool's fence writes that tool's namespace and nothing else.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/meta.js';
import { ApiError, type KubeClient } from '../../src/kube/client.js';
import {
  BUILD_QUOTA_POLICIES, collectionPath, NAMESPACES, objectPath, PIPELINE_RUNS, ResourceTypes,
  VALIDATING_ADMISSION_POLICY_BINDINGS,
} from '../../src/kube/resources.js';
import { Writer } from '../../src/kube/writer.js';
import { FENCE_ANNOTATION_PREFIX, FENCE_POLICY_NAME } from '../../src/render/fence.js';
import { configFor, eventually, uniqueName } from '../../envtest/cluster.js';
import { repoRoot } from '../../envtest/controlplane.js';
import { adminClient, applyFiles, clientFor, installOperatorPrerequisites } from '../../envtest/install.js';
import { removeAndWait } from '../../envtest/operator-process.js';
import { tektonCrds } from '../../envtest/tekton.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const admin = adminClient();
const suite = uniqueName('fenceop');
const tool = `${suite}-a`;
const neighbour = `${suite}-b`;
const ADMIN_NS = `${suite}-admin`;
const replicate = [{ apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: ADMIN_NS, name: 'buildpacks' }];
let running: RunningOperator;
let asTool: KubeClient;

type Run = KubeObject & { spec: Record<string, unknown> };
const buildNs = (t: string) => `image-build-${t}`;
const params = (t: string) => [
  { name: 'APP_IMAGE', value: `tools-harbor.wmcloud.org/tool-${t}/tool-${t}:latest` },
  { name: 'SOURCE_URL', value: 'https://gitlab.wikimedia.org/toolforge-repos/example' },
  { name: 'ENV_VARS', value: ['FOO=bar'] },
];
const run = (spec: Record<string, unknown> = {}): Run => ({
  apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: uniqueName('build'), labels: { user: tool } },
  spec: { pipelineRef: { name: 'buildpacks' }, params: params(tool), ...spec },
});
const create = (body: Run) => asTool.request<Run>('POST', collectionPath(PIPELINE_RUNS, buildNs(tool)), { body });

async function applyPolicy(name: string, spec: Record<string, unknown>): Promise<void> {
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, name), {
    query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
    body: { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name }, spec },
  });
}

/** The operator's writes since `from`, its policy status and Events aside. */
const ownWrites = (from: number) => running.writes.slice(from).filter((w) => !w.includes('/events') && !w.includes('/status'));

/** One of the fence's parameters, as the tool's build namespace carries it. */
const fenceParam = async (t: string, key: string) =>
  (await admin.request<KubeObject>('GET', objectPath(NAMESPACES, buildNs(t)))).metadata.annotations?.[FENCE_ANNOTATION_PREFIX + key];

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  const paths = execFileSync('bash', [join(repoRoot(), 'envtest/go/build-simulation.sh'), '--paths'], { encoding: 'utf8' });
  const source = /^tekton_source=(.*)$/m.exec(paths)?.[1] ?? '';
  if (source === '') throw new Error('the Tekton module is not in the Go module cache: run make testenv');
  const writer = new Writer(admin, new ResourceTypes(admin));
  for (const crd of tektonCrds(source, 'none')) await writer.apply(crd);
  await eventually(() => admin.request('GET', collectionPath(PIPELINE_RUNS)), { timeoutMs: 30_000 });
  await applyFiles(admin, [join(repoRoot(), 'manifests/tool-clusterrole.yaml')]);
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: ADMIN_NS } } });
  await eventually(() => admin.request('POST', `/apis/tekton.dev/v1/namespaces/${ADMIN_NS}/pipelines`, {
    body: { apiVersion: 'tekton.dev/v1', kind: 'Pipeline', metadata: { name: 'buildpacks' }, spec: { tasks: [] } },
  }), { timeoutMs: 20_000 });
  for (const t of [tool, neighbour]) {
    await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: `tool-${t}`, labels: { name: `tool-${t}`, tenancy: 'tool', suite } } } });
  }
  await applyPolicy(suite, { toolSelector: { matchLabels: { suite } }, resourceQuota: { hard: { pods: '2' } }, replicate });
  running = await startOperator();
  asTool = clientFor(configFor({ user: tool, groups: ['toolforge'] }));
  await eventually(async () => {
    for (const t of [tool, neighbour]) {
      const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, buildNs(t)));
      expect(ns.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
    }
  }, { timeoutMs: 30_000 });
}, 120_000);

afterAll(async () => {
  await running?.stop();
  asTool?.close();
  await removeAndWait(admin, [
    ...[tool, neighbour].flatMap((t) => [objectPath(NAMESPACES, `tool-${t}`), objectPath(NAMESPACES, buildNs(t))]),
    objectPath(NAMESPACES, ADMIN_NS), objectPath(BUILD_QUOTA_POLICIES, suite), objectPath(BUILD_QUOTA_POLICIES, `${suite}-override`),
  ]);
  admin.close();
}, 90_000);

describe('the build fence the operator keeps', () => {
  it('accepts the legitimate build and refuses what the tool must not control, by our policy', async () => {
    // The API server loads a new policy a moment after it is written: wait until it refuses by
    // the field, then for the legitimate build.
    await eventually(async () => {
      const refused = await create(run({ pipelineSpec: { tasks: [] } })).then(() => undefined, (e: unknown) => e);
      expect((refused as ApiError | undefined)?.message).toContain('spec.pipelineSpec');
    }, { timeoutMs: 45_000, intervalMs: 500 });
    expect((await eventually(() => create(run()), { timeoutMs: 45_000, intervalMs: 500 })).metadata.name).toBeTruthy();
    for (const [spec, field] of [
      [{ pipelineSpec: { tasks: [{ name: 't', taskSpec: { steps: [{ name: 's', image: 'alpine', script: 'id' }] } }] } }, 'spec.pipelineSpec'],
      [{ taskRunTemplate: { podTemplate: { securityContext: { runAsUser: 0 } } } }, 'spec.taskRunTemplate.podTemplate'],
      [{ params: params(neighbour) }, 'spec.params[APP_IMAGE]'],
    ] as const) {
      const refused = await create(run(spec)).then(() => undefined, (e: unknown) => e);
      expect(refused).toBeInstanceOf(ApiError);
      expect((refused as ApiError).message).toContain(`ValidatingAdmissionPolicy '${FENCE_POLICY_NAME}'`);
      expect((refused as ApiError).message).toContain(field);
    }
  });

  it('puts back a binding someone deleted, and the fence judges as before', async () => {
    await admin.request('DELETE', objectPath(VALIDATING_ADMISSION_POLICY_BINDINGS, FENCE_POLICY_NAME));
    await eventually(async () => {
      const binding = await admin.request<KubeObject>('GET', objectPath(VALIDATING_ADMISSION_POLICY_BINDINGS, FENCE_POLICY_NAME));
      expect(binding.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('build-namespace-operator');
    }, { timeoutMs: 20_000 });
    await eventually(async () => {
      const refused = await create(run({ pipelineSpec: { tasks: [] } })).then(() => undefined, (e: unknown) => e);
      expect((refused as ApiError | undefined)?.message).toContain('spec.pipelineSpec');
    }, { timeoutMs: 45_000, intervalMs: 500 });
    expect((await eventually(() => create(run()), { timeoutMs: 45_000, intervalMs: 500 })).metadata.name).toBeTruthy();
  });

  it('writes nothing at rest: a full pass over the fence and both tools changes nothing', async () => {
    const before = running.writes.length;
    await running.controllers.admission.reconcile();
    for (const t of [tool, neighbour]) await running.controllers.buildNamespaces.reconcileOne(t);
    expect(ownWrites(before)).toEqual([]);
  });

  it('writes only the changed tool\'s namespace when a policy changes its fence', async () => {
    const before = running.writes.length;
    await applyPolicy(`${suite}-override`, {
      priority: 10, tools: [tool],
      builds: { fence: { params: [{ name: 'APP_IMAGE', pattern: '^registry\\.example\\.org/{tool}/', required: true }] } },
    });
    await eventually(async () => expect(await fenceParam(tool, 'pattern.APP_IMAGE')).toBe(`^registry\\.example\\.org/${tool}/`),
      { timeoutMs: 20_000 });
    // The policy's own status and Events aside, one write: the tool's build namespace, which
    // carries its fence's parameters and the list of policies that shaped it.
    await eventually(async () => {
      const writes = ownWrites(before);
      expect(writes).toHaveLength(1);
      expect(writes[0]).toMatch(new RegExp(`^PATCH /api/v1/namespaces/${buildNs(tool)}(\\?|$)`));
    }, { timeoutMs: 10_000 });
    const moved = [{ name: 'APP_IMAGE', value: `registry.example.org/${tool}/app:1` }, params(tool)[1]!];
    expect((await eventually(() => create(run({ params: moved })), { timeoutMs: 45_000, intervalMs: 500 })).metadata.name).toBeTruthy();
  });
});
