// The Kubernetes object shapes every layer shares: what the caches hold (KubeObject) and
// what render produces for server-side apply (DesiredObject, a KubeObject with more said).

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
  time?: string;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  managedFields?: ManagedFieldsEntry[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface DesiredMetadata extends ObjectMeta {
  labels: Record<string, string>;
}

/** Plain JSON, as the API server wants it for server-side apply. */
export interface DesiredObject extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: DesiredMetadata;
  [field: string]: unknown;
}
