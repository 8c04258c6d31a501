// The BuildQuotaPolicy spec schema as data: the same tree, limits, defaults and rules as the
// CRD's openAPIV3Schema, with each CEL rule written again as a TypeScript predicate under the
// same message. validate.ts walks it; test/unit/crd-schema.test.ts compares it with the CRD YAML
// node by node, so a change to one that is not made to the other fails the tests.

import { containsCidr, isMasked, parseCidr } from './cidr.js';
import {
  isDns1123Label,
  isDns1123Subdomain,
  isLabelValue,
  isPathSegmentName,
  isQualifiedName,
} from './k8s-syntax.js';
import { compareQuantities, parseQuantity, quantitySign, type Quantity } from './quantity.js';
import { TOOL_NAME_MAX_LENGTH, TOOL_NAME_PATTERN } from './tool.js';
import {
  DELETION_POLICIES,
  LABEL_MANAGED_BY,
  LABEL_SELECTOR_OPERATORS,
  LABEL_TENANCY,
  LIMIT_TYPES,
  OPERATOR_KEY_PREFIX,
  POD_SECURITY_KEY_PREFIX,
  POD_SECURITY_LEVELS,
  POLICY_TYPES,
  PROTOCOLS,
  SUBJECT_KINDS,
  TENANCY_TOOL,
  TOOL_NAMESPACE_PREFIX,
  type LabelSelector,
  type LabelSelectorRequirement,
  type LimitRangeItem,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type ReplicateEntry,
  type ResourceList,
  type Subject,
  type IPBlock,
} from './types.js';

// Defaults the API server fills in (the CRD's `default:`), and the policy module likewise.
export const DEFAULT_PRIORITY = 0;
// Frozen: selector code hands this very object out.
export const DEFAULT_TOOL_SELECTOR: LabelSelector = Object.freeze({
  matchLabels: Object.freeze({ [LABEL_TENANCY]: TENANCY_TOOL }),
});
export const DEFAULT_NAME_TEMPLATE = 'image-build-{tool}';
export const DEFAULT_POD_SECURITY = 'baseline';
export const DEFAULT_SERVICE_ACCOUNT_NAME = 'buildpacks-service-account';
export const DEFAULT_TOOL_ROLE = 'build-namespace-tool';
export const DEFAULT_REPLICATE_API_VERSION = 'v1';
/** Not a schema default (see the CRD's deletionPolicy description): filled in by effectivePolicy. */
export const DEFAULT_DELETION_POLICY = 'Delete';

export const TOOL_PLACEHOLDER = '{tool}';

/** A CEL x-kubernetes-validations rule: the message is the CRD's, the predicate mirrors the rule. */
export interface Rule {
  message: string;
  valid: (self: unknown) => boolean;
}

interface NodeBase {
  rules?: Rule[];
  default?: unknown;
}

export interface StringNode extends NodeBase {
  type: 'string';
  minLength?: number;
  maxLength?: number;
  enum?: readonly string[];
}

export interface IntegerNode extends NodeBase {
  type: 'integer';
  format: 'int32' | 'int64';
  minimum?: number;
  maximum?: number;
}

/** x-kubernetes-int-or-string; maxLength bounds the string form. */
export interface IntOrStringNode extends NodeBase {
  type: 'int-or-string';
  maxLength?: number;
}

export interface ObjectNode extends NodeBase {
  type: 'object';
  properties: Readonly<Record<string, SchemaNode>>;
  required?: readonly string[];
  mapType?: 'atomic';
}

/** An object with additionalProperties: a map from string keys to values of one schema. */
export interface MapNode extends NodeBase {
  type: 'map';
  values: SchemaNode;
  maxProperties?: number;
}

export interface ArrayNode extends NodeBase {
  type: 'array';
  items: SchemaNode;
  maxItems?: number;
  listType: 'atomic' | 'set' | 'map';
  listMapKeys?: readonly string[];
}

export type SchemaNode = StringNode | IntegerNode | IntOrStringNode | ObjectNode | MapNode | ArrayNode;

// Rules receive values the schema walk has already checked for type, as CEL does.
function rule<T>(message: string, valid: (self: T) => boolean): Rule {
  return { message, valid: (self) => valid(self as T) };
}

export const MESSAGES = {
  labelValue: "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
  labelKey: "must be a label key: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'",
  labelKeys: "keys must be label keys: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'",
  selectorValues: 'values must be non-empty for operators In and NotIn, and empty for Exists and DoesNotExist',
  toolName: "a tool name is at most 53 lowercase letters, digits and '-', starting and ending with a letter or digit",
  templateHasTool: 'nameTemplate must contain {tool}',
  templateIsLabel: "nameTemplate must give a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit",
  templateNotTool: "nameTemplate must not start with tool-: those names are the tools' own namespaces",
  reservedLabels:
    'labels must not set keys the operator owns: app.kubernetes.io/managed-by, builds.toolforge.org/*, pod-security.kubernetes.io/* (use podSecurity)',
  annotationKeys: "keys must be annotation keys: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'",
  reservedAnnotations: 'annotations must not set keys the operator owns: builds.toolforge.org/*',
  quantity: 'must be a non-negative quantity, such as 4, 500m or 4Gi',
  ratio: 'must be a quantity of at least 1',
  quotaKeys: 'keys must be resource names, such as requests.cpu or count/pipelineruns.tekton.dev',
  quotaStandardKeys:
    "a key without '/' must be a standard quota resource (pods, requests.cpu, limits.memory, ...); others need a domain, such as count/pipelineruns.tekton.dev",
  podNoDefaults: 'default and defaultRequest may not be set when type is Pod',
  pvcStorage: 'a PersistentVolumeClaim limit needs min.storage or max.storage',
  minMax: 'min must not be greater than max',
  defaultMax: 'default must not be greater than max',
  minDefault: 'min must not be greater than default',
  defaultRequestMax: 'defaultRequest must not be greater than max',
  minDefaultRequest: 'min must not be greater than defaultRequest',
  defaultRequestDefault: 'defaultRequest must not be greater than default',
  dnsSubdomain: "must be a DNS subdomain: lowercase letters, digits, '-' and '.'",
  clusterRoleName: "must be a ClusterRole name: not empty, '.' or '..', and without '/' or '%'",
  namespaceName: 'must be a namespace name: a DNS label',
  subjectApiGroup: 'apiGroup must be empty for a ServiceAccount and rbac.authorization.k8s.io for a User or Group',
  subjectNamespace: 'namespace applies only to ServiceAccount subjects',
  subjectServiceAccountName: 'a ServiceAccount name must be a DNS subdomain',
  cidr: 'must be a CIDR with no bits set after the prefix length, such as 10.0.0.0/8 or fd00::/8',
  exceptWithinCidr: 'except entries must lie strictly within cidr',
  peer: 'a peer sets ipBlock alone, or podSelector and/or namespaceSelector',
  port: "port must be a number from 1 to 65535 or a port name of at most 15 lowercase letters, digits and '-'",
  endPort: 'endPort needs a numeric port no greater than it',
  replicateApiVersion: 'apiVersion is a version or group/version, such as v1 or tekton.dev/v1',
  replicateKind: 'kind is a resource kind, such as Secret or Pipeline',
  replicateNameOrSelector: 'a replicate entry sets exactly one of name or selector',
} as const;

/** The quota resources Kubernetes knows without a '/' (helper.IsStandardQuotaResourceName). */
export const STANDARD_QUOTA_RESOURCES: readonly string[] = [
  'pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets', 'configmaps',
  'persistentvolumeclaims', 'services.nodeports', 'services.loadbalancers', 'cpu', 'memory',
  'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.storage',
  'requests.ephemeral-storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage',
];

const has = (o: object, k: string): boolean => (o as Record<string, unknown>)[k] !== undefined;

// CEL string(x) of an int-or-string value, then quantity(...).
function quantityOf(v: string | number | undefined): Quantity | undefined {
  if (v === undefined) return undefined;
  const q = parseQuantity(String(v));
  return q.ok ? q.value : undefined;
}

const str = (o: Omit<StringNode, 'type'> = {}): StringNode => ({ type: 'string', ...o });
const int32 = (o: Omit<IntegerNode, 'type' | 'format'> = {}): IntegerNode => ({ type: 'integer', format: 'int32', ...o });
const int64 = (o: Omit<IntegerNode, 'type' | 'format'> = {}): IntegerNode => ({ type: 'integer', format: 'int64', ...o });
const obj = (properties: Record<string, SchemaNode>, o: Omit<ObjectNode, 'type' | 'properties'> = {}): ObjectNode => ({
  type: 'object',
  properties,
  ...o,
});
const map = (values: SchemaNode, o: Omit<MapNode, 'type' | 'values'> = {}): MapNode => ({ type: 'map', values, ...o });
const list = (items: SchemaNode, o: Omit<ArrayNode, 'type' | 'items' | 'listType'> & { listType?: ArrayNode['listType'] } = {}): ArrayNode => ({
  type: 'array',
  items,
  listType: 'atomic',
  ...o,
});

const labelValueRule = rule<string>(MESSAGES.labelValue, isLabelValue);
const labelKeysRule = rule<Record<string, unknown>>(MESSAGES.labelKeys, (m) => Object.keys(m).every(isQualifiedName));
const dnsSubdomainRule = rule<string>(MESSAGES.dnsSubdomain, isDns1123Subdomain);
const namespaceNameRule = rule<string>(MESSAGES.namespaceName, isDns1123Label);

function labelSelector(o: { default?: LabelSelector } = {}): ObjectNode {
  return obj(
    {
      matchLabels: map(str({ maxLength: 63, rules: [labelValueRule] }), { maxProperties: 16, rules: [labelKeysRule] }),
      matchExpressions: list(
        obj(
          {
            key: str({ maxLength: 317, rules: [rule<string>(MESSAGES.labelKey, isQualifiedName)] }),
            operator: str({ enum: LABEL_SELECTOR_OPERATORS }),
            values: list(str({ maxLength: 63, rules: [labelValueRule] }), { maxItems: 16 }),
          },
          {
            required: ['key', 'operator'],
            rules: [
              rule<LabelSelectorRequirement>(MESSAGES.selectorValues, (r) =>
                r.operator === 'In' || r.operator === 'NotIn'
                  ? r.values !== undefined && r.values.length > 0
                  : r.values === undefined || r.values.length === 0,
              ),
            ],
          },
        ),
        { maxItems: 8 },
      ),
    },
    { mapType: 'atomic', ...o },
  );
}

function quantityMap(maxProperties: number, valueRule: Rule, mapRules?: Rule[]): MapNode {
  const values: IntOrStringNode = { type: 'int-or-string', maxLength: 64, rules: [valueRule] };
  return map(values, mapRules === undefined ? { maxProperties } : { maxProperties, rules: mapRules });
}

const nonNegativeQuantity = rule<string | number>(MESSAGES.quantity, (v) => {
  if (typeof v === 'number') return v >= 0;
  const q = parseQuantity(v);
  return q.ok && quantitySign(q.value) >= 0;
});

const ratioQuantity = rule<string | number>(MESSAGES.ratio, (v) => {
  if (typeof v === 'number') return v >= 1;
  const q = parseQuantity(v);
  return q.ok && compareQuantities(q.value, { coefficient: 1n, exponent: 0 }) >= 0;
});

// "a must not be greater than b", key by key, where both hold valid quantities.
function notGreater(message: string, a: keyof LimitRangeItem, b: keyof LimitRangeItem): Rule {
  return rule<LimitRangeItem>(message, (item) => {
    const small = item[a] as ResourceList | undefined;
    const large = item[b] as ResourceList | undefined;
    if (small === undefined || large === undefined) return true;
    return Object.entries(small).every(([k, v]) => {
      const qa = quantityOf(v);
      const qb = quantityOf(large[k]);
      return qa === undefined || qb === undefined || compareQuantities(qa, qb) <= 0;
    });
  });
}

const cidrRule = rule<string>(MESSAGES.cidr, (s) => {
  const c = parseCidr(s);
  return c !== undefined && isMasked(c);
});

function peer(): ObjectNode {
  return obj(
    {
      podSelector: labelSelector(),
      namespaceSelector: labelSelector(),
      ipBlock: obj(
        {
          cidr: str({ maxLength: 64, rules: [cidrRule] }),
          except: list(str({ maxLength: 64, rules: [cidrRule] }), { maxItems: 8 }),
        },
        {
          required: ['cidr'],
          rules: [
            rule<IPBlock>(MESSAGES.exceptWithinCidr, (b) => {
              const outer = parseCidr(b.cidr);
              if (b.except === undefined || outer === undefined) return true;
              return b.except.every((e) => {
                const inner = parseCidr(e);
                return inner === undefined || (containsCidr(outer, inner) && inner.prefixLength > outer.prefixLength);
              });
            }),
          ],
        },
      ),
    },
    {
      rules: [
        rule<NetworkPolicyPeer>(MESSAGES.peer, (p) =>
          p.ipBlock !== undefined
            ? p.podSelector === undefined && p.namespaceSelector === undefined
            : p.podSelector !== undefined || p.namespaceSelector !== undefined,
        ),
      ],
    },
  );
}

function ports(): ArrayNode {
  return list(
    obj(
      {
        protocol: str({ enum: PROTOCOLS }),
        port: { type: 'int-or-string', maxLength: 15 },
        endPort: int32({ minimum: 1, maximum: 65535 }),
      },
      {
        rules: [
          rule<NetworkPolicyPort>(MESSAGES.port, (p) => {
            if (p.port === undefined) return true;
            if (typeof p.port === 'number') return p.port >= 1 && p.port <= 65535;
            return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p.port) && /[a-z]/.test(p.port) && !p.port.includes('--');
          }),
          rule<NetworkPolicyPort>(MESSAGES.endPort, (p) =>
            p.endPort === undefined || (typeof p.port === 'number' && p.endPort >= p.port),
          ),
        ],
      },
    ),
    { maxItems: 8 },
  );
}

const RESERVED_LABEL = (k: string): boolean =>
  k === LABEL_MANAGED_BY || k.startsWith(OPERATOR_KEY_PREFIX) || k.startsWith(POD_SECURITY_KEY_PREFIX);

/** The schema of BuildQuotaPolicy.spec. */
export const POLICY_SPEC_SCHEMA: ObjectNode = obj({
  priority: int32({ default: DEFAULT_PRIORITY, minimum: -1000000, maximum: 1000000 }),
  toolSelector: labelSelector({ default: DEFAULT_TOOL_SELECTOR }),
  tools: list(
    str({ maxLength: TOOL_NAME_MAX_LENGTH, rules: [rule<string>(MESSAGES.toolName, (s) => TOOL_NAME_PATTERN.test(s))] }),
    { maxItems: 512, listType: 'set' },
  ),
  namespace: obj({
    nameTemplate: str({
      default: DEFAULT_NAME_TEMPLATE,
      maxLength: 63,
      rules: [
        rule<string>(MESSAGES.templateHasTool, (s) => s.includes(TOOL_PLACEHOLDER)),
        rule<string>(MESSAGES.templateIsLabel, (s) => isDns1123Label(s.replaceAll(TOOL_PLACEHOLDER, 'x'))),
        rule<string>(MESSAGES.templateNotTool, (s) => !s.startsWith(TOOL_NAMESPACE_PREFIX)),
      ],
    }),
    podSecurity: str({ default: DEFAULT_POD_SECURITY, enum: POD_SECURITY_LEVELS }),
    labels: map(str({ maxLength: 63, rules: [labelValueRule] }), {
      maxProperties: 32,
      rules: [
        labelKeysRule,
        rule<Record<string, string>>(MESSAGES.reservedLabels, (m) => !Object.keys(m).some(RESERVED_LABEL)),
      ],
    }),
    annotations: map(str({ maxLength: 4096 }), {
      maxProperties: 32,
      rules: [
        rule<Record<string, string>>(MESSAGES.annotationKeys, (m) => Object.keys(m).every(isQualifiedName)),
        rule<Record<string, string>>(MESSAGES.reservedAnnotations, (m) =>
          Object.keys(m).every((k) => !k.startsWith(OPERATOR_KEY_PREFIX)),
        ),
      ],
    }),
  }),
  resourceQuota: obj({
    hard: quantityMap(64, nonNegativeQuantity, [
      rule<ResourceList>(MESSAGES.quotaKeys, (m) => Object.keys(m).every(isQualifiedName)),
      rule<ResourceList>(MESSAGES.quotaStandardKeys, (m) =>
        Object.keys(m).every(
          (k) =>
            k.includes('/') ||
            STANDARD_QUOTA_RESOURCES.includes(k) ||
            k.startsWith('hugepages-') ||
            k.startsWith('requests.hugepages-'),
        ),
      ),
    ]),
  }),
  limitRange: obj(
    {
      limits: list(
        obj(
          {
            type: str({ enum: LIMIT_TYPES }),
            max: quantityMap(16, nonNegativeQuantity),
            min: quantityMap(16, nonNegativeQuantity),
            default: quantityMap(16, nonNegativeQuantity),
            defaultRequest: quantityMap(16, nonNegativeQuantity),
            maxLimitRequestRatio: quantityMap(16, ratioQuantity),
          },
          {
            required: ['type'],
            rules: [
              rule<LimitRangeItem>(
                MESSAGES.podNoDefaults,
                (i) => i.type !== 'Pod' || (i.default === undefined && i.defaultRequest === undefined),
              ),
              rule<LimitRangeItem>(
                MESSAGES.pvcStorage,
                (i) =>
                  i.type !== 'PersistentVolumeClaim' ||
                  (i.min !== undefined && has(i.min, 'storage')) ||
                  (i.max !== undefined && has(i.max, 'storage')),
              ),
              notGreater(MESSAGES.minMax, 'min', 'max'),
              notGreater(MESSAGES.defaultMax, 'default', 'max'),
              notGreater(MESSAGES.minDefault, 'min', 'default'),
              notGreater(MESSAGES.defaultRequestMax, 'defaultRequest', 'max'),
              notGreater(MESSAGES.minDefaultRequest, 'min', 'defaultRequest'),
              notGreater(MESSAGES.defaultRequestDefault, 'defaultRequest', 'default'),
            ],
          },
        ),
        { maxItems: 3, listType: 'map', listMapKeys: ['type'] },
      ),
    },
    { required: ['limits'] },
  ),
  serviceAccount: obj({
    name: str({ default: DEFAULT_SERVICE_ACCOUNT_NAME, maxLength: 253, rules: [dnsSubdomainRule] }),
    secrets: list(str({ maxLength: 253, rules: [dnsSubdomainRule] }), { maxItems: 16, listType: 'set' }),
    imagePullSecrets: list(str({ maxLength: 253, rules: [dnsSubdomainRule] }), { maxItems: 16, listType: 'set' }),
  }),
  access: obj({
    toolRole: str({
      default: DEFAULT_TOOL_ROLE,
      maxLength: 253,
      rules: [rule<string>(MESSAGES.clusterRoleName, isPathSegmentName)],
    }),
    extraSubjects: list(
      obj(
        {
          kind: str({ enum: SUBJECT_KINDS }),
          name: str({ minLength: 1, maxLength: 253 }),
          namespace: str({ maxLength: 63, rules: [namespaceNameRule] }),
          apiGroup: str({ maxLength: 253 }),
        },
        {
          required: ['kind', 'name'],
          rules: [
            rule<Subject>(MESSAGES.subjectApiGroup, (s) =>
              s.kind === 'ServiceAccount'
                ? s.apiGroup === undefined || s.apiGroup === ''
                : s.apiGroup === undefined || s.apiGroup === 'rbac.authorization.k8s.io',
            ),
            rule<Subject>(MESSAGES.subjectNamespace, (s) => s.kind === 'ServiceAccount' || s.namespace === undefined),
            rule<Subject>(
              MESSAGES.subjectServiceAccountName,
              (s) => s.kind !== 'ServiceAccount' || isDns1123Subdomain(s.name),
            ),
          ],
        },
      ),
      { maxItems: 16 },
    ),
  }),
  networkPolicy: obj({
    podSelector: labelSelector(),
    policyTypes: list(str({ enum: POLICY_TYPES }), { maxItems: 2, listType: 'set' }),
    ingress: list(obj({ from: list(peer(), { maxItems: 8 }), ports: ports() }), { maxItems: 8 }),
    egress: list(obj({ to: list(peer(), { maxItems: 8 }), ports: ports() }), { maxItems: 8 }),
  }),
  replicate: list(
    obj(
      {
        apiVersion: str({
          default: DEFAULT_REPLICATE_API_VERSION,
          maxLength: 253,
          rules: [
            rule<string>(MESSAGES.replicateApiVersion, (s) =>
              /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(s),
            ),
          ],
        }),
        kind: str({ maxLength: 63, rules: [rule<string>(MESSAGES.replicateKind, (s) => /^[A-Z][A-Za-z0-9]*$/.test(s))] }),
        namespace: str({ maxLength: 63, rules: [namespaceNameRule] }),
        name: str({ maxLength: 253, rules: [dnsSubdomainRule] }),
        selector: labelSelector(),
      },
      {
        required: ['kind', 'namespace'],
        rules: [
          rule<ReplicateEntry>(
            MESSAGES.replicateNameOrSelector,
            (r) => (r.name !== undefined) !== (r.selector !== undefined),
          ),
        ],
      },
    ),
    { maxItems: 32 },
  ),
  builds: obj({
    keepSuccessful: int32({ minimum: 0, maximum: 1000 }),
    keepFailed: int32({ minimum: 0, maximum: 1000 }),
    ttlSecondsAfterFinished: int64({ minimum: 0, maximum: 31622400 }),
  }),
  deletionPolicy: str({ enum: DELETION_POLICIES }),
});
