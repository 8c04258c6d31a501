// The API resources the operator reads and writes, and their REST paths. Kinds not known
// here (replicated CRD objects) are found through discovery.
import { isNotFound, type KubeClient } from './client.js';

export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const known = (apiVersion: string, kind: string, plural: string, namespaced = true): ResourceType =>
  ({ apiVersion, kind, plural, namespaced });

export const NAMESPACES = known('v1', 'Namespace', 'namespaces', false);
export const RESOURCE_QUOTAS = known('v1', 'ResourceQuota', 'resourcequotas');
export const LIMIT_RANGES = known('v1', 'LimitRange', 'limitranges');
export const SERVICE_ACCOUNTS = known('v1', 'ServiceAccount', 'serviceaccounts');
export const SECRETS = known('v1', 'Secret', 'secrets');
export const CONFIG_MAPS = known('v1', 'ConfigMap', 'configmaps');
export const EVENTS = known('events.k8s.io/v1', 'Event', 'events');
export const ROLE_BINDINGS = known('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings');
export const NETWORK_POLICIES = known('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies');
export const LEASES = known('coordination.k8s.io/v1', 'Lease', 'leases');
export const PIPELINES = known('tekton.dev/v1', 'Pipeline', 'pipelines');
export const PIPELINE_RUNS = known('tekton.dev/v1', 'PipelineRun', 'pipelineruns');
export const VALIDATING_ADMISSION_POLICIES = known('admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy', 'validatingadmissionpolicies', false);
export const VALIDATING_ADMISSION_POLICY_BINDINGS =
  known('admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding', 'validatingadmissionpolicybindings', false);
export const MUTATING_ADMISSION_POLICIES = known('admissionregistration.k8s.io/v1', 'MutatingAdmissionPolicy', 'mutatingadmissionpolicies', false);
export const MUTATING_ADMISSION_POLICY_BINDINGS =
  known('admissionregistration.k8s.io/v1', 'MutatingAdmissionPolicyBinding', 'mutatingadmissionpolicybindings', false);
export const BUILD_QUOTA_POLICIES = known('builds.toolforge.org/v1alpha1', 'BuildQuotaPolicy', 'buildquotapolicies', false);

const byKind = new Map(
  [NAMESPACES, RESOURCE_QUOTAS, LIMIT_RANGES, SERVICE_ACCOUNTS, SECRETS, CONFIG_MAPS, EVENTS, ROLE_BINDINGS,
    NETWORK_POLICIES, LEASES, PIPELINE_RUNS, VALIDATING_ADMISSION_POLICIES, VALIDATING_ADMISSION_POLICY_BINDINGS,
    MUTATING_ADMISSION_POLICIES, MUTATING_ADMISSION_POLICY_BINDINGS, BUILD_QUOTA_POLICIES].map((r) => [`${r.apiVersion}/${r.kind}`, r]),
);

const groupVersionPath = (apiVersion: string) => (apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);

/** The collection path, across all namespaces when namespace is undefined. */
export function collectionPath(type: ResourceType, namespace?: string): string {
  const base = groupVersionPath(type.apiVersion);
  const scope = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${scope}/${type.plural}`;
}

export function objectPath(type: ResourceType, name: string, namespace?: string): string {
  return `${collectionPath(type, namespace)}/${encodeURIComponent(name)}`;
}

interface ApiResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

/**
 * The kinds the API server serves in one group version (empty when it serves none of it):
 * what a feature needs of an older cluster is asked, not assumed from its version.
 */
export async function servedKinds(client: KubeClient, apiVersion: string): Promise<Set<string>> {
  try {
    const list = await client.request<ApiResourceList>('GET', groupVersionPath(apiVersion));
    return new Set(list.resources.filter((r) => !r.name.includes('/')).map((r) => r.kind));
  } catch (err) {
    if (isNotFound(err)) return new Set();
    throw err;
  }
}

/** Finds a kind's resource type, from the table above or by asking the API server once. */
export class ResourceTypes {
  private readonly discovered = new Map<string, ResourceType | undefined>();

  constructor(private readonly client: KubeClient) {}

  async lookup(apiVersion: string, kind: string): Promise<ResourceType | undefined> {
    const key = `${apiVersion}/${kind}`;
    const table = byKind.get(key);
    if (table) return table;
    if (this.discovered.has(key)) return this.discovered.get(key);
    let found: ResourceType | undefined;
    try {
      const list = await this.client.request<ApiResourceList>('GET', groupVersionPath(apiVersion));
      const resource = list.resources.find((r) => r.kind === kind && !r.name.includes('/'));
      if (resource) found = known(apiVersion, kind, resource.name, resource.namespaced);
    } catch {
      found = undefined;
    }
    // An unknown kind is asked for again later: its CRD may be installed meanwhile.
    if (found) this.discovered.set(key, found);
    return found;
  }
}
