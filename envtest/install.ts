// Installs what the operator needs on a cluster, as an admin would: the CRD, the tool
// ClusterRole and the operator's own RBAC from manifests/; and applies any manifest file.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/client.js';
import { loadKubeConfig } from '../src/kube/credentials.js';
import type { KubeObject } from '../src/api/meta.js';
import { ResourceTypes } from '../src/kube/resources.js';
import { Writer } from '../src/kube/writer.js';
import { controlPlaneInfo, eventually } from './cluster.js';
import { repoRoot } from './controlplane.js';

/** The operator's ServiceAccount, as manifests/rbac.yaml makes it. */
export const OPERATOR_NAMESPACE = 'build-namespace-operator';
export const OPERATOR_SERVICE_ACCOUNT = 'build-namespace-operator';

export function adminClient(): KubeClient {
  return new KubeClient(loadKubeConfig(controlPlaneInfo().adminKubeconfig));
}

export function clientFor(kc: KubeConfig): KubeClient {
  return new KubeClient(kc);
}

export function readManifests(path: string): KubeObject[] {
  return yaml.loadAll(readFileSync(path, 'utf8')).filter((d): d is KubeObject => typeof d === 'object' && d !== null);
}

/** Server-side applies every YAML document of the files, as the admin. */
export async function applyFiles(client: KubeClient, paths: string[]): Promise<void> {
  const writer = new Writer(client, new ResourceTypes(client));
  for (const path of paths) {
    for (const doc of readManifests(path)) await eventually(() => writer.apply(doc), { timeoutMs: 20_000 });
  }
}

/** The CRD, the tool ClusterRole and the operator's RBAC, as a cluster admin installs them. */
export async function installOperatorPrerequisites(client: KubeClient): Promise<void> {
  const root = repoRoot();
  const crds = readdirSync(join(root, 'crds')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  await applyFiles(client, [
    ...crds.map((f) => join(root, 'crds', f)),
    join(root, 'manifests/namespace.yaml'),
    join(root, 'manifests/tool-clusterrole.yaml'),
    join(root, 'manifests/rbac.yaml'),
  ]);
  await eventually(async () => {
    await client.request('GET', '/apis/builds.toolforge.org/v1alpha1/buildquotapolicies');
  }, { timeoutMs: 20_000 });
}

/** A PipelineRun as builds-api creates it for `tool`: the admin Pipeline, the tool's own image. */
export function buildsApiRun(tool: string, name: string, status?: string) {
  return {
    apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name, labels: { user: tool } },
    spec: {
      pipelineRef: { name: 'buildpacks' },
      params: [
        { name: 'APP_IMAGE', value: `tools-harbor.wmcloud.org/tool-${tool}/tool-${tool}:latest` },
        { name: 'SOURCE_URL', value: 'https://gitlab.wikimedia.org/toolforge-repos/example' },
      ],
      ...(status ? { status } : {}),
    },
  };
}

/**
 * Tekton's CRDs (the fixture: no Tekton controller) and an admin namespace holding the
 * `buildpacks` Pipeline, for a policy to replicate into build namespaces.
 */
export async function installAdminPipeline(client: KubeClient, namespace: string): Promise<void> {
  await applyFiles(client, [join(repoRoot(), 'envtest/tekton-crds.yaml')]);
  await eventually(() => client.request('GET', '/apis/tekton.dev/v1/pipelineruns'), { timeoutMs: 30_000 });
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: namespace } } });
  await eventually(() => client.request('POST', `/apis/tekton.dev/v1/namespaces/${namespace}/pipelines`, {
    body: { apiVersion: 'tekton.dev/v1', kind: 'Pipeline', metadata: { name: 'buildpacks' }, spec: { tasks: [] } },
  }), { timeoutMs: 20_000 });
}

export interface PolicyCondition { type: string; status: string; reason: string; message: string }

/** One condition of a BuildQuotaPolicy's status, as the operator last wrote it. */
export async function policyCondition(client: KubeClient, policy: string, type: string): Promise<PolicyCondition | undefined> {
  const live = await client.request<{ status?: { conditions?: PolicyCondition[] } }>('GET', `/apis/builds.toolforge.org/v1alpha1/buildquotapolicies/${policy}`);
  return live.status?.conditions?.find((c) => c.type === type);
}

/** Applies a BuildQuotaPolicy with this spec as an admin would (server-side apply, forced). */
export async function applyPolicy(client: KubeClient, name: string, spec: Record<string, unknown>): Promise<void> {
  await client.request('PATCH', `/apis/builds.toolforge.org/v1alpha1/buildquotapolicies/${name}`, {
    query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
    body: { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name }, spec },
  });
}
