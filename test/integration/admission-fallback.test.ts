// A cluster that does not serve MutatingAdmissionPolicy (as Kubernetes 1.30 to 1.35 do not):
// an API server of its own with that API turned off. The operator with its build queue on
// still starts and reconciles (nothing waits for a kind that is not served), keeps the hold
// through its fallback (a ValidatingAdmissionPolicy that refuses a create not made held, and
// says how to make it), starts held builds in turn, reports the fallback in every policy's
// status, and writes nothing at rest.
import type { KubeObject } from '../../src/api/meta.js';
import { ApiError, KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/credentials.js';
import {
  BUILD_QUOTA_POLICIES, collectionPath, NAMESPACES, objectPath, PIPELINE_RUNS, servedKinds, VALIDATING_ADMISSION_POLICIES,
} from '../../src/kube/resources.js';
import { ADMISSION_CONDITION } from '../../src/controller/policy-status.js';
import { PIPELINE_RUN_PENDING, REQUIRE_HELD_POLICY_NAME } from '../../src/render/build-queue-admission.js';
import { configFor, eventually } from '../../envtest/cluster.js';
import { buildsApiRun, clientFor, installAdminPipeline, installOperatorPrerequisites, policyCondition } from '../../envtest/install.js';
import { startSupervisedControlPlane, type SupervisedControlPlane } from '../../envtest/spawn.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const ADMISSION = 'admissionregistration.k8s.io/v1';
const TOOL = 'oldcluster';
const BUILD_NS = `image-build-${TOOL}`;
const ADMIN_NS = 'build-admin';
const POLICY = 'builds';
let plane: SupervisedControlPlane;
let admin: KubeClient;
let asTool: KubeClient;
let running: RunningOperator | undefined;

type Run = KubeObject & { spec: { status?: string } & Record<string, unknown> };
const run = (name: string, status?: string): Run => buildsApiRun(TOOL, name, status);
const create = (body: Run, dryRun = false) =>
  asTool.request<Run>('POST', collectionPath(PIPELINE_RUNS, BUILD_NS), { body, ...(dryRun ? { query: { dryRun: 'All' } } : {}) });

beforeAll(async () => {
  plane = await startSupervisedControlPlane({
    // The API off, and its admission plugin too: the plugin waits for the API it watches.
    apiserverArgs: [
      `--runtime-config=${ADMISSION}/mutatingadmissionpolicies=false,${ADMISSION}/mutatingadmissionpolicybindings=false`,
      '--disable-admission-plugins=MutatingAdmissionPolicy',
    ],
  });
  admin = new KubeClient(loadKubeConfig(plane.info.adminKubeconfig));
  await installOperatorPrerequisites(admin);
  await installAdminPipeline(admin, ADMIN_NS);
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: `tool-${TOOL}`, labels: { name: `tool-${TOOL}`, tenancy: 'tool' } } } });
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, POLICY), {
    query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
    body: {
      apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: POLICY },
      spec: {
        toolSelector: { matchLabels: { tenancy: 'tool' } },
        resourceQuota: { hard: { pods: '4' } },
        builds: { maxRunning: 1 },
        replicate: [{ apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: ADMIN_NS, name: 'buildpacks' }],
      },
    },
  });
  running = await startOperator({ maxRunningBuilds: 10, buildQueueDebounceMs: 50 }, { plane: plane.info });
  asTool = clientFor(configFor({ user: TOOL, groups: ['toolforge'] }, plane.info));
}, 120_000);

afterAll(async () => {
  await running?.stop();
  asTool?.close();
  admin?.close();
  await plane?.stop();
}, 60_000);

describe('a cluster without MutatingAdmissionPolicy, with the build queue on', () => {
  it('is what the test says: the API server serves ValidatingAdmissionPolicy and not MutatingAdmissionPolicy', async () => {
    const kinds = await servedKinds(admin, ADMISSION);
    expect(kinds.has('ValidatingAdmissionPolicy')).toBe(true);
    expect(kinds.has('MutatingAdmissionPolicy')).toBe(false);
  });

  it('reconciles the tool as on any cluster: nothing waits for the kind that is not served', async () => {
    await eventually(async () => {
      const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, BUILD_NS));
      expect(ns.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
    }, { timeoutMs: 30_000 });
    expect(running!.manager.notReadyReason()).toBeUndefined();
  });

  it('refuses a build not created held, saying how to create it, and admits and starts a held one', async () => {
    const fallback = await eventually(() => admin.request<KubeObject>('GET', objectPath(VALIDATING_ADMISSION_POLICIES, REQUIRE_HELD_POLICY_NAME)),
      { timeoutMs: 20_000 });
    expect(fallback.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('build-namespace-operator');
    // The API server loads a new policy a moment after it is written: wait until it refuses,
    // with dry runs, so that no run admitted before then takes the tool's one slot.
    const refused = await eventually(async () => {
      const err = await create(run('unheld'), true).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      return err as ApiError;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    expect(refused.message).toContain(`ValidatingAdmissionPolicy '${REQUIRE_HELD_POLICY_NAME}'`);
    expect(refused.message).toContain(`create the PipelineRun held (spec.status: ${PIPELINE_RUN_PENDING})`);

    const held = await eventually(() => create(run('held-1', PIPELINE_RUN_PENDING)), { timeoutMs: 30_000, intervalMs: 500 });
    expect(held.spec.status).toBe(PIPELINE_RUN_PENDING);
    // The queue starts it (clears the hold): the build fence lets the operator alone do that.
    await eventually(async () => {
      const live = await admin.request<Run>('GET', objectPath(PIPELINE_RUNS, 'held-1', BUILD_NS));
      expect(live.spec.status).toBeUndefined();
    }, { timeoutMs: 30_000 });
    // And the tool cannot: a second held run waits (maxRunning 1), and clearing it is refused.
    await create(run('held-2', PIPELINE_RUN_PENDING));
    const cleared = await asTool.request('PATCH', objectPath(PIPELINE_RUNS, 'held-2', BUILD_NS), {
      contentType: 'application/merge-patch+json', body: { spec: { status: null } },
    }).then(() => undefined, (e: unknown) => e);
    expect((cleared as ApiError | undefined)?.message).toContain('only the build queue starts a held build');
  });

  it('says in the policy status that the hold stands in through its fallback', async () => {
    const condition = await eventually(async () => {
      const found = await policyCondition(admin, POLICY, ADMISSION_CONDITION);
      expect(found?.message).toContain('MutatingAdmissionPolicy');
      return found!;
    }, { timeoutMs: 20_000 });
    expect(condition).toMatchObject({ status: 'True', reason: 'InForce' });
    expect(condition.message).toContain('not created held (spec.status: PipelineRunPending) are refused instead');
  });

  it('writes nothing at rest: another pass over the admission objects changes nothing', async () => {
    await running!.settled();
    const before = running!.writes.length;
    await running!.controllers.admission.reconcile();
    await running!.controllers.buildNamespaces.reconcileOne(TOOL);
    expect(running!.writes.slice(before).filter((w) => !w.includes('/events') && !w.includes('/status'))).toEqual([]);
  });
});
