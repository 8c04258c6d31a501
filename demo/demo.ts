// `make demo`: a local control plane, the operator as a process under its own ServiceAccount,
// a few tool namespaces and the example policy; then what the operator built, what a tool
// may and may not do, its quota refusing a pod, the build fence judging its PipelineRuns, a
// hand edit undone, a removed tool's build namespace deleted. Stops everything at the end, or with --keep (KEEP=1) stays up until Ctrl-C.
import { dirname, join } from 'node:path';
import { startSupervisedControlPlane, type SupervisedControlPlane } from '../envtest/spawn.js';
import { applyFiles, installOperatorPrerequisites, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT } from '../envtest/install.js';
import { configFor, eventually } from '../envtest/cluster.js';
import { repoRoot } from '../envtest/controlplane.js';
import { runScript } from '../envtest/script.js';
import { kubectlPath } from '../envtest/kubectl.js';
import { runCli, startOperatorProcess, writeOperatorKubeconfig, type LogLine, type OperatorProcess } from '../envtest/operator-process.js';
import { ApiError, errorMessage, KubeClient } from '../src/kube/client.js';
import { loadKubeConfig } from '../src/kube/credentials.js';
import type { KubeObject } from '../src/api/meta.js';
import { BUILD_QUOTA_POLICIES, collectionPath, EVENTS, NAMESPACES, objectPath, PIPELINE_RUNS, PIPELINES, RESOURCE_QUOTAS } from '../src/kube/resources.js';
import { LABEL_READY, LABEL_TOOL, TOOL_NAMESPACE_PREFIX } from '../src/api/types.js';
import { buildNamespaceName } from '../src/render/index.js';
import { collectStatus, formatStatus } from '../src/cli/status.js';
import { formatTable } from '../src/cli/table.js';

const keep = process.argv.includes('--keep') || ['1', 'true', 'yes'].includes(process.env.KEEP ?? '');
const root = repoRoot();

const LONGEST = 'a-tool-with-a-fifty-three-character-name-is-allowed-x';
const TOO_LONG = 'a-tool-with-a-fifty-six-character-name-is-one-too-many-x';
const TOOLS = ['cdnjs', 'quarry', 'wikibugs', LONGEST];
const SHOWN = 'cdnjs';
const OTHER = 'quarry';
const REMOVED = 'wikibugs';
/** Where the admin keeps the Pipeline every tool may run, replicated into each build namespace. */
const PIPELINES_NS = 'build-pipelines';
const REGISTRY = 'tools-harbor.wmcloud.org';

let plane: SupervisedControlPlane | undefined;
let operator: OperatorProcess | undefined;
let echo = true;
/** Also each object the operator writes (its debug log): for the drift step and --keep. */
let echoWrites = false;
const clients: KubeClient[] = [];

const say = (text = '') => process.stdout.write(`${text}\n`);
const step = (n: number, text: string) => say(`\n${n}. ${text}`);
const ms = (since: number) => `${Math.round(performance.now() - since)} ms`;

/** The operator's log lines that tell the story, one line each. */
function echoLine(line: LogLine): void {
  if (!echo) return;
  const interesting = ['starting', 'caches synced', 'leading; reconciling', 'build namespace ready', 'skipping tool namespace', 'deleted', 'shutting down', 'stopped'];
  // winston appends the line's "message" field (the reason in words) to its message.
  const message = line.message.startsWith('skipping tool namespace') ? 'skipping tool namespace' : line.message;
  const shown = interesting.includes(message) || ['warn', 'error'].includes(line.level) || (echoWrites && message === 'applied');
  if (!shown) return;
  const fields = ['tool', 'namespace', 'kind', 'name', 'reason', 'signal', 'error']
    .filter((k) => line[k] !== undefined && !(k === 'namespace' && line.tool !== undefined && line[k] === `${TOOL_NAMESPACE_PREFIX}${String(line.tool)}`))
    .map((k) => `${k}=${String(line[k])}`);
  say(`   operator | ${line.level.padEnd(5)} ${message}${fields.length ? `  ${fields.join(' ')}` : ''}`);
}

async function stopAll(): Promise<void> {
  echo = false;
  const code = operator ? (await operator.stop('SIGTERM')).code : undefined;
  for (const c of clients) c.close();
  await plane?.stop();
  if (code !== undefined) say(`Stopped the operator (exit ${code}) and the control plane; its directory is removed.`);
}

async function denied(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    if (err instanceof ApiError && err.code === 403) return err.message;
    throw err;
  }
}

async function main(untilSignal: () => Promise<void>): Promise<void> {
  say('build-namespace-operator demo: a local control plane, the operator, four tools and a bad one.');

  let started = performance.now();
  // A quota made before the quota controller has found a new kind (it looks every 30 s) counts
  // that kind only at its next full pass, 5 minutes by default: the demo's quotas count
  // PipelineRuns, whose CRD it installs a moment before.
  plane = await startSupervisedControlPlane({ controllerManagerArgs: ['--resource-quota-sync-period=10s'] });
  const info = plane.info;
  step(1, `Control plane (etcd, kube-apiserver, kube-controller-manager) up at ${info.server} in ${ms(started)}.`);

  const admin = new KubeClient(loadKubeConfig(info.adminKubeconfig));
  clients.push(admin);
  await installOperatorPrerequisites(admin);
  await applyFiles(admin, [join(root, 'envtest/tekton-crds.yaml')]);
  await eventually(() => admin.request('GET', collectionPath(PIPELINES)), { timeoutMs: 30_000 });
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: PIPELINES_NS } } });
  await admin.request('POST', collectionPath(PIPELINES, PIPELINES_NS), {
    body: { apiVersion: 'tekton.dev/v1', kind: 'Pipeline', metadata: { name: 'buildpacks' }, spec: { tasks: [] } },
  });
  step(2, 'Installed crds/, manifests/tool-clusterrole.yaml and manifests/rbac.yaml, Tekton\'s CRDs (no Tekton');
  say(`   controller: this cluster runs no builds) and the admin Pipeline ${PIPELINES_NS}/buildpacks.`);

  step(3, 'Tool namespaces, as maintain_kubeusers makes them (labels name=tool-<tool>, tenancy=tool):');
  for (const tool of [...TOOLS, TOO_LONG]) {
    const name = `${TOOL_NAMESPACE_PREFIX}${tool}`;
    await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name, labels: { name, tenancy: 'tool' } } } });
    const note = tool === LONGEST ? `   (${tool.length} characters: the longest tool name allowed)`
      : tool === TOO_LONG ? `   (${tool.length} characters: not a valid tool name)` : '';
    say(`   ${name}${note}`);
  }

  await applyFiles(admin, [join(root, 'manifests/example-policy.yaml')]);
  await admin.request('POST', collectionPath(BUILD_QUOTA_POLICIES), {
    body: {
      apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: 'pipelines' },
      spec: { priority: 10, toolSelector: { matchLabels: { tenancy: 'tool' } }, replicate: [{ apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: PIPELINES_NS, name: 'buildpacks' }] },
    },
  });
  step(4, 'Applied manifests/example-policy.yaml: BuildQuotaPolicy "default" for every tenancy=tool namespace');
  say('   (pods 4, requests.cpu 2, requests.memory 4Gi, limits.memory 8Gi, 20 PipelineRuns; LimitRange defaults),');
  say(`   and BuildQuotaPolicy "pipelines", which replicates ${PIPELINES_NS}/buildpacks: the one Pipeline the build fence lets tools run.`);

  const kubeconfig = await writeOperatorKubeconfig(info.dir, info);
  step(5, `Started the operator as ServiceAccount ${OPERATOR_NAMESPACE}/${OPERATOR_SERVICE_ACCOUNT}:`);
  say('   node dist/src/cli.js run --kubeconfig <its token> --leader-elect=false --log-level=debug');
  started = performance.now();
  operator = await startOperatorProcess({ kubeconfig: kubeconfig.path, args: ['--leader-elect=false', '--log-level=debug'], onLine: echoLine, buildQueue: true });

  const expected = TOOLS.map((t) => buildNamespaceName(t));
  await eventually(async () => {
    const list = await admin.request<{ items: KubeObject[] }>('GET', collectionPath(NAMESPACES), { query: { labelSelector: `${LABEL_READY}=true` } });
    const ready = new Set(list.items.map((ns) => ns.metadata.name));
    const missing = expected.filter((n) => !ready.has(n));
    if (missing.length) throw new Error(`not ready yet: ${missing.join(', ')}`);
  }, { timeoutMs: 60_000, intervalMs: 20 });
  const readyIn = ms(started);
  const skipped = await eventually(async () => {
    const events = await admin.request<{ items: { reason: string; type: string; note: string }[] }>('GET', collectionPath(EVENTS, `${TOOL_NAMESPACE_PREFIX}${TOO_LONG}`));
    const event = events.items.find((e) => e.type === 'Warning');
    if (!event) throw new Error('no Warning event yet');
    return event;
  }, { timeoutMs: 20_000 });
  echo = false;
  step(6, `All ${TOOLS.length} build namespaces ready ${readyIn} after the operator started.`);
  say(`   The ${LONGEST.length}-character tool's is cut to 63 characters with a hash (its label, not its name, says whose it is):`);
  say(`     ${buildNamespaceName(LONGEST)}`);
  say(`   ${TOOL_NAMESPACE_PREFIX}${TOO_LONG} is skipped, with a Warning Event in it:`);
  say(`     ${skipped.reason}: ${skipped.note}`);

  // What Tekton does on a tool's behalf: start build pods, which the tool's quota bounds.
  const shownNs = buildNamespaceName(SHOWN);
  await eventually(async () => {
    const quota = await admin.request<{ status?: { hard?: Record<string, string> } }>('GET', objectPath(RESOURCE_QUOTAS, 'build-quota', shownNs));
    if (!quota.status?.hard?.pods) throw new Error('the quota controller has not filled status.hard yet');
    await admin.request('GET', objectPath({ apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true }, 'default', shownNs));
  }, { timeoutMs: 20_000 });
  step(7, `Quota: build pods in ${shownNs}, as Tekton would start them (no requests given: the LimitRange fills them in):`);
  for (let i = 1; i <= 5; i++) {
    const refusal = await denied(admin.request('POST', collectionPath({ apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true }, shownNs), {
      body: { metadata: { name: `build-${i}` }, spec: { containers: [{ name: 'build', image: 'registry.invalid/buildpacks' }] } },
    }));
    say(`   pod build-${i}: ${refusal ? `refused: ${refusal.replace(/^pods "build-\d+" is forbidden: /, '')}` : 'admitted'}`);
  }

  // The tool itself, with a client certificate as maintain_kubeusers gives it.
  const tool = new KubeClient(configFor({ user: SHOWN, groups: ['toolforge'] }, info));
  clients.push(tool);

  step(8, `What tool ${SHOWN} may and may not do (SubjectAccessReview as user ${SHOWN}, groups toolforge, system:authenticated):`);
  const otherNs = buildNamespaceName(OTHER);
  const rows: [string, string, string, string?][] = [
    ['create', 'pipelineruns.tekton.dev', shownNs],
    ['patch', 'pipelineruns.tekton.dev', shownNs],
    ['delete', 'pipelineruns.tekton.dev', shownNs],
    ['list', 'taskruns.tekton.dev', shownNs],
    ['get', 'pods', shownNs, 'log'],
    ['list', 'events', shownNs],
    ['get', 'resourcequotas', shownNs],
    ['create', 'pods', shownNs],
    ['create', 'pods', shownNs, 'exec'],
    ['get', 'secrets', shownNs],
    ['patch', 'serviceaccounts', shownNs],
    ['patch', 'resourcequotas', shownNs],
    ['create', 'rolebindings.rbac.authorization.k8s.io', shownNs],
    ['delete', 'namespaces', ''],
    ['create', 'pipelineruns.tekton.dev', otherNs],
    ['get', 'pods', otherNs, 'log'],
  ];
  const answers: string[][] = [];
  for (const [verb, resource, namespace, subresource] of rows) {
    const [plural, ...group] = resource.split('.');
    const review = await admin.request<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      body: {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: { user: SHOWN, groups: ['toolforge', 'system:authenticated'], resourceAttributes: { verb, resource: plural, group: group.join('.'), namespace, subresource } },
      },
    });
    answers.push([verb, `${plural}${subresource ? `/${subresource}` : ''}${group.length ? `.${group.join('.')}` : ''}`, namespace || '(cluster)', review.status?.allowed ? 'yes' : 'no']);
  }
  process.stdout.write(formatTable(['verb', 'resource', 'namespace', 'allowed'], answers, '   '));
  const podRefusal = await denied(tool.request('POST', collectionPath({ apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true }, shownNs), {
    body: { metadata: { name: 'mine' }, spec: { containers: [{ name: 'shell', image: 'debian' }] } },
  }));
  say(`   And for real, as ${SHOWN}: creating a pod: ${podRefusal ? `403 ${podRefusal}` : 'ADMITTED (unexpected)'}`);

  step(9, `The build fence: PipelineRuns ${SHOWN} creates in ${shownNs}, judged by the API server itself:`);
  const fenceRefusal = await buildFenceDemo(tool, shownNs);
  say(`   ${SHOWN}'s build, as builds-api creates it (the buildpacks Pipeline, its own image): admitted`);
  for (const [what, spec] of [
    ['an inline pipelineSpec with its own steps', { pipelineSpec: { tasks: [{ name: 'x', taskSpec: { steps: [{ name: 'x', image: 'debian', script: 'cat ~/.docker/config.json' }] } }] } }],
    ['a podTemplate with runAsUser: 0', { taskRunTemplate: { podTemplate: { securityContext: { runAsUser: 0 } } } }],
    [`APP_IMAGE in ${OTHER}'s project`, { params: buildParams(OTHER) }],
  ] as const) {
    say(`   ${what}: refused:\n     ${await fenceRefusal(spec)}`);
  }

  echo = true;
  echoWrites = true;
  step(10, `Drift: an admin edits ${shownNs}'s quota by hand to pods: "100".`);
  const quotaPath = objectPath(RESOURCE_QUOTAS, 'build-quota', shownNs);
  started = performance.now();
  await admin.request('PATCH', quotaPath, { body: { spec: { hard: { pods: '100' } } }, contentType: 'application/merge-patch+json' });
  await eventually(async () => {
    const quota = await admin.request<{ spec: { hard: Record<string, string> } }>('GET', quotaPath);
    if (quota.spec.hard.pods !== '4') throw new Error(`pods is ${quota.spec.hard.pods}`);
  }, { timeoutMs: 10_000, intervalMs: 5 });
  const restoredIn = ms(started);
  await operator.waitForLog((l) => l.message === 'applied' && l.kind === 'ResourceQuota' && l.namespace === shownNs);
  say(`   The operator put pods: "4" back ${restoredIn} after the edit (from the watch event, not a timer).`);
  echoWrites = false;

  step(11, `Tool ${REMOVED} is removed: its namespace ${TOOL_NAMESPACE_PREFIX}${REMOVED} is deleted.`);
  started = performance.now();
  await admin.request('DELETE', objectPath(NAMESPACES, `${TOOL_NAMESPACE_PREFIX}${REMOVED}`));
  await eventually(async () => {
    const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, buildNamespaceName(REMOVED))).catch(() => undefined);
    if (ns && !ns.metadata.deletionTimestamp) throw new Error('still there');
  }, { timeoutMs: 15_000, intervalMs: 10 });
  const deletedIn = ms(started);
  await operator.waitForLog((l) => l.message === 'deleted' && l.tool === REMOVED);
  say(`   ${buildNamespaceName(REMOVED)} (labelled ${LABEL_TOOL}=${REMOVED}) is being deleted, ${deletedIn} later.`);
  echo = false;
  say('\n$ build-namespace-operator status');
  process.stdout.write(formatStatus(await collectStatus(admin)).replace(/^(?=.)/gm, '   '));

  const plan = await runCli(['plan', `--kubeconfig=${info.adminKubeconfig}`]);
  say('\n$ build-namespace-operator plan');
  say(`${(plan.stdout + plan.stderr).trimEnd().replace(/^(?=.)/gm, '   ')}\n   (exit ${plan.code}${plan.code === 0 ? ': the cluster is as the policies say' : ''})`);

  if (!keep) {
    say('');
    await stopAll();
    return;
  }

  say(`\nThe cluster stays up until Ctrl-C. As its admin, paste this line into a shell (kubectl is built
from the same pinned Kubernetes module as the control plane):
   export PATH="${dirname(kubectlPath())}:$PATH" KUBECONFIG=${info.adminKubeconfig}
   kubectl get bqp
   kubectl get ns -l app.kubernetes.io/managed-by=build-namespace-operator -L builds.toolforge.org/tool,builds.toolforge.org/ready
   node dist/src/cli.js status
   node dist/src/cli.js plan --diff
The operator's log (and each object it writes) follows.`);
  echo = true;
  echoWrites = true;
  // The token lasts an hour; rotate it as the kubelet would (the operator re-reads the file).
  const rotation = setInterval(() => void kubeconfig.refresh().catch((err: unknown) => say(`token rotation failed: ${errorMessage(err)}`)), 30 * 60_000);
  await untilSignal();
  clearInterval(rotation);
  say('');
  await stopAll();
}

type Run = KubeObject & { spec: Record<string, unknown> };
/** A build's params as builds-api gives them, with the image in `owner`'s project. */
const buildParams = (owner: string) => [
  { name: 'APP_IMAGE', value: `${REGISTRY}/tool-${owner}/tool-${owner}:latest` },
  { name: 'SOURCE_URL', value: 'https://gitlab.wikimedia.org/toolforge-repos/example' },
];

/**
 * Creates the tool's legitimate build once the API server has loaded the fence (a moment after
 * the operator applies it), and returns how to get the fence's reason for refusing another spec.
 */
async function buildFenceDemo(tool: KubeClient, namespace: string): Promise<(spec: Record<string, unknown>) => Promise<string>> {
  let n = 0;
  const create = (spec: Record<string, unknown>) => tool.request<Run>('POST', collectionPath(PIPELINE_RUNS, namespace), {
    body: {
      apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: `build-${++n}`, labels: { user: SHOWN } },
      spec: { pipelineRef: { name: 'buildpacks' }, params: buildParams(SHOWN), ...spec },
    },
  });
  const reason = async (spec: Record<string, unknown>): Promise<string> => {
    // Forbidden (403) or, for a param that does not match its pattern, Invalid (422).
    const refusal = await create(spec).then(() => undefined, (err: unknown) => {
      if (err instanceof ApiError) return err.message;
      throw err;
    });
    if (!refusal) throw new Error(`admitted: ${JSON.stringify(spec)}`);
    return refusal.replace(/^.* denied request: /, '');
  };
  await eventually(async () => {
    if (!(await reason({ pipelineSpec: { tasks: [] } })).includes('spec.pipelineSpec')) throw new Error('the fence is not loaded yet');
  }, { timeoutMs: 30_000, intervalMs: 200 });
  // Until the quota controller has counted PipelineRuns (it finds a new kind within about 30 s),
  // the quota refuses them: "status unknown for quota".
  await eventually(() => create({}), { timeoutMs: 90_000, intervalMs: 500 });
  return reason;
}

runScript('demo', main, stopAll);
