// validatePolicy against the table of what the real API server accepts and refuses
// (fixtures/policy-validation-cases.yaml, checked against kube-apiserver v1.36 with our CRD).
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { RULES_NOT_CHECKED, validatePolicy, validatePolicySpec } from '../../src/api/validate.js';
import { BUILD_QUOTA_POLICY_SCHEMA } from '../../src/api/generated/buildquotapolicy-schema.js';
import { schemaAt } from '../../src/api/openapi.js';

interface Case {
  name: string;
  spec: unknown;
  refused: string[];
}

const cases = yaml.load(
  readFileSync(new URL('./fixtures/policy-validation-cases.yaml', import.meta.url), 'utf8'),
) as Case[];

// The message of the CRD rule at a field path, so that these tests follow the CRD's wording.
function crdMessage(path: string, rule = 0): string {
  const message = schemaAt(BUILD_QUOTA_POLICY_SCHEMA, path)['x-kubernetes-validations']?.[rule]?.message;
  if (message === undefined) throw new Error(`no CEL rule ${rule} with a message at ${path}`);
  return message;
}

const policy = (spec: unknown, name = 'default'): unknown => ({
  apiVersion: 'builds.toolforge.org/v1alpha1',
  kind: 'BuildQuotaPolicy',
  metadata: { name },
  spec,
});

describe('validatePolicy refuses what the API server refuses', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const issues = validatePolicy(policy(c.spec)).filter((i) => i.message !== RULES_NOT_CHECKED);
    expect([...new Set(issues.map((i) => i.field))].sort()).toEqual([...c.refused].sort());
  });
});

describe('validatePolicy messages', () => {
  it.each([
    {
      name: 'a CEL rule failure carries the CRD message',
      spec: { tools: ['Foo'] },
      want: [{ field: 'spec.tools[0]', message: crdMessage('spec.tools[]') }],
    },
    {
      name: 'a quantity is reported at its map key',
      spec: { resourceQuota: { hard: { 'requests.cpu': 'two' } } },
      want: [{ field: 'spec.resourceQuota.hard[requests.cpu]', message: crdMessage('spec.resourceQuota.hard{}') }],
    },
    {
      name: 'a blocking error says the rules were not checked',
      spec: { deletionPolicy: 'Keep', tools: ['Foo'] },
      want: [
        { field: 'spec.deletionPolicy', message: 'Unsupported value: "Keep": supported values: "Delete", "Retain"' },
        { field: 'spec', message: RULES_NOT_CHECKED },
      ],
    },
    {
      name: 'an unknown field is named',
      spec: { namespace: { nameTemplates: 'x' } },
      want: [{ field: 'spec.namespace.nameTemplates', message: 'unknown field "spec.namespace.nameTemplates"' }],
    },
  ])('$name', ({ spec, want }) => {
    expect(validatePolicySpec(spec)).toEqual(want);
  });
});

describe('validatePolicy checks the object around the spec', () => {
  it.each([
    { name: 'a valid object', obj: policy({}), want: [] },
    { name: 'not an object', obj: 'nope', want: [''] },
    { name: 'missing spec', obj: { ...(policy({}) as object), spec: undefined }, want: ['spec'] },
    { name: 'wrong apiVersion', obj: { ...(policy({}) as object), apiVersion: 'v1' }, want: ['apiVersion'] },
    { name: 'wrong kind', obj: { ...(policy({}) as object), kind: 'Policy' }, want: ['kind'] },
    { name: 'missing name', obj: { ...(policy({}) as object), metadata: {} }, want: ['metadata.name'] },
    { name: 'name not a DNS subdomain', obj: policy({}, 'Default'), want: ['metadata.name'] },
    { name: 'unknown top-level field', obj: { ...(policy({}) as object), specs: {} }, want: ['specs'] },
  ])('$name', ({ obj, want }) => {
    expect(validatePolicy(obj).map((i) => i.field)).toEqual(want);
  });
});
