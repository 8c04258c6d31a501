// The real Tekton Pipelines v1.9.0 with its admission webhook and remote resolvers, on a
// control plane of its own (kube-scheduler, a kwok node, aggregator routing so the API
// server reaches the webhook process): v1beta1 is converted by Tekton's webhook, release
// defaults are what this file records, the cluster resolver answers, and a build shaped as
// builds-api creates it, made by the tool through its RoleBinding in the build namespace
// the in-process operator keeps, gets its pod created and scheduled.
import type { BuildCluster, RunObject } from '../../envtest/build-cluster.js';
import { eventually, uniqueName } from '../../envtest/cluster.js';
import { PIPELINE_NAME } from '../../envtest/tekton.js';
import { join } from 'node:path';
import { repoRoot } from '../../envtest/controlplane.js';
import { applyFiles } from '../../envtest/install.js';
import type { KubeClient } from '../../src/kube/client.js';
import { LABEL_TEKTON_PIPELINE } from '../../src/api/types.js';
import { ADMIN_NS, builderRun, describeWithTekton, startTektonFixture, type TektonFixture } from './tekton-fixture.js';

type Run = RunObject & { spec: Record<string, unknown> };
interface Pod { metadata: { name: string; labels?: Record<string, string> }; spec: { nodeName?: string; serviceAccountName?: string } }

describeWithTekton('Tekton tests')('real Tekton with its webhook and resolvers', () => {
  let fixture: TektonFixture;
  let cluster: BuildCluster;
  let admin: KubeClient;
  let tool: string;
  let buildNs: string;
  const runs = (ns: string, version = 'v1') => `/apis/tekton.dev/${version}/namespaces/${ns}/pipelineruns`;

  beforeAll(async () => {
    fixture = await startTektonFixture({ buildFence: false });
    ({ cluster, tool, buildNs } = fixture);
    admin = cluster.admin;
  }, 240_000);

  afterAll(async () => {
    await fixture?.stop();
  }, 60_000);

  test('a v1beta1 PipelineRun is converted by the webhook: read back as v1, its pod fields moved to taskRunTemplate', async () => {
    const name = uniqueName('beta');
    await admin.request('POST', runs(ADMIN_NS, 'v1beta1'), {
      body: {
        apiVersion: 'tekton.dev/v1beta1', kind: 'PipelineRun', metadata: { name },
        spec: {
          pipelineRef: { name: PIPELINE_NAME }, status: 'PipelineRunPending',
          serviceAccountName: 'someone-else', podTemplate: { securityContext: { runAsUser: 0 } },
          params: [{ name: 'SOURCE_URL', value: 'x' }, { name: 'APP_IMAGE', value: 'y' }],
        },
      },
    });
    const v1 = await admin.request<Run>('GET', `${runs(ADMIN_NS)}/${name}`);
    expect(v1.apiVersion).toBe('tekton.dev/v1');
    expect(v1.spec.taskRunTemplate).toEqual({ serviceAccountName: 'someone-else', podTemplate: { securityContext: { runAsUser: 0 } } });
    expect(v1.spec.serviceAccountName).toBeUndefined();
  });

  test('release defaults: what the webhook adds on create, and an inline pipelineSpec is accepted as released', async () => {
    const created = await admin.request<Run>('POST', runs(ADMIN_NS), {
      body: {
        apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { generateName: 'inline-' },
        spec: { status: 'PipelineRunPending', pipelineSpec: { tasks: [{ name: 't', taskSpec: { steps: [{ name: 's', image: 'evil.invalid/x', script: 'id' }] } }] } },
      },
    });
    process.stderr.write(`Tekton webhook defaults on an inline PipelineRun: ${JSON.stringify(created.spec)}\n`);
    expect(created.spec.timeouts).toEqual({ pipeline: '1h0m0s' });
    expect(created.spec.taskRunTemplate).toEqual({ serviceAccountName: 'default' });
  });

  test('the cluster resolver answers: a pipelineRef to a Pipeline of another namespace starts a TaskRun', async () => {
    const created = await admin.request<Run>('POST', runs(ADMIN_NS), {
      body: {
        apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { generateName: 'resolved-' },
        spec: {
          pipelineRef: { resolver: 'cluster', params: [{ name: 'kind', value: 'pipeline' }, { name: 'name', value: PIPELINE_NAME }, { name: 'namespace', value: ADMIN_NS }] },
          params: [{ name: 'SOURCE_URL', value: 'x' }, { name: 'APP_IMAGE', value: 'y' }],
        },
      },
    });
    await eventually(async () => {
      const taskRuns = await admin.request<{ items: unknown[] }>('GET', `/apis/tekton.dev/v1/namespaces/${ADMIN_NS}/taskruns`, {
        query: { labelSelector: `tekton.dev/pipelineRun=${created.metadata.name}` },
      });
      expect(taskRuns.items).toHaveLength(1);
    }, { timeoutMs: 60_000, intervalMs: 250 });
  }, 90_000);

  test('a builds-api build made by the tool through its RoleBinding gets its pod created and scheduled on a kwok node', async () => {
    const asTool = cluster.clientFor({ user: tool, groups: ['toolforge'] });
    const created = await asTool.request<Run>('POST', runs(buildNs), { body: builderRun(tool) });
    asTool.close();
    process.stderr.write(`Tekton webhook defaults on a builds-api PipelineRun: ${JSON.stringify(created.spec)}\n`);
    expect(created.spec.timeouts).toEqual({ pipeline: '1h0m0s' });
    expect(created.spec.taskRunTemplate).toEqual({ serviceAccountName: 'default' });
    const pod = await eventually(async () => {
      const pods = await admin.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${buildNs}/pods`, {
        query: { labelSelector: `tekton.dev/pipelineRun=${created.metadata.name}` },
      });
      expect(pods.items).toHaveLength(1);
      expect(pods.items[0]!.spec.nodeName).toBe('build-node-0');
      return pods.items[0]!;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    expect(pod.metadata.labels?.user).toBe(tool);
    process.stderr.write(`Tekton's build pod: ${JSON.stringify(pod)}\n`);
  }, 90_000);

  test('a held run already named for its Pipeline costs Tekton its status write only, not a metadata update too', async () => {
    // What the build queue's hold relies on: Tekton's first reconcile of a run adds the
    // tekton.dev/pipeline label with an update of the whole run unless the run has it.
    const held = (labels?: Record<string, string>) => admin.request<Run>('POST', runs(ADMIN_NS), {
      body: {
        apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { generateName: 'held-', ...(labels ? { labels } : {}) },
        spec: { pipelineRef: { name: PIPELINE_NAME }, status: 'PipelineRunPending', params: [{ name: 'SOURCE_URL', value: 'x' }, { name: 'APP_IMAGE', value: 'y' }] },
      },
    });
    const bare = await held();
    const named = await held({ [LABEL_TEKTON_PIPELINE]: PIPELINE_NAME });
    const creator = bare.metadata.managedFields?.[0]?.manager;
    /** Tekton's writes to the run once it has marked it Pending: "<operation> <subresource>". */
    const tektonWrites = (name: string) => eventually(async () => {
      const run = await admin.request<Run>('GET', `${runs(ADMIN_NS)}/${name}`);
      expect(run.status?.conditions?.find((c) => c.type === 'Succeeded')?.reason).toBe('PipelineRunPending');
      return (run.metadata.managedFields ?? []).filter((e) => e.manager !== creator).map((e) => `${e.operation} ${e.subresource ?? 'object'}`).sort();
    }, { timeoutMs: 60_000, intervalMs: 250 });
    expect(await tektonWrites(bare.metadata.name)).toEqual(['Update object', 'Update status']);
    expect(await tektonWrites(named.metadata.name)).toEqual(['Update status']);
  }, 90_000);

  // Last: it switches the shared Tekton to the Toolforge flags of manifests/tekton/.
  test('with manifests/tekton/ applied, Tekton\'s webhook refuses an inline pipelineSpec, and the http resolver (not the webhook) fails an http ref', async () => {
    await applyFiles(admin, ['feature-flags.yaml', 'resolvers-feature-flags.yaml'].map((f) => join(repoRoot(), 'manifests/tekton', f)));
    const inline = { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { generateName: 'inline-' },
      spec: { pipelineSpec: { tasks: [{ name: 't', taskSpec: { steps: [{ name: 's', image: 'evil.invalid/x', script: 'id' }] } }] } } };
    await eventually(async () => {
      const refusal = await admin.request('POST', runs(ADMIN_NS), { body: inline }).then(() => 'admitted', (e: Error) => e.message);
      expect(refusal).toContain('admission webhook "validation.webhook.pipeline.tekton.dev" denied the request: validation failed: must not set the field(s): spec.pipelineSpec');
    }, { timeoutMs: 30_000, intervalMs: 250 });
    const http = await admin.request<Run>('POST', runs(ADMIN_NS), { body: { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { generateName: 'http-' },
      spec: { pipelineRef: { resolver: 'http', params: [{ name: 'url', value: 'https://example.invalid/p.yaml' }] } } } })
      .catch((e: Error) => e);
    if (http instanceof Error) {
      expect(http.message).toContain('enable-http-resolver feature flag not true');
    } else {
      await eventually(async () => {
        const now = await admin.request<Run>('GET', `${runs(ADMIN_NS)}/${http.metadata.name}`);
        const c = now.status?.conditions?.find((x) => x.type === 'Succeeded');
        expect(c?.status).toBe('False');
        expect(c?.message).toContain('enable-http-resolver feature flag not true');
        process.stderr.write(`http resolver with the flag off: ${c?.reason}: ${c?.message}\n`);
      }, { timeoutMs: 60_000, intervalMs: 250 });
    }
  }, 120_000);
});
