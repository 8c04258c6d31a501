// The CRD is the single source of the BuildQuotaPolicy API: the generated files are what it
// gives today, every CEL rule in it compiles offline, the hand-written names and defaults agree
// with it, and a field added to the CRD alone is typed and validated with no other edit.
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { CRD_PATH, crdSchema, generateAll, generateTypes } from '../../scripts/api-types.js';
import { compileCel } from '../../src/api/cel.js';
import { DEFAULT_DELETION_POLICY } from '../../src/api/defaults.js';
import { BUILD_QUOTA_POLICY_SCHEMA } from '../../src/api/generated/buildquotapolicy-schema.js';
import { schemaAt, type JSONSchemaProps } from '../../src/api/openapi.js';
import {
  API_VERSION,
  CRD_NAME,
  GROUP,
  KIND,
  LIST_KIND,
  PLURAL,
  SHORT_NAME,
  SINGULAR,
  VERSION,
  type BuildQuotaPolicySpec,
} from '../../src/api/types.js';
import { applySchemaDefaults, validateAgainstSchema, validatePolicySpec } from '../../src/api/validate.js';
import { effectivePolicy } from '../../src/policy/effective.js';
import { policiesForTool } from '../../src/policy/select.js';
import { bqp, toolNs } from './fixtures/policy.js';

const repoFile = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const crdYaml = repoFile(CRD_PATH);
const crd = yaml.load(crdYaml) as { metadata: { name: string }; spec: Record<string, unknown> & { versions: Array<Record<string, unknown>> } };
const specSchema = schemaAt(BUILD_QUOTA_POLICY_SCHEMA, 'spec');

function allRules(node: JSONSchemaProps): string[] {
  const own = (node['x-kubernetes-validations'] ?? []).flatMap((r) => [r.rule, ...(r.messageExpression ? [r.messageExpression] : [])]);
  const subs = [
    ...Object.values(node.properties ?? {}),
    ...(node.items ? [node.items] : []),
    ...(typeof node.additionalProperties === 'object' ? [node.additionalProperties] : []),
  ];
  return [...own, ...subs.flatMap(allRules)];
}

describe('src/api/generated', () => {
  it('is what the CRD gives: run `npm run generate` after changing the CRD', async () => {
    const files = await generateAll(crdYaml);
    expect(Object.keys(files).length).toBeGreaterThan(0);
    for (const [path, content] of Object.entries(files)) expect({ path, content: repoFile(path) }).toEqual({ path, content });
  }, 30_000);
});

describe('the CRD', () => {
  it('names the API the code uses', () => {
    expect(crd.metadata.name).toBe(CRD_NAME);
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names).toEqual({ kind: KIND, listKind: LIST_KIND, plural: PLURAL, singular: SINGULAR, shortNames: [SHORT_NAME] });
    expect(`${GROUP}/${VERSION}`).toBe(API_VERSION);
    expect(crd.spec.versions[0]).toMatchObject({ name: VERSION, served: true, storage: true, subresources: { status: {} } });
  });

  it('keeps unknown fields out: preserve-unknown-fields nowhere', () => {
    expect(JSON.stringify(BUILD_QUOTA_POLICY_SCHEMA)).not.toContain('x-kubernetes-preserve-unknown-fields');
  });

  it('gives every CEL rule a message', () => {
    const missing: string[] = [];
    const visit = (node: JSONSchemaProps): void => {
      for (const r of node['x-kubernetes-validations'] ?? []) if (!r.message && !r.messageExpression) missing.push(r.rule);
      [...Object.values(node.properties ?? {}), ...(node.items ? [node.items] : []),
        ...(typeof node.additionalProperties === 'object' ? [node.additionalProperties] : [])].forEach(visit);
    };
    visit(BUILD_QUOTA_POLICY_SCHEMA);
    expect(missing).toEqual([]);
  });

  it('uses only CEL functions the offline validator knows', () => {
    const rules = [...new Set(allRules(BUILD_QUOTA_POLICY_SCHEMA))];
    expect(rules.length).toBeGreaterThan(20);
    const broken = rules.flatMap((r) => {
      const compiled = compileCel(r);
      return compiled.ok ? [] : [`${r}: ${compiled.error}`];
    });
    expect(broken).toEqual([]);
  });
});

describe('the Kubernetes CEL libraries', () => {
  const run = (expression: string, self: unknown = null): unknown => {
    const compiled = compileCel(expression);
    if (!compiled.ok) throw new Error(compiled.error);
    const result = compiled.value(self);
    if (!result.ok) throw new Error(result.error);
    return result.value;
  };

  it.each([
    ["quantity('2').compareTo(quantity('2000m')) == 0", true],
    ["quantity('1Gi').isGreaterThan(quantity('1G'))", true],
    ["quantity('500m').add(quantity('1.5')) == quantity('2')", true],
    ["quantity('2').sub(3).sign() == -1", true],
    ["quantity('1k').isInteger() && quantity('1k').asInteger() == 1000", true],
    ["quantity('1.5').isInteger()", false],
    ["isQuantity('1K')", false],
    ["cidr('10.0.0.0/8').containsIP('10.1.2.3') && !cidr('10.0.0.0/8').containsIP('11.0.0.1')", true],
    ["cidr('10.1.2.3/8').masked() == cidr('10.0.0.0/8')", true],
    ["cidr('fd00::/8').containsCIDR('fd00:1::/32') && cidr('fd00::/8').prefixLength() == 8", true],
    ["isIP('::ffff:1.2.3.4')", false],
    ["ip('fd00::1').family() == 6", true],
    ["format.dns1123Label().validate('Not-A-Label').hasValue()", true],
    ["format.named('dns1035Label').value().validate('0abc').hasValue()", true],
    ["format.named('nonsense').hasValue()", false],
    ["format.dns1123SubdomainPrefix().validate('build-').hasValue()", false],
    ["'a-{tool}-{tool}'.replace('{tool}', 'x') == 'a-x-x'", true],
    ["'a-{tool}-{tool}'.replace('{tool}', 'x', 1) == 'a-x-{tool}'", true],
  ])('%s is %s', (expression, want) => {
    expect(run(expression)).toBe(want);
  });
});

describe('CEL rule reporting follows the API server', () => {
  const node = (rule: Partial<NonNullable<JSONSchemaProps['x-kubernetes-validations']>[number]>): JSONSchemaProps => ({
    type: 'object',
    properties: { name: { type: 'string' }, labels: { type: 'object', additionalProperties: { type: 'string' } } },
    'x-kubernetes-validations': [{ rule: "self.name.startsWith('x')", ...rule }],
  });
  const bad = { name: 'y', labels: { 'a.b': 'c' } };

  it.each([
    { name: 'message', rule: { message: 'name must start with x' }, want: { field: 'p', message: 'name must start with x' } },
    { name: 'no message', rule: {}, want: { field: 'p', message: "failed rule: self.name.startsWith('x')" } },
    {
      name: 'messageExpression',
      rule: { message: 'fallback', messageExpression: "'name ' + self.name + ' must start with x'" },
      want: { field: 'p', message: 'name y must start with x' },
    },
    { name: 'an empty messageExpression falls back to message', rule: { message: 'fallback', messageExpression: "''" }, want: { field: 'p', message: 'fallback' } },
    { name: 'fieldPath', rule: { message: 'm', fieldPath: ".labels['a.b']" }, want: { field: 'p.labels[a.b]', message: 'm' } },
    { name: 'reason', rule: { message: 'm', reason: 'FieldValueForbidden' as const }, want: { field: 'p', message: 'm', reason: 'FieldValueForbidden' } },
    { name: 'a transition rule is skipped on create', rule: { rule: 'self == oldSelf', message: 'immutable' }, want: undefined },
  ])('$name', ({ rule, want }) => {
    expect(validateAgainstSchema(node(rule), bad, 'p')).toEqual(want === undefined ? [] : [want]);
  });
});

describe('a field added to the CRD alone', () => {
  // An in-memory copy of the schema with spec.namespace.example, a string with its own rule.
  const extended = structuredClone(BUILD_QUOTA_POLICY_SCHEMA);
  const namespace = schemaAt(extended, 'spec.namespace');
  namespace.properties = {
    ...namespace.properties,
    example: {
      type: 'string',
      maxLength: 10,
      description: 'An example field.',
      'x-kubernetes-validations': [{ rule: "self.startsWith('x')", message: 'example must start with x' }],
    },
  };

  it('is typed in the generated types', async () => {
    const ts = await generateTypes(extended);
    const section = /export interface NamespaceSection \{[\s\S]*?\n\}/.exec(ts)?.[0];
    expect(section).toContain('example?: string;');
    expect(section).toContain('An example field.');
  });

  it('is validated by its rule offline', () => {
    expect(validatePolicySpec({ namespace: { example: 'xyz' } }, 'spec', extended)).toEqual([]);
    expect(validatePolicySpec({ namespace: { example: 'abc' } }, 'spec', extended)).toEqual([
      { field: 'spec.namespace.example', message: 'example must start with x' },
    ]);
    // ... and by its structural limits, as the real schema would.
    expect(validatePolicySpec({ namespace: { example: 'x'.repeat(11) } }, 'spec', extended).map((i) => i.field)).toEqual([
      'spec.namespace.example',
      'spec',
    ]);
    // The real CRD does not have it.
    expect(validatePolicySpec({ namespace: { example: 'xyz' } }).map((i) => i.field)).toEqual(['spec.namespace.example']);
  });

  it('needs nothing but the CRD to be read by the generator', () => {
    expect(crdSchema(crdYaml)).toEqual(BUILD_QUOTA_POLICY_SCHEMA);
  });
});

describe('the CRD defaults agree with the defaults the policy module fills in', () => {
  const defaulted = (spec: BuildQuotaPolicySpec): BuildQuotaPolicySpec =>
    applySchemaDefaults(specSchema, structuredClone(spec)) as BuildQuotaPolicySpec;

  it.each<{ name: string; spec: BuildQuotaPolicySpec }>([
    { name: 'an empty spec', spec: {} },
    {
      name: 'every defaulted section present but empty',
      spec: {
        namespace: {},
        serviceAccount: {},
        access: {},
        replicate: [{ kind: 'Secret', namespace: 'image-build-admin', name: 'harbor-push' }],
      },
    },
    { name: 'a section with some fields set', spec: { namespace: { podSecurity: 'restricted' }, access: { extraSubjects: [] } } },
  ])('$name', ({ spec }) => {
    expect(defaulted(spec)).not.toEqual(spec); // the CRD did fill something in
    const ns = toolNs('a');
    expect(effectivePolicy('a', ns, [bqp('p', defaulted(spec))])).toEqual(effectivePolicy('a', ns, [bqp('p', spec)]));
  });

  it('selects the same namespaces with the defaulted toolSelector', () => {
    for (const ns of [toolNs('a'), { name: 'tool-b', labels: { tenancy: 'other' } }, { name: 'kube-system' }]) {
      expect(policiesForTool(ns, [bqp('p', defaulted({}))]).length).toBe(policiesForTool(ns, [bqp('p', {})]).length);
    }
  });

  it('orders by the defaulted priority as by the unset one', () => {
    const policies = [bqp('b', {}), bqp('a', { priority: -1 }), bqp('c', { priority: 1 })];
    const withDefaults = policies.map((p) => bqp(p.metadata.name, defaulted(p.spec)));
    const names = (ps: typeof policies) => policiesForTool({ name: 'x', labels: { tenancy: 'tool' } }, ps).map((p) => p.metadata.name);
    expect(names(withDefaults)).toEqual(names(policies));
  });

  it('leaves deletionPolicy to the policy module, so that an override does not reset it', () => {
    expect(schemaAt(BUILD_QUOTA_POLICY_SCHEMA, 'spec.deletionPolicy').default).toBeUndefined();
    expect(effectivePolicy('a', toolNs('a'), [bqp('p')])?.deletionPolicy).toBe(DEFAULT_DELETION_POLICY);
  });
});
