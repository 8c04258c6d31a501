// validatePolicy: what the API server would refuse in a BuildQuotaPolicy, for the offline
// `render` CLI. It walks POLICY_SPEC_SCHEMA (the CRD's schema mirrored in schema.ts) the way the
// apiextensions server does: structural checks first, and the CEL rules only when no "blocking"
// error (wrong type, enum, required, too long, too many) was found, since the server skips them then.

import { child, index, key } from './field-path.js';
import { isDns1123Subdomain } from './k8s-syntax.js';
import { POLICY_SPEC_SCHEMA, type ArrayNode, type MapNode, type ObjectNode, type SchemaNode } from './schema.js';
import { API_VERSION, KIND } from './types.js';

export interface ValidationIssue {
  /** Where, as the API server writes it: spec.resourceQuota.hard[requests.cpu]. */
  field: string;
  message: string;
}

export const RULES_NOT_CHECKED =
  'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

interface Walk {
  issues: ValidationIssue[];
  /** Set by the errors after which the API server does not evaluate CEL rules. */
  blocking: boolean;
  // Rules run only once the whole object is known to be well-typed, as CEL does.
  ruleChecks: Array<() => ValidationIssue | undefined>;
}

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const describe = (v: unknown): string => JSON.stringify(v) ?? String(v);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function blocking(w: Walk, field: string, message: string): void {
  w.blocking = true;
  w.issues.push({ field, message });
}

function runRules(w: Walk, node: SchemaNode, value: unknown, path: string): void {
  for (const r of node.rules ?? []) {
    w.ruleChecks.push(() => (r.valid(value) ? undefined : { field: path, message: r.message }));
  }
}

function walkString(w: Walk, node: SchemaNode & { type: 'string' }, value: unknown, path: string): void {
  if (typeof value !== 'string') return blocking(w, path, `must be of type string, not ${typeName(value)}`);
  if (node.enum !== undefined && !node.enum.includes(value)) {
    return blocking(
      w,
      path,
      `Unsupported value: ${describe(value)}: supported values: ${node.enum.map((e) => describe(e)).join(', ')}`,
    );
  }
  // OpenAPI lengths count characters (code points), not UTF-16 units.
  const length = [...value].length;
  if (node.maxLength !== undefined && length > node.maxLength) {
    return blocking(w, path, `Too long: may not be longer than ${node.maxLength} characters`);
  }
  if (node.minLength !== undefined && length < node.minLength) {
    w.issues.push({ field: path, message: `should be at least ${node.minLength} characters long` });
  }
  runRules(w, node, value, path);
}

function walkInteger(w: Walk, node: SchemaNode & { type: 'integer' }, value: unknown, path: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return blocking(w, path, `must be of type integer (${node.format}), not ${typeName(value)}`);
  }
  if (node.minimum !== undefined && value < node.minimum) {
    w.issues.push({ field: path, message: `should be greater than or equal to ${node.minimum}` });
  }
  if (node.maximum !== undefined && value > node.maximum) {
    w.issues.push({ field: path, message: `should be less than or equal to ${node.maximum}` });
  }
  runRules(w, node, value, path);
}

function walkIntOrString(w: Walk, node: SchemaNode & { type: 'int-or-string' }, value: unknown, path: string): void {
  const isInt = typeof value === 'number' && Number.isInteger(value);
  if (!isInt && typeof value !== 'string') {
    return blocking(w, path, `must be of type integer or string, not ${typeName(value)}`);
  }
  if (typeof value === 'string' && node.maxLength !== undefined && [...value].length > node.maxLength) {
    return blocking(w, path, `Too long: may not be longer than ${node.maxLength} characters`);
  }
  runRules(w, node, value, path);
}

function walkObject(w: Walk, node: ObjectNode, value: unknown, path: string): void {
  if (!isObject(value)) return blocking(w, path, `must be of type object, not ${typeName(value)}`);
  for (const [name, v] of Object.entries(value)) {
    const prop = node.properties[name];
    // The server prunes null fields before validating, so a null is an absent field.
    if (v === null) continue;
    if (prop === undefined) {
      w.issues.push({ field: child(path, name), message: `unknown field ${describe(child(path, name))}` });
      continue;
    }
    walkNode(w, prop, v, child(path, name));
  }
  for (const name of node.required ?? []) {
    if (value[name] === undefined || value[name] === null) blocking(w, child(path, name), 'Required value');
  }
  runRules(w, node, withoutNulls(value), path);
}

function withoutNulls(value: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

function walkMap(w: Walk, node: MapNode, value: unknown, path: string): void {
  if (!isObject(value)) return blocking(w, path, `must be of type object, not ${typeName(value)}`);
  const entries = Object.entries(value).filter(([, v]) => v !== null);
  if (node.maxProperties !== undefined && entries.length > node.maxProperties) {
    blocking(w, path, `Too many: ${entries.length}: must have at most ${node.maxProperties} items`);
  }
  for (const [k, v] of entries) walkNode(w, node.values, v, key(path, k));
  runRules(w, node, Object.fromEntries(entries), path);
}

function walkArray(w: Walk, node: ArrayNode, value: unknown, path: string): void {
  if (!Array.isArray(value)) return blocking(w, path, `must be of type array, not ${typeName(value)}`);
  if (node.maxItems !== undefined && value.length > node.maxItems) {
    blocking(w, path, `Too many: ${value.length}: must have at most ${node.maxItems} items`);
  }
  // Like the API server, report each repeated value once, where it first repeats.
  const seen = new Map<string, number>();
  value.forEach((item: unknown, i) => {
    walkNode(w, node.items, item, index(path, i));
    let identity: string | undefined;
    if (node.listType === 'set') identity = describe(item);
    if (node.listType === 'map' && isObject(item)) {
      identity = describe((node.listMapKeys ?? []).map((k) => item[k]));
    }
    if (identity === undefined) return;
    const times = seen.get(identity) ?? 0;
    seen.set(identity, times + 1);
    if (times === 1) {
      const shown = node.listType === 'map' && isObject(item)
        ? describe(Object.fromEntries((node.listMapKeys ?? []).map((k) => [k, item[k]])))
        : describe(item);
      w.issues.push({ field: index(path, i), message: `Duplicate value: ${shown}` });
    }
  });
  runRules(w, node, value, path);
}

function walkNode(w: Walk, node: SchemaNode, value: unknown, path: string): void {
  switch (node.type) {
    case 'string':
      return walkString(w, node, value, path);
    case 'integer':
      return walkInteger(w, node, value, path);
    case 'int-or-string':
      return walkIntOrString(w, node, value, path);
    case 'object':
      return walkObject(w, node, value, path);
    case 'map':
      return walkMap(w, node, value, path);
    case 'array':
      return walkArray(w, node, value, path);
  }
}

/** Validates a policy's spec alone; fields are reported under `path`. */
export function validatePolicySpec(spec: unknown, path = 'spec'): ValidationIssue[] {
  const w: Walk = { issues: [], blocking: false, ruleChecks: [] };
  walkNode(w, POLICY_SPEC_SCHEMA, spec, path);
  return finish(w, path);
}

function finish(w: Walk, path: string): ValidationIssue[] {
  if (w.blocking) return [...w.issues, { field: path, message: RULES_NOT_CHECKED }];
  const ruleIssues = w.ruleChecks.map((check) => check()).filter((i): i is ValidationIssue => i !== undefined);
  return [...w.issues, ...ruleIssues];
}

/**
 * Validates a whole BuildQuotaPolicy as the API server would on create: apiVersion, kind,
 * metadata.name, then the spec. Unknown fields are reported as kubectl's strict field validation
 * reports them; an empty result means the server would accept the object.
 */
export function validatePolicy(obj: unknown): ValidationIssue[] {
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
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(field)) {
      issues.push({ field, message: `unknown field ${describe(field)}` });
    }
  }
  if (obj.spec === undefined || obj.spec === null) {
    issues.push({ field: 'spec', message: 'Required value' });
    return issues;
  }
  return [...issues, ...validatePolicySpec(obj.spec)];
}
