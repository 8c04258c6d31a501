// The build fence, layer 1: what a PipelineRun in a build namespace may hold, enforced by the
// API server itself. One cluster-scoped ValidatingAdmissionPolicy and binding for every build
// namespace; each namespace's own parameters are annotations of the namespace (read as
// namespaceObject), so a tool's override changes its namespace and no cluster object.
// Not a paramRef to a ConfigMap: the API server stops its informer for a built-in paramKind for
// good once no binding names it for a moment (kubernetes/kubernetes#130887), after which every
// run is refused or judged by stale parameters until the API server restarts; a deleted binding
// is enough. The namespace has no such informer of its own, and it carries its parameters from
// its first write, so there is no moment when a tool is let in and its fence is missing.
// Pure: data in, objects out; the CEL is compile-checked in test/unit/fence.test.ts.
import type { DesiredObject } from '../api/meta.js';
import { ANNOTATION_QUEUE, LABEL_MANAGED_BY, LABEL_TEKTON_PIPELINE, LABEL_TOOL, MANAGER, QUEUE_IN_LINE } from '../api/types.js';
import type { EffectivePolicy } from '../policy/effective.js';

export const FENCE_POLICY_NAME = 'build-namespace-operator-build-fence';
/** The build namespace's annotations that hold its fence's parameters (a policy may not set them). */
export const FENCE_ANNOTATION_PREFIX = 'fence.builds.toolforge.org/';
const ADMISSION_API_VERSION = 'admissionregistration.k8s.io/v1';

/** Who may write PipelineRuns unfenced, and why (README "Build fence"). */
export const DEFAULT_FENCE_EXEMPT_USERS: readonly string[] = [
  // Tekton's controller updates the runs it reconciles (labels, annotations, finalizers).
  'system:serviceaccount:tekton-pipelines:tekton-pipelines-controller',
  // The operator starts held runs (clears spec.status PipelineRunPending) for the build queue.
  'system:serviceaccount:build-namespace-operator:build-namespace-operator',
];

/** What Tekton lets a PipelineRun stop or hold with; anything else in spec.status is refused. */
export const ALLOWED_RUN_STATUSES = ['PipelineRunPending', 'Cancelled', 'CancelledRunFinally', 'StoppedRunFinally'] as const;
const ALLOWED_SPEC_KEYS = ['pipelineRef', 'params', 'taskRunTemplate', 'timeouts', 'status'] as const;
const GO_DURATION = '^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$';

const celList = (items: readonly string[]): string => `[${items.map((i) => `'${i}'`).join(', ')}]`;

/** The keys every build namespace's fence holds, besides one pattern and one type per param. */
const FENCE_KEYS = [
  'annotationPrefixes', 'labelPrefixes', 'maxPipelineTimeout', 'minPipelineTimeout', 'params', 'pipelines', 'requiredParams',
  'serviceAccountName',
] as const;
type FenceKey = (typeof FENCE_KEYS)[number];

/** The namespace annotations of a tool's fence, with {tool} substituted into every pattern. */
export function renderFenceAnnotations(effective: EffectivePolicy): Record<string, string> {
  const fence = effective.fence;
  const values: Record<FenceKey, string> = {
    annotationPrefixes: fence.annotationPrefixes.join(','),
    labelPrefixes: fence.labelPrefixes.join(','),
    maxPipelineTimeout: fence.maxPipelineTimeout,
    minPipelineTimeout: fence.minPipelineTimeout,
    params: fence.params.map((p) => p.name).join(','),
    pipelines: fence.pipelines.join(','),
    requiredParams: fence.params.filter((p) => p.required).map((p) => p.name).join(','),
    serviceAccountName: effective.serviceAccount.name,
  };
  const annotations: Record<string, string> = {};
  for (const key of FENCE_KEYS) annotations[FENCE_ANNOTATION_PREFIX + key] = values[key];
  // The tool name is [a-z0-9-]: nothing in it is special to RE2.
  for (const p of fence.params) {
    annotations[`${FENCE_ANNOTATION_PREFIX}pattern.${p.name}`] = (p.pattern ?? '').replaceAll('{tool}', effective.tool);
    annotations[`${FENCE_ANNOTATION_PREFIX}type.${p.name}`] = p.type;
  }
  return annotations;
}

export interface FenceValidation {
  expression: string;
  messageExpression: string;
  message: string;
  reason: 'Forbidden' | 'Invalid';
}

const S = 'object.spec';
const ANNOTATIONS = 'namespaceObject.metadata.annotations';
/** The CEL for one of the namespace's fence parameters. */
const fence = (key: FenceKey): string => `${ANNOTATIONS}['${FENCE_ANNOTATION_PREFIX}${key}']`;
/** The CEL for a param's pattern or type, the param's name being the CEL expression `name`. */
const paramFence = (what: 'pattern' | 'type', name: string): string => `${ANNOTATIONS}['${FENCE_ANNOTATION_PREFIX}${what}.' + ${name}]`;
/** A key of `map` that the allowed list lacks, for a message. */
const firstForeign = (map: string, allowed: string): string => `${map}.filter(k, !(k in ${allowed}))[0]`;
/** Whether key k of `map` is allowed: under an allowed prefix, or unchanged on UPDATE (set by Tekton's controller). */
const keyOk = (prefixes: string, map: string, oldMap: string): string =>
  `(${prefixes}.exists(p, p != '' && (p.endsWith('/') ? k.startsWith(p) : k == p)) || ` +
  `(request.operation == 'UPDATE' && has(${oldMap}) && k in ${oldMap} && ${oldMap}[k] == ${map}[k]))`;

/** An allowed label, or the build queue's hold naming the run's Pipeline as Tekton would (mutation precedes validation). */
const labelOk = `(${keyOk('variables.labelPrefixes', 'object.metadata.labels', 'oldObject.metadata.labels')} || `
  + `(request.operation == 'CREATE' && k == '${LABEL_TEKTON_PIPELINE}' && has(${S}.pipelineRef) && has(${S}.pipelineRef.name) && object.metadata.labels[k] == ${S}.pipelineRef.name))`;

/** An allowed annotation, or the build queue's hold telling a new run it is in line (mutation precedes validation). */
const annotationOk = `(${keyOk('variables.annotationPrefixes', 'object.metadata.annotations', 'oldObject.metadata.annotations')} || `
  + `(request.operation == 'CREATE' && k == '${ANNOTATION_QUEUE}' && object.metadata.annotations[k] == '${QUEUE_IN_LINE}'))`;

export const FENCE_VARIABLES: readonly { name: string; expression: string }[] = [
  { name: 'pipelines', expression: `${fence('pipelines')}.split(',')` },
  { name: 'paramNames', expression: `${fence('params')}.split(',')` },
  { name: 'requiredParams', expression: `${fence('requiredParams')}.split(',')` },
  { name: 'labelPrefixes', expression: `${fence('labelPrefixes')}.split(',')` },
  { name: 'annotationPrefixes', expression: `${fence('annotationPrefixes')}.split(',')` },
  { name: 'specKeys', expression: celList(ALLOWED_SPEC_KEYS) },
];

const paramOk = (p: string): string => {
  const pattern = paramFence('pattern', `${p}.name`);
  return `has(${p}.value) && (${paramFence('type', `${p}.name`)} == 'array' ` +
    `? type(${p}.value) == list && ${p}.value.all(v, type(v) == string && v.matches(${pattern})) ` +
    `: type(${p}.value) == string && ${p}.value.matches(${pattern}))`;
};

/** Each rule names the field it refuses and says what is allowed instead (kubectl shows it). */
export const FENCE_VALIDATIONS: readonly FenceValidation[] = [
  {
    expression: "request.resource.version == 'v1'",
    messageExpression: "'apiVersion tekton.dev/' + request.resource.version + ' is not accepted in a build namespace: use tekton.dev/v1'",
    message: 'only tekton.dev/v1 PipelineRuns are accepted in a build namespace', reason: 'Forbidden',
  },
  {
    // First, so that a namespace without its parameters is refused by a message, not only by
    // the errors of the rules below that read them.
    expression: `has(${ANNOTATIONS}) && ${celList(FENCE_KEYS.map((k) => FENCE_ANNOTATION_PREFIX + k))}.all(k, k in ${ANNOTATIONS})`,
    messageExpression: `'this namespace has no build fence parameters (its ${FENCE_ANNOTATION_PREFIX}* annotations): the operator writes them with the namespace; until it does, every build is refused'`,
    message: 'this namespace has no build fence parameters', reason: 'Forbidden',
  },
  {
    expression: `has(${S}) && ${S}.all(k, k in variables.specKeys)`,
    messageExpression: `!has(${S}) ? 'spec is required' : 'spec.' + ${firstForeign(S, 'variables.specKeys')} + ' is not allowed in a build namespace: a PipelineRun may set only pipelineRef.name, params, taskRunTemplate.serviceAccountName, timeouts.pipeline and status'`,
    message: 'only pipelineRef, params, taskRunTemplate, timeouts and status are allowed in spec', reason: 'Forbidden',
  },
  {
    expression: `!has(${S}.pipelineRef) || ${S}.pipelineRef.all(k, k == 'name')`,
    messageExpression: `'spec.pipelineRef.' + ${firstForeign(`${S}.pipelineRef`, "['name']")} + ' is not allowed: reference an admin Pipeline by name only (no resolver, bundle or params)'`,
    message: 'spec.pipelineRef may hold only a name', reason: 'Forbidden',
  },
  {
    expression: `has(${S}.pipelineRef) && has(${S}.pipelineRef.name) && ${S}.pipelineRef.name in variables.pipelines`,
    messageExpression: `(has(${S}.pipelineRef) && has(${S}.pipelineRef.name) ? 'spec.pipelineRef.name ' + string(${S}.pipelineRef.name) + ' is not allowed' : 'spec.pipelineRef.name is required') + ': the Pipelines allowed here are ' + ${fence('pipelines')}.replace(',', ', ')`,
    message: 'spec.pipelineRef.name must name an allowed Pipeline', reason: 'Forbidden',
  },
  {
    expression: `!has(${S}.params) || ${S}.params.all(p, p.all(k, k in ['name', 'value']) && has(p.name) && p.name in variables.paramNames)`,
    messageExpression: `'spec.params: ' + ${S}.params.filter(p, !(p.all(k, k in ['name', 'value']) && has(p.name) && p.name in variables.paramNames)).map(p, has(p.name) ? string(p.name) : '(unnamed)')[0] + ' is not an allowed param (each is name and value only; allowed: ' + ${fence('params')}.replace(',', ', ') + ')'`,
    message: 'spec.params may hold only the allowed params', reason: 'Forbidden',
  },
  {
    expression: `!has(${S}.params) || ${S}.params.all(p, !has(p.name) || !(p.name in variables.paramNames) || ${paramOk('p')})`,
    messageExpression: `${S}.params.filter(p, has(p.name) && p.name in variables.paramNames && !(${paramOk('p')})).map(p, 'spec.params[' + p.name + '] must be ' + (${paramFence('type', 'p.name')} == 'array' ? 'an array of strings each' : 'a string') + ' matching ' + ${paramFence('pattern', 'p.name')})[0]`,
    message: 'a param value does not match its pattern', reason: 'Invalid',
  },
  {
    expression: `variables.requiredParams.all(r, r == '' || (has(${S}.params) && ${S}.params.exists(p, has(p.name) && p.name == r)))`,
    messageExpression: `'spec.params[' + variables.requiredParams.filter(r, r != '' && !(has(${S}.params) && ${S}.params.exists(p, has(p.name) && p.name == r)))[0] + '] is required'`,
    message: 'a required param is missing', reason: 'Invalid',
  },
  {
    expression: `!has(${S}.taskRunTemplate) || ${S}.taskRunTemplate.all(k, k == 'serviceAccountName')`,
    messageExpression: `'spec.taskRunTemplate.' + ${firstForeign(`${S}.taskRunTemplate`, "['serviceAccountName']")} + ' is not allowed: the admin Pipeline decides what its pods run with'`,
    message: 'spec.taskRunTemplate may hold only serviceAccountName', reason: 'Forbidden',
  },
  {
    expression: `!has(${S}.taskRunTemplate) || !has(${S}.taskRunTemplate.serviceAccountName) || ${S}.taskRunTemplate.serviceAccountName == ${fence('serviceAccountName')}`,
    messageExpression: `'spec.taskRunTemplate.serviceAccountName must be ' + ${fence('serviceAccountName')} + ' (or unset), not ' + string(${S}.taskRunTemplate.serviceAccountName)`,
    message: 'spec.taskRunTemplate.serviceAccountName must be the build ServiceAccount', reason: 'Forbidden',
  },
  {
    expression: `!has(${S}.timeouts) || ${S}.timeouts.all(k, k == 'pipeline')`,
    messageExpression: `'spec.timeouts.' + ${firstForeign(`${S}.timeouts`, "['pipeline']")} + ' is not allowed: set timeouts.pipeline only'`,
    message: 'spec.timeouts may hold only pipeline', reason: 'Forbidden',
  },
  {
    expression: `!has(${S}.timeouts) || !has(${S}.timeouts.pipeline) || (type(${S}.timeouts.pipeline) == string && ${S}.timeouts.pipeline.matches('${GO_DURATION}') && duration(${S}.timeouts.pipeline) >= duration(${fence('minPipelineTimeout')}) && duration(${S}.timeouts.pipeline) <= duration(${fence('maxPipelineTimeout')}))`,
    messageExpression: `'spec.timeouts.pipeline ' + string(${S}.timeouts.pipeline) + ' is not allowed: it must be from ' + ${fence('minPipelineTimeout')} + ' to ' + ${fence('maxPipelineTimeout')} + ' (never 0)'`,
    message: 'spec.timeouts.pipeline is out of bounds', reason: 'Invalid',
  },
  {
    expression: `!has(${S}.status) || ${S}.status in ${celList(ALLOWED_RUN_STATUSES)}`,
    messageExpression: `'spec.status ' + string(${S}.status) + ' is not allowed: only ' + ${celList(ALLOWED_RUN_STATUSES)}.join(', ')`,
    message: 'spec.status may only hold, cancel or stop a run', reason: 'Forbidden',
  },
  {
    expression: `request.operation != 'UPDATE' || !has(oldObject.spec.status) || oldObject.spec.status != 'PipelineRunPending' || (has(${S}.status) && ${S}.status != '')`,
    messageExpression: "'spec.status: only the build queue starts a held build; a tool may cancel it (Cancelled) but not clear PipelineRunPending'",
    message: 'spec.status PipelineRunPending may not be cleared by a tool', reason: 'Forbidden',
  },
  {
    expression: `!has(object.metadata.labels) || object.metadata.labels.all(k, ${labelOk})`,
    messageExpression: `'metadata.labels[' + object.metadata.labels.filter(k, !${labelOk})[0] + '] is not allowed (Tekton copies labels to the build pods): allowed keys are ' + ${fence('labelPrefixes')}.replace(',', ', ')`,
    message: 'a label is not allowed', reason: 'Forbidden',
  },
  {
    expression: `!has(object.metadata.annotations) || object.metadata.annotations.all(k, ${annotationOk})`,
    messageExpression: `'metadata.annotations[' + object.metadata.annotations.filter(k, !${annotationOk})[0] + '] is not allowed (Tekton copies annotations to the build pods): allowed keys are ' + ${fence('annotationPrefixes')}.replace(',', ', ')`,
    message: 'an annotation is not allowed', reason: 'Forbidden',
  },
];

/**
 * The match condition that lets the named identities through unfenced, and cluster admins
 * (group system:masters): they may create any pod directly, so a fence on them guards nothing.
 */
export function exemptCondition(exemptUsers: readonly string[]): string {
  return `!(request.userInfo.username in ${celList(exemptUsers)}) && !('system:masters' in request.userInfo.groups)`;
}

/** The cluster-scoped policy and binding: the same for every build namespace. */
export function renderFencePolicy(exemptUsers: readonly string[] = DEFAULT_FENCE_EXEMPT_USERS): DesiredObject[] {
  const labels = { [LABEL_MANAGED_BY]: MANAGER };
  return [
    {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: FENCE_POLICY_NAME, labels },
      spec: {
        failurePolicy: 'Fail',
        // Every served version, each as itself: a v1beta1 request is not converted to v1 to be
        // judged by v1 field names, it is refused for its version.
        matchConstraints: {
          matchPolicy: 'Equivalent',
          // scope as the API server defaults it, so the applied object equals the desired one at rest.
          resourceRules: [{ apiGroups: ['tekton.dev'], apiVersions: ['*'], resources: ['pipelineruns'], operations: ['CREATE', 'UPDATE'], scope: '*' }],
        },
        matchConditions: [{ name: 'not-exempt', expression: exemptCondition(exemptUsers) }],
        variables: FENCE_VARIABLES.map((v) => ({ ...v })),
        validations: FENCE_VALIDATIONS.map((v) => ({ ...v })),
      },
    },
    {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: FENCE_POLICY_NAME, labels },
      spec: {
        policyName: FENCE_POLICY_NAME,
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: {
            matchLabels: { [LABEL_MANAGED_BY]: MANAGER },
            matchExpressions: [{ key: LABEL_TOOL, operator: 'Exists' }],
          },
        },
      },
    },
  ];
}
