// Bad input and bad days: an invalid policy is refused by the API server with a message
// naming the field; a tool namespace with a bad name is skipped and reported; a selector
// edit that would delete much of the fleet is held back until an admin lifts the hold;
// Retain keeps the build namespace of a removed tool and marks it orphaned.
import type { KubeObject } from '../../src/api/meta.js';
import { ApiError } from '../../src/kube/client.js';
import { BUILD_QUOTA_POLICIES, collectionPath, EVENTS, NAMESPACES, objectPath } from '../../src/kube/resources.js';
import { eventually, uniqueName } from '../../envtest/cluster.js';
import { adminClient, installOperatorPrerequisites } from '../../envtest/install.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const admin = adminClient();
let running: RunningOperator;

function policyBody(name: string, spec: Record<string, unknown>, annotations?: Record<string, string>) {
  return { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name, annotations }, spec };
}

async function applyPolicy(body: ReturnType<typeof policyBody>): Promise<void> {
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, body.metadata.name), {
    // As kubectl does by default: unknown fields are an error, not silently dropped.
    query: { fieldManager: 'test-admin', force: true, fieldValidation: 'Strict' }, body, contentType: 'application/apply-patch+yaml',
  });
}

async function makeTools(suite: string, names: string[]): Promise<void> {
  await Promise.all(names.map((tool) => admin.request('POST', collectionPath(NAMESPACES), {
    body: { metadata: { name: `tool-${tool}`, labels: { name: `tool-${tool}`, tenancy: 'tool', suite } } },
  })));
}

const buildNamespace = (tool: string) => admin.request<KubeObject>('GET', objectPath(NAMESPACES, `image-build-${tool}`)).catch(() => undefined);
const alive = (ns: KubeObject | undefined) => ns !== undefined && ns.metadata.deletionTimestamp === undefined;

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
  // A share of 0 leaves the count alone in charge, so the test holds however many build
  // namespaces other test files left in the shared cluster (the share is unit-tested).
  running = await startOperator({ deletionGuard: { maxShare: 0, maxCount: 3, windowMs: 60_000 } });
}, 60_000);

afterAll(async () => {
  await running?.stop();
  admin.close();
});

describe('an invalid policy', () => {
  it.each([
    { name: 'a quantity that does not parse', spec: { resourceQuota: { hard: { pods: 'lots' } } }, field: 'spec.resourceQuota.hard' },
    { name: 'a name template without {tool}', spec: { namespace: { nameTemplate: 'image-build' } }, field: 'spec.namespace.nameTemplate' },
    { name: 'an unknown field', spec: { quota: { pods: '4' } }, field: 'spec.quota' },
    { name: 'a tool name that breaks the rules', spec: { tools: ['Not_A_Tool'] }, field: 'spec.tools' },
  ])('is refused, naming the field: $name', async ({ spec, field }) => {
    const refused = await applyPolicy(policyBody(uniqueName('invalid'), { toolSelector: { matchLabels: { none: 'x' } }, ...spec }))
      .then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).code).toBeGreaterThanOrEqual(400);
    expect((refused as ApiError).message).toContain(field);
  });
});

describe('a tool namespace whose name breaks the rules', () => {
  it('is skipped with a Warning event, and the operator carries on', async () => {
    const suite = uniqueName('badname');
    const bad = `tool-${'x'.repeat(54)}`;
    await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: bad, labels: { tenancy: 'tool', suite } } } });
    const good = `${suite}-ok`;
    await makeTools(suite, [good]);
    await applyPolicy(policyBody(suite, { toolSelector: { matchLabels: { suite } }, resourceQuota: { hard: { pods: '1' } } }));
    await eventually(async () => expect(alive(await buildNamespace(good))).toBe(true), { timeoutMs: 15_000 });
    await eventually(async () => {
      const events = await admin.request<{ items: { reason: string; message: string }[] }>('GET', collectionPath(EVENTS, bad));
      expect(events.items.map((e) => e.reason)).toContain('ToolNameTooLong');
    });
    const metrics = await running.metrics.registry.getSingleMetricAsString('build_namespace_operator_invalid_tool_namespaces_total');
    expect(metrics).toMatch(/reason="ToolNameTooLong"\} 1/);
    await admin.request('DELETE', objectPath(NAMESPACES, bad));
  });
});

describe('the deletion guard', () => {
  it('holds back a selector edit that would delete most of the fleet, until an admin lifts the hold', async () => {
    const suite = uniqueName('guard');
    const tools = Array.from({ length: 10 }, (_, i) => `${suite}-t${i}`);
    await makeTools(suite, tools);
    const spec = { toolSelector: { matchLabels: { suite } }, resourceQuota: { hard: { pods: '1' } } };
    await applyPolicy(policyBody(suite, spec));
    await eventually(async () => expect((await Promise.all(tools.map(buildNamespace))).every(alive)).toBe(true), { timeoutMs: 20_000 });

    // The bad edit: a selector that matches nothing.
    await applyPolicy(policyBody(suite, { ...spec, toolSelector: { matchLabels: { suite: 'typo' } } }));
    await eventually(async () => {
      const policy = await admin.request<{ status?: { deletionHold?: { pendingDeletions: number }; conditions?: { type: string; status: string; reason: string }[] } }>(
        'GET', objectPath(BUILD_QUOTA_POLICIES, suite));
      expect(policy.status?.deletionHold?.pendingDeletions).toBeGreaterThan(0);
      expect(policy.status?.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Degraded', status: 'True', reason: 'DeletionsHeld' })]));
    }, { timeoutMs: 10_000 });
    const survivors = (await Promise.all(tools.map(buildNamespace))).filter(alive);
    // At most the guard's count went; the rest waits for a person.
    expect(survivors.length).toBeGreaterThanOrEqual(tools.length - 3);
    expect(await running.metrics.registry.getSingleMetricAsString('build_namespace_operator_deletion_hold_active')).toMatch(/ 1$/m);

    await applyPolicy(policyBody(suite, { ...spec, toolSelector: { matchLabels: { suite: 'typo' } } }, { 'builds.toolforge.org/allow-mass-deletion': 'true' }));
    await eventually(async () => expect((await Promise.all(tools.map(buildNamespace))).filter(alive)).toEqual([]), { timeoutMs: 20_000 });
    // The lift holds for as long as a policy carries it, cluster-wide: take it away again.
    await admin.request('DELETE', objectPath(BUILD_QUOTA_POLICIES, suite));
  });
});

describe('deletionPolicy Retain', () => {
  it('keeps the build namespace of a removed tool and marks it orphaned', async () => {
    const suite = uniqueName('retain');
    const tool = `${suite}-t`;
    await makeTools(suite, [tool]);
    await applyPolicy(policyBody(suite, { toolSelector: { matchLabels: { suite } }, resourceQuota: { hard: { pods: '1' } }, deletionPolicy: 'Retain' }));
    await eventually(async () => expect((await buildNamespace(tool))?.metadata.labels?.['builds.toolforge.org/ready']).toBe('true'), { timeoutMs: 15_000 });
    await admin.request('DELETE', objectPath(NAMESPACES, `tool-${tool}`));
    await eventually(async () => {
      const ns = await buildNamespace(tool);
      expect(alive(ns)).toBe(true);
      expect(ns?.metadata.annotations?.['builds.toolforge.org/orphaned']).toBeDefined();
      expect(ns?.metadata.labels?.['builds.toolforge.org/ready']).toBeUndefined();
    }, { timeoutMs: 10_000 });
  });
});
