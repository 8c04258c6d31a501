// The BuildQuotaPolicy API (builds.toolforge.org/v1alpha1) as TypeScript types, and every label,
// annotation and API name the operator uses, kept in this one place.
// crds/buildquotapolicies.builds.toolforge.org.yaml is the schema; test/unit/crd-schema.test.ts
// fails when the two drift apart.

export const GROUP = 'builds.toolforge.org';
export const VERSION = 'v1alpha1';
export const API_VERSION = 'builds.toolforge.org/v1alpha1';
export const KIND = 'BuildQuotaPolicy';
export const LIST_KIND = 'BuildQuotaPolicyList';
export const PLURAL = 'buildquotapolicies';
export const SINGULAR = 'buildquotapolicy';
export const SHORT_NAME = 'bqp';
export const CRD_NAME = 'buildquotapolicies.builds.toolforge.org';

/** Value of the managed-by label, and the server-side apply field manager. */
export const MANAGER = 'build-namespace-operator';
export const FIELD_MANAGER = MANAGER;

// Labels the operator sets on everything it makes. A build namespace is deleted only when it
// carries both LABEL_MANAGED_BY=MANAGER and LABEL_TOOL: the label, never the name, says whose it is.
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_TOOL = 'builds.toolforge.org/tool';
/** On the build namespace, "true" once every object of the namespace exists and is up to date. */
export const LABEL_READY = 'builds.toolforge.org/ready';
export const READY_VALUE = 'true';

// Pod Security Admission labels of the build namespace, all three at the policy's level.
export const LABEL_POD_SECURITY_ENFORCE = 'pod-security.kubernetes.io/enforce';
export const LABEL_POD_SECURITY_WARN = 'pod-security.kubernetes.io/warn';
export const LABEL_POD_SECURITY_AUDIT = 'pod-security.kubernetes.io/audit';

/** On the build namespace: the policies that shaped it, highest priority first, comma separated. */
export const ANNOTATION_POLICIES = 'builds.toolforge.org/policies';
/** On the build namespace: Delete or Retain, the deletion policy in force when it was last applied. */
export const ANNOTATION_DELETION_POLICY = 'builds.toolforge.org/deletion-policy';
/** On a retained build namespace whose tool is gone: when that was noticed (RFC 3339). */
export const ANNOTATION_ORPHANED = 'builds.toolforge.org/orphaned';
/**
 * On any BuildQuotaPolicy: lifts the hold on mass deletion of build namespaces while present,
 * or until the RFC 3339 time it holds.
 */
export const ANNOTATION_ALLOW_MASS_DELETION = 'builds.toolforge.org/allow-mass-deletion';
/** On a replicated object: its source, as "<namespace>/<name>". */
export const ANNOTATION_REPLICATED_FROM = 'builds.toolforge.org/replicated-from';
/** On a replicated object: a hash of the source content last copied, to notice rotation. */
export const ANNOTATION_SOURCE_HASH = 'builds.toolforge.org/source-hash';

// What the operator reserves: policies may not set these keys on the build namespace.
export const OPERATOR_KEY_PREFIX = 'builds.toolforge.org/';
export const POD_SECURITY_KEY_PREFIX = 'pod-security.kubernetes.io/';

// Tool namespaces, as maintain_kubeusers makes them.
export const TOOL_NAMESPACE_PREFIX = 'tool-';
export const LABEL_TENANCY = 'tenancy';
export const TENANCY_TOOL = 'tool';
/** maintain_kubeusers labels a tool namespace name=tool-<name>. */
export const LABEL_TOOL_NAMESPACE_NAME = 'name';

export const POD_SECURITY_LEVELS = ['privileged', 'baseline', 'restricted'] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

export const DELETION_POLICIES = ['Delete', 'Retain'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

export const LABEL_SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type LabelSelectorOperator = (typeof LABEL_SELECTOR_OPERATORS)[number];

export const LIMIT_TYPES = ['Pod', 'Container', 'PersistentVolumeClaim'] as const;
export type LimitType = (typeof LIMIT_TYPES)[number];

export const SUBJECT_KINDS = ['User', 'Group', 'ServiceAccount'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

export const POLICY_TYPES = ['Ingress', 'Egress'] as const;
export type PolicyType = (typeof POLICY_TYPES)[number];

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** A quantity as written: "500m", "4Gi", or an integer such as 4. */
export type QuantityValue = string | number;
export type ResourceList = Record<string, QuantityValue>;

/** metav1.LabelSelector. */
export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface NamespaceSection {
  /** "{tool}" is replaced by the tool name. */
  nameTemplate?: string;
  podSecurity?: PodSecurityLevel;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ResourceQuotaSection {
  hard?: ResourceList;
}

/** corev1.LimitRangeItem. */
export interface LimitRangeItem {
  type: LimitType;
  max?: ResourceList;
  min?: ResourceList;
  default?: ResourceList;
  defaultRequest?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}

export interface LimitRangeSection {
  /** An empty list means: no LimitRange. */
  limits: LimitRangeItem[];
}

export interface ServiceAccountSection {
  name?: string;
  /** Secret names listed in the ServiceAccount's secrets (Tekton reads credentials from there). */
  secrets?: string[];
  imagePullSecrets?: string[];
}

/** rbacv1.Subject. */
export interface Subject {
  kind: SubjectKind;
  name: string;
  /** ServiceAccount only; empty means the build namespace. */
  namespace?: string;
  apiGroup?: string;
}

export interface AccessSection {
  toolRole?: string;
  extraSubjects?: Subject[];
}

/** networkingv1.NetworkPolicySpec, with a podSelector that defaults to every pod. */
export interface NetworkPolicySection {
  podSelector?: LabelSelector;
  policyTypes?: PolicyType[];
  ingress?: NetworkPolicyIngressRule[];
  egress?: NetworkPolicyEgressRule[];
}

export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}

export interface IPBlock {
  cidr: string;
  except?: string[];
}

export interface NetworkPolicyPort {
  protocol?: Protocol;
  /** A port number or a named port. */
  port?: number | string;
  endPort?: number;
}

/** An object (name) or objects (selector) copied from namespace into every build namespace. */
export interface ReplicateEntry {
  /** Defaults to v1. */
  apiVersion?: string;
  kind: string;
  namespace: string;
  name?: string;
  selector?: LabelSelector;
}

/** Retention of finished PipelineRuns. */
export interface BuildsSection {
  keepSuccessful?: number;
  keepFailed?: number;
  ttlSecondsAfterFinished?: number;
}

export interface BuildQuotaPolicySpec {
  priority?: number;
  /** Absent means {matchLabels: {tenancy: tool}}; {} matches every namespace. */
  toolSelector?: LabelSelector;
  tools?: string[];
  namespace?: NamespaceSection;
  resourceQuota?: ResourceQuotaSection;
  limitRange?: LimitRangeSection;
  serviceAccount?: ServiceAccountSection;
  access?: AccessSection;
  networkPolicy?: NetworkPolicySection;
  replicate?: ReplicateEntry[];
  builds?: BuildsSection;
  deletionPolicy?: DeletionPolicy;
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ToolFailure {
  tool: string;
  reason: string;
  message: string;
}

/** Build namespace deletions held back because one pass would have deleted an unusual share. */
export interface DeletionHold {
  since: string;
  pendingDeletions: number;
  /** Some of the tools concerned (at most STATUS_MAX_LISTED). */
  tools?: string[];
  message: string;
}

/** The schema's maxItems for status.failures and status.deletionHold.tools. */
export const STATUS_MAX_LISTED = 20;

export interface BuildQuotaPolicyStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  matchedTools?: number;
  readyTools?: number;
  failedTools?: number;
  failures?: ToolFailure[];
  deletionHold?: DeletionHold;
}

export interface PolicyMetadata {
  name: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface BuildQuotaPolicy {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: PolicyMetadata;
  spec: BuildQuotaPolicySpec;
  status?: BuildQuotaPolicyStatus;
}
