// The build queue's hold, as admission objects the API server enforces with no webhook of
// ours: a MutatingAdmissionPolicy that creates every PipelineRun of a build namespace held
// (`spec.status: PipelineRunPending`, which Tekton honours), so that only the operator
// starts builds, in the line's order. Rendered like any other object: data, diffed, applied.
import type { DesiredObject } from '../api/meta.js';
import { ANNOTATION_QUEUE, LABEL_MANAGED_BY, LABEL_TEKTON_PIPELINE, MANAGER, QUEUE_IN_LINE } from '../api/types.js';
import { DEFAULT_FENCE_EXEMPT_USERS, exemptCondition } from './fence.js';

export const HOLD_POLICY_NAME = 'build-namespace-operator-hold-pipelineruns';
/** The fallback where MutatingAdmissionPolicy is not served (before 1.36): refuse what is not created held. */
export const REQUIRE_HELD_POLICY_NAME = 'build-namespace-operator-require-held-pipelineruns';
export const PIPELINE_RUN_PENDING = 'PipelineRunPending';
const ADMISSION_API_VERSION = 'admissionregistration.k8s.io/v1';

/**
 * Both served versions: v1beta1 is converted by Tekton's webhook, but is matched in its own right
 * too. The scope as the API server defaults it, so the applied object equals the desired one at
 * rest (without it every start applied the hold again).
 */
const PIPELINE_RUN_RULE = { apiGroups: ['tekton.dev'], apiVersions: ['v1', 'v1beta1'], resources: ['pipelineruns'], operations: ['CREATE'], scope: '*' };

/**
 * The policy and its binding. Held on CREATE only: a run is created held whatever its
 * creator asked, and starting it later (clearing the field) is an UPDATE the build fence
 * allows to the operator alone. The run is also told it is in line, so that the queue need
 * not write to it until it nears the front (each write is a reconcile in Tekton's one shared
 * controller); and a start mark the creator forged is overwritten. It is given the label
 * naming its Pipeline that Tekton's first reconcile would add with an update of its own: a
 * flood of held runs then costs Tekton's client one write each (the Pending status), not two,
 * and everyone else's runs wait less behind it.
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
          applyConfiguration: {
            expression: `Object{metadata: Object.metadata{annotations: {"${ANNOTATION_QUEUE}": "${QUEUE_IN_LINE}"}}, spec: Object.spec{status: "${PIPELINE_RUN_PENDING}"}}`,
          },
        }, {
          patchType: 'ApplyConfiguration',
          applyConfiguration: {
            expression: `has(object.spec.pipelineRef) && has(object.spec.pipelineRef.name) `
              + `? Object{metadata: Object.metadata{labels: {"${LABEL_TEKTON_PIPELINE}": object.spec.pipelineRef.name}}} : Object{}`,
          },
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

/**
 * Where the API server does not serve MutatingAdmissionPolicy (Kubernetes 1.30 to 1.35), the
 * hold cannot be set for the client, so it is required of it: a ValidatingAdmissionPolicy
 * refuses every create in a build namespace that is not held, saying how to create it. The
 * build fence still refuses clearing the hold, so the queue alone starts builds either way.
 */
export function renderRequireHeldPolicy(exemptUsers: readonly string[] = DEFAULT_FENCE_EXEMPT_USERS): DesiredObject[] {
  const labels = { [LABEL_MANAGED_BY]: MANAGER };
  return [
    {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: REQUIRE_HELD_POLICY_NAME, labels },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [PIPELINE_RUN_RULE], matchPolicy: 'Equivalent' },
        matchConditions: [{ name: 'not-exempt', expression: exemptCondition(exemptUsers) }],
        validations: [{
          expression: `has(object.spec.status) && object.spec.status == '${PIPELINE_RUN_PENDING}'`,
          message: `spec.status must be ${PIPELINE_RUN_PENDING} on create: builds here start in turn, from the build queue; `
            + `create the PipelineRun held (spec.status: ${PIPELINE_RUN_PENDING}) and the operator starts it`,
          reason: 'Invalid',
        }],
      },
    },
    {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: REQUIRE_HELD_POLICY_NAME, labels },
      spec: {
        policyName: REQUIRE_HELD_POLICY_NAME,
        validationActions: ['Deny'],
        matchResources: { namespaceSelector: { matchLabels: { [LABEL_MANAGED_BY]: MANAGER } } },
      },
    },
  ];
}
