// What `kubectl apply -k manifests` and `make image` ship, checked against the real API
// server and against what `run` serves: every manifest applies cleanly (server-side dry run,
// strict field validation), the operator's pod passes Pod Security "restricted", the
// Deployment's probes and ports are the ones the process listens on, the dashboard asks only
// for metrics the operator exports, and the Dockerfile copies what exists and runs as non-root.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { validatePolicy } from '../../src/api/validate.js';
import { parseRunConfig } from '../../src/cli/run.js';
import type { KubeObject } from '../../src/api/meta.js';
import { collectionPath, objectPath, ResourceTypes } from '../../src/kube/resources.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { controlPlaneInfo, uniqueName } from '../../envtest/cluster.js';
import { kubectl, kubectlPath } from '../../envtest/kubectl.js';
import { repoRoot } from '../../envtest/controlplane.js';
import { adminClient, installOperatorPrerequisites, OPERATOR_NAMESPACE, readManifests } from '../../envtest/install.js';

const root = repoRoot();
const admin = adminClient();
const types = new ResourceTypes(admin);
afterAll(() => admin.close());

interface Kustomization {
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

const yamlFiles = (dir: string) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').map((f) => join(root, dir, f));
const docsOf = (path: string) => readManifests(path);
const documents = (text: string) => (yaml.loadAll(text) as unknown[]).filter((d): d is KubeObject => typeof d === 'object' && d !== null);
/** What `kubectl kustomize manifests` renders: the base as an admin would apply it. */
const base = documents(execFileSync(kubectlPath(), ['kustomize', join(root, 'manifests')], { encoding: 'utf8' }));
const find = <T = KubeObject>(kind: string) => base.find((d) => d.kind === kind) as T & KubeObject;
const identity = (d: KubeObject) => `${d.kind}/${d.metadata.namespace ?? ''}/${d.metadata.name}`;

async function dryRunApply(doc: KubeObject): Promise<unknown> {
  const type = await types.lookup(doc.apiVersion!, doc.kind!);
  if (!type) throw new Error(`the API server does not serve ${doc.apiVersion} ${doc.kind}`);
  return admin.request('PATCH', objectPath(type, doc.metadata.name, doc.metadata.namespace), {
    query: { fieldManager: 'manifests-test', force: true, dryRun: 'All', fieldValidation: 'Strict' },
    body: doc,
    contentType: 'application/apply-patch+yaml',
  });
}

interface PodSpec {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsUser?: number; runAsGroup?: number };
  containers: {
    image: string;
    args?: string[];
    ports?: { name: string; containerPort: number }[];
    livenessProbe?: { httpGet?: { path: string; port: string | number } };
    readinessProbe?: { httpGet?: { path: string; port: string | number } };
    env?: { name: string; value?: string }[];
  }[];
}
interface Deployment extends KubeObject {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}

beforeAll(async () => {
  // The namespace and the CRD for real: the namespaced manifests and the policy need them.
  await installOperatorPrerequisites(admin);
}, 60_000);

describe('the kustomize base', () => {
  it('renders with kubectl kustomize: every manifest of manifests/ but the example policy, and the CRD', () => {
    const expected = [...yamlFiles('manifests').filter((f) => !f.endsWith('example-policy.yaml')), ...yamlFiles('crds')]
      .flatMap(docsOf).map(identity).sort();
    expect(base.map(identity).sort()).toEqual(expected);
    for (const doc of base) expect(doc.metadata.labels?.['app.kubernetes.io/part-of']).toBe('build-namespace-operator');
  });

  it('applies with kubectl apply --server-side --dry-run=server (strict field validation)', async () => {
    const applied = await kubectl(['apply', '--server-side', '--dry-run=server', '--validate=strict', '--field-manager=manifests-test', '-k', join(root, 'manifests')],
      { kubeconfig: controlPlaneInfo().adminKubeconfig });
    expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: '' });
    for (const doc of base) expect(applied.stdout).toContain(`${doc.metadata.name} serverside-applied (server dry run)`);
  });

  it('the example policy applies cleanly to the API server (server-side dry run, strict field validation)', async () => {
    for (const doc of docsOf(join(root, 'manifests/example-policy.yaml'))) {
      await expect(dryRunApply(doc).then(() => 'applied', (err: Error) => `${doc.kind} ${doc.metadata.name}: ${err.message}`)).resolves.toBe('applied');
    }
  });

  it('ships an example policy that the offline validation accepts too', () => {
    for (const doc of docsOf(join(root, 'manifests/example-policy.yaml'))) expect(validatePolicy(doc)).toEqual([]);
  });

  it("sets the Deployment's image through kustomize's images", () => {
    const k = yaml.load(readFileSync(join(root, 'manifests/kustomization.yaml'), 'utf8')) as Kustomization;
    const [image] = k.images ?? [];
    const deployment = find<Deployment>('Deployment');
    expect(deployment.spec.template.spec.containers[0]!.image).toBe(`${image?.newName ?? image?.name}:${image?.newTag}`);
  });
});

describe('the operator Deployment', () => {
  const deployment = find<Deployment>('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0]!;

  it("runs as the ServiceAccount of rbac.yaml, with the probes and ports that `run` serves", () => {
    const serviceAccount = find('ServiceAccount');
    expect(pod.serviceAccountName).toBe(serviceAccount.metadata.name);
    expect(deployment.metadata.namespace).toBe(serviceAccount.metadata.namespace);
    expect(deployment.spec.replicas).toBe(2);

    const [command, ...flags] = container.args ?? [];
    expect(command).toBe('run');
    const config = parseRunConfig(flags, {}, OPERATOR_NAMESPACE);
    expect(config.leaderElect).toBe(true);
    const port = (name: string) => container.ports?.find((p) => p.name === name)?.containerPort;
    expect(Number(config.metricsAddress.split(':').pop())).toBe(port('metrics'));
    expect(Number(config.healthAddress.split(':').pop())).toBe(port('health'));
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'health' });
    // The kubelet must not kill a leader that is still finishing its work and releasing the Lease.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(config.shutdownTimeoutSeconds + 2);
  });

  it("gives node its memory settings in the environment, which node takes there and which bound V8's young generation", () => {
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
    expect(env.NODE_OPTIONS).toBe('--max-semi-space-size=2');
    expect(env.MALLOC_ARENA_MAX).toBe('2');
    // Node refuses, and exits on, a flag that NODE_OPTIONS may not carry; allocating 200 MB of
    // short-lived objects would grow V8's own young generation to 32 MB.
    const script = `const v8 = require('node:v8'); let keep = [];
      for (let i = 0; i < 2e6; i++) { const o = { i, s: 'x' + i }; if (i % 100 === 0) keep.push(o); }
      const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
      process.stdout.write(String(s.space_size))`;
    const newSpace = (extra: Record<string, string>) => Number(execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8', env: { PATH: process.env.PATH, ...extra },
    }));
    expect(newSpace(env)).toBeLessThanOrEqual(4 * 1024 ** 2);
    expect(newSpace({})).toBeGreaterThan(4 * 1024 ** 2);
  });

  it('is selected by its Service and PodDisruptionBudget, and its Service exposes the metrics port', () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(labels).toMatchObject(deployment.spec.selector.matchLabels);
    const service = find<KubeObject & { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }>('Service');
    const pdb = find<KubeObject & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget');
    expect(labels).toMatchObject(service.spec.selector);
    expect(labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBe(1);
    expect(service.spec.ports.map((p) => p.targetPort)).toEqual(['metrics']);
  });

  it('has a pod that Pod Security admission admits at "restricted" in the operator namespace', async () => {
    const namespace = find('Namespace');
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const podOf = (spec: unknown) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: uniqueName('operator-pod'), namespace: OPERATOR_NAMESPACE, labels: deployment.spec.template.metadata.labels }, spec,
    });
    const create = (body: unknown) => admin.request('POST', collectionPath({ apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true }, OPERATOR_NAMESPACE), {
      query: { dryRun: 'All', fieldValidation: 'Strict' }, body,
    }).then(() => 'admitted', (err: Error) => err.message);
    await expect(create(podOf(pod))).resolves.toBe('admitted');
    // The check has teeth: the same pod allowed to escalate privileges is refused.
    const escalating = structuredClone(pod) as PodSpec & { containers: { securityContext?: Record<string, unknown> }[] };
    escalating.containers[0]!.securityContext = { ...escalating.containers[0]!.securityContext, allowPrivilegeEscalation: true };
    await expect(create(podOf(escalating))).resolves.toMatch(/violates PodSecurity "restricted/);
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(root, 'manifests/grafana-dashboard.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  it('asks only for metrics the operator exports', async () => {
    const exported = new Set((await createMetrics().registry.getMetricsAsJSON()).flatMap((m) =>
      String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name]));
    const unknown = exprs.flatMap(({ panel, expr }) =>
      // Every query selects its series with {...}: the names before a brace are the metrics.
      [...expr.matchAll(/\b([a-zA-Z_:][\w:]*)\{/g)].map((m) => m[1]!)
        .filter((name) => !exported.has(name))
        .map((name) => `${panel}: ${name}`));
    expect(unknown).toEqual([]);
  });

  it('has panels for reconciles, the work queue, tools, drift, held deletions and the leader', () => {
    expect(exprs.every(({ expr }) => /\w\{/.test(expr))).toBe(true);
    const all = exprs.map((e) => e.expr).join('\n');
    for (const metric of [
      'controller_runtime_reconcile_total', 'controller_runtime_reconcile_errors_total', 'controller_runtime_reconcile_time_seconds_bucket',
      'workqueue_depth', 'workqueue_adds_total', 'workqueue_retries_total', 'workqueue_queue_duration_seconds_bucket',
      'build_namespace_operator_tools', 'build_namespace_operator_drift_corrections_total', 'build_namespace_operator_deletions_held_total',
      'build_namespace_operator_leader',
    ]) expect(all).toContain(metric);
  });
});

describe('the container image', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  // Instructions with continuation lines joined and comments dropped.
  const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((l) => { const [op, ...rest] = l.split(/\s+/); return { op: op!.toUpperCase(), args: rest.join(' ') }; });
  const stages: { from: string; name?: string; body: { op: string; args: string }[] }[] = [];
  for (const i of instructions) {
    if (i.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args)!;
      stages.push({ from: m[1]!, name: m[2], body: [] });
    } else stages.at(-1)?.body.push(i);
  }
  const final = stages.at(-1)!;

  it('knows only Dockerfile instructions, and builds in one stage and runs from a slim one', () => {
    const known = ['FROM', 'ARG', 'RUN', 'COPY', 'ADD', 'WORKDIR', 'ENV', 'USER', 'ENTRYPOINT', 'CMD', 'EXPOSE', 'LABEL', 'HEALTHCHECK', 'STOPSIGNAL', 'VOLUME', 'SHELL', 'ONBUILD'];
    expect(instructions.map((i) => i.op).filter((op) => !known.includes(op))).toEqual([]);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(final.from).toMatch(/^node:\$\{NODE_VERSION\}-bookworm-slim$|^node:20[\w.-]*-slim$/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const copiedFrom = final.body.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=')).map((i) => i.args.split(/\s+/)[0]!.slice('--from='.length));
    for (const stage of copiedFrom) expect(stages.map((s) => s.name)).toContain(stage);
  });

  it('runs dist/src/cli.js run as a numeric non-root user, the one the Deployment names', () => {
    const user = final.body.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(JSON.parse(final.body.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['node', 'dist/src/cli.js']);
    expect(JSON.parse(final.body.find((i) => i.op === 'CMD')!.args)).toEqual(['run']);
    const pod = find<Deployment>('Deployment').spec.template.spec;
    expect(`${pod.securityContext?.runAsUser}:${pod.securityContext?.runAsGroup}`).toBe(user);
  });

  it('builds a product of src/ alone: no test, bench, demo or envtest code in dist/', () => {
    const tree = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? tree(join(dir, e.name)) : [join(dir, e.name)]));
    expect(readdirSync(join(root, 'dist'))).toEqual(['src']);
    const compiled = tree(join(root, 'dist/src')).filter((f) => f.endsWith('.js'));
    expect(compiled).toContain(join(root, 'dist/src/cli.js'));
    for (const file of compiled) {
      const text = readFileSync(file, 'utf8');
      expect({ file, importsTools: /from ['"][./]*(test|bench|demo|envtest)\//.test(text) }).toEqual({ file, importsTools: false });
    }
  });

  it('copies from the build context only what exists and .dockerignore lets through', () => {
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    // The allow-list form: "*" excludes everything, each "!path" brings a path (and what is under it) back.
    expect(ignore[0]).toBe('*');
    const allowed = ignore.slice(1).map((l) => { expect(l.startsWith('!')).toBe(true); return l.slice(1).replace(/\/$/, ''); });
    const sources = stages.flatMap((s) => s.body).filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect({ source, exists: existsSync(join(root, source)) }).toEqual({ source, exists: true });
      expect({ source, allowed: allowed.some((a) => source === a || source.startsWith(`${a}/`)) }).toEqual({ source, allowed: true });
    }
    // Whatever the build compiles must be in the context, and nothing but the product.
    expect(allowed.sort()).toEqual(['package-lock.json', 'package.json', 'src', 'tsconfig.build.json', 'tsconfig.json']);
  });
});
