// validatePolicy: what the API server would refuse in a BuildQuotaPolicy, for the offline `render`
// CLI, judged by the CRD's own openAPIV3Schema and CEL rules (src/api/generated/). It works as the
// apiextensions server does: defaults first, then the structural checks, and the CEL rules only
// when no "blocking" error (wrong type, enum, required, too long, too many) was found, since the
// server skips them then.

import { compileCel } from './cel.js';
import { child, index, key } from './field-path.js';
import { BUILD_QUOTA_POLICY_SCHEMA } from './generated/buildquotapolicy-schema.js';
import { isDns1123Subdomain } from './k8s-syntax.js';
import { schemaAt, type JSONSchemaProps, type ValidationRule } from './openapi.js';
import { API_VERSION, KIND } from './types.js';

export interface ValidationIssue {
  /** Where, as the API server writes it: spec.resourceQuota.hard[requests.cpu]. */
  field: string;
  message: string;
  /** Set where a CEL rule names the reason its failure is reported with (FieldValueForbidden, ...). */
  reason?: string;
}

export const RULES_NOT_CHECKED =
  'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const describe = (v: unknown): string => JSON.stringify(v) ?? String(v);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const propertySchema = (node: JSONSchemaProps, name: string): JSONSchemaProps | undefined => node.properties?.[name];
const mapValueSchema = (node: JSONSchemaProps): JSONSchemaProps | undefined =>
  typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;

/**
 * The value with the schema's defaults filled in where a field is absent (or null and not
 * nullable), as the API server does before it validates; the input is not changed.
 */
export function applySchemaDefaults(node: JSONSchemaProps, value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = node.items;
    return items === undefined ? value : value.map((v: unknown) => applySchemaDefaults(items, v));
  }
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  const values = mapValueSchema(node);
  for (const [k, v] of Object.entries(value)) {
    const sub = propertySchema(node, k) ?? values;
    out[k] = sub === undefined ? v : applySchemaDefaults(sub, v);
  }
  for (const [k, sub] of Object.entries(node.properties ?? {})) {
    const absent = out[k] === undefined || (out[k] === null && sub.nullable !== true);
    if (absent && sub.default !== undefined) out[k] = applySchemaDefaults(sub, structuredClone(sub.default));
  }
  return out;
}

interface Walk {
  issues: ValidationIssue[];
  /** Set by the errors after which the API server does not evaluate CEL rules. */
  blocking: boolean;
  // Rules run only once the whole object is known to be well-typed, as CEL does.
  ruleChecks: Array<() => ValidationIssue[]>;
}

function blocking(w: Walk, field: string, message: string): undefined {
  w.blocking = true;
  w.issues.push({ field, message });
  return undefined;
}

// JSON as CEL sees it: integers are CEL ints (bigint), other numbers doubles. Nodes the schema
// leaves open (preserve-unknown-fields) get the same treatment.
function untypedCelValue(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(untypedCelValue);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, untypedCelValue(x)]));
  return v;
}

// CEL rules report a value's length in characters (code points), as OpenAPI does.
const characters = (s: string): number => [...s].length;

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const FORMATS: Readonly<Record<string, (s: string) => boolean>> = {
  'date-time': (s) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)),
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)),
  byte: (s) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s),
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
};

function checkString(w: Walk, node: JSONSchemaProps, value: string, path: string): void {
  const length = characters(value);
  if (node.minLength !== undefined && length < node.minLength) {
    w.issues.push({ field: path, message: `should be at least ${node.minLength} characters long` });
  }
  if (node.pattern !== undefined && !new RegExp(node.pattern, 'u').test(value)) {
    w.issues.push({ field: path, message: `should match '${node.pattern}'` });
  }
  const format = node.format === undefined ? undefined : FORMATS[node.format];
  if (format !== undefined && !format(value)) w.issues.push({ field: path, message: `must be of type ${node.format}` });
}

function checkNumber(w: Walk, node: JSONSchemaProps, value: number, path: string): void {
  if (node.minimum !== undefined) {
    if (node.exclusiveMinimum === true ? value <= node.minimum : value < node.minimum) {
      const op = node.exclusiveMinimum === true ? 'greater than' : 'greater than or equal to';
      w.issues.push({ field: path, message: `should be ${op} ${node.minimum}` });
    }
  }
  if (node.maximum !== undefined) {
    if (node.exclusiveMaximum === true ? value >= node.maximum : value > node.maximum) {
      const op = node.exclusiveMaximum === true ? 'less than' : 'less than or equal to';
      w.issues.push({ field: path, message: `should be ${op} ${node.maximum}` });
    }
  }
  if (node.multipleOf !== undefined && value % node.multipleOf !== 0) {
    w.issues.push({ field: path, message: `should be a multiple of ${node.multipleOf}` });
  }
}

const sameJson = (a: unknown, b: unknown): boolean => describe(a) === describe(b);

// The type check of one node; the CEL value of a well-typed scalar, undefined after an error.
function walkScalar(w: Walk, node: JSONSchemaProps, value: unknown, path: string): unknown {
  if (node['x-kubernetes-int-or-string'] === true) {
    const isInt = typeof value === 'number' && Number.isInteger(value);
    if (!isInt && typeof value !== 'string') return blocking(w, path, `must be of type integer or string, not ${typeName(value)}`);
    if (typeof value === 'string' && node.maxLength !== undefined && characters(value) > node.maxLength) {
      return blocking(w, path, `Too long: may not be more than ${node.maxLength} bytes`);
    }
    if (typeof value === 'string') checkString(w, node, value, path);
    return typeof value === 'number' ? BigInt(value) : value;
  }
  switch (node.type) {
    case 'string':
      if (typeof value !== 'string') return blocking(w, path, `must be of type string, not ${typeName(value)}`);
      if (node.maxLength !== undefined && characters(value) > node.maxLength) {
        return blocking(w, path, `Too long: may not be more than ${node.maxLength} bytes`);
      }
      checkString(w, node, value, path);
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        const format = node.format === undefined ? '' : ` (${node.format})`;
        return blocking(w, path, `must be of type integer${format}, not ${typeName(value)}`);
      }
      checkNumber(w, node, value, path);
      return BigInt(value);
    case 'number':
      if (typeof value !== 'number') return blocking(w, path, `must be of type number, not ${typeName(value)}`);
      checkNumber(w, node, value, path);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') return blocking(w, path, `must be of type boolean, not ${typeName(value)}`);
      return value;
    default:
      // No type: only x-kubernetes-preserve-unknown-fields allows that, and anything goes.
      return untypedCelValue(value);
  }
}

function walkObject(w: Walk, node: JSONSchemaProps, value: unknown, path: string, rulePath: string): JsonObject | undefined {
  if (!isObject(value)) return blocking(w, path, `must be of type object, not ${typeName(value)}`);
  const values = mapValueSchema(node);
  const out: JsonObject = {};
  let count = 0;
  for (const [name, v] of Object.entries(value)) {
    const prop = propertySchema(node, name);
    const sub = prop ?? values;
    // The server prunes null fields before validating, so a null is an absent field.
    if (v === null && sub?.nullable !== true) continue;
    count++;
    const at = child(path, name);
    if (sub === undefined) {
      if (node['x-kubernetes-preserve-unknown-fields'] === true) out[name] = untypedCelValue(v);
      else w.issues.push({ field: at, message: `unknown field ${describe(at)}` });
      continue;
    }
    // The server's OpenAPI checks name a map entry path.key, its CEL rules path[key].
    out[name] = walkNode(w, sub, v, at, prop === undefined ? key(rulePath, name) : child(rulePath, name));
  }
  if (node.maxProperties !== undefined && count > node.maxProperties) {
    blocking(w, path, `Too many: ${count}: must have at most ${node.maxProperties} items`);
  }
  if (node.minProperties !== undefined && count < node.minProperties) {
    w.issues.push({ field: path, message: `should have at least ${node.minProperties} properties` });
  }
  for (const name of node.required ?? []) {
    if (value[name] === undefined || value[name] === null) blocking(w, child(path, name), 'Required value');
  }
  return out;
}

function walkArray(w: Walk, node: JSONSchemaProps, value: unknown, path: string, rulePath: string): unknown[] | undefined {
  if (!Array.isArray(value)) return blocking(w, path, `must be of type array, not ${typeName(value)}`);
  if (node.maxItems !== undefined && value.length > node.maxItems) {
    blocking(w, path, `Too many: ${value.length}: must have at most ${node.maxItems} items`);
  }
  if (node.minItems !== undefined && value.length < node.minItems) {
    w.issues.push({ field: path, message: `should have at least ${node.minItems} items` });
  }
  const listType = node['x-kubernetes-list-type'];
  const mapKeys = node['x-kubernetes-list-map-keys'] ?? [];
  // Like the API server, report each repeated value once, where it first repeats.
  const seen = new Map<string, number>();
  const items = node.items;
  const out = value.map((item: unknown, i) => {
    const celItem = items === undefined ? untypedCelValue(item) : walkNode(w, items, item, index(path, i), index(rulePath, i));
    let identity: unknown;
    if (listType === 'set') identity = item;
    else if (listType === 'map' && isObject(item)) identity = Object.fromEntries(mapKeys.map((k) => [k, item[k]]));
    if (identity === undefined) return celItem;
    const id = describe(identity);
    const times = seen.get(id) ?? 0;
    seen.set(id, times + 1);
    if (times === 1) w.issues.push({ field: index(path, i), message: `Duplicate value: ${describe(identity)}` });
    return celItem;
  });
  return out;
}

/**
 * Walks one node: the structural checks now (reported at `path`), its CEL rules queued (reported
 * at `rulePath`); returns the value as CEL sees it.
 */
function walkNode(w: Walk, node: JSONSchemaProps, value: unknown, path: string, rulePath = path): unknown {
  if (value !== null && node.enum !== undefined && !node.enum.some((e) => sameJson(e, value))) {
    // Only a value of the right type can be "unsupported"; a wrong type is reported as such.
    const typed = walkScalar({ issues: [], blocking: false, ruleChecks: [] }, node, value, path);
    if (typed !== undefined) {
      return blocking(w, path, `Unsupported value: ${describe(value)}: supported values: ${node.enum.map(describe).join(', ')}`);
    }
  }
  let celValue: unknown;
  if (value === null) celValue = null;
  else if (node.type === 'object') celValue = walkObject(w, node, value, path, rulePath);
  else if (node.type === 'array') celValue = walkArray(w, node, value, path, rulePath);
  else celValue = walkScalar(w, node, value, path);
  const rules = node['x-kubernetes-validations'];
  if (rules !== undefined && celValue !== undefined) w.ruleChecks.push(() => evaluateRules(rules, celValue, rulePath));
  return celValue;
}

// A rule's fieldPath (".spec.name", ".labels['a.b']") appended to where the rule is.
function ruleFieldPath(path: string, fieldPath: string): string {
  let out = path;
  for (const m of fieldPath.matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]/g)) {
    if (m[1] !== undefined) out = child(out, m[1]);
    else out = key(out, m[2] ?? m[3] ?? '');
  }
  return out;
}

// The API server's ruleErrorString and ruleMessageOrDefault.
const ruleErrorString = (rule: ValidationRule): string => (rule.message ? rule.message.trim() : rule.rule.trim());
const ruleMessageOrDefault = (rule: ValidationRule): string =>
  rule.message ? rule.message.trim() : `failed rule: ${ruleErrorString(rule)}`;

function failureMessage(rule: ValidationRule, self: unknown): string {
  if (rule.messageExpression !== undefined) {
    const program = compileCel(rule.messageExpression);
    const result = program.ok ? program.value(self) : undefined;
    // As the server does: an empty, multi-line or failing message falls back to message.
    if (result?.ok && typeof result.value === 'string' && result.value.trim() !== '' && !/[\r\n]/.test(result.value)) {
      return result.value;
    }
  }
  return ruleMessageOrDefault(rule);
}

function evaluateRules(rules: ValidationRule[], self: unknown, path: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const rule of rules) {
    // Transition rules compare with the stored object: on create (all that is offline) they are skipped.
    if (/\boldSelf\b/.test(rule.rule)) continue;
    const program = compileCel(rule.rule);
    if (!program.ok) {
      issues.push({ field: path, message: `${ruleErrorString(rule)}: compilation failed: ${program.error}` });
      continue;
    }
    const result = program.value(self);
    if (!result.ok) {
      issues.push({ field: path, message: `${ruleErrorString(rule)}: ${result.error}` });
      continue;
    }
    if (result.value === true) continue;
    if (result.value !== false) {
      issues.push({ field: path, message: `${ruleErrorString(rule)}: rule did not evaluate to a bool` });
      continue;
    }
    const issue: ValidationIssue = {
      field: rule.fieldPath === undefined ? path : ruleFieldPath(path, rule.fieldPath),
      message: failureMessage(rule, self),
    };
    if (rule.reason !== undefined) issue.reason = rule.reason;
    issues.push(issue);
  }
  return issues;
}

/**
 * Validates a value against a node of a CRD schema as the API server would: defaults, then the
 * structural checks, then (only without a blocking error) the CEL rules. Fields are reported under `path`.
 */
export function validateAgainstSchema(node: JSONSchemaProps, value: unknown, path: string): ValidationIssue[] {
  const w: Walk = { issues: [], blocking: false, ruleChecks: [] };
  walkNode(w, node, applySchemaDefaults(node, value), path);
  if (w.blocking) return [...w.issues, { field: path, message: RULES_NOT_CHECKED }];
  return [...w.issues, ...w.ruleChecks.flatMap((check) => check())];
}

/** Validates a policy's spec alone; fields are reported under `path`. */
export function validatePolicySpec(spec: unknown, path = 'spec', schema: JSONSchemaProps = BUILD_QUOTA_POLICY_SCHEMA): ValidationIssue[] {
  return validateAgainstSchema(schemaAt(schema, 'spec'), spec, path);
}

/**
 * Validates a whole BuildQuotaPolicy as the API server would on create: apiVersion, kind,
 * metadata.name, then the spec. Unknown fields are reported as kubectl's strict field validation
 * reports them; an empty result means the server would accept the object. The status is not
 * validated: the server drops it on create, the status subresource being separate.
 */
export function validatePolicy(obj: unknown, schema: JSONSchemaProps = BUILD_QUOTA_POLICY_SCHEMA): ValidationIssue[] {
  if (!isObject(obj)) return [{ field: '', message: `a BuildQuotaPolicy must be an object, not ${typeName(obj)}` }];
  const issues: ValidationIssue[] = [];
  if (obj.apiVersion !== API_VERSION) {
    issues.push({ field: 'apiVersion', message: `must be ${API_VERSION}, not ${describe(obj.apiVersion)}` });
  }
  if (obj.kind !== KIND) issues.push({ field: 'kind', message: `must be ${KIND}, not ${describe(obj.kind)}` });
  const metadata = obj.metadata;
  const name = isObject(metadata) ? metadata.name : undefined;
  if (typeof name !== 'string' || name === '') {
    issues.push({ field: 'metadata.name', message: 'Required value: name is required' });
  } else if (!isDns1123Subdomain(name)) {
    issues.push({
      field: 'metadata.name',
      message: "must be a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253 characters",
    });
  }
  for (const field of Object.keys(obj)) {
    if (schema.properties?.[field] === undefined) issues.push({ field, message: `unknown field ${describe(field)}` });
  }
  if (obj.spec === undefined || obj.spec === null) {
    if (schema.required?.includes('spec')) issues.push({ field: 'spec', message: 'Required value' });
    return issues;
  }
  return [...issues, ...validatePolicySpec(obj.spec, 'spec', schema)];
}
