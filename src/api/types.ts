// The BuildQuotaPolicy API (builds.toolforge.org/v1alpha1) and every label, annotation and API
// name the operator uses. The spec and status types and the enum values are generated from the
// CRD (src/api/generated/) and re-exported here; this file adds only what the schema does not say.

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
/**
 * On a PipelineRun in a build namespace: its place in the build queue while held, then
 * `started <RFC 3339 time>` once the queue started it (how a restarted operator knows who had
 * the last turns). Tekton copies it to the build pods, like any annotation of the run.
 */
export const ANNOTATION_QUEUE = 'builds.toolforge.org/queue';
/**
 * What the hold writes in ANNOTATION_QUEUE on create, and what a run far back in its tool's
 * line keeps: the queue writes a run's exact place only as it nears the front.
 */
export const QUEUE_IN_LINE = 'waiting: in line for this tool';
/**
 * Tekton's label naming a run's Pipeline, which its first reconcile adds with a metadata update.
 * The hold sets it on create, so a held run costs Tekton's client one status write, not two.
 */
export const LABEL_TEKTON_PIPELINE = 'tekton.dev/pipeline';
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

// Generated from crds/buildquotapolicies.builds.toolforge.org.yaml; see scripts/api-types.ts.
export {
  DELETION_POLICIES,
  LABEL_SELECTOR_OPERATORS,
  LIMIT_TYPES,
  POD_SECURITY_LEVELS,
  POLICY_TYPES,
  PROTOCOLS,
  SUBJECT_KINDS,
} from './generated/buildquotapolicy.js';
export type {
  AccessSection,
  BuildQuotaPolicySpec,
  BuildQuotaPolicyStatus,
  BuildsSection,
  Condition,
  DeletionHold,
  DeletionPolicy,
  IPBlock,
  LabelSelector,
  LabelSelectorOperator,
  LabelSelectorRequirement,
  LimitRangeItem,
  LimitRangeSection,
  LimitType,
  NamespaceSection,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicySection,
  PodSecurityLevel,
  PolicyType,
  Protocol,
  QuantityValue,
  ReplicateEntry,
  ResourceList,
  ResourceQuotaSection,
  ServiceAccountSection,
  Subject,
  SubjectKind,
  ToolFailure,
} from './generated/buildquotapolicy.js';
import type { BuildQuotaPolicySpec, BuildQuotaPolicyStatus } from './generated/buildquotapolicy.js';
import { BUILD_QUOTA_POLICY_SCHEMA } from './generated/buildquotapolicy-schema.js';
import { schemaAt } from './openapi.js';
import type { ObjectMeta } from './meta.js';

function maxItems(path: string): number {
  const max = schemaAt(BUILD_QUOTA_POLICY_SCHEMA, path).maxItems;
  if (max === undefined) throw new Error(`the CRD sets no maxItems on ${path}`);
  return max;
}

/** The schema's maxItems for status.failures and status.deletionHold.tools (the one limit for both). */
export const STATUS_MAX_LISTED = Math.min(maxItems('status.failures'), maxItems('status.deletionHold.tools'));

/** A policy is cluster-scoped: its metadata has no namespace. */
export type PolicyMetadata = Omit<ObjectMeta, 'namespace'>;

export interface BuildQuotaPolicy {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: PolicyMetadata;
  spec: BuildQuotaPolicySpec;
  status?: BuildQuotaPolicyStatus;
}
