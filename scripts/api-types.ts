// Turns the BuildQuotaPolicy CRD into src/api/generated/: TypeScript types for spec and status
// (by json-schema-to-typescript) and the openAPIV3Schema as a module the offline validator imports.
import yaml from 'js-yaml';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import type { JSONSchemaProps } from '../src/api/openapi.js';

export const CRD_PATH = 'crds/buildquotapolicies.builds.toolforge.org.yaml';
export const TYPES_PATH = 'src/api/generated/buildquotapolicy.ts';
export const SCHEMA_PATH = 'src/api/generated/buildquotapolicy-schema.ts';

/**
 * Names for the schema nodes the code refers to, by field path (`[]` for array items, `{}` for
 * map values), and for an enum the name of a constant listing its values. Cosmetic only: a node
 * not named here is typed inline, so a new field needs no entry. A node whose type has the same
 * shape as a named object or enum (every label selector, every quantity map) takes its name.
 */
export const TYPE_NAMES: Readonly<Record<string, { type: string; values?: string }>> = {
  spec: { type: 'BuildQuotaPolicySpec' },
  'spec.toolSelector': { type: 'LabelSelector' },
  'spec.toolSelector.matchExpressions[]': { type: 'LabelSelectorRequirement' },
  'spec.toolSelector.matchExpressions[].operator': { type: 'LabelSelectorOperator', values: 'LABEL_SELECTOR_OPERATORS' },
  'spec.namespace': { type: 'NamespaceSection' },
  'spec.namespace.podSecurity': { type: 'PodSecurityLevel', values: 'POD_SECURITY_LEVELS' },
  'spec.resourceQuota': { type: 'ResourceQuotaSection' },
  'spec.resourceQuota.hard': { type: 'ResourceList' },
  'spec.resourceQuota.hard{}': { type: 'QuantityValue' },
  'spec.limitRange': { type: 'LimitRangeSection' },
  'spec.limitRange.limits[]': { type: 'LimitRangeItem' },
  'spec.limitRange.limits[].type': { type: 'LimitType', values: 'LIMIT_TYPES' },
  'spec.serviceAccount': { type: 'ServiceAccountSection' },
  'spec.access': { type: 'AccessSection' },
  'spec.access.extraSubjects[]': { type: 'Subject' },
  'spec.access.extraSubjects[].kind': { type: 'SubjectKind', values: 'SUBJECT_KINDS' },
  'spec.networkPolicy': { type: 'NetworkPolicySection' },
  'spec.networkPolicy.policyTypes[]': { type: 'PolicyType', values: 'POLICY_TYPES' },
  'spec.networkPolicy.ingress[]': { type: 'NetworkPolicyIngressRule' },
  'spec.networkPolicy.ingress[].from[]': { type: 'NetworkPolicyPeer' },
  'spec.networkPolicy.ingress[].from[].ipBlock': { type: 'IPBlock' },
  'spec.networkPolicy.ingress[].ports[]': { type: 'NetworkPolicyPort' },
  'spec.networkPolicy.ingress[].ports[].protocol': { type: 'Protocol', values: 'PROTOCOLS' },
  'spec.networkPolicy.egress[]': { type: 'NetworkPolicyEgressRule' },
  'spec.replicate[]': { type: 'ReplicateEntry' },
  'spec.builds': { type: 'BuildsSection' },
  'spec.deletionPolicy': { type: 'DeletionPolicy', values: 'DELETION_POLICIES' },
  status: { type: 'BuildQuotaPolicyStatus' },
  'status.conditions[]': { type: 'Condition' },
  'status.failures[]': { type: 'ToolFailure' },
  'status.deletionHold': { type: 'DeletionHold' },
};

const HEADER = (what: string): string =>
  `// ${what}, generated from ${CRD_PATH}: do not edit.\n` +
  '// Regenerate with `npm run generate` (make generate); a unit test fails when this file is stale.\n';

/** The openAPIV3Schema of one version of the CRD. */
export function crdSchema(crdYaml: string, version = 'v1alpha1'): JSONSchemaProps {
  const crd = yaml.load(crdYaml) as { spec?: { versions?: Array<{ name: string; schema?: { openAPIV3Schema?: JSONSchemaProps } }> } };
  const schema = crd.spec?.versions?.find((v) => v.name === version)?.schema?.openAPIV3Schema;
  if (schema === undefined) throw new Error(`the CRD has no openAPIV3Schema for version ${version}`);
  return schema;
}

const isIntOrString = (node: JSONSchemaProps): boolean => node['x-kubernetes-int-or-string'] === true;

function children(node: JSONSchemaProps, path: string): Array<[string, JSONSchemaProps]> {
  const out: Array<[string, JSONSchemaProps]> = Object.entries(node.properties ?? {}).map(([k, v]) => [
    path === '' ? k : `${path}.${k}`,
    v,
  ]);
  if (node.items !== undefined) out.push([`${path}[]`, node.items]);
  if (typeof node.additionalProperties === 'object') out.push([`${path}{}`, node.additionalProperties]);
  return out;
}

function forEachNode(node: JSONSchemaProps, path: string, visit: (path: string, node: JSONSchemaProps) => void): void {
  visit(path, node);
  for (const [p, n] of children(node, path)) forEachNode(n, p, visit);
}

// What decides a node's TypeScript type, and nothing else (no limits, rules or descriptions),
// so that two label selectors with different limits or defaults still share one type.
function shape(node: JSONSchemaProps): unknown {
  if (isIntOrString(node)) return 'int-or-string';
  return {
    type: node.type,
    enum: node.enum,
    required: node.required === undefined ? undefined : [...node.required].sort(),
    properties:
      node.properties === undefined
        ? undefined
        : Object.fromEntries(Object.entries(node.properties).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, shape(v)])),
    items: node.items === undefined ? undefined : shape(node.items),
    additionalProperties: typeof node.additionalProperties === 'object' ? shape(node.additionalProperties) : node.additionalProperties,
    preserveUnknown: node['x-kubernetes-preserve-unknown-fields'],
  };
}

const shapeKey = (node: JSONSchemaProps): string => JSON.stringify(shape(node));
// Scalars other than enums keep their inline type: a port is not a QuantityValue.
const sharesByShape = (node: JSONSchemaProps): boolean => node.type === 'object' || node.enum !== undefined;

interface Declaration {
  name: string;
  path: string;
  node: JSONSchemaProps;
}

class TypeNamer {
  private readonly byShape = new Map<string, string>();
  readonly queue: Declaration[] = [];
  private readonly queued = new Set<string>();

  constructor(
    private readonly root: JSONSchemaProps,
    private readonly names: Readonly<Record<string, { type: string }>>,
  ) {
    forEachNode(root, '', (path, node) => {
      const name = names[path]?.type;
      if (name !== undefined && sharesByShape(node) && !this.byShape.has(shapeKey(node))) this.byShape.set(shapeKey(node), name);
    });
  }

  nameOf(path: string, node: JSONSchemaProps): string | undefined {
    return this.names[path]?.type ?? (sharesByShape(node) ? this.byShape.get(shapeKey(node)) : undefined);
  }

  enqueue(name: string, path: string, node: JSONSchemaProps): void {
    if (this.queued.has(name)) return;
    this.queued.add(name);
    this.queue.push({ name, path, node });
  }

  /** The node as JSON Schema for the generator, named sub-nodes replaced by references to their type. */
  toJsonSchema(node: JSONSchemaProps, path: string, declaring: boolean): JSONSchema {
    const name = this.nameOf(path, node);
    // A description says what a field is for, so it goes on the property, not on a shared type.
    const doc: JSONSchema = node.description === undefined || declaring ? {} : { description: node.description };
    if (name !== undefined && !declaring) {
      this.enqueue(name, path, node);
      return { ...doc, tsType: name };
    }
    if (isIntOrString(node)) return { ...doc, tsType: 'number | string' };
    if (node.enum !== undefined) return { ...doc, type: node.type, enum: node.enum as JSONSchema['enum'] };
    switch (node.type) {
      case 'object': {
        const out: JSONSchema = { ...doc, type: 'object' };
        if (node.properties !== undefined) {
          out.properties = Object.fromEntries(
            Object.entries(node.properties).map(([k, v]) => [k, this.toJsonSchema(v, path === '' ? k : `${path}.${k}`, false)]),
          );
        }
        if (node.required !== undefined) out.required = node.required;
        // The API server prunes fields the schema does not declare, unless told to keep them.
        if (typeof node.additionalProperties === 'object') out.additionalProperties = this.toJsonSchema(node.additionalProperties, `${path}{}`, false);
        else out.additionalProperties = node['x-kubernetes-preserve-unknown-fields'] === true || node.additionalProperties === true;
        return out;
      }
      case 'array':
        return { ...doc, type: 'array', items: node.items === undefined ? {} : this.toJsonSchema(node.items, `${path}[]`, false) };
      case undefined:
        // Only x-kubernetes-preserve-unknown-fields allows a node without a type: anything goes.
        return { ...doc, tsType: 'unknown' };
      default:
        return { ...doc, type: node.type };
    }
  }
}

/** The TypeScript types of spec and status, the enum values as constants, and the schema's defaults. */
export async function generateTypes(
  schema: JSONSchemaProps,
  names: Readonly<Record<string, { type: string; values?: string }>> = TYPE_NAMES,
): Promise<string> {
  const namer = new TypeNamer(schema, names);
  for (const top of ['spec', 'status']) {
    const node = schema.properties?.[top];
    if (node === undefined) throw new Error(`the schema has no ${top}`);
    namer.enqueue(namer.nameOf(top, node) ?? top, top, node);
  }
  const parts: string[] = [];
  // Declarations found while converting one are appended to the queue and declared in turn.
  for (let i = 0; i < namer.queue.length; i++) {
    const decl = namer.queue[i];
    if (decl === undefined) break;
    const ts = await compile(namer.toJsonSchema(decl.node, decl.path, true), decl.name, {
      bannerComment: '',
      additionalProperties: false,
      unknownAny: true,
      strictIndexSignatures: false,
      declareExternallyReferenced: true,
      format: true,
      style: { singleQuote: true, printWidth: 120 },
    });
    parts.push(ts.trim());
    const values = Object.values(names).find((n) => n.type === decl.name)?.values;
    if (values !== undefined && decl.node.enum !== undefined) {
      parts.push(`/** The values of ${decl.name}, in the schema's order. */\nexport const ${values} = [${decl.node.enum.map((v) => JSON.stringify(v)).join(', ')}] as const;`);
    }
  }
  const defaults: Record<string, unknown> = {};
  forEachNode(schema, '', (path, node) => {
    if (node.default !== undefined) defaults[path] = node.default;
  });
  parts.push(
    "/** The schema's `default:` values by field path (`[]` steps into array items), as the API server fills them in. */\n" +
      `export const SCHEMA_DEFAULTS = ${JSON.stringify(defaults, null, 2)} as const;`,
  );
  return `${HEADER('The BuildQuotaPolicy spec and status types')}\n${parts.join('\n\n')}\n`;
}

/** The openAPIV3Schema as a TypeScript module, so that nothing reads the CRD file at run time. */
export function generateSchemaModule(schema: JSONSchemaProps): string {
  return (
    `${HEADER("The BuildQuotaPolicy CRD's openAPIV3Schema")}\n` +
    "import type { JSONSchemaProps } from '../openapi.js';\n\n" +
    `export const BUILD_QUOTA_POLICY_SCHEMA: JSONSchemaProps = ${JSON.stringify(schema, null, 2)};\n`
  );
}

/** Every generated file, by path from the repository root. */
export async function generateAll(crdYaml: string): Promise<Record<string, string>> {
  const schema = crdSchema(crdYaml);
  return { [TYPES_PATH]: await generateTypes(schema), [SCHEMA_PATH]: generateSchemaModule(schema) };
}
