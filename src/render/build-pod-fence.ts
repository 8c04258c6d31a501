// The build pod fence: the second, independent layer of build admission. A
// ValidatingAdmissionPolicy on pods CREATE in build namespaces that admits only the pod
// Tekton makes of an admin Task: admin and Tekton images, the build ServiceAccount, no
// uid 0 outside the images that need it, none of the pod fields a PipelineRun's
// podTemplate could set, only the volumes and env Tekton and the Task declare. It holds
// whatever reached Tekton: a gap in the PipelineRun fence or a future Tekton field. The
// build ServiceAccount is each namespace's own, read from the fence's parameters on it.
import type { DesiredObject } from '../api/meta.js';
import { LABEL_MANAGED_BY, MANAGER } from '../api/types.js';
import { FENCE_ANNOTATION_PREFIX } from './fence.js';

export const BUILD_POD_FENCE_NAME = 'build-namespace-operator-build-pod-fence';
const ADMISSION_API_VERSION = 'admissionregistration.k8s.io/v1';
const LAYER = 'build pod fence';

/** What the admin says of the build pods (the operator's --pod-fence-* flags). */
export interface BuildPodFenceSettings {
  /**
   * The images a build pod may run: the admin Tasks' steps and sidecars, the builder images
   * their params may name, and Tekton's own (the controller's -entrypoint-image, -nop-image,
   * -shell-image, ... flags). An entry ending in '/' allows every image under it; any other
   * entry, that image exactly.
   */
  images: string[];
  /**
   * Of those, the images that may run as uid 0, in the same form (decided per image: a Task's
   * step that needs root names its image here). Every other container, and the pod, must not
   * ask for uid 0.
   */
  rootImages?: string[];
  /** The env names the Tasks' steps declare; Tekton adds none of its own to a step (v1.9). */
  envNames: string[];
  /** Volume types the Tasks declare beyond Tekton's own (emptyDir, downwardAPI, the projected ServiceAccount token). */
  taskVolumeTypes?: string[];
}

export interface BuildPodFenceInput extends BuildPodFenceSettings {
  /** Secret volumes Tekton may mount: the build ServiceAccounts' credential Secrets (creds-init), of every policy. */
  secretNames?: string[];
}

/** A CEL list literal of strings, sorted and deduplicated so the rendering is stable. */
function celList(values: string[]): string {
  return `[${[...new Set(values)].sort().map((v) => JSON.stringify(v)).join(', ')}]`;
}

/** Whether the image of container c is one of `allowed`'s: under an entry ending in '/', or equal to another. */
const imageIn = (allowed: string): string => `${allowed}.exists(p, p.endsWith("/") ? c.image.startsWith(p) : c.image == p)`;
const SERVICE_ACCOUNT = `namespaceObject.metadata.annotations[${JSON.stringify(`${FENCE_ANNOTATION_PREFIX}serviceAccountName`)}]`;

const CONTAINERS = '(object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : []))';

/** The tolerations the DefaultTolerationSeconds admission plugin adds to every pod: nothing else may be asked. */
const DEFAULT_TOLERATION =
  'has(t.operator) && t.operator == "Exists" && has(t.effect) && t.effect == "NoExecute" && has(t.key) && ' +
  '(t.key == "node.kubernetes.io/not-ready" || t.key == "node.kubernetes.io/unreachable")';

/** The projected volume the ServiceAccount admission plugin adds (kube-api-access-*): its token, the cluster CA, the namespace. */
const API_ACCESS_SOURCE =
  '(has(s.serviceAccountToken) && !has(s.serviceAccountToken.audience)) || ' +
  '(has(s.configMap) && s.configMap.name == "kube-root-ca.crt") || has(s.downwardAPI)';

/** Every volume source of core/v1 Volume (Kubernetes 1.36). */
export const VOLUME_SOURCES = [
  'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'configMap', 'csi', 'downwardAPI', 'emptyDir',
  'ephemeral', 'fc', 'flexVolume', 'flocker', 'gcePersistentDisk', 'gitRepo', 'glusterfs', 'hostPath', 'image', 'iscsi',
  'nfs', 'persistentVolumeClaim', 'photonPersistentDisk', 'portworxVolume', 'projected', 'quobyte', 'rbd', 'scaleIO',
  'secret', 'storageos', 'vsphereVolume',
];

export interface PodFenceValidation {
  expression: string;
  message: string;
}

/** The rules, each naming its field and the layer, as `kubectl` shows them in a refusal. */
export function buildPodFenceValidations(input: BuildPodFenceInput): PodFenceValidation[] {
  const images = celList(input.images);
  const rootImages = celList(input.rootImages ?? []);
  const envNames = celList(input.envNames);
  const secrets = celList(input.secretNames ?? []);
  const volumeTypes = new Set(['emptyDir', 'downwardAPI', 'projected', ...(input.secretNames?.length ? ['secret'] : []), ...(input.taskVolumeTypes ?? [])]);
  // The API server types a pod's fields, so CEL cannot list the fields a volume sets: every
  // volume source of core/v1 that is not allowed is named instead.
  const volumeTypeRule = `object.spec.volumes.all(v, ${VOLUME_SOURCES.filter((t) => !volumeTypes.has(t)).map((t) => `!has(v.${t})`).join(' && ')})`;
  const rule = (expression: string, field: string, what: string): PodFenceValidation => ({
    expression, message: `${LAYER}: ${field}: ${what}`,
  });
  return [
    rule(`${CONTAINERS}.all(c, ${imageIn(images)})`,
      'spec.containers[].image', 'only the admin Tasks\' images and Tekton\'s own may run in a build pod'),
    rule(`has(object.spec.serviceAccountName) && has(namespaceObject.metadata.annotations) && object.spec.serviceAccountName == ${SERVICE_ACCOUNT}`,
      'spec.serviceAccountName', 'a build pod runs as the build namespace\'s build ServiceAccount and no other'),
    rule('!has(object.spec.securityContext) || !has(object.spec.securityContext.runAsUser) || object.spec.securityContext.runAsUser != 0',
      'spec.securityContext.runAsUser', 'a build pod may not run as uid 0'),
    rule(`${CONTAINERS}.all(c, ${imageIn(rootImages)} || !has(c.securityContext) || !has(c.securityContext.runAsUser) || c.securityContext.runAsUser != 0)`,
      'spec.containers[].securityContext.runAsUser', 'only an image the admin allows root may run as uid 0'),
    rule('!has(object.spec.hostAliases) || size(object.spec.hostAliases) == 0', 'spec.hostAliases', 'not allowed in a build pod'),
    rule('!has(object.spec.dnsConfig)', 'spec.dnsConfig', 'not allowed in a build pod'),
    rule('!has(object.spec.dnsPolicy) || object.spec.dnsPolicy == "ClusterFirst"', 'spec.dnsPolicy', 'a build pod uses the cluster\'s DNS'),
    rule('!has(object.spec.priorityClassName) || object.spec.priorityClassName == ""', 'spec.priorityClassName', 'a build pod runs at the default priority'),
    rule('!has(object.spec.nodeSelector) || size(object.spec.nodeSelector) == 0', 'spec.nodeSelector', 'a build pod does not choose its node'),
    rule('!has(object.spec.affinity)', 'spec.affinity', 'a build pod does not choose its node'),
    rule('!has(object.spec.nodeName) || object.spec.nodeName == ""', 'spec.nodeName', 'a build pod does not choose its node'),
    rule(`!has(object.spec.tolerations) || object.spec.tolerations.all(t, ${DEFAULT_TOLERATION})`,
      'spec.tolerations', 'only the default not-ready/unreachable tolerations'),
    rule(`!has(object.spec.volumes) || ${volumeTypeRule}`,
      'spec.volumes', `only the volume types Tekton and the Tasks declare (${[...volumeTypes].sort().join(', ')})`),
    rule(`!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.secret) || (has(v.secret.secretName) && v.secret.secretName in ${secrets}))`,
      'spec.volumes[].secret', 'only the build ServiceAccount\'s credential Secrets'),
    rule(`!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.projected) || v.projected.sources.all(s, ${API_ACCESS_SOURCE}))`,
      'spec.volumes[].projected', 'only the API access volume the ServiceAccount admission adds'),
    rule(`${CONTAINERS}.all(c, !has(c.env) || c.env.all(e, e.name in ${envNames}))`,
      'spec.containers[].env', 'only the env names the admin Tasks declare'),
    rule(`${CONTAINERS}.all(c, !has(c.envFrom) || size(c.envFrom) == 0)`,
      'spec.containers[].envFrom', 'not allowed in a build pod'),
    rule('!has(object.spec.hostNetwork) || !object.spec.hostNetwork', 'spec.hostNetwork', 'not allowed in a build pod'),
  ];
}

/**
 * The policy and its binding: every pod created in a namespace with the operator's label,
 * by any requester (Tekton's controller creates them; nobody else may).
 */
export function renderBuildPodFence(input: BuildPodFenceInput): DesiredObject[] {
  const labels = { [LABEL_MANAGED_BY]: MANAGER };
  return [
    {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: BUILD_POD_FENCE_NAME, labels },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'], scope: '*' }],
        },
        validations: buildPodFenceValidations(input),
      },
    },
    {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: BUILD_POD_FENCE_NAME, labels },
      spec: {
        policyName: BUILD_POD_FENCE_NAME,
        validationActions: ['Deny'],
        matchResources: { namespaceSelector: { matchLabels: { [LABEL_MANAGED_BY]: MANAGER } } },
      },
    },
  ];
}
