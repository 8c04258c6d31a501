// The Helm chart in deployment/chart/, rendered by a real helm (built from helm.sh/helm/v3):
// it lints, and with its default values it renders the same objects as the kustomize base
// (`kubectl kustomize manifests`), object by object, so the two cannot drift apart. Its
// values turn into flags that `run` accepts, its default policy is one the CRD accepts, and
// the values of features that do not exist yet are refused, not ignored.
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { validatePolicy } from '../../src/api/validate.js';
import type { KubeObject } from '../../src/api/meta.js';
import { parseRunConfig } from '../../src/cli/run.js';
import { helmPath, runTool } from '../../envtest/admin-tools.js';
import { repoRoot } from '../../envtest/controlplane.js';
import { kubectl } from '../../envtest/kubectl.js';
import { OPERATOR_NAMESPACE } from '../../envtest/install.js';

const root = repoRoot();
const chart = join(root, 'deployment/chart');
const helm = helmPath();
const scratch = mkdtempSync(join(tmpdir(), 'bno-chart-'));
// helm keeps a cache and a configuration: in this test's own directory, not the user's.
const helmEnv = { HELM_CACHE_HOME: join(scratch, 'cache'), HELM_CONFIG_HOME: join(scratch, 'config'), HELM_DATA_HOME: join(scratch, 'data') };
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Labels that Helm adds to every object, and that the kustomize base has no use for. */
const HELM_LABELS = ['app.kubernetes.io/instance', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/version', 'helm.sh/chart'];

const documents = (text: string) => (yaml.loadAll(text) as unknown[]).filter((d): d is KubeObject => typeof d === 'object' && d !== null);
const identity = (d: KubeObject) => `${d.kind}/${d.metadata.namespace ?? ''}/${d.metadata.name}`;

async function template(args: string[] = []): Promise<{ code: number; objects: KubeObject[]; stderr: string }> {
  const out = await runTool(helm, ['template', 'build-namespace-operator', chart, '--namespace', OPERATOR_NAMESPACE, ...args], { env: helmEnv });
  return { code: out.code, objects: out.code === 0 ? documents(out.stdout) : [], stderr: out.stderr };
}

interface Container { args: string[]; image: string; env?: { name: string; value: string }[] }
const operatorContainer = (objects: KubeObject[]) =>
  (objects.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers[0]!;

describe('the Helm chart', () => {
  it('passes helm lint --strict', async () => {
    const out = await runTool(helm, ['lint', '--strict', chart], { env: helmEnv });
    expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 0, stdout: expect.stringContaining('1 chart(s) linted, 0 chart(s) failed') as string });
  });

  it('renders, with its default values, the objects of the kustomize base, object by object', async () => {
    const rendered = await template(['--include-crds']);
    expect(rendered.code).toBe(0);
    const base = documents((await kubectl(['kustomize', join(root, 'manifests')])).stdout);
    // The Namespace is the installer's (helm install --create-namespace cannot label it, and a
    // release cannot own the namespace it is stored in): README, "Installing with Helm".
    const expected = base.filter((o) => o.kind !== 'Namespace');
    expect(base.map(identity)).toContain(`Namespace//${OPERATOR_NAMESPACE}`);

    const chartObjects = rendered.objects.map((o) => {
      const copy = structuredClone(o);
      const labels = (copy.metadata.labels ??= {});
      for (const label of HELM_LABELS) delete labels[label];
      // Helm installs crds/ as they are, without templating: the CRD lacks the label that
      // kustomize's `labels:` adds to every object of the base.
      if (copy.kind === 'CustomResourceDefinition') labels['app.kubernetes.io/part-of'] = 'build-namespace-operator';
      return copy;
    });
    const byIdentity = (objects: KubeObject[]) => new Map(objects.map((o) => [identity(o), o]));
    expect([...byIdentity(chartObjects).keys()].sort()).toEqual([...byIdentity(expected).keys()].sort());
    const chartMap = byIdentity(chartObjects);
    for (const object of expected) expect({ [identity(object)]: chartMap.get(identity(object)) }).toEqual({ [identity(object)]: object });
    // Helm's labels are really there: `helm ls` and upgrades find the objects by them.
    for (const object of rendered.objects.filter((o) => o.kind !== 'CustomResourceDefinition')) {
      expect(object.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': 'build-namespace-operator' });
    }
  });

  it('takes the CRD and the RBAC from the one file of each, not from copies', () => {
    const links = [
      ['crds/buildquotapolicies.builds.toolforge.org.yaml', 'crds/buildquotapolicies.builds.toolforge.org.yaml'],
      ['files/rbac.yaml', 'manifests/rbac.yaml'],
      ['files/tool-clusterrole.yaml', 'manifests/tool-clusterrole.yaml'],
    ];
    for (const [inChart, source] of links) {
      const path = join(chart, inChart!);
      expect({ [inChart!]: lstatSync(path).isSymbolicLink() && resolve(join(path, '..'), readlinkSync(path)) }).toEqual({ [inChart!]: join(root, source!) });
    }
    // Nothing else in crds/: a second CRD file would be a copy kept by hand.
    expect(readdirSync(join(chart, 'crds'))).toEqual(['buildquotapolicies.builds.toolforge.org.yaml']);
  });

  it('packages with the linked files inside, and the package renders as the directory does', async () => {
    const packaged = await runTool(helm, ['package', chart, '--destination', scratch], { env: helmEnv });
    expect(packaged.code).toBe(0);
    const tgz = readdirSync(scratch).find((f) => f.endsWith('.tgz'))!;
    const fromPackage = await runTool(helm, ['template', 'build-namespace-operator', join(scratch, tgz), '--namespace', OPERATOR_NAMESPACE, '--include-crds'], { env: helmEnv });
    const fromDirectory = await runTool(helm, ['template', 'build-namespace-operator', chart, '--namespace', OPERATOR_NAMESPACE, '--include-crds'], { env: helmEnv });
    expect(fromPackage.code).toBe(0);
    expect(fromPackage.stdout).toBe(fromDirectory.stdout);
    expect(fromPackage.stdout).toContain('kind: CustomResourceDefinition');
  });

  it('turns every value for a flag of `run` into a flag that `run` accepts', async () => {
    const values = {
      image: { repository: 'registry.example.org/toolforge/build-namespace-operator', tag: '0.2.0' },
      leaderElection: { enabled: true, namespace: 'elsewhere', id: 'bno-lease', leaseDuration: '20s', renewDeadline: '12s', retryPeriod: '3s' },
      operator: { workers: 4, relistInterval: '1h', deletionGuardShare: '0.2', deletionGuardCount: 0, logLevel: 'debug', shutdownTimeout: '25s', extraArgs: [] },
      metricsPort: 9090,
      healthPort: 9091,
      terminationGracePeriodSeconds: 40,
    };
    const file = join(scratch, 'flags.yaml');
    writeFileSync(file, yaml.dump(values));
    const rendered = await template(['-f', file]);
    expect(rendered.stderr.replace(/^.*found symbolic link.*\n/gm, '')).toBe('');
    const container = operatorContainer(rendered.objects);
    expect(container.image).toBe('registry.example.org/toolforge/build-namespace-operator:0.2.0');
    const [command, ...flags] = container.args;
    expect(command).toBe('run');
    const config = parseRunConfig(flags, {}, OPERATOR_NAMESPACE);
    expect(config).toMatchObject({
      leaderElect: true, leaderElectionNamespace: 'elsewhere', leaderElectionName: 'bno-lease',
      leaseDurationSeconds: 20, renewDeadlineSeconds: 12, retryPeriodSeconds: 3,
      workers: 4, relistIntervalSeconds: 3600, deletionGuardShare: 0.2, deletionGuardCount: 0, logLevel: 'debug',
      shutdownTimeoutSeconds: 25, metricsAddress: ':9090', healthAddress: ':9091',
    });
  });

  it('runs one process without leader election, and refuses replicas that would all reconcile', async () => {
    const single = await template(['--set', 'leaderElection.enabled=false', '--set', 'replicas=1']);
    expect(single.code).toBe(0);
    expect(parseRunConfig(operatorContainer(single.objects).args.slice(1), {}, OPERATOR_NAMESPACE).leaderElect).toBe(false);
    const refused = await template(['--set', 'leaderElection.enabled=false']);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 1, stderr: expect.stringContaining('replicas > 1 needs leaderElection.enabled') as string });
  });

  it('installs an optional default policy that the CRD schema accepts, and none by default', async () => {
    expect((await template()).objects.filter((o) => o.kind === 'BuildQuotaPolicy')).toEqual([]);
    const example = yaml.load(readFileSync(join(root, 'manifests/example-policy.yaml'), 'utf8')) as KubeObject & { spec: unknown };
    const file = join(scratch, 'policy.yaml');
    writeFileSync(file, yaml.dump({ defaultPolicy: { enabled: true, name: 'default', spec: example.spec } }));
    const policies = (await template(['-f', file])).objects.filter((o) => o.kind === 'BuildQuotaPolicy');
    expect(policies.map((p) => p.metadata.name)).toEqual(['default']);
    expect(validatePolicy(policies[0])).toEqual([]);
    expect((policies[0] as KubeObject & { spec: unknown }).spec).toEqual(example.spec);
  });

  it('passes the build fence\'s settings and the request timeout as flags of run, and none by default', async () => {
    const argsOf = (objects: KubeObject[]) => (objects.find((o) => o.kind === 'Deployment') as unknown as
      { spec: { template: { spec: { containers: { args: string[] }[] } } } }).spec.template.spec.containers[0]!.args;
    expect(argsOf((await template()).objects).filter((a) => /^--(fence-exempt-users|request-timeout|pod-fence-[a-z-]+)=/.test(a))).toEqual([]);
    const users = ['system:serviceaccount:tekton-pipelines:tekton-pipelines-controller', 'system:serviceaccount:build-namespace-operator:build-namespace-operator'];
    const set = await template(['--set', `buildFence.exemptUsers={${users.join(',')}}`, '--set', 'operator.requestTimeout=10s']);
    expect(argsOf(set.objects)).toEqual(expect.arrayContaining([`--fence-exempt-users=${users.join(',')}`, '--request-timeout=10s']));
    const pod = await template(['--set', 'buildFence.pod.images={registry.example.org/toolforge/,registry.example.org/tekton/nop}', '--set', 'buildFence.pod.env={SOURCE_URL}']);
    expect(argsOf(pod.objects)).toEqual(expect.arrayContaining(['--pod-fence-images=registry.example.org/toolforge/,registry.example.org/tekton/nop', '--pod-fence-env=SOURCE_URL']));
  });

  it('passes the build queue\'s cluster-wide cap as --max-running-builds, 0 included, and none by default', async () => {
    const argsOf = (objects: KubeObject[]) => (objects.find((o) => o.kind === 'Deployment') as unknown as
      { spec: { template: { spec: { containers: { args: string[] }[] } } } }).spec.template.spec.containers[0]!.args;
    expect(argsOf((await template()).objects).filter((a) => a.startsWith('--max-running-builds'))).toEqual([]);
    for (const cap of ['4', '0']) {
      const queue = await template(['--set', `buildQueue.maxRunningBuilds=${cap}`]);
      expect(argsOf(queue.objects)).toEqual(expect.arrayContaining([`--max-running-builds=${cap}`]));
    }
  });

  it("deploys with the helmfile example: each environment's values make a chart render with a valid policy", async () => {
    const helmfile = documents(readFileSync(join(root, 'deployment/helmfile.yaml'), 'utf8'));
    const releases = (helmfile[1] as unknown as { releases: { chart: string; namespace: string; values: string[] }[] }).releases;
    expect(releases.map((r) => [r.chart, r.namespace])).toEqual([['./chart', OPERATOR_NAMESPACE]]);
    const environments = (helmfile[0] as unknown as { environments: Record<string, { values: string[] }> }).environments;
    expect(Object.keys(environments).sort()).toEqual(['local', 'tools']);
    for (const [name, environment] of Object.entries(environments)) {
      // helmfile renders a .gotmpl values file with Go templates and sprig, as Helm does: a
      // throwaway chart renders it here with the environment's values.
      const renderer = join(scratch, `helmfile-${name}`);
      mkdirSync(join(renderer, 'templates'), { recursive: true });
      writeFileSync(join(renderer, 'Chart.yaml'), `apiVersion: v2\nname: helmfile-${name}\nversion: 0.0.0\n`);
      cpSync(join(root, 'deployment', releases[0]!.values[0]!), join(renderer, 'templates/values.yaml'));
      const environmentValues = environment.values.map((v) => join(root, 'deployment', v));
      const valuesOut = await runTool(helm, ['template', 'x', renderer, ...environmentValues.flatMap((v) => ['-f', v])], { env: helmEnv });
      expect({ environment: name, code: valuesOut.code, stderr: valuesOut.stderr }).toEqual({ environment: name, code: 0, stderr: '' });
      const releaseValues = join(scratch, `release-${name}.yaml`);
      writeFileSync(releaseValues, valuesOut.stdout);

      const rendered = await template(['-f', releaseValues]);
      expect({ environment: name, code: rendered.code }).toEqual({ environment: name, code: 0 });
      const env = yaml.load(readFileSync(environmentValues[0]!, 'utf8')) as { image: { repository: string; tag: string }; replicas: number };
      expect(operatorContainer(rendered.objects).image).toBe(`${env.image.repository}:${env.image.tag}`);
      const policies = rendered.objects.filter((o) => o.kind === 'BuildQuotaPolicy');
      expect(policies).toHaveLength(1);
      expect({ environment: name, issues: validatePolicy(policies[0]) }).toEqual({ environment: name, issues: [] });
    }
  });
});
