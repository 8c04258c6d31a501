// Installing the operator as an admin would, on a control plane that schedules pods: the test
// control plane with the Deployment controllers, kube-scheduler and kwok playing the kubelet of
// two fake nodes (envtest/kwok-cluster.ts). `make deploy` (kubectl kustomize | kubectl apply
// --server-side, then waits) and `helm install` of deployment/chart each on a cluster of their
// own: the CRD is established, the Deployment's pods are admitted under Pod Security
// `restricted`, scheduled one per node and Ready. kwok runs no container, so the operator's
// program never starts here: what runs is proven by the other tests, which run it as a process.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { KubeObject } from '../../src/api/meta.js';
import { helmPath, runTool } from '../../envtest/admin-tools.js';
import { repoRoot } from '../../envtest/controlplane.js';
import { applyFiles } from '../../envtest/install.js';
import { kubectlPath } from '../../envtest/kubectl.js';
import { KwokCluster } from '../../envtest/kwok-cluster.js';

const NAMESPACE = 'build-namespace-operator';
const IMAGE = 'registry.example.org/toolforge/build-namespace-operator:0.1.0';

interface Pod extends KubeObject {
  spec: { nodeName?: string; containers: { image: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

/** `make deploy` as the README gives it, with this kubectl first on PATH. */
function makeDeploy(kubeconfig: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, PATH: `${dirname(kubectlPath())}:${process.env.PATH ?? ''}`, KUBECONFIG: kubeconfig };
    execFile('make', ['-s', 'deploy', `IMAGE=${IMAGE}`], { cwd: repoRoot(), env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : -1, output: stdout + stderr });
    });
  });
}

/** What every install must give: the CRD established and both pods admitted, spread, Ready. */
async function expectRunning(cluster: KwokCluster): Promise<void> {
  const crd = await cluster.admin.request<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
    'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/buildquotapolicies.builds.toolforge.org');
  expect(crd.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
  const ns = await cluster.admin.request<KubeObject>('GET', `/api/v1/namespaces/${NAMESPACE}`);
  expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  const pods = await cluster.admin.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${NAMESPACE}/pods`);
  expect(pods.items).toHaveLength(2);
  for (const pod of pods.items) {
    expect(pod.spec.containers.map((c) => c.image)).toEqual([IMAGE]);
    expect(pod.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
  }
  // One per node: the anti-affinity keeps the standby off the leader's node.
  expect(new Set(pods.items.map((p) => p.spec.nodeName)).size).toBe(2);
  expect(pods.items.every((p) => cluster.nodes.includes(p.spec.nodeName ?? ''))).toBe(true);
}

describe('make deploy', () => {
  let cluster: KwokCluster | undefined;
  afterAll(() => cluster?.stop(), 60_000);

  it('installs the kustomize base: CRD established, pods admitted under restricted, scheduled and Ready', async () => {
    cluster = await KwokCluster.start(2);
    const result = await makeDeploy(cluster.kubeconfig);
    expect({ code: result.code, output: result.output }).toEqual({ code: 0, output: expect.stringContaining('successfully rolled out') });
    await expectRunning(cluster);
  }, 240_000);
});

describe('helm install', () => {
  let cluster: KwokCluster | undefined;
  afterAll(() => cluster?.stop(), 60_000);

  it('installs the chart into the labelled namespace: the same outcome as make deploy', async () => {
    cluster = await KwokCluster.start(2);
    // The Namespace is the installer's (README "Installing with Helm").
    await applyFiles(cluster.admin, [join(repoRoot(), 'manifests/namespace.yaml')]);
    const [repository, tag] = IMAGE.split(/:(?=[^:]+$)/);
    const result = await runTool(helmPath(), [
      'install', 'build-namespace-operator', join(repoRoot(), 'deployment/chart'), '-n', NAMESPACE,
      '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`, '--wait', '--timeout', '180s',
    ], { env: { KUBECONFIG: cluster.kubeconfig, HELM_CACHE_HOME: join(cluster.plane.dir, 'helm-cache'), HELM_CONFIG_HOME: join(cluster.plane.dir, 'helm-config') } });
    // Helm notes each symlink it follows (the chart's CRD and RBAC are the base's files).
    expect({ code: result.code, stderr: result.stderr.replace(/^.*found symbolic link.*\n/gm, '') }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toContain('STATUS: deployed');
    await expectRunning(cluster);
  }, 240_000);
});
