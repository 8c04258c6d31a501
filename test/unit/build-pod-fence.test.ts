// The build pod fence's CEL, evaluated offline against the pod Tekton v1.9.0 really made
// for a builds-api build (test/integration/tekton.test.ts prints it) and against that pod
// with one attack each: the legitimate pod passes every rule, each attack fails the rule
// that names its field. The API server's verdict is proven in build-pod-fence's integration test.
import { compileAdmissionCel } from '../../src/api/cel.js';
import { BUILD_POD_FENCE_NAME, buildPodFenceValidations, renderBuildPodFence, type BuildPodFenceInput } from '../../src/render/build-pod-fence.js';

const input: BuildPodFenceInput = {
  // Tekton's images under their path, the builder exactly.
  images: ['sim.invalid/toolforge/buildpacks-builder', 'sim.invalid/tekton/'],
  envNames: ['SOURCE_URL', 'SOURCE_REFERENCE'],
  secretNames: ['harbor-push'],
};

const mounts = [{ name: 'tekton-internal-bin', mountPath: '/tekton/bin' }];
/** The pod as admission sees it on CREATE (after the mutating plugins: tolerations, the API access volume). */
function legitimatePod(): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b-pod', namespace: 'image-build-x' },
    spec: {
      restartPolicy: 'Never', activeDeadlineSeconds: 5400, dnsPolicy: 'ClusterFirst', serviceAccountName: 'buildpacks-service-account',
      securityContext: {}, priority: 0,
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      initContainers: [{ name: 'prepare', image: 'sim.invalid/tekton/entrypoint', volumeMounts: mounts }],
      containers: [{
        name: 'step-build', image: 'sim.invalid/toolforge/buildpacks-builder', volumeMounts: mounts,
        env: [{ name: 'SOURCE_URL', value: 'https://x' }, { name: 'SOURCE_REFERENCE', value: 'main' }],
      }],
      volumes: [
        { name: 'tekton-internal-workspace', emptyDir: {} },
        { name: 'tekton-internal-downward', downwardAPI: { items: [{ path: 'ready', fieldRef: { fieldPath: "metadata.annotations['tekton.dev/ready']" } }] } },
        { name: 'tekton-internal-secret-volume-harbor-push', secret: { secretName: 'harbor-push' } },
        { name: 'kube-api-access-abcde', projected: { sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
        ] } },
      ],
    },
  };
}

/** The messages of the rules the pod breaks; [] when the fence admits it. */
/** The build namespace as the operator writes it: the fence's parameters name its build ServiceAccount. */
const buildNamespace = { metadata: { name: 'image-build-x', annotations: { 'fence.builds.toolforge.org/serviceAccountName': 'buildpacks-service-account' } } };

function refusals(pod: unknown, fence = input, namespaceObject: unknown = buildNamespace): string[] {
  return buildPodFenceValidations(fence).flatMap(({ expression, message }) => {
    const program = compileAdmissionCel(expression);
    if (!program.ok) throw new Error(`${expression}: ${program.error}`);
    const result = program.value({ object: pod, namespaceObject });
    if (!result.ok) throw new Error(`${expression}: ${result.error}`);
    return result.value === true ? [] : [message];
  });
}

type Pod = ReturnType<typeof legitimatePod> & { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
const withSpec = (change: (spec: Pod['spec']) => void) => {
  const pod = legitimatePod() as Pod;
  change(pod.spec);
  return pod;
};

describe('build pod fence', () => {
  test('admits the pod Tekton makes of the admin Task', () => {
    expect(refusals(legitimatePod())).toEqual([]);
  });

  it.each([
    { name: 'podTemplate runAsUser 0', pod: withSpec((s) => { s.securityContext = { runAsUser: 0 }; }), field: 'spec.securityContext.runAsUser' },
    { name: 'a step as uid 0', pod: withSpec((s) => { s.containers[0]!.securityContext = { runAsUser: 0 }; }), field: 'spec.containers[].securityContext.runAsUser' },
    { name: 'env LD_PRELOAD', pod: withSpec((s) => { (s.containers[0]!.env as object[]).push({ name: 'LD_PRELOAD', value: '/x.so' }); }), field: 'spec.containers[].env' },
    { name: 'envFrom', pod: withSpec((s) => { s.containers[0]!.envFrom = [{ secretRef: { name: 'harbor-push' } }]; }), field: 'spec.containers[].envFrom' },
    { name: 'hostAliases', pod: withSpec((s) => { s.hostAliases = [{ ip: '192.0.2.9', hostnames: ['harbor'] }]; }), field: 'spec.hostAliases' },
    { name: 'dnsConfig', pod: withSpec((s) => { s.dnsConfig = { nameservers: ['192.0.2.9'] }; }), field: 'spec.dnsConfig' },
    { name: 'dnsPolicy None', pod: withSpec((s) => { s.dnsPolicy = 'None'; }), field: 'spec.dnsPolicy' },
    { name: 'nodeSelector', pod: withSpec((s) => { s.nodeSelector = { 'kubernetes.io/hostname': 'n' }; }), field: 'spec.nodeSelector' },
    { name: 'affinity', pod: withSpec((s) => { s.affinity = { nodeAffinity: {} }; }), field: 'spec.affinity' },
    { name: 'tolerate everything', pod: withSpec((s) => { (s.tolerations as object[]).push({ operator: 'Exists' }); }), field: 'spec.tolerations' },
    { name: 'priorityClassName', pod: withSpec((s) => { s.priorityClassName = 'system-node-critical'; }), field: 'spec.priorityClassName' },
    { name: 'serviceAccountName override', pod: withSpec((s) => { s.serviceAccountName = 'default'; }), field: 'spec.serviceAccountName' },
    { name: 'a foreign image', pod: withSpec((s) => { s.containers[0]!.image = 'evil.invalid/x'; }), field: 'spec.containers[].image' },
    { name: 'a foreign init image', pod: withSpec((s) => { (s.initContainers as Record<string, unknown>[])[0]!.image = 'evil.invalid/x'; }), field: 'spec.containers[].image' },
    { name: 'another Secret', pod: withSpec((s) => { (s.volumes as object[]).push({ name: 'v', secret: { secretName: 'other' } }); }), field: 'spec.volumes[].secret' },
    { name: 'a projected token for another audience', pod: withSpec((s) => { (s.volumes as object[]).push({ name: 'v', projected: { sources: [{ serviceAccountToken: { audience: 'vault', path: 't' } }] } }); }), field: 'spec.volumes[].projected' },
    { name: 'a hostPath volume', pod: withSpec((s) => { (s.volumes as object[]).push({ name: 'v', hostPath: { path: '/' } }); }), field: 'spec.volumes' },
    { name: 'a PVC volume', pod: withSpec((s) => { (s.volumes as object[]).push({ name: 'v', persistentVolumeClaim: { claimName: 'c' } }); }), field: 'spec.volumes' },
    { name: 'hostNetwork', pod: withSpec((s) => { s.hostNetwork = true; }), field: 'spec.hostNetwork' },
  ])('refuses $name, naming $field', ({ pod, field }) => {
    const seen = refusals(pod);
    expect(seen.length).toBeGreaterThan(0);
    for (const m of seen) expect(m).toMatch(/^build pod fence: /);
    expect(seen.map((m) => m.split(': ')[1])).toContain(field);
  });

  test('uid 0 is allowed per image, for an image the admin names', () => {
    const pod = withSpec((s) => { s.containers[0]!.securityContext = { runAsUser: 0 }; });
    expect(refusals(pod, { ...input, rootImages: ['sim.invalid/toolforge/buildpacks-builder'] })).toEqual([]);
  });

  test('an image under an allowed path is allowed, a look-alike beside it is not', () => {
    const under = withSpec((s) => { s.containers[0]!.image = 'sim.invalid/tekton/entrypoint@sha256:0'; });
    expect(refusals(under)).toEqual([]);
    const beside = withSpec((s) => { s.containers[0]!.image = 'sim.invalid/tekton-evil/entrypoint'; });
    expect(refusals(beside)).toEqual([expect.stringContaining('spec.containers[].image')]);
    const prefixOfExact = withSpec((s) => { s.containers[0]!.image = 'sim.invalid/toolforge/buildpacks-builder-evil'; });
    expect(refusals(prefixOfExact)).toEqual([expect.stringContaining('spec.containers[].image')]);
  });

  test('the build ServiceAccount is the namespace\'s own, and without the fence\'s parameters no pod is admitted', () => {
    const other = { metadata: { name: 'image-build-x', annotations: { 'fence.builds.toolforge.org/serviceAccountName': 'other-sa' } } };
    expect(refusals(legitimatePod(), input, other)).toEqual([expect.stringContaining('spec.serviceAccountName')]);
    expect(refusals(legitimatePod(), input, { metadata: { name: 'image-build-x' } })).toEqual([expect.stringContaining('spec.serviceAccountName')]);
  });

  test('without credential Secrets, no secret volume is allowed at all', () => {
    expect(refusals(legitimatePod(), { ...input, secretNames: [] })).toEqual(expect.arrayContaining([expect.stringMatching(/spec\.volumes/)]));
  });

  test('renders a stable policy and a binding on build namespaces for pods CREATE', () => {
    const [policy, binding] = renderBuildPodFence(input) as unknown as [{ kind: string; spec: { matchConstraints: { resourceRules: unknown } } }, { spec: unknown }];
    expect(policy.kind).toBe('ValidatingAdmissionPolicy');
    expect(policy.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'], scope: '*' }]);
    expect(binding.spec).toEqual({
      policyName: BUILD_POD_FENCE_NAME, validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { 'app.kubernetes.io/managed-by': 'build-namespace-operator' } } },
    });
    expect(renderBuildPodFence({ ...input, images: [...input.images].reverse() })).toEqual(renderBuildPodFence(input));
  });
});
