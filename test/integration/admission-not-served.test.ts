// A cluster that serves neither ValidatingAdmissionPolicy nor MutatingAdmissionPolicy (an
// API server of its own with both APIs and their admission plugins off): the build fence
// cannot be kept there, and the operator must say so rather than wait. Tools are still
// reconciled, /readyz is ready, and every policy's AdmissionPoliciesInForce condition is False
// with reason NotServed, naming what is missing.
import type { KubeObject } from '../../src/api/meta.js';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/credentials.js';
import { BUILD_QUOTA_POLICIES, collectionPath, NAMESPACES, objectPath, servedKinds } from '../../src/kube/resources.js';
import { ADMISSION_CONDITION } from '../../src/controller/policy-status.js';
import { eventually } from '../../envtest/cluster.js';
import { installOperatorPrerequisites, policyCondition } from '../../envtest/install.js';
import { startSupervisedControlPlane, type SupervisedControlPlane } from '../../envtest/spawn.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';

const ADMISSION = 'admissionregistration.k8s.io/v1';
const TOOL = 'nofence';
const POLICY = 'builds';
let plane: SupervisedControlPlane;
let admin: KubeClient;
let running: RunningOperator | undefined;

beforeAll(async () => {
  const off = ['validatingadmissionpolicies', 'validatingadmissionpolicybindings', 'mutatingadmissionpolicies', 'mutatingadmissionpolicybindings'];
  plane = await startSupervisedControlPlane({
    apiserverArgs: [
      `--runtime-config=${off.map((r) => `${ADMISSION}/${r}=false`).join(',')}`,
      '--disable-admission-plugins=ValidatingAdmissionPolicy,MutatingAdmissionPolicy',
    ],
  });
  admin = new KubeClient(loadKubeConfig(plane.info.adminKubeconfig));
  await installOperatorPrerequisites(admin);
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: `tool-${TOOL}`, labels: { name: `tool-${TOOL}`, tenancy: 'tool' } } } });
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, POLICY), {
    query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
    body: {
      apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: POLICY },
      spec: { toolSelector: { matchLabels: { tenancy: 'tool' } }, resourceQuota: { hard: { pods: '2' } } },
    },
  });
  running = await startOperator({ maxRunningBuilds: 10 }, { plane: plane.info });
}, 120_000);

afterAll(async () => {
  await running?.stop();
  admin?.close();
  await plane?.stop();
}, 60_000);

describe('a cluster without ValidatingAdmissionPolicy', () => {
  it('is what the test says: neither admission policy kind is served', async () => {
    const kinds = await servedKinds(admin, ADMISSION);
    expect(kinds.has('ValidatingAdmissionPolicy')).toBe(false);
    expect(kinds.has('MutatingAdmissionPolicy')).toBe(false);
  });

  it('still reconciles the tool, and is ready', async () => {
    await eventually(async () => {
      const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, `image-build-${TOOL}`));
      expect(ns.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
    }, { timeoutMs: 30_000 });
    expect(running!.manager.notReadyReason()).toBeUndefined();
  });

  it('says in the policy status that the build fence and the hold are not in force, and why', async () => {
    const condition = await eventually(async () => {
      const found = await policyCondition(admin, POLICY, ADMISSION_CONDITION);
      expect(found?.status).toBe('False');
      return found!;
    }, { timeoutMs: 20_000 });
    expect(condition.reason).toBe('NotServed');
    expect(condition.message).toContain(`the build fence is not in force: the API server does not serve ${ADMISSION}/ValidatingAdmissionPolicy`);
    expect(condition.message).toContain('the build queue\'s hold is not in force');
  });
});
