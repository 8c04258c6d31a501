// Tekton Pipelines as the test harness installs it: the CRDs, RBAC and config maps of the
// pinned release, read from its Go module (never copied here); the flags and environment
// its Deployments give the controller, the admission webhook and the remote resolvers; the
// Service through which kube-apiserver reaches a webhook running as a process on this
// machine; and a build Pipeline of Toolforge's builds-api shape.
import { readFileSync, readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { KubeObject, ObjectMeta } from '../src/api/meta.js';
import { BUILD_DURATION_ANNOTATION } from './kwok-stages.js';

export const TEKTON_NAMESPACE = 'tekton-pipelines';
export const RESOLVERS_NAMESPACE = 'tekton-pipelines-resolvers';
export const WEBHOOK_SERVICE = 'tekton-pipelines-webhook';
/** The port name the release gives the webhook's container port and Service port. */
export const WEBHOOK_PORT_NAME = 'https-webhook';
export const PIPELINE_NAME = 'buildpacks';
export const TASK_NAME = 'buildpacks';
export const BUILD_SERVICE_ACCOUNT = 'buildpacks-service-account';
/** The builder image of the build Task's one step (never pulled: kwok runs no container). */
export const BUILDER_IMAGE = 'sim.invalid/toolforge/buildpacks-builder';
/** On every PipelineRun (and so its TaskRun and pod): whose build it is. */
export const LABEL_SIM_TOOL = 'sim.toolforge.org/tool';

/** The ServiceAccounts the release runs each component as (their RBAC comes with the release). */
export const TEKTON_IDENTITIES = {
  controller: { namespace: TEKTON_NAMESPACE, name: 'tekton-pipelines-controller' },
  webhook: { namespace: TEKTON_NAMESPACE, name: 'tekton-pipelines-webhook' },
  resolvers: { namespace: RESOLVERS_NAMESPACE, name: 'tekton-pipelines-resolvers' },
} as const;
export type TektonComponent = keyof typeof TEKTON_IDENTITIES;

export type Doc = KubeObject & Record<string, unknown>;
/** An object to create whose name the API server generates. */
export type GeneratedDoc = { apiVersion: string; kind: string; metadata: Omit<ObjectMeta, 'name'> & { generateName: string } } & Record<string, unknown>;

function loadDocs(path: string): Doc[] {
  return yaml.loadAll(readFileSync(path, 'utf8')).filter((d): d is Doc => typeof d === 'object' && d !== null);
}

function docsIn(dir: string, accept: (file: string) => boolean = () => true): Doc[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml') && accept(f)).sort().flatMap((f) => loadDocs(join(dir, f)));
}

/**
 * Tekton's CRDs. With its webhook running they keep the release's conversion stanza (the
 * webhook fills in the caBundle), so v1beta1 objects are converted by Tekton's own code;
 * without it the stanza is taken out, and the API server serves every version from the
 * stored one by itself (strategy None).
 */
export function tektonCrds(tektonSource: string, conversion: 'webhook' | 'none'): Doc[] {
  const crds = docsIn(join(tektonSource, 'config/300-crds'));
  if (conversion === 'webhook') return crds;
  return crds.map((crd) => {
    const spec = { ...(crd.spec as Record<string, unknown>) };
    delete spec.conversion;
    return { ...crd, spec };
  });
}

/** The release's namespaces, ServiceAccounts, roles and bindings of the pipelines and resolvers components. */
export function tektonRbac(tektonSource: string): Doc[] {
  const rbac = (f: string) => /^(100|200|201)-/.test(f);
  return [
    ...docsIn(join(tektonSource, 'config/100-namespace')),
    ...docsIn(join(tektonSource, 'config/resolvers'), (f) => f.startsWith('100-')),
    ...docsIn(join(tektonSource, 'config'), rbac),
    ...docsIn(join(tektonSource, 'config/resolvers'), (f) => rbac(f) && !f.startsWith('100-')),
  ];
}

/** Every config map of the release, pipelines' (config-defaults, feature-flags, ...) and resolvers' (resolvers-feature-flags, ...). */
export function tektonConfig(tektonSource: string): Doc[] {
  const configMaps = (dir: string) => docsIn(join(tektonSource, dir)).filter((d) => d.kind === 'ConfigMap');
  return [...configMaps('config'), ...configMaps('config/resolvers')];
}

/** The webhook's empty certificate Secret and its three webhook configurations, as released (the webhook fills them in). */
export function tektonWebhookConfigurations(tektonSource: string): Doc[] {
  return loadDocs(join(tektonSource, 'config/500-webhooks.yaml'));
}

/**
 * This machine's first non-loopback IPv4 address: an endpoint may not be a loopback
 * address, and kube-apiserver reaches the webhook process there.
 */
export function machineAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address for the Tekton webhook to be reached at');
}

/**
 * The webhook's Service without a selector (no pod backs it), and its endpoints naming the
 * process on this machine. kube-apiserver with --enable-aggregator-routing resolves a
 * webhook's service reference to these endpoints itself, so no kube-proxy is needed; the
 * Service keeps the release's port 443 and its port name, which the endpoints must carry.
 */
export function webhookService(address: string, port: number): Doc[] {
  const metadata = { name: WEBHOOK_SERVICE, namespace: TEKTON_NAMESPACE };
  return [
    {
      apiVersion: 'v1', kind: 'Service', metadata,
      spec: { ports: [{ name: WEBHOOK_PORT_NAME, port: 443, targetPort: port, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${WEBHOOK_SERVICE}-local`, namespace: TEKTON_NAMESPACE, labels: { 'kubernetes.io/service-name': WEBHOOK_SERVICE } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [address], conditions: { ready: true } }],
      ports: [{ name: WEBHOOK_PORT_NAME, port, protocol: 'TCP' }],
    },
  ];
}

/** The controller's image flags: required, never pulled (kwok runs no container); they are what Tekton puts in a build pod besides the steps' images. */
export const TEKTON_IMAGES = {
  '-entrypoint-image': 'sim.invalid/tekton/entrypoint',
  '-nop-image': 'sim.invalid/tekton/nop',
  '-sidecarlogresults-image': 'sim.invalid/tekton/sidecarlogresults',
  '-workingdirinit-image': 'sim.invalid/tekton/workingdirinit',
  '-shell-image': 'sim.invalid/busybox',
  '-shell-image-win': 'sim.invalid/powershell',
} as const;

export interface TektonPorts {
  probes: number;
  metrics: number;
  profiling: number;
}

/** One replica each: no leader election, so no lease to wait for. */
const DISABLE_HA = '-disable-ha';

export function tektonControllerArgs(kubeconfig: string): string[] {
  return [`-kubeconfig=${kubeconfig}`, DISABLE_HA, ...Object.entries(TEKTON_IMAGES).flatMap(([flag, image]) => [flag, image])];
}

export function tektonWebhookArgs(kubeconfig: string): string[] {
  return [`-kubeconfig=${kubeconfig}`, DISABLE_HA];
}

/** The resolvers take no -disable-ha: they elect a leader per resolver, by leases in their namespace. */
export function tektonResolversArgs(kubeconfig: string): string[] {
  return [`-kubeconfig=${kubeconfig}`];
}

/**
 * The servers every component runs listen on every interface by default and on fixed
 * ports that other processes on this machine may hold: loopback and free ports instead.
 */
function serverEnv(ports: TektonPorts): Record<string, string> {
  return {
    PROBES_PORT: String(ports.probes),
    METRICS_PROMETHEUS_PORT: String(ports.metrics),
    METRICS_PROMETHEUS_HOST: '127.0.0.1',
    PROFILING_PORT: String(ports.profiling),
  };
}

/** The environment controller.yaml gives the controller. */
export function tektonControllerEnv(ports: TektonPorts): Record<string, string> {
  return {
    SYSTEM_NAMESPACE: TEKTON_NAMESPACE,
    KUBERNETES_MIN_VERSION: 'v1.28.0',
    CONFIG_DEFAULTS_NAME: 'config-defaults',
    CONFIG_LOGGING_NAME: 'config-logging',
    CONFIG_OBSERVABILITY_NAME: 'config-observability',
    CONFIG_FEATURE_FLAGS_NAME: 'feature-flags',
    CONFIG_LEADERELECTION_NAME: 'config-leader-election-controller',
    CONFIG_SPIRE: 'config-spire',
    METRICS_DOMAIN: 'tekton.dev/pipeline',
    ...serverEnv(ports),
  };
}

/** The environment webhook.yaml gives the webhook; it serves admission on webhookPort (every interface: kube-apiserver comes from this machine's address). */
export function tektonWebhookEnv(ports: TektonPorts, webhookPort: number): Record<string, string> {
  return {
    SYSTEM_NAMESPACE: TEKTON_NAMESPACE,
    KUBERNETES_MIN_VERSION: 'v1.28.0',
    CONFIG_LOGGING_NAME: 'config-logging',
    CONFIG_OBSERVABILITY_NAME: 'config-observability',
    CONFIG_LEADERELECTION_NAME: 'config-leader-election-webhook',
    CONFIG_FEATURE_FLAGS_NAME: 'feature-flags',
    WEBHOOK_PORT: String(webhookPort),
    WEBHOOK_ADMISSION_CONTROLLER_NAME: 'webhook.pipeline.tekton.dev',
    WEBHOOK_SERVICE_NAME: WEBHOOK_SERVICE,
    WEBHOOK_SECRET_NAME: 'webhook-certs',
    METRICS_DOMAIN: 'tekton.dev/pipeline',
    ...serverEnv(ports),
  };
}

/** The environment resolvers-deployment.yaml gives the remote resolvers (no hub reachable from a test). */
export function tektonResolversEnv(ports: TektonPorts): Record<string, string> {
  return {
    SYSTEM_NAMESPACE: RESOLVERS_NAMESPACE,
    KUBERNETES_MIN_VERSION: 'v1.28.0',
    CONFIG_LOGGING_NAME: 'config-logging',
    CONFIG_OBSERVABILITY_NAME: 'config-observability',
    CONFIG_FEATURE_FLAGS_NAME: 'feature-flags',
    CONFIG_LEADERELECTION_NAME: 'config-leader-election-resolvers',
    METRICS_DOMAIN: 'tekton.dev/resolution',
    TEKTON_HUB_API: '',
    ARTIFACT_HUB_API: 'https://artifacthub.invalid/',
    ...serverEnv(ports),
  };
}

/** A kubeconfig that authenticates with a bearer token (a ServiceAccount's, from the TokenRequest API). */
export function tokenKubeconfigYaml(server: string, caPem: string, token: string, user: string): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user } }],
    'current-context': 'test',
  });
}

export interface BuildResources {
  cpu: string;
  memory: string;
}

/** The params of Toolforge's builds-api: what a PipelineRun of the build Pipeline passes. */
const BUILD_PARAMS = [
  { name: 'SOURCE_URL', type: 'string' },
  { name: 'SOURCE_REFERENCE', type: 'string', default: '' },
  { name: 'APP_IMAGE', type: 'string' },
  { name: 'ENV_VARS', type: 'array', default: [] },
];

/** The build Task: one step, as Toolforge's buildpacks pipeline has (image placeholders). */
export function buildTask(namespace: string, resources: BuildResources): Doc {
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'Task',
    metadata: { name: TASK_NAME, namespace },
    spec: {
      params: BUILD_PARAMS,
      steps: [{
        name: 'build',
        image: BUILDER_IMAGE,
        command: ['/cnb/lifecycle/creator'],
        args: ['-app=/workspace/source', '$(params.APP_IMAGE)', '$(params.ENV_VARS[*])'],
        env: [
          { name: 'SOURCE_URL', value: '$(params.SOURCE_URL)' },
          { name: 'SOURCE_REFERENCE', value: '$(params.SOURCE_REFERENCE)' },
        ],
        computeResources: { requests: resources, limits: resources },
      }],
    },
  };
}

/** The env names the build Task's step declares. */
export const BUILD_STEP_ENV = ['SOURCE_URL', 'SOURCE_REFERENCE'];

export function buildPipeline(namespace: string): Doc {
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'Pipeline',
    metadata: { name: PIPELINE_NAME, namespace },
    spec: {
      params: BUILD_PARAMS,
      tasks: [{
        name: 'build',
        taskRef: { name: TASK_NAME },
        params: BUILD_PARAMS.map(({ name, type }) => ({ name, value: type === 'array' ? [`$(params.${name}[*])`] : `$(params.${name})` })),
      }],
    },
  };
}

/** A PipelineRun as Toolforge's builds-api creates it: the admin Pipeline, the image in the tool's own project. */
export function builderRun(tool: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'tekton.dev/v1', kind: 'PipelineRun',
    metadata: { generateName: `${tool}-buildpacks-`, labels: { user: tool } },
    spec: {
      pipelineRef: { name: PIPELINE_NAME },
      params: [
        { name: 'SOURCE_URL', value: 'https://gitlab.wikimedia.org/toolforge-repos/sample.git' },
        { name: 'SOURCE_REFERENCE', value: 'main' },
        { name: 'APP_IMAGE', value: `harbor.invalid/tool-${tool}/tool-${tool}:latest` },
        { name: 'ENV_VARS', value: ['FOO=bar'] },
      ],
      ...spec,
    },
  };
}

/** A build of one tool, as the simulation starts it: generated name, the tool's label, a fixed duration. */
export function buildPipelineRun(namespace: string, tool: string, durationMs: number): GeneratedDoc {
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'PipelineRun',
    metadata: {
      generateName: `${tool}-build-`,
      namespace,
      labels: { [LABEL_SIM_TOOL]: tool },
      annotations: { [BUILD_DURATION_ANNOTATION]: `${durationMs}ms` },
    },
    spec: {
      pipelineRef: { name: PIPELINE_NAME },
      params: [
        { name: 'APP_IMAGE', value: `sim.invalid/tool-${tool}/tool-${tool}:latest` },
        { name: 'SOURCE_URL', value: `https://sim.invalid/tool-${tool}.git` },
      ],
      taskRunTemplate: { serviceAccountName: BUILD_SERVICE_ACCOUNT },
    },
  };
}
