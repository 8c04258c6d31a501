// Runs the operator in-process for an integration test, under its own identity: the
// ServiceAccount and ClusterRole of manifests/, never the admin.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/informer.js';
import { ResourceTypes } from '../../src/kube/resources.js';
import { Writer } from '../../src/kube/writer.js';
import { createLogger } from '../../src/log.js';
import { createMetrics, type OperatorMetrics } from '../../src/server/metrics.js';
import { DEFAULT_OPTIONS, Operator, type OperatorOptions } from '../../src/controller/operator.js';
import { configForServiceAccount, controlPlaneInfo, eventually } from './cluster.js';
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

export interface RunningOperator {
  operator: Operator;
  client: KubeClient;
  metrics: OperatorMetrics;
  /** Writes this operator sent, by "VERB kind-path". */
  writes: string[];
  stop(): Promise<void>;
}

/** Starts an operator as the operator's ServiceAccount and waits until it reconciles. */
export async function startOperator(options: Partial<OperatorOptions> = {}): Promise<RunningOperator> {
  const client = new KubeClient(await configForServiceAccount(OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT));
  const writes: string[] = [];
  client.onRequest((verb, path) => {
    if (!['GET', 'WATCH'].includes(verb)) writes.push(`${verb} ${path}`);
  });
  const metrics = createMetrics({ processMetrics: false });
  const log = createLogger(process.env.BNO_TEST_LOG_LEVEL ?? 'error');
  const operator = new Operator(client, log, metrics, { ...DEFAULT_OPTIONS, statusIntervalMs: 200, ...options });
  await operator.startCaches();
  await operator.startWorkers();
  return {
    operator, client, metrics, writes,
    async stop() {
      await operator.stop(5_000);
      client.close();
    },
  };
}
