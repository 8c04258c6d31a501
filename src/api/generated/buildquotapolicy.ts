// The BuildQuotaPolicy spec and status types, generated from crds/buildquotapolicies.builds.toolforge.org.yaml: do not edit.
// Regenerate with `npm run generate` (make generate); a unit test fails when this file is stale.

export interface BuildQuotaPolicySpec {
  /**
   * Higher wins where several policies match one tool; ties are broken by name, the alphabetically first winning.
   */
  priority?: number;
  /**
   * Label selector on tool namespaces (tool-<name>); an empty selector matches every namespace.
   */
  toolSelector?: LabelSelector;
  /**
   * If set, only these tool names (per-tool overrides); the selector must match as well.
   */
  tools?: string[];
  /**
   * The build namespace itself.
   */
  namespace?: NamespaceSection;
  /**
   * The ResourceQuota build-quota of the build namespace.
   */
  resourceQuota?: ResourceQuotaSection;
  /**
   * The LimitRange build-limits of the build namespace; no LimitRange when limits is empty.
   */
  limitRange?: LimitRangeSection;
  /**
   * The ServiceAccount build pods run as.
   */
  serviceAccount?: ServiceAccountSection;
  /**
   * Who may use the build namespace, and how.
   */
  access?: AccessSection;
  /**
   * If set, NetworkPolicy build-network in the build namespace: a NetworkPolicySpec whose podSelector defaults to {} (every pod) and whose policyTypes default as the API server's do.
   */
  networkPolicy?: NetworkPolicySection;
  /**
   * Objects copied into every build namespace and kept equal to their source.
   */
  replicate?: ReplicateEntry[];
  /**
   * Retention of finished PipelineRuns in the build namespace, and the build fence (what a PipelineRun may hold). The retention fields are taken together from the highest-priority policy that sets any of them, the fence from the one that sets it.
   */
  builds?: BuildsSection;
  /**
   * What happens to the build namespace when its tool goes away: Delete or Retain. Unset means Delete, decided by the highest-priority matching policy that sets it (no schema default, so that an override policy does not silently reset it).
   */
  deletionPolicy?: DeletionPolicy;
}

export interface BuildQuotaPolicyStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  matchedTools?: number;
  readyTools?: number;
  failedTools?: number;
  /**
   * Some of the tools this policy could not be applied to, and why.
   */
  failures?: ToolFailure[];
  /**
   * Build namespace deletions held back because a pass would have deleted an unusual share at once.
   */
  deletionHold?: DeletionHold;
}

export interface LabelSelector {
  matchLabels?: {
    [k: string]: string;
  };
  matchExpressions?: LabelSelectorRequirement[];
}

export interface NamespaceSection {
  /**
   * Name of the build namespace; {tool} is replaced by the tool name. A name over 63 characters is cut and given a hash suffix.
   */
  nameTemplate?: string;
  /**
   * Pod Security Standard enforced (and warned and audited) in the build namespace.
   */
  podSecurity?: PodSecurityLevel;
  /**
   * Extra labels of the build namespace.
   */
  labels?: {
    [k: string]: string;
  };
  /**
   * Extra annotations of the build namespace.
   */
  annotations?: {
    [k: string]: string;
  };
}

export interface ResourceQuotaSection {
  /**
   * Merged key by key across the matching policies, the higher priority winning each key.
   */
  hard?: ResourceList;
  /**
   * Further ResourceQuotas build-quota-<name>, each counting only what its scopeSelector selects: pods 0 for PriorityClass In [system-node-critical, system-cluster-critical] keeps every build pod off the system priorities. Taken whole from the highest-priority policy that sets it.
   */
  scoped?: {
    name: string;
    hard: ResourceList;
    scopeSelector: {
      matchExpressions: {
        scopeName:
          | 'PriorityClass'
          | 'Terminating'
          | 'NotTerminating'
          | 'BestEffort'
          | 'NotBestEffort'
          | 'CrossNamespacePodAffinity';
        operator: LabelSelectorOperator;
        values?: string[];
      }[];
    };
  }[];
}

export interface LimitRangeSection {
  limits: LimitRangeItem[];
}

export interface ServiceAccountSection {
  name?: string;
  /**
   * Names of Secrets in the build namespace (usually replicated ones) listed in the ServiceAccount's secrets.
   */
  secrets?: string[];
  /**
   * Names of Secrets in the build namespace listed in the ServiceAccount's imagePullSecrets.
   */
  imagePullSecrets?: string[];
}

export interface AccessSection {
  /**
   * ClusterRole bound to User <tool> in its build namespace by RoleBinding tool-builds.
   */
  toolRole?: string;
  /**
   * More subjects of RoleBinding tool-builds, such as the builds-api ServiceAccount.
   */
  extraSubjects?: Subject[];
}

export interface NetworkPolicySection {
  podSelector?: LabelSelector;
  policyTypes?: PolicyType[];
  ingress?: NetworkPolicyIngressRule[];
  egress?: NetworkPolicyEgressRule[];
}

export interface ReplicateEntry {
  apiVersion?: string;
  kind: string;
  /**
   * Namespace of the source object(s).
   */
  namespace: string;
  name?: string;
  selector?: LabelSelector;
}

export interface BuildsSection {
  keepSuccessful?: number;
  keepFailed?: number;
  ttlSecondsAfterFinished?: number;
  /**
   * How many of the tool's PipelineRuns the build queue lets run at once (started and not finished); the rest wait in line, held. Taken on its own from the highest-priority policy that sets it. Unset, it is as many builds as the tool's build-quota has room for (its hard limits over one build pod at the LimitRange defaults, so pods: 4 gives 4, as many as builds-api allows in parallel), or 4 when the quota bounds nothing: the quota is what a tool may use, so a separate default could only leave quota idle or let builds be refused by it.
   */
  maxRunning?: number;
  /**
   * What a PipelineRun in the build namespace may hold, enforced by the API server (a ValidatingAdmissionPolicy with per-namespace parameters). Each field is taken from the highest-priority matching policy that sets it; params are merged by name. Unset fields give the strict Toolforge allowlist for the replicated Pipelines.
   */
  fence?: {
    /**
     * Names of the Pipelines a PipelineRun may reference; each must be a Pipeline this policy replicates by name. Default, the replicated Pipelines.
     */
    pipelines?: string[];
    /**
     * The params a PipelineRun may pass; any other is refused. {tool} in a pattern stands for the tool's name.
     */
    params?: {
      /**
       * The param's name; at most 55 characters, so that the namespace annotation fence.builds.toolforge.org/pattern.<name> that carries its pattern is a valid key.
       */
      name: string;
      /**
       * A plain string, or an array of strings (each matching the pattern).
       */
      type?: 'string' | 'array';
      /**
       * An RE2 regular expression the value (each item of an array) must match; {tool} is replaced by the tool name. Unset: any value.
       */
      pattern?: string;
      /**
       * The PipelineRun must pass this param.
       */
      required?: boolean;
    }[];
    /**
     * The shortest timeouts.pipeline allowed (a Go duration, more than 0). Default 1m.
     */
    minPipelineTimeout?: string;
    /**
     * The longest timeouts.pipeline allowed (a Go duration, more than 0). Default 1h, Tekton's own default.
     */
    maxPipelineTimeout?: string;
    /**
     * Label keys a PipelineRun may carry (Tekton copies them to the pods): an entry ending in '/' allows every key under it, any other entry that exact key. Default [user].
     */
    labelPrefixes?: string[];
    /**
     * Annotation keys a PipelineRun may carry, as labelPrefixes. Default [kubectl.kubernetes.io/last-applied-configuration].
     */
    annotationPrefixes?: string[];
  };
}

export type DeletionPolicy = 'Delete' | 'Retain';

/** The values of DeletionPolicy, in the schema's order. */
export const DELETION_POLICIES = ["Delete", "Retain"] as const;

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

export interface DeletionHold {
  since: string;
  pendingDeletions: number;
  /**
   * Some of the tools whose build namespaces are held.
   */
  tools?: string[];
  message: string;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator;
  values?: string[];
}

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/** The values of PodSecurityLevel, in the schema's order. */
export const POD_SECURITY_LEVELS = ["privileged", "baseline", "restricted"] as const;

export interface ResourceList {
  [k: string]: QuantityValue;
}

export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

/** The values of LabelSelectorOperator, in the schema's order. */
export const LABEL_SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

export interface LimitRangeItem {
  type: LimitType;
  max?: ResourceList;
  min?: ResourceList;
  default?: ResourceList;
  defaultRequest?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}

export interface Subject {
  kind: SubjectKind;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export type PolicyType = 'Ingress' | 'Egress';

/** The values of PolicyType, in the schema's order. */
export const POLICY_TYPES = ["Ingress", "Egress"] as const;

export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export type QuantityValue = number | string;

export type LimitType = 'Pod' | 'Container' | 'PersistentVolumeClaim';

/** The values of LimitType, in the schema's order. */
export const LIMIT_TYPES = ["Pod", "Container", "PersistentVolumeClaim"] as const;

export type SubjectKind = 'User' | 'Group' | 'ServiceAccount';

/** The values of SubjectKind, in the schema's order. */
export const SUBJECT_KINDS = ["User", "Group", "ServiceAccount"] as const;

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}

export interface NetworkPolicyPort {
  protocol?: Protocol;
  port?: number | string;
  endPort?: number;
}

export interface IPBlock {
  cidr: string;
  except?: string[];
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** The values of Protocol, in the schema's order. */
export const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;

/** The schema's `default:` values by field path (`[]` steps into array items), as the API server fills them in. */
export const SCHEMA_DEFAULTS = {
  "spec.priority": 0,
  "spec.toolSelector": {
    "matchLabels": {
      "tenancy": "tool"
    }
  },
  "spec.namespace.nameTemplate": "image-build-{tool}",
  "spec.namespace.podSecurity": "baseline",
  "spec.serviceAccount.name": "buildpacks-service-account",
  "spec.access.toolRole": "build-namespace-tool",
  "spec.replicate[].apiVersion": "v1",
  "spec.builds.fence.params[].type": "string",
  "spec.builds.fence.params[].required": false
} as const;
