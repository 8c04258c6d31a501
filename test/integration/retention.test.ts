// Build retention against the real control plane: in a build namespace the operator made,
// finished PipelineRuns beyond the newest keepSuccessful succeeded and keepFailed failed
// (by creation time) are deleted, running ones never; a run that finishes is pruned from
// its watch event; a ttl deletes runs after they finished with no event to wake it; other
// namespaces are never touched; and without the PipelineRun API retention is off, says so
// once, and starts when the API appears.
import { Writable } from 'node:stream';
import { join } from 'node:path';
import winston from 'winston';
import { buildsForNamespace, RetentionController } from '../../src/controller/retention.js';
import { InformerCache } from '../../src/runtime/cache.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/api/meta.js';
import { BUILD_QUOTA_POLICIES, collectionPath, NAMESPACES, objectPath, PIPELINE_RUNS, type ResourceType } from '../../src/kube/resources.js';
import { createLogger, type Logger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { eventually, uniqueName } from '../../envtest/cluster.js';
import { repoRoot } from '../../envtest/controlplane.js';
import { adminClient, applyFiles, installOperatorPrerequisites } from '../../envtest/install.js';
import { removeAndWait } from '../../envtest/operator-process.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const admin = adminClient();
// This file's tools and policies carry a label of their own, so that other test files'
// policies never select them and theirs never select ours.
const suite = uniqueName('retain');
const tool = `${suite}-a`;
const ttlTool = `${suite}-ttl`;
const buildNs = `image-build-${tool}`;
const ttlNs = `image-build-${ttlTool}`;
/** Not a build namespace: retention must never touch it, however many runs it holds. */
const strangerNs = `${suite}-stranger`;
const TTL_SECONDS = 3;
let running: RunningOperator;
let retention: RetentionController;

type Outcome = 'Succeeded' | 'Failed' | 'PipelineRunTimeout' | 'Cancelled' | 'Running' | 'PipelineRunPending';

function policy(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name },
    spec: { toolSelector: { matchLabels: { suite } }, resourceQuota: { hard: { pods: '4' } }, ...spec },
  };
}

async function applyPolicy(body: ReturnType<typeof policy>): Promise<void> {
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, body.metadata.name), {
    query: { fieldManager: 'test-admin', force: true }, body, contentType: 'application/apply-patch+yaml',
  });
}

async function createNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name, labels } } });
}

async function createRun(namespace: string, name: string, type: ResourceType = PIPELINE_RUNS, client: KubeClient = admin): Promise<void> {
  await client.request('POST', collectionPath(type, namespace), {
    body: { apiVersion: type.apiVersion, kind: type.kind, metadata: { name, namespace }, spec: { pipelineRef: { name: 'buildpacks' } } },
  });
}

/** Sets the run's status as Tekton's controller would, through the status subresource. */
async function setStatus(namespace: string, name: string, outcome: Outcome, opts: { type?: ResourceType; client?: KubeClient; finished?: Date } = {}): Promise<void> {
  const { type = PIPELINE_RUNS, client = admin, finished = new Date() } = opts;
  const status = outcome === 'Succeeded' ? 'True' : outcome === 'Running' || outcome === 'PipelineRunPending' ? 'Unknown' : 'False';
  const done = status !== 'Unknown';
  await client.request('PATCH', `${objectPath(type, name, namespace)}/status`, {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        conditions: [{ type: 'Succeeded', status, reason: outcome, message: `test: ${outcome}`, lastTransitionTime: finished.toISOString() }],
        startTime: new Date(finished.getTime() - 60_000).toISOString(),
        ...(done ? { completionTime: finished.toISOString() } : {}),
      },
    },
  });
}

async function runNames(namespace: string, type: ResourceType = PIPELINE_RUNS, client: KubeClient = admin): Promise<string[]> {
  const list = await client.request<{ items: KubeObject[] }>('GET', collectionPath(type, namespace));
  return list.items.filter((r) => !r.metadata.deletionTimestamp).map((r) => r.metadata.name).sort();
}

async function readyNamespace(name: string): Promise<void> {
  await eventually(async () => {
    const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, name));
    expect(ns.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
  }, { timeoutMs: 20_000 });
}

/** creationTimestamp has whole seconds: runs created after this are strictly newer than those before. */
const nextSecond = () => new Promise((r) => setTimeout(r, 1_100));

/** A logger that keeps every line, to count what retention said. */
function recordingLogger(): { log: Logger; lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: { level: string; message: string }, _encoding, done) {
      lines.push(info);
      done();
    },
  });
  return { log: winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] }), lines };
}

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  await applyFiles(admin, [join(repoRoot(), 'envtest/tekton-crds.yaml')]);
  await eventually(() => admin.request('GET', collectionPath(PIPELINE_RUNS)), { timeoutMs: 20_000 });
  for (const t of [tool, ttlTool]) await createNamespace(`tool-${t}`, { name: `tool-${t}`, tenancy: 'tool', suite });
  await createNamespace(strangerNs);
  await applyPolicy(policy(`${suite}-base`, { builds: { keepSuccessful: 4, keepFailed: 2 } }));
  await applyPolicy(policy(`${suite}-ttl`, { priority: 10, tools: [ttlTool], builds: { keepSuccessful: 10, keepFailed: 10, ttlSecondsAfterFinished: TTL_SECONDS } }));
  running = await startOperator();
  // As the operator will run it: its own identity and RBAC, the operator's caches deciding.
  retention = new RetentionController(running.client, running.manager.cache, createLogger(process.env.BNO_TEST_LOG_LEVEL ?? 'error'), running.metrics,
    buildsForNamespace(running.controllers.buildNamespaces.caches));
  await retention.start();
  expect(retention.available).toBe(true);
  await readyNamespace(buildNs);
  await readyNamespace(ttlNs);
}, 90_000);

afterAll(async () => {
  await retention?.stop();
  await running?.stop();
  // Its build namespaces keep runs that look started and unfinished: left behind, they would
  // fill the cluster-wide cap of a later file's build queue.
  await removeAndWait(admin, [
    ...[tool, ttlTool].flatMap((t) => [objectPath(NAMESPACES, `tool-${t}`), objectPath(NAMESPACES, `image-build-${t}`)]),
    objectPath(NAMESPACES, strangerNs), objectPath(BUILD_QUOTA_POLICIES, `${suite}-base`), objectPath(BUILD_QUOTA_POLICIES, `${suite}-ttl`),
  ]);
  admin.close();
}, 90_000);

describe('build retention', () => {
  it('keeps the running runs and the newest 4 succeeded and 2 failed, by creation time, and nothing elsewhere', async () => {
    // Given finished runs in a namespace that is not a build namespace,
    const strangers = ['s1', 's2', 's3', 's4', 's5', 's6', 's7'];
    for (const name of strangers) await createRun(strangerNs, name);
    for (const name of strangers) await setStatus(strangerNs, name, 'Succeeded');

    // and in the build namespace an older batch (named to sort last, so only creation time
    // can tell it is older) with the two running runs,
    const older = { 'zz-running': 'Running', 'zz-pending': 'PipelineRunPending', 'zz-ok-1': 'Succeeded', 'zz-ok-2': 'Succeeded', 'zz-failed': 'Failed', 'zz-timeout': 'PipelineRunTimeout' } as const;
    for (const name of Object.keys(older)) await createRun(buildNs, name);
    await nextSecond();
    // and a newer batch, created in name order,
    const newer = { 'aa-ok-1': 'Succeeded', 'aa-ok-2': 'Succeeded', 'aa-ok-3': 'Succeeded', 'aa-ok-4': 'Succeeded', 'aa-failed': 'Failed', 'aa-cancelled': 'Cancelled' } as const;
    for (const name of Object.keys(newer)) await createRun(buildNs, name);

    // when the newer batch finishes first and the older batch last,
    const now = Date.now();
    for (const [name, outcome] of Object.entries(newer)) await setStatus(buildNs, name, outcome, { finished: new Date(now - 120_000) });
    for (const [name, outcome] of Object.entries(older)) await setStatus(buildNs, name, outcome, { finished: new Date(now) });

    // then what is left is the running runs and the newest by creation, not by finish,
    await eventually(async () => expect(await runNames(buildNs)).toEqual(
      ['aa-cancelled', 'aa-failed', 'aa-ok-1', 'aa-ok-2', 'aa-ok-3', 'aa-ok-4', 'zz-pending', 'zz-running'],
    ), { timeoutMs: 15_000 });
    // and the other namespace, long since seen by the same watch, keeps every run.
    expect(await runNames(strangerNs)).toEqual(strangers);
  });

  it('prunes when a run finishes, from its watch event', async () => {
    await eventually(async () => expect(await runNames(buildNs)).toHaveLength(8), { timeoutMs: 15_000 });
    // Given a new build that starts: nothing is deleted for a run that is running,
    await createRun(buildNs, 'late');
    await setStatus(buildNs, 'late', 'Running');
    // when it succeeds,
    await setStatus(buildNs, 'late', 'Succeeded');
    // then the oldest kept succeeded run makes room for it.
    await eventually(async () => expect(await runNames(buildNs)).toEqual(
      ['aa-cancelled', 'aa-failed', 'aa-ok-2', 'aa-ok-3', 'aa-ok-4', 'late', 'zz-pending', 'zz-running'],
    ), { timeoutMs: 10_000 });
  });

  it('deletes a finished run once its ttl has passed, with no other event to wake it', async () => {
    await createRun(ttlNs, 'quick');
    await createRun(ttlNs, 'still-running');
    await setStatus(ttlNs, 'still-running', 'Running');
    await setStatus(ttlNs, 'quick', 'Succeeded');
    // Kept while the ttl runs: the policy keeps 10 succeeded runs.
    expect(await runNames(ttlNs)).toEqual(['quick', 'still-running']);
    await eventually(async () => expect(await runNames(ttlNs)).toEqual(['still-running']), { timeoutMs: (TTL_SECONDS + 6) * 1000, intervalMs: 200 });
  });
});

describe('retention without the PipelineRun API', () => {
  // The tekton.dev CRDs are shared by every test file of this control plane, so "absent" is a
  // group of this file's own that nothing serves until the test installs it.
  const group = `${suite}.example.com`;
  const fakeRuns: ResourceType = { apiVersion: `${group}/v1`, kind: 'PipelineRun', plural: 'pipelineruns', namespaced: true };
  const crdName = `pipelineruns.${group}`;
  const fakeNs = `${suite}-fake`;
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: crdName },
    spec: {
      group, scope: 'Namespaced', names: { kind: 'PipelineRun', plural: 'pipelineruns', singular: 'pipelinerun' },
      versions: [{
        name: 'v1', served: true, storage: true, subresources: { status: {} },
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      }],
    },
  };
  const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`;
  // The admin: the operator's ClusterRole grants nothing on this group, nor should it.
  const client = adminClient();
  afterAll(async () => {
    await client.request('DELETE', crdPath).catch(() => undefined);
    client.close();
  });

  it('is off and says so once, keeps asking, and starts when the API appears', async () => {
    const { log, lines } = recordingLogger();
    let discoveries = 0;
    client.onRequest((verb, path) => {
      if (verb === 'GET' && path === `/apis/${group}/v1`) discoveries++;
    });
    const changes: boolean[] = [];
    const cache = new InformerCache(client, { relistIntervalMs: 0 });
    cache.start();
    const fake = new RetentionController(client, cache, log, createMetrics({ processMetrics: false }),
      (namespace) => (namespace === fakeNs ? { keepSuccessful: 1, keepFailed: 0 } : undefined),
      { type: fakeRuns, discoveryIntervalMs: 200, onAvailabilityChange: (available) => changes.push(available) });
    try {
      // Given no such API: off, said once however often discovery asks.
      await fake.start();
      expect(fake.available).toBe(false);
      await eventually(() => expect(discoveries).toBeGreaterThanOrEqual(4), { timeoutMs: 5_000 });
      const off = () => lines.filter((l) => l.message.startsWith('retention off: Tekton PipelineRun CRD not installed'));
      expect(off()).toHaveLength(1);
      expect(changes).toEqual([false]);

      // When the CRD appears, retention starts within a discovery interval or so,
      await client.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
      await eventually(() => expect(fake.available).toBe(true), { timeoutMs: 20_000 });
      expect(changes).toEqual([false, true]);

      // and prunes.
      await createNamespace(fakeNs);
      await eventually(() => createRun(fakeNs, 'running', fakeRuns, client), { timeoutMs: 10_000 });
      for (const name of ['r1', 'r2', 'r3']) await createRun(fakeNs, name, fakeRuns, client);
      for (const name of ['r1', 'r2', 'r3']) await setStatus(fakeNs, name, 'Succeeded', { type: fakeRuns, client });
      await eventually(async () => expect(await runNames(fakeNs, fakeRuns, client)).toEqual(['r3', 'running']), { timeoutMs: 10_000 });

      // When the CRD goes away again, retention turns off again, and says so.
      await client.request('DELETE', crdPath);
      await eventually(() => expect(fake.available).toBe(false), { timeoutMs: 30_000 });
      expect(changes).toEqual([false, true, false]);
      expect(off()).toHaveLength(2);
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await fake.stop();
      await cache.stop();
    }
  }, 90_000);
});
