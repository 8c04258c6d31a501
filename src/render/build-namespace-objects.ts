// renderBuildNamespace: the objects one tool's build namespace consists of, from its effective
// policy. Pure and deterministic: plain JSON in the exact form the API server stores it (its
// defaults written out), so that a live object that is up to date compares equal in diff.ts.

import { renderFenceAnnotations } from './fence.js';
import { isDns1123Label } from '../api/k8s-syntax.js';
import { err, ok, type Result } from '../api/result.js';
import { validateToolName, type ToolNameErrorReason } from '../api/tool.js';
import {
  ANNOTATION_DELETION_POLICY,
  ANNOTATION_POLICIES,
  LABEL_MANAGED_BY,
  LABEL_POD_SECURITY_AUDIT,
  LABEL_POD_SECURITY_ENFORCE,
  LABEL_POD_SECURITY_WARN,
  LABEL_READY,
  LABEL_TOOL,
  MANAGER,
  READY_VALUE,
  TOOL_NAMESPACE_PREFIX,
  type LabelSelector,
  type NetworkPolicyEgressRule,
  type NetworkPolicyIngressRule,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type NetworkPolicySection,
  type Subject,
} from '../api/types.js';
import type { EffectiveLimitRangeItem, EffectivePolicy, Quantities } from '../policy/effective.js';
import {
  BUILD_LIMITS_NAME,
  BUILD_NETWORK_POLICY_NAME,
  BUILD_QUOTA_NAME,
  TOOL_ROLE_BINDING_NAME,
  buildNamespaceName,
} from './names.js';
import type { DesiredObject } from '../api/meta.js';

export const RBAC_API_GROUP = 'rbac.authorization.k8s.io';

export interface RenderOptions {
  /** Adds builds.toolforge.org/ready=true to the Namespace: only once everything else exists. */
  ready: boolean;
}

export type RenderErrorReason = Exclude<ToolNameErrorReason, 'NotToolNamespace'> | 'InvalidNamespaceName' | 'NamespaceCollision';

export interface RenderError {
  reason: RenderErrorReason;
  message: string;
}

function sorted<V>(record: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The labels every object of a build namespace carries: they, not names, say whose it is. */
export function ownerLabels(tool: string): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGER, [LABEL_TOOL]: tool };
}

function renderNamespace(name: string, effective: EffectivePolicy, opts: RenderOptions): DesiredObject {
  const level = effective.namespace.podSecurity;
  // The operator's own keys are written last so that a policy cannot override them.
  const labels: Record<string, string> = {
    ...effective.namespace.labels,
    ...ownerLabels(effective.tool),
    [LABEL_POD_SECURITY_ENFORCE]: level,
    [LABEL_POD_SECURITY_WARN]: level,
    [LABEL_POD_SECURITY_AUDIT]: level,
  };
  if (opts.ready) labels[LABEL_READY] = READY_VALUE;
  const annotations: Record<string, string> = {
    ...effective.namespace.annotations,
    [ANNOTATION_POLICIES]: effective.sources.join(','),
    [ANNOTATION_DELETION_POLICY]: effective.deletionPolicy,
    // The build fence's parameters arrive with the namespace, so no tool is let in before them.
    ...renderFenceAnnotations(effective),
  };
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: sorted(labels), annotations: sorted(annotations) },
  };
}

function metadata(name: string, namespace: string, tool: string): DesiredObject['metadata'] {
  return { name, namespace, labels: ownerLabels(tool) };
}

function renderResourceQuota(namespace: string, effective: EffectivePolicy): DesiredObject {
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: metadata(BUILD_QUOTA_NAME, namespace, effective.tool),
    spec: { hard: sorted(effective.resourceQuota.hard) },
  };
}

/**
 * The scoped quotas, build-quota-<name>: each counts only the pods its scopeSelector selects,
 * so that, for one, no build pod runs at a system priority (pods 0 for those PriorityClasses):
 * a priority is what a pod's own fields cannot be fenced into showing honestly.
 */
function renderScopedQuotas(namespace: string, effective: EffectivePolicy): DesiredObject[] {
  return (effective.resourceQuota.scoped ?? []).map((q) => ({
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: metadata(`${BUILD_QUOTA_NAME}-${q.name}`, namespace, effective.tool),
    spec: { hard: sorted(q.hard), scopeSelector: { matchExpressions: q.scopeSelector.matchExpressions.map((e) => ({ ...e })) } },
  }));
}

// The API server's SetDefaults_LimitRangeItem, so that desired equals stored: for Container
// limits, default falls back to max, and defaultRequest to default, then to min.
function defaultedLimit(item: EffectiveLimitRangeItem): EffectiveLimitRangeItem {
  const out: EffectiveLimitRangeItem = { type: item.type };
  const withFallbacks = (own: Quantities | undefined, ...fallbacks: Array<Quantities | undefined>): Quantities => {
    const result: Quantities = { ...own };
    for (const fallback of fallbacks) {
      for (const [k, v] of Object.entries(fallback ?? {})) if (!(k in result)) result[k] = v;
    }
    return result;
  };
  let def = item.default;
  let defaultRequest = item.defaultRequest;
  if (item.type === 'Container') {
    def = withFallbacks(item.default, item.max);
    defaultRequest = withFallbacks(item.defaultRequest, def, item.min);
  }
  const fields: Array<[keyof Omit<EffectiveLimitRangeItem, 'type'>, Quantities | undefined]> = [
    ['max', item.max],
    ['min', item.min],
    ['default', def],
    ['defaultRequest', defaultRequest],
    ['maxLimitRequestRatio', item.maxLimitRequestRatio],
  ];
  for (const [field, value] of fields) {
    if (value !== undefined && Object.keys(value).length > 0) out[field] = sorted(value);
  }
  return out;
}

function renderLimitRange(namespace: string, effective: EffectivePolicy): DesiredObject | undefined {
  const limits = effective.limitRange?.limits ?? [];
  if (limits.length === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: metadata(BUILD_LIMITS_NAME, namespace, effective.tool),
    spec: { limits: limits.map(defaultedLimit) },
  };
}

function renderServiceAccount(namespace: string, effective: EffectivePolicy): DesiredObject {
  const sa = effective.serviceAccount;
  const object: DesiredObject = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: metadata(sa.name, namespace, effective.tool),
  };
  if (sa.secrets.length > 0) object.secrets = sa.secrets.map((name) => ({ name }));
  if (sa.imagePullSecrets.length > 0) object.imagePullSecrets = sa.imagePullSecrets.map((name) => ({ name }));
  return object;
}

// rbac/v1 defaults apiGroup for User and Group subjects; written out so stored equals desired.
function subject(s: Subject): Record<string, string> {
  const out: Record<string, string> = { kind: s.kind };
  if (s.kind !== 'ServiceAccount') out.apiGroup = s.apiGroup ?? RBAC_API_GROUP;
  out.name = s.name;
  if (s.kind === 'ServiceAccount' && s.namespace !== undefined && s.namespace !== '') out.namespace = s.namespace;
  return out;
}

function renderRoleBinding(namespace: string, effective: EffectivePolicy): DesiredObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: metadata(TOOL_ROLE_BINDING_NAME, namespace, effective.tool),
    roleRef: { apiGroup: RBAC_API_GROUP, kind: 'ClusterRole', name: effective.access.toolRole },
    subjects: [
      subject({ kind: 'User', name: effective.tool }),
      ...effective.access.extraSubjects.map(subject),
    ],
  };
}

function selector(s: LabelSelector): LabelSelector {
  const out: LabelSelector = {};
  if (s.matchLabels !== undefined && Object.keys(s.matchLabels).length > 0) out.matchLabels = sorted(s.matchLabels);
  if (s.matchExpressions !== undefined && s.matchExpressions.length > 0) {
    out.matchExpressions = s.matchExpressions.map((e) => (e.values === undefined || e.values.length === 0
      ? { key: e.key, operator: e.operator }
      : { key: e.key, operator: e.operator, values: [...e.values] }));
  }
  return out;
}

function peer(p: NetworkPolicyPeer): NetworkPolicyPeer {
  const out: NetworkPolicyPeer = {};
  if (p.podSelector !== undefined) out.podSelector = selector(p.podSelector);
  if (p.namespaceSelector !== undefined) out.namespaceSelector = selector(p.namespaceSelector);
  if (p.ipBlock !== undefined) {
    out.ipBlock = p.ipBlock.except !== undefined && p.ipBlock.except.length > 0
      ? { cidr: p.ipBlock.cidr, except: [...p.ipBlock.except] }
      : { cidr: p.ipBlock.cidr };
  }
  return out;
}

// networking/v1 defaults a port's protocol to TCP.
function port(p: NetworkPolicyPort): NetworkPolicyPort {
  const out: NetworkPolicyPort = { protocol: p.protocol ?? 'TCP' };
  if (p.port !== undefined) out.port = p.port;
  if (p.endPort !== undefined) out.endPort = p.endPort;
  return out;
}

function rule(peers: NetworkPolicyPeer[] | undefined, ports: NetworkPolicyPort[] | undefined, peerField: 'from' | 'to'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (peers !== undefined && peers.length > 0) out[peerField] = peers.map(peer);
  if (ports !== undefined && ports.length > 0) out.ports = ports.map(port);
  return out;
}

// networking/v1 defaults policyTypes to Ingress, plus Egress when there are egress rules.
function policyTypes(section: NetworkPolicySection): string[] {
  if (section.policyTypes !== undefined && section.policyTypes.length > 0) return [...section.policyTypes];
  return (section.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

function renderNetworkPolicy(namespace: string, effective: EffectivePolicy): DesiredObject | undefined {
  const section = effective.networkPolicy;
  if (section === undefined) return undefined;
  const spec: Record<string, unknown> = {
    podSelector: selector(section.podSelector ?? {}),
    policyTypes: policyTypes(section),
  };
  const ingress = (section.ingress ?? []).map((r: NetworkPolicyIngressRule) => rule(r.from, r.ports, 'from'));
  const egress = (section.egress ?? []).map((r: NetworkPolicyEgressRule) => rule(r.to, r.ports, 'to'));
  if (ingress.length > 0) spec.ingress = ingress;
  if (egress.length > 0) spec.egress = egress;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(BUILD_NETWORK_POLICY_NAME, namespace, effective.tool),
    spec,
  };
}

/**
 * The desired objects of a tool's build namespace, in apply order: the Namespace first, then the
 * fences (ResourceQuotas, LimitRange, NetworkPolicy), then the ServiceAccount, and the RoleBinding
 * that lets the tool in last, so the tool never holds access to a namespace without its quota.
 * A tool name or namespace name that breaks the rules is an error value.
 */
export function renderBuildNamespace(
  tool: string,
  effective: EffectivePolicy,
  opts: RenderOptions,
): Result<DesiredObject[], RenderError> {
  const valid = validateToolName(tool);
  if (!valid.ok) {
    const reason = valid.error.reason === 'NotToolNamespace' ? 'InvalidToolName' : valid.error.reason;
    return err({ reason, message: valid.error.message });
  }
  if (effective.tool !== tool) {
    return err({
      reason: 'InvalidToolName',
      message: `effective policy is for tool ${JSON.stringify(effective.tool)}, not ${JSON.stringify(tool)}`,
    });
  }
  const namespace = buildNamespaceName(tool, effective.namespace.nameTemplate);
  if (!isDns1123Label(namespace)) {
    return err({
      reason: 'InvalidNamespaceName',
      message: `nameTemplate ${JSON.stringify(effective.namespace.nameTemplate)} gives ${JSON.stringify(namespace)}, which is not a DNS label`,
    });
  }
  if (namespace.startsWith(TOOL_NAMESPACE_PREFIX)) {
    return err({
      reason: 'NamespaceCollision',
      message: `build namespace ${JSON.stringify(namespace)} would be a tool namespace; nameTemplate must not start with ${TOOL_NAMESPACE_PREFIX}`,
    });
  }
  const objects = [
    renderNamespace(namespace, effective, opts),
    renderResourceQuota(namespace, effective),
    ...renderScopedQuotas(namespace, effective),
    renderLimitRange(namespace, effective),
    renderNetworkPolicy(namespace, effective),
    renderServiceAccount(namespace, effective),
    renderRoleBinding(namespace, effective),
  ];
  return ok(objects.filter((o): o is DesiredObject => o !== undefined));
}
