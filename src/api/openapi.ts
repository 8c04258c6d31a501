// The part of apiextensions.k8s.io/v1 JSONSchemaProps a structural CRD schema uses: the type of
// the generated schema module, read by the offline validator and the type generator.

/** One x-kubernetes-validations entry: a CEL rule and how its failure is reported. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  /** Relative to the node the rule is on, such as .spec.name or .labels['a']. */
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: string;
  default?: unknown;
  enum?: unknown[];
  nullable?: boolean;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
}

/**
 * The sub-schema at a dotted field path, `[]` stepping into array items and `{}` into map
 * values: schemaAt(root, 'spec.replicate[].apiVersion'). Throws for a path the schema lacks,
 * since callers name fields they know exist.
 */
export function schemaAt(root: JSONSchemaProps, path: string): JSONSchemaProps {
  let node = root;
  for (const step of path.match(/[^.[\]{}]+|\[\]|\{\}/g) ?? []) {
    let next: JSONSchemaProps | boolean | undefined;
    if (step === '[]') next = node.items;
    else if (step === '{}') next = node.additionalProperties;
    else next = node.properties?.[step];
    if (next === undefined || typeof next === 'boolean') throw new Error(`the schema has no field ${path} (at ${step})`);
    node = next;
  }
  return node;
}
