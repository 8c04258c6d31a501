// The build fence (layer 1) on the real API server, with Tekton's real CRDs (every served
// version, conversion stripped as the simulation does): the rendered ValidatingAdmissionPolicy,
// its binding and the build namespace with its fence's parameters, applied as the operator renders them;
// then, acting as the tool itself (its client certificate, through its RoleBinding only), the
// builds-api-shaped run is accepted and each attack is refused by our policy, naming the field.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/meta.js';
import { ApiError, type KubeClient } from '../../src/kube/client.js';
import { collectionPath, objectPath, PIPELINE_RUNS, ResourceTypes } from '../../src/kube/resources.js';
import { Writer } from '../../src/kube/writer.js';
import { effectivePolicy } from '../../src/policy/effective.js';
import { renderBuildNamespace } from '../../src/render/build-namespace-objects.js';
import { FENCE_POLICY_NAME, renderFencePolicy } from '../../src/render/fence.js';
import type { BuildQuotaPolicy } from '../../src/api/types.js';
import { configFor, eventually, uniqueName } from '../../envtest/cluster.js';
import { repoRoot } from '../../envtest/controlplane.js';
import { adminClient, applyFiles, clientFor } from '../../envtest/install.js';
import { tektonCrds } from '../../envtest/tekton.js';

const admin = adminClient();
const writer = new Writer(admin, new ResourceTypes(admin));
const tool = uniqueName('fence');
const other = uniqueName('other');
let asTool: KubeClient;
let namespace = '';

const replicate = [{ apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: 'image-build-admin', name: 'buildpacks' }];
const policy = (name: string, spec: BuildQuotaPolicy['spec']): BuildQuotaPolicy => ({
  apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name }, spec,
});
const toolNs = { name: `tool-${tool}`, labels: { tenancy: 'tool' } };

/** Applies the tool's build namespace as the operator renders it from these policies. */
async function applyBuildNamespace(policies: BuildQuotaPolicy[]): Promise<void> {
  const effective = effectivePolicy(tool, toolNs, policies);
  if (!effective) throw new Error('no policy matched');
  const rendered = renderBuildNamespace(tool, effective, { ready: true });
  if (!rendered.ok) throw new Error(rendered.error.message);
  namespace = rendered.value[0]?.metadata.name ?? '';
  for (const obj of rendered.value) await writer.apply(obj);
}

beforeAll(async () => {
  const paths = execFileSync('bash', [join(repoRoot(), 'envtest/go/build-simulation.sh'), '--paths'], { encoding: 'utf8' });
  const source = /^tekton_source=(.*)$/m.exec(paths)?.[1] ?? '';
  if (source === '') throw new Error('the Tekton module is not in the Go module cache: run make testenv');
  for (const crd of tektonCrds(source, 'none')) await writer.apply(crd);
  await eventually(() => admin.request('GET', collectionPath(PIPELINE_RUNS)), { timeoutMs: 30_000 });
  await eventually(() => admin.request('GET', '/apis/tekton.dev/v1beta1/pipelineruns'), { timeoutMs: 30_000 });
  await applyFiles(admin, [join(repoRoot(), 'manifests/tool-clusterrole.yaml')]);
  await applyBuildNamespace([policy('default', { replicate })]);
  for (const obj of renderFencePolicy()) await writer.apply(obj);
  asTool = clientFor(configFor({ user: tool, groups: ['toolforge'] }));
  // The policy takes effect once the API server has loaded it.
  await eventually(async () => {
    const refused = await create(run({ pipelineSpec: { tasks: [] } })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).message).toContain(FENCE_POLICY_NAME);
  }, { timeoutMs: 30_000, intervalMs: 500 });
}, 120_000);

afterAll(async () => {
  for (const obj of renderFencePolicy().reverse()) await writer.delete((await writer.typeOf(obj)), obj).catch(() => undefined);
  await admin.request('DELETE', `/api/v1/namespaces/${namespace}`).catch(() => undefined);
  asTool?.close();
  admin.close();
});

type Run = KubeObject & { spec: Record<string, unknown> };
const legitParams = () => [
  { name: 'APP_IMAGE', value: `tools-harbor.wmcloud.org/tool-${tool}/tool-${tool}:latest` },
  { name: 'SOURCE_URL', value: 'https://gitlab.wikimedia.org/toolforge-repos/example' },
  { name: 'SOURCE_REFERENCE', value: 'main' },
  { name: 'ENV_VARS', value: ['FOO=bar'] },
];
function run(extra: Record<string, unknown> = {}, labels: Record<string, string> = { user: tool }, apiVersion = 'tekton.dev/v1'): Run {
  return {
    apiVersion, kind: 'PipelineRun',
    metadata: { name: uniqueName('build'), labels },
    spec: { pipelineRef: { name: 'buildpacks' }, params: legitParams(), ...extra },
  };
}
const create = (body: Run, client = asTool): Promise<Run> =>
  client.request<Run>('POST', `/apis/${body.apiVersion}/namespaces/${namespace}/pipelineruns`, { body });

/** The refusal, asserted to come from our policy and to name the field. */
async function refusal(body: Run): Promise<string> {
  const failure = await create(body).then(() => undefined, (e: unknown) => e);
  if (!(failure instanceof ApiError)) throw new Error(`accepted: ${JSON.stringify(body.spec)}`);
  expect(failure.message).toContain(`ValidatingAdmissionPolicy '${FENCE_POLICY_NAME}'`);
  return failure.message;
}

const image = (t: string) => ({ name: 'APP_IMAGE', value: `tools-harbor.wmcloud.org/tool-${t}/x:latest` });
const withParams = (params: unknown[]) => run({ params });

const moved = { name: 'APP_IMAGE', value: `registry.example.org/${tool}/app:1` };
/**
 * Applies a per-tool override that moves APP_IMAGE to another registry, checks the fence then
 * admits the moved image and refuses the old one, and puts the default back.
 */
async function judgedByOverride(): Promise<void> {
  await applyBuildNamespace([
    policy('override', { priority: 10, tools: [tool], builds: { fence: { params: [{ name: 'APP_IMAGE', pattern: '^registry\\.example\\.org/{tool}/', required: true }] } } }),
    policy('default', { replicate }),
  ]);
  await eventually(async () => { expect((await create(withParams([moved, legitParams()[1]]))).metadata.name).toBeTruthy(); }, { timeoutMs: 30_000, intervalMs: 300 });
  expect(await refusal(withParams([image(tool), legitParams()[1]]))).toContain('spec.params[APP_IMAGE]');
  await applyBuildNamespace([policy('default', { replicate })]);
}

describe('the build fence, acting as the tool', () => {
  it('accepts the builds-api-shaped run, and one without the optional params', async () => {
    expect((await create(run())).metadata.name).toBeTruthy();
    expect((await create(withParams(legitParams().slice(0, 2)))).metadata.name).toBeTruthy();
  });

  it.each([
    ['an inline pipelineSpec with taskSpec steps', run({ pipelineSpec: { tasks: [{ name: 't', taskSpec: { steps: [{ name: 's', image: 'alpine', script: 'id' }] } }] } }), 'spec.pipelineSpec'],
    ['a secret workspace', run({ workspaces: [{ name: 'w', secret: { secretName: 'harbor-push' } }] }), 'spec.workspaces'],
    ['a csi workspace', run({ workspaces: [{ name: 'w', csi: { driver: 'x' } }] }), 'spec.workspaces'],
    ['a projected token workspace', run({ workspaces: [{ name: 'w', projected: { sources: [{ serviceAccountToken: { audience: 'x', path: 't' } }] } }] }), 'spec.workspaces'],
    ['a volumeClaimTemplate workspace', run({ workspaces: [{ name: 'w', volumeClaimTemplate: { spec: { resources: { requests: { storage: '1Ti' } } } } }] }), 'spec.workspaces'],
    ['the http resolver', run({ pipelineRef: { resolver: 'http', params: [{ name: 'url', value: 'https://evil.example/p.yaml' }] } }), 'spec.pipelineRef.'],
    ['the git resolver', run({ pipelineRef: { resolver: 'git', params: [{ name: 'url', value: 'https://evil.example/r.git' }] } }), 'spec.pipelineRef.'],
    ['the bundles resolver', run({ pipelineRef: { resolver: 'bundles', params: [{ name: 'bundle', value: 'evil/b' }] } }), 'spec.pipelineRef.'],
    ['the hub resolver', run({ pipelineRef: { resolver: 'hub', params: [{ name: 'name', value: 'x' }] } }), 'spec.pipelineRef.'],
    ['the cluster resolver', run({ pipelineRef: { resolver: 'cluster', params: [{ name: 'namespace', value: 'image-build-other' }] } }), 'spec.pipelineRef.'],
    ['a Pipeline that is not allowed', run({ pipelineRef: { name: 'other' } }), 'spec.pipelineRef.name other'],
    ['podTemplate runAsUser 0', run({ taskRunTemplate: { podTemplate: { securityContext: { runAsUser: 0 } } } }), 'spec.taskRunTemplate.podTemplate'],
    ['podTemplate env', run({ taskRunTemplate: { podTemplate: { env: [{ name: 'LD_PRELOAD', value: '/x.so' }] } } }), 'spec.taskRunTemplate.podTemplate'],
    ['podTemplate hostAliases', run({ taskRunTemplate: { podTemplate: { hostAliases: [{ ip: '10.0.0.1', hostnames: ['tools-harbor.wmcloud.org'] }] } } }), 'spec.taskRunTemplate.podTemplate'],
    ['podTemplate dnsConfig', run({ taskRunTemplate: { podTemplate: { dnsConfig: { nameservers: ['10.0.0.1'] } } } }), 'spec.taskRunTemplate.podTemplate'],
    ['podTemplate nodeSelector', run({ taskRunTemplate: { podTemplate: { nodeSelector: { x: 'y' } } } }), 'spec.taskRunTemplate.podTemplate'],
    ['podTemplate tolerations', run({ taskRunTemplate: { podTemplate: { tolerations: [{ operator: 'Exists' }] } } }), 'spec.taskRunTemplate.podTemplate'],
    ['podTemplate priorityClassName', run({ taskRunTemplate: { podTemplate: { priorityClassName: 'system-node-critical' } } }), 'spec.taskRunTemplate.podTemplate'],
    ['a serviceAccountName override', run({ taskRunTemplate: { serviceAccountName: 'default' } }), 'spec.taskRunTemplate.serviceAccountName'],
    ['taskRunSpecs podTemplate', run({ taskRunSpecs: [{ pipelineTaskName: 'build', podTemplate: { securityContext: { runAsUser: 0 } } }] }), 'spec.taskRunSpecs'],
    ['taskRunSpecs serviceAccountName', run({ taskRunSpecs: [{ pipelineTaskName: 'build', serviceAccountName: 'default' }] }), 'spec.taskRunSpecs'],
    ['taskRunSpecs stepSpecs', run({ taskRunSpecs: [{ pipelineTaskName: 'build', stepSpecs: [{ name: 's', computeResources: { requests: { cpu: '64' } } }] }] }), 'spec.taskRunSpecs'],
    ['taskRunSpecs metadata', run({ taskRunSpecs: [{ pipelineTaskName: 'build', metadata: { labels: { app: 'registry' } } }] }), 'spec.taskRunSpecs'],
    ['a foreign label', run({}, { user: tool, app: 'registry' }), 'metadata.labels[app]'],
    ['a tekton.dev label on create', run({}, { user: tool, 'tekton.dev/pipeline': 'x' }), 'metadata.labels[tekton.dev/pipeline]'],
    ['a 0s timeout', run({ timeouts: { pipeline: '0s' } }), 'spec.timeouts.pipeline 0s'],
    ['a tasks timeout', run({ timeouts: { pipeline: '30m', tasks: '0s' } }), 'spec.timeouts.tasks'],
    ["another tool's APP_IMAGE", withParams([image(other), legitParams()[1]]), 'spec.params[APP_IMAGE]'],
    ['an unknown param', withParams([...legitParams(), { name: 'EVIL', value: 'x' }]), 'spec.params: EVIL'],
    ['ENV_VARS as a string', withParams([...legitParams().slice(0, 3), { name: 'ENV_VARS', value: 'FOO=bar' }]), 'spec.params[ENV_VARS]'],
    ['a missing SOURCE_URL', withParams([legitParams()[0]]), 'spec.params[SOURCE_URL] is required'],
    ['an unknown status', run({ status: 'Running' }), 'spec.status Running'],
    ['v1beta1 spec.podTemplate', run({ podTemplate: { securityContext: { runAsUser: 0 } } }, { user: tool }, 'tekton.dev/v1beta1'), 'tekton.dev/v1beta1 is not accepted'],
    ['v1beta1 spec.serviceAccountName', run({ serviceAccountName: 'default' }, { user: tool }, 'tekton.dev/v1beta1'), 'tekton.dev/v1beta1 is not accepted'],
  ])('refuses %s, naming the field', async (_name, body, field) => {
    expect(await refusal(body)).toContain(field);
  });

  it('refuses a tool clearing its own pending status, and lets it cancel', async () => {
    const held = await create(run({ status: 'PipelineRunPending' }));
    const path = objectPath(PIPELINE_RUNS, held.metadata.name, namespace);
    const cleared = await asTool.request('PATCH', path, { body: [{ op: 'remove', path: '/spec/status' }], contentType: 'application/json-patch+json' }).catch((e: unknown) => e);
    expect(cleared).toBeInstanceOf(ApiError);
    expect((cleared as ApiError).message).toContain(FENCE_POLICY_NAME);
    expect((cleared as ApiError).message).toContain('only the build queue starts a held build');
    const cancelled = await asTool.request<Run>('PATCH', path, { body: { spec: { status: 'Cancelled' } }, contentType: 'application/merge-patch+json' });
    expect(cancelled.spec.status).toBe('Cancelled');
  });

  // The API server stops its informer for a built-in paramKind for good once no binding names
  // it (kubernetes/kubernetes#130887): with the parameters in a ConfigMap, this refused every
  // run or judged by the old pattern until the API server restarted.
  it('judges by the namespace\'s current parameters after its binding was deleted and put back', async () => {
    const [, fenceBinding] = renderFencePolicy();
    if (!fenceBinding) throw new Error('no binding rendered');
    await writer.delete(await writer.typeOf(fenceBinding), fenceBinding);
    // Unbound, the API server admits what the fence refuses: it has dropped the binding.
    await eventually(async () => { expect((await create(run({ pipelineSpec: { tasks: [] } }))).metadata.name).toBeTruthy(); },
      { timeoutMs: 30_000, intervalMs: 300 });
    await writer.apply(fenceBinding);
    await eventually(async () => { expect(await refusal(run({ pipelineSpec: { tasks: [] } }))).toContain('spec.pipelineSpec'); },
      { timeoutMs: 30_000, intervalMs: 300 });
    await judgedByOverride();
    await eventually(async () => { expect((await create(run())).metadata.name).toBeTruthy(); }, { timeoutMs: 30_000, intervalMs: 300 });
  });

  it('takes a per-tool override of a pattern from the parameters, with no new cluster object', async () => {
    expect(await refusal(withParams([moved, legitParams()[1]]))).toContain('spec.params[APP_IMAGE]');
    await judgedByOverride();
  });
});
