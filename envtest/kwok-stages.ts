// kwok Stages that stand in for the kubelet of a build node: a pod of a TaskRun starts
// shortly after it is scheduled, runs for its build's duration and succeeds; a deleted pod
// goes away. Node stages are kwok's own, read from its module at run time.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';

/** The pod annotation (propagated by Tekton from the PipelineRun) that fixes one build's duration, e.g. "90s". */
export const BUILD_DURATION_ANNOTATION = 'sim.toolforge.org/build-duration';

export interface StageOptions {
  /** From scheduled to Running: image pull and init containers, here a fixed delay. */
  podStartMs: number;
  /** A build without the annotation lasts between these two, uniformly. */
  buildMinMs: number;
  buildMaxMs: number;
}

const OWNED_BY_TASKRUN = { key: '.metadata.ownerReferences.[].kind', operator: 'In', values: ['TaskRun'] };
const NOT_DELETED = { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' };
const fromAnnotation = { expressionFrom: `.metadata.annotations["${BUILD_DURATION_ANNOTATION}"]` };

const RUNNING_STATUS = `{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: ContainersReady
{{ if .spec.initContainers }}
initContainerStatuses:
{{ range .spec.initContainers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: true
  restartCount: 0
  started: false
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: true
  restartCount: 0
  started: true
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
phase: Running
startTime: {{ $now | Quote }}
`;

const SUCCEEDED_STATUS = `{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  reason: PodCompleted
  status: "False"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  reason: PodCompleted
  status: "False"
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  restartCount: 0
  started: false
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
phase: Succeeded
`;

/** The pod stages, as kwok Stage objects. */
export function buildPodStages(options: StageOptions): object[] {
  const stage = (name: string, spec: object) => ({ apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Stage', metadata: { name }, spec });
  return [
    stage('build-pod-start', {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: { matchExpressions: [NOT_DELETED, OWNED_BY_TASKRUN, { key: '.status.podIP', operator: 'DoesNotExist' }] },
      delay: { durationMilliseconds: options.podStartMs },
      next: { event: { type: 'Normal', reason: 'Started', message: 'Started build (simulated)' }, statusTemplate: RUNNING_STATUS },
    }),
    stage('build-pod-succeed', {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: { matchExpressions: [NOT_DELETED, OWNED_BY_TASKRUN, { key: '.status.phase', operator: 'In', values: ['Running'] }] },
      // With the annotation both ends are the build's own duration; without, uniform in [min, max].
      delay: {
        durationMilliseconds: options.buildMinMs,
        durationFrom: fromAnnotation,
        jitterDurationMilliseconds: options.buildMaxMs,
        jitterDurationFrom: fromAnnotation,
      },
      next: { statusTemplate: SUCCEEDED_STATUS },
    }),
    stage('pod-delete', {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: { matchExpressions: [{ key: '.metadata.deletionTimestamp', operator: 'Exists' }] },
      next: { delete: true },
    }),
  ];
}

/** kwok's own stage that makes a fake node Ready with the capacity it was created with. */
export function nodeStages(kwokSource: string): object[] {
  const file = join(kwokSource, 'kustomize/stage/node/fast/node-initialize.yaml');
  return yaml.loadAll(readFileSync(file, 'utf8')).filter((d): d is object => typeof d === 'object' && d !== null);
}

/** The kwok configuration file: every stage, as YAML documents. */
export function kwokConfigYaml(kwokSource: string, options: StageOptions): string {
  return [...nodeStages(kwokSource), ...buildPodStages(options)].map((d) => yaml.dump(d, { lineWidth: -1 })).join('---\n');
}
