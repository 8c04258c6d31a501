// Tekton Pipelines as the simulation installs it: the CRDs and config maps of the pinned
// release, read from its Go module (never copied here), without the webhook; the
// controller's flags and environment; and a build Pipeline of Toolforge's shape.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { KubeObject, ObjectMeta } from '../../src/api/meta.js';
import { BUILD_DURATION_ANNOTATION } from './stages.js';

export const TEKTON_NAMESPACE = 'tekton-pipelines';
export const PIPELINE_NAME = 'buildpacks';
export const TASK_NAME = 'buildpacks';
export const BUILD_SERVICE_ACCOUNT = 'buildpacks-service-account';
/** On every PipelineRun (and so its TaskRun and pod): whose build it is. */
export const LABEL_SIM_TOOL = 'sim.toolforge.org/tool';

export type Doc = KubeObject & Record<string, unknown>;
/** An object to create whose name the API server generates. */
export type GeneratedDoc = { apiVersion: string; kind: string; metadata: Omit<ObjectMeta, 'name'> & { generateName: string } } & Record<string, unknown>;

function loadDocs(path: string): Doc[] {
  return yaml.loadAll(readFileSync(path, 'utf8')).filter((d): d is Doc => typeof d === 'object' && d !== null);
}

/**
 * Tekton's CRDs with the conversion webhook taken out: there is no webhook here, and with
 * strategy None the API server serves every version from the stored one by itself.
 */
export function tektonCrds(tektonSource: string): Doc[] {
  const dir = join(tektonSource, 'config/300-crds');
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().flatMap((f) => loadDocs(join(dir, f))).map((crd) => {
    const spec = { ...(crd.spec as Record<string, unknown>) };
    delete spec.conversion;
    return { ...crd, spec };
  });
}

/** The tekton-pipelines namespace and every config map of the release (config-defaults, feature-flags, ...). */
export function tektonConfig(tektonSource: string): Doc[] {
  const dir = join(tektonSource, 'config');
  const configMaps = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => loadDocs(join(dir, f))).filter((d) => d.kind === 'ConfigMap');
  return [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: TEKTON_NAMESPACE } }, ...configMaps];
}

/** Image flags are required but never pulled: kwok runs no container. */
const PLACEHOLDER_IMAGES = {
  '-entrypoint-image': 'sim.invalid/tekton/entrypoint',
  '-nop-image': 'sim.invalid/tekton/nop',
  '-sidecarlogresults-image': 'sim.invalid/tekton/sidecarlogresults',
  '-workingdirinit-image': 'sim.invalid/tekton/workingdirinit',
  '-shell-image': 'sim.invalid/busybox',
  '-shell-image-win': 'sim.invalid/powershell',
};

export interface TektonPorts {
  probes: number;
  metrics: number;
  profiling: number;
}

export function tektonControllerArgs(kubeconfig: string): string[] {
  return [
    `-kubeconfig=${kubeconfig}`,
    // One replica: no leader election, so no lease to wait for.
    '-disable-ha',
    ...Object.entries(PLACEHOLDER_IMAGES).flatMap(([flag, image]) => [flag, image]),
  ];
}

/** The environment controller.yaml gives the controller, and free ports for what it serves. */
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
    // Its servers listen on every interface by default and on fixed ports that other
    // processes on this machine may hold: loopback and free ports instead.
    PROBES_PORT: String(ports.probes),
    METRICS_PROMETHEUS_PORT: String(ports.metrics),
    METRICS_PROMETHEUS_HOST: '127.0.0.1',
    PROFILING_PORT: String(ports.profiling),
  };
}

export interface BuildResources {
  cpu: string;
  memory: string;
}

/** The build Task: one step, as Toolforge's buildpacks pipeline has (image placeholders). */
export function buildTask(namespace: string, resources: BuildResources): Doc {
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'Task',
    metadata: { name: TASK_NAME, namespace },
    spec: {
      params: [{ name: 'APP_IMAGE', type: 'string' }, { name: 'SOURCE_URL', type: 'string' }],
      steps: [{
        name: 'build',
        image: 'sim.invalid/toolforge/buildpacks-builder',
        command: ['/cnb/lifecycle/creator'],
        args: ['-app=/workspace/source', '$(params.APP_IMAGE)'],
        env: [{ name: 'SOURCE_URL', value: '$(params.SOURCE_URL)' }],
        computeResources: { requests: resources, limits: resources },
      }],
    },
  };
}

export function buildPipeline(namespace: string): Doc {
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'Pipeline',
    metadata: { name: PIPELINE_NAME, namespace },
    spec: {
      params: [{ name: 'APP_IMAGE', type: 'string' }, { name: 'SOURCE_URL', type: 'string' }],
      tasks: [{
        name: 'build',
        taskRef: { name: TASK_NAME },
        params: [
          { name: 'APP_IMAGE', value: '$(params.APP_IMAGE)' },
          { name: 'SOURCE_URL', value: '$(params.SOURCE_URL)' },
        ],
      }],
    },
  };
}

/** A build of one tool, as builds-api starts it: generated name, the tool's label. */
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
