// Keeps crds/buildquotapolicies.builds.toolforge.org.yaml, the TypeScript types, the mirrored
// schema in src/api/schema.ts and the defaults the policy module fills in, in step: a field,
// limit, rule or default changed in one place and not the others fails here.
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import {
  DEFAULT_DELETION_POLICY,
  POLICY_SPEC_SCHEMA,
  type SchemaNode,
} from '../../src/api/schema.js';
import {
  API_VERSION,
  GROUP,
  KIND,
  LIST_KIND,
  PLURAL,
  SHORT_NAME,
  SINGULAR,
  VERSION,
  CRD_NAME,
  type BuildQuotaPolicySpec,
  type BuildQuotaPolicyStatus,
} from '../../src/api/types.js';
import { effectivePolicy } from '../../src/policy/effective.js';
import { policiesForTool } from '../../src/policy/select.js';
import { bqp, toolNs } from './fixtures/policy.js';

type Json = Record<string, unknown>;

const crd = yaml.load(
  readFileSync(new URL('../../crds/buildquotapolicies.builds.toolforge.org.yaml', import.meta.url), 'utf8'),
) as Json;

const get = (o: unknown, ...path: Array<string | number>): unknown =>
  path.reduce<unknown>((acc, k) => (acc as Record<string | number, unknown> | undefined)?.[k], o);

const version = get(crd, 'spec', 'versions', 0) as Json;
const rootSchema = get(version, 'schema', 'openAPIV3Schema') as Json;
const specSchema = get(rootSchema, 'properties', 'spec') as Json;
const statusSchema = get(rootSchema, 'properties', 'status') as Json;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every optional field made required, all the way down: an example of this type sets everything. */
type DeepRequired<T> = T extends Array<infer U>
  ? Array<DeepRequired<U>>
  : T extends object
    ? { [K in keyof T]-?: DeepRequired<T[K]> }
    : T;

// Sets every field of the spec type: adding a field to the type without adding it here does not
// compile, and a field here the CRD lacks (or the other way round) fails the path comparison.
const fullSpec: DeepRequired<BuildQuotaPolicySpec> = {
  priority: 10,
  toolSelector: {
    matchLabels: { tenancy: 'tool' },
    matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold'] }],
  },
  tools: ['a'],
  namespace: { nameTemplate: 'image-build-{tool}', podSecurity: 'restricted', labels: { a: 'b' }, annotations: { c: 'd' } },
  resourceQuota: { hard: { pods: '4' } },
  limitRange: {
    limits: [{ type: 'Container', max: { cpu: '2' }, min: { cpu: '1' }, default: { cpu: '2' }, defaultRequest: { cpu: '1' }, maxLimitRequestRatio: { cpu: '2' } }],
  },
  serviceAccount: { name: 'sa', secrets: ['s'], imagePullSecrets: ['p'] },
  access: { toolRole: 'r', extraSubjects: [{ kind: 'ServiceAccount', name: 'n', namespace: 'ns', apiGroup: '' }] },
  networkPolicy: {
    podSelector: { matchLabels: {}, matchExpressions: [{ key: 'k', operator: 'Exists', values: [] }] },
    policyTypes: ['Ingress'],
    ingress: [
      {
        from: [
          {
            podSelector: { matchLabels: {}, matchExpressions: [{ key: 'k', operator: 'Exists', values: [] }] },
            namespaceSelector: { matchLabels: {}, matchExpressions: [{ key: 'k', operator: 'Exists', values: [] }] },
            ipBlock: { cidr: '10.0.0.0/8', except: [] },
          },
        ],
        ports: [{ protocol: 'TCP', port: 80, endPort: 90 }],
      },
    ],
    egress: [
      {
        to: [
          {
            podSelector: { matchLabels: {}, matchExpressions: [{ key: 'k', operator: 'Exists', values: [] }] },
            namespaceSelector: { matchLabels: {}, matchExpressions: [{ key: 'k', operator: 'Exists', values: [] }] },
            ipBlock: { cidr: '10.0.0.0/8', except: [] },
          },
        ],
        ports: [{ protocol: 'UDP', port: 53, endPort: 54 }],
      },
    ],
  },
  replicate: [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'image-build-admin',
      name: 'harbor-push',
      selector: { matchLabels: {}, matchExpressions: [{ key: 'k', operator: 'Exists', values: [] }] },
    },
  ],
  builds: { keepSuccessful: 4, keepFailed: 2, ttlSecondsAfterFinished: 3600 },
  deletionPolicy: 'Delete',
};

const fullStatus: DeepRequired<BuildQuotaPolicyStatus> = {
  observedGeneration: 1,
  conditions: [{ type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Ok', message: '' }],
  matchedTools: 1,
  readyTools: 1,
  failedTools: 0,
  failures: [{ tool: 't', reason: 'r', message: 'm' }],
  deletionHold: { since: '2026-01-01T00:00:00Z', pendingDeletions: 1, tools: ['t'], message: 'm' },
};

/** Field paths of a CRD schema: objects' properties, through array items, not into maps. */
function schemaPaths(schema: Json, path = ''): string[] {
  const out: string[] = [];
  const items = schema.items;
  if (isObject(items)) return schemaPaths(items, `${path}[]`);
  const properties = schema.properties;
  if (!isObject(properties)) return out;
  for (const [name, sub] of Object.entries(properties)) {
    const p = path === '' ? name : `${path}.${name}`;
    out.push(p, ...schemaPaths(sub as Json, p));
  }
  return out;
}

/** Field paths of an example object, read with the CRD schema to know which objects are maps. */
function examplePaths(value: unknown, schema: Json | undefined, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => examplePaths(v, schema?.items as Json | undefined, `${path}[]`));
  if (!isObject(value) || isObject(schema?.additionalProperties)) return [];
  const properties = (schema?.properties ?? {}) as Json;
  return Object.entries(value).flatMap(([name, v]) => {
    const p = path === '' ? name : `${path}.${name}`;
    return [p, ...examplePaths(v, properties[name] as Json | undefined, p)];
  });
}

const unique = (paths: string[]): string[] => [...new Set(paths)].sort();

describe('the CRD', () => {
  it('names the API the code uses', () => {
    expect(get(crd, 'metadata', 'name')).toBe(CRD_NAME);
    expect(get(crd, 'spec', 'group')).toBe(GROUP);
    expect(get(crd, 'spec', 'scope')).toBe('Cluster');
    expect(get(crd, 'spec', 'names')).toEqual({ kind: KIND, listKind: LIST_KIND, plural: PLURAL, singular: SINGULAR, shortNames: [SHORT_NAME] });
    expect(`${GROUP}/${VERSION}`).toBe(API_VERSION);
    expect(version).toMatchObject({ name: VERSION, served: true, storage: true, subresources: { status: {} } });
  });

  it('prints priority, matched and ready tools, and age', () => {
    expect(version.additionalPrinterColumns).toEqual([
      { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
      { name: 'Matched', type: 'integer', jsonPath: '.status.matchedTools' },
      { name: 'Ready', type: 'integer', jsonPath: '.status.readyTools' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ]);
  });

  it('has the same spec fields as the BuildQuotaPolicySpec type', () => {
    expect(unique(examplePaths(fullSpec, specSchema))).toEqual(unique(schemaPaths(specSchema)));
  });

  it('has the same status fields as the BuildQuotaPolicyStatus type', () => {
    expect(unique(examplePaths(fullStatus, statusSchema))).toEqual(unique(schemaPaths(statusSchema)));
  });

  it('keeps unknown fields out: preserve-unknown-fields nowhere', () => {
    expect(JSON.stringify(rootSchema)).not.toContain('x-kubernetes-preserve-unknown-fields');
  });

  it('gives every CEL rule a message', () => {
    const rules: Json[] = [];
    const collect = (s: unknown): void => {
      if (Array.isArray(s)) s.forEach(collect);
      else if (isObject(s)) {
        for (const [k, v] of Object.entries(s)) {
          if (k === 'x-kubernetes-validations') rules.push(...(v as Json[]));
          else collect(v);
        }
      }
    };
    collect(rootSchema);
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) expect(typeof r.message).toBe('string');
  });
});

// The CRD schema and POLICY_SPEC_SCHEMA, brought to one comparable form.
interface Normalised {
  [key: string]: unknown;
}

const KNOWN_CRD_KEYS = new Set([
  'type', 'description', 'default', 'properties', 'required', 'additionalProperties', 'items', 'format',
  'maxItems', 'maxLength', 'minLength', 'maxProperties', 'minimum', 'maximum', 'enum',
  'x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-int-or-string',
]);

function compact(o: Normalised): Normalised {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function fromCrd(s: Json, path: string): Normalised {
  const unknownKeys = Object.keys(s).filter((k) => !KNOWN_CRD_KEYS.has(k));
  if (unknownKeys.length > 0) throw new Error(`${path}: schema.ts does not mirror ${unknownKeys.join(', ')}`);
  const rules = (s['x-kubernetes-validations'] as Json[] | undefined)?.map((r) => r.message);
  const common = { rules, default: s.default };
  if (s['x-kubernetes-int-or-string'] === true) return compact({ type: 'int-or-string', maxLength: s.maxLength, ...common });
  switch (s.type) {
    case 'string':
      return compact({ type: 'string', minLength: s.minLength, maxLength: s.maxLength, enum: s.enum, ...common });
    case 'integer':
      return compact({ type: 'integer', format: s.format, minimum: s.minimum, maximum: s.maximum, ...common });
    case 'array':
      return compact({
        type: 'array',
        items: fromCrd(s.items as Json, `${path}[]`),
        maxItems: s.maxItems,
        listType: s['x-kubernetes-list-type'] ?? 'atomic',
        listMapKeys: s['x-kubernetes-list-map-keys'],
        ...common,
      });
    case 'object':
      if (isObject(s.additionalProperties)) {
        return compact({ type: 'map', values: fromCrd(s.additionalProperties, `${path}{}`), maxProperties: s.maxProperties, ...common });
      }
      return compact({
        type: 'object',
        properties: Object.fromEntries(
          Object.entries((s.properties ?? {}) as Json).map(([k, v]) => [k, fromCrd(v as Json, `${path}.${k}`)]),
        ),
        required: s.required,
        mapType: s['x-kubernetes-map-type'],
        ...common,
      });
    default:
      throw new Error(`${path}: unexpected type ${String(s.type)}`);
  }
}

function fromTs(n: SchemaNode): Normalised {
  const common = { rules: n.rules?.map((r) => r.message), default: n.default };
  switch (n.type) {
    case 'int-or-string':
      return compact({ type: n.type, maxLength: n.maxLength, ...common });
    case 'string':
      return compact({ type: n.type, minLength: n.minLength, maxLength: n.maxLength, enum: n.enum ? [...n.enum] : undefined, ...common });
    case 'integer':
      return compact({ type: n.type, format: n.format, minimum: n.minimum, maximum: n.maximum, ...common });
    case 'array':
      return compact({
        type: n.type,
        items: fromTs(n.items),
        maxItems: n.maxItems,
        listType: n.listType,
        listMapKeys: n.listMapKeys ? [...n.listMapKeys] : undefined,
        ...common,
      });
    case 'map':
      return compact({ type: n.type, values: fromTs(n.values), maxProperties: n.maxProperties, ...common });
    case 'object':
      return compact({
        type: n.type,
        properties: Object.fromEntries(Object.entries(n.properties).map(([k, v]) => [k, fromTs(v)])),
        required: n.required ? [...n.required] : undefined,
        mapType: n.mapType,
        ...common,
      });
  }
}

describe('src/api/schema.ts mirrors the CRD', () => {
  const crdTree = fromCrd(specSchema, 'spec');
  const tsTree = fromTs(POLICY_SPEC_SCHEMA);

  it('node for node: types, limits, enums, list types, defaults and rule messages', () => {
    expect(tsTree).toEqual(crdTree);
  });

  // The same comparison section by section, for a readable failure.
  it.each(Object.keys((crdTree.properties ?? {}) as Json))('spec.%s', (section) => {
    expect((tsTree.properties as Json)[section]).toEqual((crdTree.properties as Json)[section]);
  });
});

/** The API server's structural defaulting, driven by the CRD schema. */
function applyCrdDefaults(schema: Json, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => applyCrdDefaults(schema.items as Json, v));
  if (!isObject(value)) return value;
  if (isObject(schema.additionalProperties)) {
    const values = schema.additionalProperties;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, applyCrdDefaults(values, v)]));
  }
  const out: Json = { ...value };
  for (const [name, sub] of Object.entries((schema.properties ?? {}) as Json)) {
    const subSchema = sub as Json;
    if (out[name] === undefined && subSchema.default !== undefined) out[name] = structuredClone(subSchema.default);
    if (out[name] !== undefined) out[name] = applyCrdDefaults(subSchema, out[name]);
  }
  return out;
}

describe('the CRD defaults agree with the defaults the policy module fills in', () => {
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
    const defaulted = applyCrdDefaults(specSchema, structuredClone(spec)) as BuildQuotaPolicySpec;
    expect(defaulted).not.toEqual(spec); // the CRD did fill something in
    const ns = toolNs('a');
    expect(effectivePolicy('a', ns, [bqp('p', defaulted)])).toEqual(effectivePolicy('a', ns, [bqp('p', spec)]));
  });

  it('selects the same namespaces with the defaulted toolSelector', () => {
    const defaulted = applyCrdDefaults(specSchema, {}) as BuildQuotaPolicySpec;
    for (const ns of [toolNs('a'), { name: 'tool-b', labels: { tenancy: 'other' } }, { name: 'kube-system' }]) {
      expect(policiesForTool(ns, [bqp('p', defaulted)]).length).toBe(policiesForTool(ns, [bqp('p', {})]).length);
    }
  });

  it('orders by the defaulted priority as by the unset one', () => {
    const policies = [bqp('b', {}), bqp('a', { priority: -1 }), bqp('c', { priority: 1 })];
    const defaulted = policies.map((p) => bqp(p.metadata.name, applyCrdDefaults(specSchema, p.spec) as BuildQuotaPolicySpec));
    const names = (ps: typeof policies) => policiesForTool({ name: 'x', labels: { tenancy: 'tool' } }, ps).map((p) => p.metadata.name);
    expect(names(defaulted)).toEqual(names(policies));
  });

  it('leaves deletionPolicy to the policy module, so that an override does not reset it', () => {
    expect(get(specSchema, 'properties', 'deletionPolicy', 'default')).toBeUndefined();
    expect(effectivePolicy('a', toolNs('a'), [bqp('p')])?.deletionPolicy).toBe(DEFAULT_DELETION_POLICY);
  });
});
