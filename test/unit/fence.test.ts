// The build fence as text: every CEL expression of the rendered policy compiles in the
// admission variables, and evaluated offline it accepts the builds-api-shaped run and refuses
// the attacks by the field they use. The real API server judges the same objects in
// test/integration/build-fence.test.ts.
import { compileAdmissionCel, type AdmissionActivation } from '../../src/api/cel.js';
import { effectivePolicy } from '../../src/policy/effective.js';
import { FENCE_ANNOTATION_PREFIX, FENCE_POLICY_NAME, renderFenceAnnotations, renderFencePolicy } from '../../src/render/fence.js';
import { bqp, toolNs } from './fixtures/policy.js';

const replicate = [{ apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: 'image-build-admin', name: 'buildpacks' }];
const effective = (...specs: Parameters<typeof bqp>[1][]) => {
  const e = effectivePolicy('cdnjs', toolNs('cdnjs'), specs.map((s, i) => bqp(`p${i}`, { priority: specs.length - i, ...s })));
  if (!e) throw new Error('no policy matched');
  return e;
};

/** A tool's fence annotations without their common prefix, for reading. */
const fenceOf = (e: Parameters<typeof renderFenceAnnotations>[0]) => Object.fromEntries(
  Object.entries(renderFenceAnnotations(e)).map(([k, v]) => [k.startsWith(FENCE_ANNOTATION_PREFIX) ? k.slice(FENCE_ANNOTATION_PREFIX.length) : `(foreign) ${k}`, v]),
);
type Spec = { expression: string; messageExpression?: string; name?: string };
const [policy, binding] = renderFencePolicy();
const spec = policy?.spec as { variables: Spec[]; validations: Spec[]; matchConditions: Spec[] };

function judge(object: unknown, annotations: Record<string, string> | undefined, operation = 'CREATE', oldObject?: unknown, version = 'v1'): string[] {
  const base: AdmissionActivation = {
    object, oldObject,
    request: { operation, resource: { group: 'tekton.dev', version, resource: 'pipelineruns' }, userInfo: { username: 'cdnjs' } },
    namespaceObject: { metadata: { name: 'image-build-cdnjs', labels: { 'builds.toolforge.org/tool': 'cdnjs' }, ...(annotations ? { annotations } : {}) } },
  };
  const variables: Record<string, unknown> = {};
  for (const v of spec.variables) {
    const program = compileAdmissionCel(v.expression);
    if (!program.ok) throw new Error(program.error);
    // The API server evaluates a variable when a rule reads it: one that fails is an error of
    // each rule that reads it, not of the request.
    const value = program.value({ ...base, variables });
    if (value.ok) variables[v.name ?? ''] = value.value;
  }
  const refusals: string[] = [];
  for (const v of spec.validations) {
    const program = compileAdmissionCel(v.expression);
    if (!program.ok) throw new Error(program.error);
    const result = program.value({ ...base, variables });
    if (result.ok && result.value === true) continue;
    const message = compileAdmissionCel(v.messageExpression ?? "'?'");
    const text = message.ok ? message.value({ ...base, variables }) : message;
    refusals.push(text.ok ? String(text.value) : `error: ${result.ok ? text.error : result.error}`);
  }
  return refusals;
}

const legit = (extra: Record<string, unknown> = {}, labels: Record<string, string> = { user: 'cdnjs' }) => ({
  apiVersion: 'tekton.dev/v1', kind: 'PipelineRun',
  metadata: { generateName: 'cdnjs-buildpacks-pipelinerun-', labels },
  spec: {
    pipelineRef: { name: 'buildpacks' },
    params: [
      { name: 'APP_IMAGE', value: 'tools-harbor.wmcloud.org/tool-cdnjs/tool-cdnjs:latest' },
      { name: 'SOURCE_URL', value: 'https://gitlab.wikimedia.org/toolforge-repos/cdnjs' },
      { name: 'SOURCE_REFERENCE', value: 'main' },
      { name: 'ENV_VARS', value: ['FOO=bar'] },
    ],
    ...extra,
  },
});

describe('renderFencePolicy', () => {
  it('binds the build namespaces with no paramKind: the parameters are the namespace\'s own annotations', () => {
    expect(binding?.spec).toMatchObject({ policyName: FENCE_POLICY_NAME, validationActions: ['Deny'] });
    expect(binding?.spec).not.toHaveProperty('paramRef');
    expect(policy?.spec).not.toHaveProperty('paramKind');
  });

  it('compiles every expression in the admission variables', () => {
    const all = [...spec.variables, ...spec.validations, ...spec.matchConditions].flatMap((v) => [v.expression, v.messageExpression ?? "''"]);
    const failures = all.map((e) => [e, compileAdmissionCel(e)] as const).filter(([, r]) => !r.ok).map(([e, r]) => `${e}: ${r.ok ? '' : r.error}`);
    expect(failures).toEqual([]);
  });

  it('exempts the named identities and cluster admins only', () => {
    const cond = compileAdmissionCel(spec.matchConditions[0]?.expression ?? '');
    if (!cond.ok) throw new Error(cond.error);
    const as = (username: string, groups = ['system:authenticated']) => cond.value({ request: { userInfo: { username, groups } } });
    expect(as('system:serviceaccount:tekton-pipelines:tekton-pipelines-controller')).toEqual({ ok: true, value: false });
    expect(as('admin', ['system:masters', 'system:authenticated'])).toEqual({ ok: true, value: false });
    expect(as('cdnjs', ['toolforge', 'system:authenticated'])).toEqual({ ok: true, value: true });
  });
});

describe('renderFenceAnnotations', () => {
  it('defaults to the strict Toolforge allowlist for the replicated Pipelines, {tool} substituted', () => {
    const fence = fenceOf(effective({ replicate }));
    expect(fence).toMatchObject({
      pipelines: 'buildpacks', serviceAccountName: 'buildpacks-service-account',
      params: 'APP_IMAGE,BUILDER_IMAGE,ENV_VARS,SOURCE_REFERENCE,SOURCE_URL', requiredParams: 'APP_IMAGE,SOURCE_URL',
      labelPrefixes: 'user', minPipelineTimeout: '1m', maxPipelineTimeout: '1h', 'type.ENV_VARS': 'array',
    });
    expect(fence['pattern.APP_IMAGE']).toContain('/tool-cdnjs/');
  });

  it('allows no Pipeline when none is replicated', () => {
    expect(fenceOf(effective({})).pipelines).toBe('');
  });

  it('takes a per-tool override of one param, keeping the rest and the retention counts', () => {
    const e = effective(
      { tools: ['cdnjs'], builds: { fence: { params: [{ name: 'APP_IMAGE', pattern: '^registry.example.org/{tool}/.+$', required: true }] } } },
      { replicate, builds: { keepSuccessful: 7, fence: { params: [{ name: 'APP_IMAGE', pattern: '^x$' }, { name: 'SOURCE_URL', required: true }] } } },
    );
    expect(e.builds.keepSuccessful).toBe(7);
    expect(fenceOf(e)).toMatchObject({
      params: 'APP_IMAGE,BUILDER_IMAGE,ENV_VARS,SOURCE_REFERENCE,SOURCE_URL', 'pattern.APP_IMAGE': '^registry.example.org/cdnjs/.+$', 'pattern.SOURCE_URL': '',
    });
  });
});

describe('the fence evaluated offline', () => {
  const params = renderFenceAnnotations(effective({ replicate }));

  it('accepts the builds-api-shaped run, and one without the optional params', () => {
    expect(judge(legit(), params)).toEqual([]);
    expect(judge(legit({ params: legit().spec.params.slice(0, 2), timeouts: { pipeline: '30m' }, taskRunTemplate: { serviceAccountName: 'buildpacks-service-account' } }), params)).toEqual([]);
  });

  it('refuses every run in a namespace without its parameters, saying so first', () => {
    for (const annotations of [undefined, { 'builds.toolforge.org/policies': 'default' }]) {
      expect(judge(legit(), annotations)[0]).toContain('this namespace has no build fence parameters');
    }
  });

  it('keeps every annotation key valid for the longest param name the policy allows', () => {
    const longest = 'P'.repeat(55);
    const keys = Object.keys(renderFenceAnnotations(effective({ replicate, builds: { fence: { params: [{ name: longest }] } } })));
    expect(keys.filter((k) => !/^[a-z0-9.-]+\/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(k))).toEqual([]);
  });

  it.each([
    ['inline pipelineSpec', legit({ pipelineSpec: { tasks: [] } }), 'spec.pipelineSpec'],
    ['a resolver', { ...legit(), spec: { ...legit().spec, pipelineRef: { resolver: 'git', params: [] } } }, 'spec.pipelineRef.'],
    ['another Pipeline', { ...legit(), spec: { ...legit().spec, pipelineRef: { name: 'other' } } }, 'spec.pipelineRef.name other'],
    ['a podTemplate', legit({ taskRunTemplate: { podTemplate: { securityContext: { runAsUser: 0 } } } }), 'spec.taskRunTemplate.podTemplate'],
    ['another ServiceAccount', legit({ taskRunTemplate: { serviceAccountName: 'default' } }), 'spec.taskRunTemplate.serviceAccountName'],
    ['taskRunSpecs', legit({ taskRunSpecs: [{ pipelineTaskName: 'build' }] }), 'spec.taskRunSpecs'],
    ['workspaces', legit({ workspaces: [{ name: 'x', secret: { secretName: 'harbor-push' } }] }), 'spec.workspaces'],
    ['a 0s timeout', legit({ timeouts: { pipeline: '0s' } }), 'spec.timeouts.pipeline 0s'],
    ['another tool\'s image', { ...legit(), spec: { ...legit().spec, params: [{ name: 'APP_IMAGE', value: 'tools-harbor.wmcloud.org/tool-other/x:latest' }, { name: 'SOURCE_URL', value: 'https://example.org/x' }] } }, 'spec.params[APP_IMAGE]'],
    ['an unknown param', { ...legit(), spec: { ...legit().spec, params: [...legit().spec.params, { name: 'EVIL', value: 'x' }] } }, 'spec.params: EVIL'],
    ['a foreign label', legit({}, { user: 'cdnjs', app: 'registry' }), 'metadata.labels[app]'],
  ])('refuses %s, naming the field', (_name, object, field) => {
    const refusals = judge(object, params);
    expect(refusals.some((r) => r.includes(field))).toBe(true);
  });

  it('refuses v1beta1 for its version', () => {
    expect(judge({ ...legit(), apiVersion: 'tekton.dev/v1beta1' }, params, 'CREATE', undefined, 'v1beta1')).toEqual([expect.stringContaining('tekton.dev/v1beta1 is not accepted')]);
  });

  it('refuses a tool clearing its own pending status, and allows it to cancel', () => {
    const held = legit({ status: 'PipelineRunPending' });
    expect(judge(legit(), params, 'UPDATE', held)).toEqual([expect.stringContaining('only the build queue starts a held build')]);
    expect(judge(legit({ status: 'Cancelled' }), params, 'UPDATE', held)).toEqual([]);
  });

  it('allows on UPDATE the labels already there (Tekton\'s own), but not new ones', () => {
    const stored = legit({}, { user: 'cdnjs', 'tekton.dev/pipeline': 'other' });
    expect(judge(stored, params, 'UPDATE', stored)).toEqual([]);
    expect(judge(stored, params, 'CREATE')).toEqual([expect.stringContaining('metadata.labels[tekton.dev/pipeline]')]);
  });

  it('allows on CREATE the label naming the run\'s own Pipeline, as the hold sets it and Tekton would', () => {
    expect(judge(legit({}, { user: 'cdnjs', 'tekton.dev/pipeline': 'buildpacks' }), params, 'CREATE')).toEqual([]);
    expect(judge(legit({}, { user: 'cdnjs', 'tekton.dev/pipeline': 'buildpacks2' }), params, 'CREATE'))
      .toEqual([expect.stringContaining('metadata.labels[tekton.dev/pipeline]')]);
  });
});
