// The shape of the objects render produces: plain JSON, as the API server wants them for
// server-side apply.

export interface DesiredMetadata {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface DesiredObject {
  apiVersion: string;
  kind: string;
  metadata: DesiredMetadata;
  [field: string]: unknown;
}
