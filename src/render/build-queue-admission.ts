// The build queue's hold, as admission objects the API server enforces with no webhook of
// ours: a MutatingAdmissionPolicy that creates every PipelineRun of a build namespace held
// (`spec.status: PipelineRunPending`, which Tekton honours), so that only the operator
// starts builds, in the line's order. Rendered like any other object: data, diffed, applied.
import type { DesiredObject } from '../api/meta.js';
import { LABEL_MANAGED_BY, MANAGER } from '../api/types.js';

export const HOLD_POLICY_NAME = 'build-namespace-operator-hold-pipelineruns';
export const PIPELINE_RUN_PENDING = 'PipelineRunPending';
const ADMISSION_API_VERSION = 'admissionregistration.k8s.io/v1';

/** Both served versions: v1beta1 is converted by Tekton's webhook, but is matched in its own right too. */
const PIPELINE_RUN_RULE = { apiGroups: ['tekton.dev'], apiVersions: ['v1', 'v1beta1'], resources: ['pipelineruns'], operations: ['CREATE'] };

/**
 * The policy and its binding. Held on CREATE only: a run is created held whatever its
 * creator asked, and starting it later (clearing the field) is an UPDATE the build fence
 * allows to the operator alone.
 */
export function renderHoldPolicy(): DesiredObject[] {
  const labels = { [LABEL_MANAGED_BY]: MANAGER };
  return [
    {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'MutatingAdmissionPolicy',
      metadata: { name: HOLD_POLICY_NAME, labels },
      spec: {
        failurePolicy: 'Fail',
        reinvocationPolicy: 'Never',
        matchConstraints: { resourceRules: [PIPELINE_RUN_RULE], matchPolicy: 'Equivalent' },
        mutations: [{
          patchType: 'ApplyConfiguration',
          applyConfiguration: { expression: `Object{spec: Object.spec{status: "${PIPELINE_RUN_PENDING}"}}` },
        }],
      },
    },
    {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: { name: HOLD_POLICY_NAME, labels },
      spec: {
        policyName: HOLD_POLICY_NAME,
        matchResources: { namespaceSelector: { matchLabels: { [LABEL_MANAGED_BY]: MANAGER } } },
      },
    },
  ];
}
