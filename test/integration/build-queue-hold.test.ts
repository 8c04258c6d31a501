// The build queue's hold on the real API server: with the rendered MutatingAdmissionPolicy
// in place, a PipelineRun a tool creates in its build namespace is stored held, whatever the
// tool asked for; outside build namespaces nothing is changed. (The shared fixture CRDs
// serve v1 only; v1beta1 is matched by the policy and proven with Tekton's own CRDs.)
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/meta.js';
import { ANNOTATION_QUEUE, LABEL_TEKTON_PIPELINE, QUEUE_IN_LINE } from '../../src/api/types.js';
import { collectionPath, objectPath, PIPELINE_RUNS } from '../../src/kube/resources.js';
import { Writer } from '../../src/kube/writer.js';
import { ResourceTypes } from '../../src/kube/resources.js';
import { PIPELINE_RUN_PENDING, renderHoldPolicy } from '../../src/render/build-queue-admission.js';
import { eventually, uniqueName } from '../../envtest/cluster.js';
import { repoRoot } from '../../envtest/controlplane.js';
import { adminClient, applyFiles } from '../../envtest/install.js';

const admin = adminClient();
const writer = new Writer(admin, new ResourceTypes(admin));
const buildNs = uniqueName('image-build-queue');
const otherNs = uniqueName('elsewhere');
type Run = KubeObject & { spec?: { status?: string } };
const FORGED_START = { [ANNOTATION_QUEUE]: 'started 2020-01-01T00:00:00.000Z', 'example.org/kept': 'yes' };

const pipelineRun = (name: string, apiVersion: string, status?: string, annotations?: Record<string, string>) => ({
  apiVersion, kind: 'PipelineRun', metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { pipelineRef: { name: 'buildpacks' }, ...(status ? { status } : {}) },
});

beforeAll(async () => {
  await applyFiles(admin, [join(repoRoot(), 'envtest/tekton-crds.yaml')]);
  await eventually(() => admin.request('GET', collectionPath(PIPELINE_RUNS)), { timeoutMs: 20_000 });
  await admin.request('POST', '/api/v1/namespaces', { body: { metadata: { name: buildNs, labels: { 'app.kubernetes.io/managed-by': 'build-namespace-operator' } } } });
  await admin.request('POST', '/api/v1/namespaces', { body: { metadata: { name: otherNs } } });
  for (const obj of renderHoldPolicy()) await writer.apply(obj, true);
}, 60_000);

afterAll(async () => {
  for (const obj of renderHoldPolicy().reverse()) {
    const plural = obj.kind === 'MutatingAdmissionPolicy' ? 'mutatingadmissionpolicies' : 'mutatingadmissionpolicybindings';
    await admin.request('DELETE', `/apis/admissionregistration.k8s.io/v1/${plural}/${obj.metadata.name}`).catch(() => undefined);
  }
  for (const ns of [buildNs, otherNs]) await admin.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  admin.close();
});

describe('the build queue hold (MutatingAdmissionPolicy)', () => {
  it.each([
    { name: 'a v1 run created without a status', type: PIPELINE_RUNS, status: undefined },
    { name: 'a v1 run that asks to start at once', type: PIPELINE_RUNS, status: '' },
    { name: 'a v1 run that claims another status', type: PIPELINE_RUNS, status: 'Cancelled' },
    { name: 'a v1 run that forges the mark of a run already started', type: PIPELINE_RUNS, status: '', annotations: FORGED_START },
  ])('stores $name held, and told it is in line', async ({ type, status, annotations }: { type: typeof PIPELINE_RUNS; status?: string; annotations?: Record<string, string> }) => {
    const name = uniqueName('run');
    // The policy takes effect once the API server has loaded it: retry until it has.
    await eventually(async () => {
      await admin.request('DELETE', objectPath(type, name, buildNs)).catch(() => undefined);
      const created = await admin.request<Run>('POST', collectionPath(type, buildNs), { body: pipelineRun(name, type.apiVersion, status, annotations) });
      expect(created.spec?.status).toBe(PIPELINE_RUN_PENDING);
    }, { timeoutMs: 30_000, intervalMs: 500 });
    const stored = await admin.request<Run>('GET', objectPath(type, name, buildNs));
    expect(stored.spec?.status).toBe(PIPELINE_RUN_PENDING);
    // The queue need not write the run until it nears the front, and a forged start mark is gone.
    expect(stored.metadata.annotations).toEqual({ ...(annotations ? { 'example.org/kept': 'yes' } : {}), [ANNOTATION_QUEUE]: QUEUE_IN_LINE });
    // Named for its Pipeline, as Tekton's first reconcile would otherwise name it with an update.
    expect(stored.metadata.labels).toEqual({ [LABEL_TEKTON_PIPELINE]: 'buildpacks' });
  });

  it('names no Pipeline for a run that has no pipelineRef, and corrects one that names another', async () => {
    const inline = await admin.request<Run>('POST', collectionPath(PIPELINE_RUNS, buildNs), {
      body: { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: uniqueName('inline') }, spec: { pipelineSpec: { tasks: [] } } },
    });
    expect(inline.spec?.status).toBe(PIPELINE_RUN_PENDING);
    expect(inline.metadata.labels?.[LABEL_TEKTON_PIPELINE]).toBeUndefined();
    const misnamed = pipelineRun(uniqueName('misnamed'), 'tekton.dev/v1');
    const created = await admin.request<Run>('POST', collectionPath(PIPELINE_RUNS, buildNs), {
      body: { ...misnamed, metadata: { ...misnamed.metadata, labels: { [LABEL_TEKTON_PIPELINE]: 'other', user: 'x' } } },
    });
    expect(created.metadata.labels).toEqual({ [LABEL_TEKTON_PIPELINE]: 'buildpacks', user: 'x' });
  });

  it('leaves runs outside build namespaces as they were created', async () => {
    const created = await admin.request<Run>('POST', collectionPath(PIPELINE_RUNS, otherNs), { body: pipelineRun(uniqueName('run'), 'tekton.dev/v1') });
    expect(created.spec?.status).toBeUndefined();
  });
});
