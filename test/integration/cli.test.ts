// The command line as a user meets it: `node dist/src/cli.js` as a child process. Help for
// every command, the run flags and their environment variables, `render` offline for a tool
// and policies (and refusing what the API server would refuse), and `status` against the
// real control plane with an operator running.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { parseRunConfig, RUN_FLAGS } from '../../src/cli/run.js';
import { UsageError } from '../../src/cli/flags.js';
import { DEFAULT_RUN_CONFIG } from '../../src/cli/run-operator.js';
import { collectionPath, NAMESPACES, objectPath, BUILD_QUOTA_POLICIES, PIPELINE_RUNS } from '../../src/kube/resources.js';
import type { KubeObject } from '../../src/api/meta.js';
import { controlPlaneInfo, eventually, uniqueName } from '../../envtest/cluster.js';
import { repoRoot } from '../../envtest/controlplane.js';
import { adminClient, installOperatorPrerequisites } from '../../envtest/install.js';
import { startOperator, type RunningOperator } from './in-process-operator.js';
import { removeAndWait, runCli } from '../../envtest/operator-process.js';

const root = repoRoot();
const example = join(root, 'manifests/example-policy.yaml');
const dir = mkdtempSync(join(tmpdir(), 'bno-cli-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, docs: unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, docs.map((d) => yaml.dump(d)).join('---\n'));
  return path;
}

const docs = (text: string) => yaml.loadAll(text).filter(Boolean) as KubeObject[] & { spec?: Record<string, unknown> }[];

describe('help', () => {
  it.each(['run', 'plan', 'render', 'status'])('prints the usage of %s with --help, -h and `help %s`, exit 0', async (command) => {
    for (const args of [[command, '--help'], [command, '-h'], ['help', command]]) {
      const result = await runCli(args);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: '' });
      expect(result.stdout).toMatch(new RegExp(`^Usage: build-namespace-operator ${command}`));
    }
  });

  it('lists every command at the top level, and refuses an unknown command or flag with exit 1', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['run', 'plan', 'render', 'status', 'help']) expect(top.stdout).toContain(`  ${command} `);

    const unknown = await runCli(['deploy']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown command "deploy"');

    const badFlag = await runCli(['plan', '--colour']);
    expect(badFlag.code).toBe(1);
    expect(badFlag.stderr).toContain("Unknown option '--colour'");
    expect(badFlag.stderr).toContain("See 'build-namespace-operator plan --help'");

    const badValue = await runCli(['run', '--workers=0']);
    expect(badValue.code).toBe(1);
    expect(badValue.stderr).toContain('--workers: "0" is not an integer of at least 1');
  });
});

describe('run flags', () => {
  it('maps every flag to RunConfig, and the environment when no flag is given; a flag wins', () => {
    const config = parseRunConfig([
      '--kubeconfig=/k', '--workers', '3', '--relist-interval=1h30m', '--deletion-guard-share=0.25', '--deletion-guard-count=7',
      '--log-level=debug', '--metrics-bind-address=127.0.0.1:9090', '--health-probe-bind-address=:9091', '--leader-elect=false',
      '--leader-election-namespace=ops', '--leader-election-id=bno', '--leader-election-lease-duration=30s',
      '--leader-election-renew-deadline=20s', '--leader-election-retry-period=500ms', '--shutdown-timeout=1m',
      '--request-timeout=45s', '--max-running-builds=12',
      '--fence-exempt-users=system:serviceaccount:t:tekton, ops',
      '--pod-fence-images=r.example/toolforge/,r.example/tekton/nop', '--pod-fence-root-images=r.example/toolforge/root', '--pod-fence-env=A,B',
    ], { BNO_WORKERS: '99' }, undefined);
    expect(config).toEqual({
      kubeconfig: '/k', workers: 3, relistIntervalSeconds: 5400, deletionGuardShare: 0.25, deletionGuardCount: 7,
      logLevel: 'debug', metricsAddress: '127.0.0.1:9090', healthAddress: ':9091', leaderElect: false,
      leaderElectionNamespace: 'ops', leaderElectionName: 'bno', leaseDurationSeconds: 30, renewDeadlineSeconds: 20,
      retryPeriodSeconds: 0.5, shutdownTimeoutSeconds: 60, requestTimeoutSeconds: 45, fenceExemptUsers: ['system:serviceaccount:t:tekton', 'ops'],
      podFenceImages: ['r.example/toolforge/', 'r.example/tekton/nop'], podFenceRootImages: ['r.example/toolforge/root'], podFenceEnv: ['A', 'B'],
      maxRunningBuilds: 12,
    });

    const env = Object.fromEntries(RUN_FLAGS.filter((f) => f.env).map((f) => [f.env!, {
      'workers': '4', 'relist-interval': '0', 'deletion-guard-share': '0.5', 'deletion-guard-count': '2', 'log-level': 'warn',
      'metrics-bind-address': ':1', 'health-probe-bind-address': ':2', 'leader-elect': 'false', 'leader-election-namespace': 'x',
      'leader-election-id': 'y', 'leader-election-lease-duration': '9', 'leader-election-renew-deadline': '6s',
      'leader-election-retry-period': '1s', 'shutdown-timeout': '5s', 'request-timeout': '0', 'fence-exempt-users': 'tekton',
      'pod-fence-images': 'r.example/b', 'pod-fence-root-images': '', 'pod-fence-env': 'SOURCE_URL', 'max-running-builds': '0',
    }[f.flag]!]));
    expect(parseRunConfig([], env, undefined)).toEqual({
      workers: 4, relistIntervalSeconds: 0, deletionGuardShare: 0.5, deletionGuardCount: 2, logLevel: 'warn',
      metricsAddress: ':1', healthAddress: ':2', leaderElect: false, leaderElectionNamespace: 'x', leaderElectionName: 'y',
      leaseDurationSeconds: 9, renewDeadlineSeconds: 6, retryPeriodSeconds: 1, shutdownTimeoutSeconds: 5,
      requestTimeoutSeconds: 0, fenceExemptUsers: ['tekton'], podFenceImages: ['r.example/b'], podFenceRootImages: [], podFenceEnv: ['SOURCE_URL'],
      maxRunningBuilds: 0,
    });
  });

  it('defaults to RunConfig defaults, with the Lease in the pod\'s own namespace when in a cluster', () => {
    expect(parseRunConfig([], {}, undefined)).toEqual(DEFAULT_RUN_CONFIG);
    expect(parseRunConfig([], {}, 'toolforge-ops').leaderElectionNamespace).toBe('toolforge-ops');
    expect(parseRunConfig(['--leader-elect'], { BNO_LEADER_ELECT: 'false' }, undefined).leaderElect).toBe(true);
  });

  it.each([
    [['--relist-interval=soon'], '--relist-interval: "soon" is not a duration'],
    [['--deletion-guard-share=2'], '--deletion-guard-share: "2" is not a number from 0 to 1'],
    [['--log-level=loud'], '--log-level: "loud" is not one of'],
    [['--metrics-bind-address=8080'], 'is not an address'],
    [['--leader-elect=maybe'], 'is not a boolean'],
    [['--leader-election-lease-duration=1500ms'], 'must be whole seconds'],
    [['--leader-election-lease-duration=10s'], 'must be longer than the renew deadline'],
    [['--leader-election-renew-deadline=2s'], 'must be longer than 1.2 × the retry period'],
    [['extra'], 'run takes no arguments'],
    [['--pod-fence-env=A'], '--pod-fence-root-images and --pod-fence-env need --pod-fence-images'],
  ])('refuses %j', (args, message) => {
    expect(() => parseRunConfig(args, {}, undefined)).toThrow(UsageError);
    expect(() => parseRunConfig(args, {}, undefined)).toThrow(message);
  });

  it('documents every flag and its variable in the README', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const wanted = RUN_FLAGS.flatMap((f) => [`\`--${f.flag}\``, ...(f.env ? [`\`${f.env}\``] : [])]);
    expect(wanted.filter((w) => !readme.includes(w))).toEqual([]);
  });
});

describe('render', () => {
  it('prints the build namespace the example policy gives a tool', async () => {
    const result = await runCli(['render', '--tool', 'mytool', '-f', example]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const objects = docs(result.stdout);
    expect(objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual([
      'Namespace /image-build-mytool',
      'ResourceQuota image-build-mytool/build-quota',
      'LimitRange image-build-mytool/build-limits',
      'ServiceAccount image-build-mytool/buildpacks-service-account',
      'RoleBinding image-build-mytool/tool-builds',
    ]);
    expect(objects[0]!.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'build-namespace-operator', 'builds.toolforge.org/tool': 'mytool',
      'pod-security.kubernetes.io/enforce': 'baseline',
    });
    expect(objects[1]).toMatchObject({ spec: { hard: { pods: '4', 'requests.cpu': '2', 'requests.memory': '4Gi' } } });
    // The tool's build fence, on its namespace: its own project in the image pattern.
    expect(objects[0]!.metadata.annotations).toMatchObject({ 'fence.builds.toolforge.org/serviceAccountName': 'buildpacks-service-account' });
    expect(objects[0]!.metadata.annotations?.['fence.builds.toolforge.org/pattern.APP_IMAGE']).toContain('/tool-mytool/');
    expect(objects[4]).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'build-namespace-tool' },
      subjects: [{ kind: 'User', name: 'mytool', apiGroup: 'rbac.authorization.k8s.io' }],
    });
  });

  it('layers a per-tool override and a label-selected policy over the example, key by key', async () => {
    const overrides = file('overrides.yaml', [
      { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: 'big-builds' },
        spec: { priority: 10, tools: ['mytool'], resourceQuota: { hard: { pods: '8' } } } },
      { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: 'gpu-team' },
        spec: { priority: 5, toolSelector: { matchLabels: { team: 'gpu' } }, resourceQuota: { hard: { 'requests.cpu': '8' } } } },
    ]);
    const plain = docs((await runCli(['render', '--tool', 'mytool', '-f', example, '-f', overrides])).stdout);
    expect(plain[1]).toMatchObject({ spec: { hard: { pods: '8', 'requests.cpu': '2', 'requests.memory': '4Gi' } } });
    expect(plain[0]!.metadata.annotations?.['builds.toolforge.org/policies']).toBe('big-builds,default');

    const labelled = await runCli(['render', '--tool', 'mytool', '-f', example, '-f', overrides, '--label', 'team=gpu', '-o', 'json']);
    const list = JSON.parse(labelled.stdout) as { items: (KubeObject & { spec?: unknown })[] };
    expect(list.items[1]).toMatchObject({ spec: { hard: { pods: '8', 'requests.cpu': '8', 'requests.memory': '4Gi' } } });
    expect(list.items[0]!.metadata.annotations?.['builds.toolforge.org/policies']).toBe('big-builds,gpu-team,default');

    const otherTool = docs((await runCli(['render', '--tool', 'othertool', '-f', example, '-f', overrides])).stdout);
    expect(otherTool[1]).toMatchObject({ spec: { hard: { pods: '4' } } });
  });

  it('reads policies from stdin with -f -', async () => {
    const result = await runCli(['render', '--tool', 'fromstdin', '-f', '-'], { input: readFileSync(example, 'utf8') });
    expect(result.code).toBe(0);
    expect(docs(result.stdout)[0]!.metadata.name).toBe('image-build-fromstdin');
  });

  it('refuses an invalid policy, naming the file, document and field, exit 1', async () => {
    const bad = file('bad.yaml', [
      { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: 'fine' }, spec: {} },
      { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: 'broken' },
        spec: { resourceQuota: { hard: { pods: 'lots' } }, namespace: { nameTemplate: 'builds' }, colour: 'blue' } },
    ]);
    const result = await runCli(['render', '--tool', 'mytool', '-f', bad]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${bad}, document 2 (broken) is not a valid BuildQuotaPolicy:`);
    expect(result.stderr).toContain('spec.colour');
    expect(result.stderr).toContain('spec.resourceQuota.hard[pods]');
  });

  it('says so when no policy matches the tool, exit 1, and refuses an invalid tool name', async () => {
    const narrow = file('narrow.yaml', [{ apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: 'narrow' },
      spec: { toolSelector: { matchLabels: { team: 'gpu' } } } }]);
    const unmatched = await runCli(['render', '--tool', 'mytool', '-f', narrow]);
    expect(unmatched.code).toBe(1);
    expect(unmatched.stderr).toContain('no policy matches tool mytool');

    const invalid = await runCli(['render', '--tool', 'x'.repeat(54), '-f', example]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('ToolNameTooLong');

    const missing = await runCli(['render', '-f', example]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--tool is required');
  });
});

describe('status', () => {
  const admin = adminClient();
  const suite = uniqueName('cli');
  const ready = uniqueName('ready');
  const unmatchedLabel = uniqueName('lonely');
  const tooLong = `${suite}-${'x'.repeat(53 - suite.length)}`;
  let running: RunningOperator | undefined;
  const kubeconfig = controlPlaneInfo().adminKubeconfig;

  beforeAll(async () => {
    await installOperatorPrerequisites(admin);
    for (const tool of [ready, tooLong, unmatchedLabel]) {
      const labels: Record<string, string> = { name: `tool-${tool}`, tenancy: 'tool', ...(tool === unmatchedLabel ? {} : { suite }) };
      await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: `tool-${tool}`, labels } } });
    }
    await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, `${suite}-base`), {
      query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
      body: { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: `${suite}-base` },
        spec: { toolSelector: { matchLabels: { suite } }, resourceQuota: { hard: { pods: '3', 'requests.cpu': '1500m', 'requests.memory': '2Gi' } },
          limitRange: { limits: [{ type: 'Container', defaultRequest: { cpu: '100m', memory: '128Mi' }, default: { cpu: '200m', memory: '256Mi' } }] } } },
    });
    running = await startOperator();
  });

  afterAll(async () => {
    await running?.stop();
    // Every operator that starts later would report the invalid tool namespace again, and
    // count these build namespaces: remove them, and wait for the namespace controller.
    await removeAndWait(admin, [
      ...[ready, tooLong, unmatchedLabel].map((t) => objectPath(NAMESPACES, `tool-${t}`)),
      objectPath(NAMESPACES, `image-build-${ready}`), objectPath(BUILD_QUOTA_POLICIES, `${suite}-base`),
    ]);
    admin.close();
  }, 60_000);

  it('shows each matched tool: its build namespace, readiness, quota in use and running builds', async () => {
    const buildNs = `image-build-${ready}`;
    await eventually(async () => {
      const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, buildNs));
      expect(ns.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
    }, { timeoutMs: 15_000 });
    await eventually(() => admin.request('GET', objectPath({ apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true }, 'default', buildNs)));
    // One build pod, which the quota controller counts.
    await eventually(() => admin.request('POST', collectionPath({ apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true }, buildNs), {
      body: { metadata: { name: 'build-1' }, spec: { containers: [{ name: 'build', image: 'registry.invalid/build' }] } },
    }), { timeoutMs: 15_000 });
    const tekton = await admin.request('GET', '/apis/tekton.dev').then(() => true, () => false);
    if (tekton) {
      await eventually(() => admin.request('POST', collectionPath(PIPELINE_RUNS, buildNs), {
        body: { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: 'run-1' }, spec: {} },
      }), { timeoutMs: 45_000, intervalMs: 500 });
    }

    const row = await eventually(async () => {
      const result = await runCli(['status', '--kubeconfig', kubeconfig, '-o', 'json', '--tool', ready, '--tool', tooLong, '--tool', unmatchedLabel]);
      expect(result.code).toBe(0);
      const { tools } = JSON.parse(result.stdout) as { tools: Record<string, unknown>[] };
      // tooLong starts with the suite ("cli-..."), so it sorts before ready ("ready-...").
      expect(tools).toEqual([
        { tool: tooLong, ready: 'skipped', reason: 'ToolNameTooLong' },
        {
          tool: ready, buildNamespace: buildNs, ready: 'yes',
          pods: { used: '1', hard: '3' }, cpu: { used: '100m', hard: '1500m' }, memory: { used: '128Mi', hard: '2Gi' },
          ...(tekton ? { runningBuilds: 1, queuedBuilds: 0 } : {}),
          // The policy replicates no Pipeline, so its fence allows none: the strict default.
          fence: expect.objectContaining({ pipelines: '', requiredParams: 'APP_IMAGE,SOURCE_URL', serviceAccountName: 'buildpacks-service-account', maxPipelineTimeout: expect.any(String) }),
        },
      ]);
      return tools;
    }, { timeoutMs: 20_000, intervalMs: 500 });
    expect(row).toHaveLength(2);

    const table = await runCli(['status', '--kubeconfig', kubeconfig, '--tool', ready, '--tool', tooLong]);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^TOOL\s+BUILD NAMESPACE\s+READY\s+PODS\s+CPU\s+MEMORY\s+RUNNING BUILDS\s+QUEUED BUILDS\s+ALLOWED PIPELINES$/);
    expect(lines.find((l) => l.startsWith(`${ready} `))).toMatch(new RegExp(`^${ready}\\s+${buildNs}\\s+yes\\s+1/3\\s+100m/1500m\\s+128Mi/2Gi\\s+${tekton ? '1\\s+0' : '-\\s+-'}\\s+-$`));
    expect(lines.find((l) => l.startsWith(`${tooLong} `))).toMatch(/\s+-\s+skipped \(ToolNameTooLong\)\s+-\s+-\s+-\s+-\s+-\s+-$/);
    expect(table.stdout).toContain('1 tool(s), 1 ready; 1 tool namespace(s) skipped');
  });

  it('exits 1 with the reason when the API server cannot be reached', async () => {
    const broken = join(dir, 'unreachable.kubeconfig');
    writeFileSync(broken, yaml.dump({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'x',
      clusters: [{ name: 'x', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [{ name: 'x', user: { token: 'none' } }],
      contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
    }));
    const result = await runCli(['status', '--kubeconfig', broken]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^status failed: .*ECONNREFUSED/);
  });
});
