// `make dev`: a local build cluster to develop a build service against. The test control
// plane with kube-scheduler, kwok playing the kubelet of two nodes, the real Tekton controller
// and admission webhook, the operator as a process under its own ServiceAccount, the example
// policy and an admin Pipeline replicated into every build namespace. Then it acts as
// builds-api does: finds the tool's build namespace by label, starts a build as the tool,
// follows it to the end, and shows the build fence refusing a forbidden one. It stays up with
// kubectl ready until Ctrl-C; with --once it stops after the session (the test runs that).
import { dirname, join } from 'node:path';
import { BuildCluster, succeeded, type RunObject } from '../envtest/build-cluster.js';
import { BUILD_COMMAND, missingBinaries, simulationPaths } from '../envtest/build-cluster-paths.js';
import { eventually } from '../envtest/cluster.js';
import { repoRoot } from '../envtest/controlplane.js';
import { runScript } from '../envtest/script.js';
import { applyFiles, installOperatorPrerequisites } from '../envtest/install.js';
import { kubectlPath } from '../envtest/kubectl.js';
import { startOperatorProcess, writeOperatorKubeconfig, type OperatorProcess } from '../envtest/operator-process.js';
import { builderRun, PIPELINE_NAME, TASK_NAME, buildPipeline, buildTask } from '../envtest/tekton.js';
import type { KubeObject } from '../src/api/meta.js';
import { LABEL_READY, LABEL_TOOL, TOOL_NAMESPACE_PREFIX } from '../src/api/types.js';
import { ApiError, type KubeClient } from '../src/kube/client.js';
import { BUILD_QUOTA_POLICIES, collectionPath, NAMESPACES, objectPath, PIPELINE_RUNS } from '../src/kube/resources.js';

const once = process.argv.includes('--once');
const root = repoRoot();
const TOOLS = ['cdnjs', 'quarry'];
const TOOL = 'cdnjs';
/** Where the admin keeps the Task and Pipeline every tool may run. */
const PIPELINES_NS = 'build-pipelines';

let cluster: BuildCluster | undefined;
let operator: OperatorProcess | undefined;
const clients: KubeClient[] = [];

const say = (text = '') => process.stdout.write(`${text}\n`);
const step = (n: number, text: string) => say(`\n${n}. ${text}`);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

async function stopAll(): Promise<void> {
  const code = operator ? (await operator.stop('SIGTERM')).code : undefined;
  for (const c of clients) c.close();
  await cluster?.stop();
  if (code !== undefined) say(`Stopped the operator (exit ${code}) and the build cluster; its directory is removed.`);
}

/** How a build service finds a tool's build namespace: by the tool label, once it is ready. */
async function buildNamespaceOf(admin: KubeClient, tool: string): Promise<string> {
  return eventually(async () => {
    const list = await admin.request<{ items: KubeObject[] }>('GET', collectionPath(NAMESPACES), {
      query: { labelSelector: `${LABEL_TOOL}=${tool},${LABEL_READY}=true` },
    });
    const name = list.items[0]?.metadata.name;
    if (!name) throw new Error(`no ready build namespace for ${tool} yet`);
    return name;
  }, { timeoutMs: 90_000, intervalMs: 250 });
}

/** Follows a run to its end, printing each change of its state, as `tekton pipelinerun logs -f` would show. */
async function follow(tool: KubeClient, namespace: string, name: string): Promise<string> {
  const started = performance.now();
  let last = '';
  return eventually(async () => {
    const run = await tool.request<RunObject>('GET', objectPath(PIPELINE_RUNS, name, namespace));
    const condition = succeeded(run);
    const state = condition ? `${condition.status === 'Unknown' ? 'running' : condition.status === 'True' ? 'succeeded' : 'failed'} (${condition.reason ?? ''})` : 'accepted, not started yet';
    if (state !== last) say(`   ${seconds(started).padStart(7)}  ${state}${condition?.message && condition.status !== 'Unknown' ? `: ${condition.message}` : ''}`);
    last = state;
    if (!condition || condition.status === 'Unknown') throw new Error(`still ${state}`);
    return condition.status === 'True' ? 'Succeeded' : `Failed: ${condition.message ?? ''}`;
  }, { timeoutMs: 180_000, intervalMs: 250 });
}

async function main(untilSignal: () => Promise<void>): Promise<void> {
  say('build-namespace-operator dev cluster: a local build cluster with the real Tekton, for a build service to try.');
  const missing = missingBinaries(simulationPaths());
  if (missing.length) throw new Error(`not built: ${missing.join(', ')}; run "${BUILD_COMMAND}" (make dev does)`);

  let started = performance.now();
  cluster = await BuildCluster.start(simulationPaths(), {
    nodes: 2, nodeCpu: '8', nodeMemory: '32Gi', nodePods: 110,
    // A build pod starts in half a second and its one step runs 8 to 12 s.
    stages: { podStartMs: 500, buildMinMs: 8_000, buildMaxMs: 12_000 },
    buildResources: { cpu: '100m', memory: '128Mi' },
    tektonWebhook: true,
    // The example policy's quota counts PipelineRuns, a kind the quota controller finds only
    // at its next full pass after the quota is made (5 minutes by default).
    controllerManagerArgs: ['--resource-quota-sync-period=10s'],
  });
  const admin = cluster.admin;
  step(1, `Build cluster up in ${seconds(started)}: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,`);
  say(`   kwok playing the kubelet of ${cluster.options.nodes} nodes, Tekton's controller and admission webhook.`);

  await installOperatorPrerequisites(admin);
  // Tekton's webhook names the build ServiceAccount in every run that names none.
  await applyFiles(admin, [join(root, 'manifests/tekton/config-defaults.yaml')]);
  await cluster.createNamespace(PIPELINES_NS);
  await cluster.writer.apply(buildTask(PIPELINES_NS, cluster.options.buildResources));
  await cluster.writer.apply(buildPipeline(PIPELINES_NS));
  await applyFiles(admin, [join(root, 'manifests/example-policy.yaml')]);
  await admin.request('POST', collectionPath(BUILD_QUOTA_POLICIES), {
    body: {
      apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: 'pipelines' },
      spec: {
        priority: 10, toolSelector: { matchLabels: { tenancy: 'tool' } },
        replicate: [TASK_NAME, PIPELINE_NAME].map((name, i) => ({ apiVersion: 'tekton.dev/v1', kind: i === 0 ? 'Task' : 'Pipeline', namespace: PIPELINES_NS, name })),
      },
    },
  });
  for (const tool of TOOLS) await cluster.createNamespace(`${TOOL_NAMESPACE_PREFIX}${tool}`, { name: `${TOOL_NAMESPACE_PREFIX}${tool}`, tenancy: 'tool' });
  step(2, 'Installed the CRD and RBAC, Tekton\'s config-defaults, the admin Task and Pipeline in');
  say(`   ${PIPELINES_NS}, manifests/example-policy.yaml and a policy "pipelines" that replicates them, and tool`);
  say(`   namespaces ${TOOLS.map((t) => `${TOOL_NAMESPACE_PREFIX}${t}`).join(', ')}.`);

  const kubeconfig = await writeOperatorKubeconfig(cluster.plane.dir, cluster.plane.info);
  started = performance.now();
  operator = await startOperatorProcess({ kubeconfig: kubeconfig.path, args: ['--leader-elect=false'], buildQueue: true });
  const namespace = await buildNamespaceOf(admin, TOOL);
  await eventually(() => admin.request('GET', objectPath({ apiVersion: 'tekton.dev/v1', kind: 'Pipeline', plural: 'pipelines', namespaced: true }, PIPELINE_NAME, namespace)),
    { timeoutMs: 30_000 });
  step(3, `The operator (a process, as its ServiceAccount) made ${TOOL}'s build namespace in ${seconds(started)}:`);
  say(`   GET /api/v1/namespaces?labelSelector=${LABEL_TOOL}=${TOOL},${LABEL_READY}=true  ->  ${namespace}`);

  // As builds-api does it: the tool's own identity, through its RoleBinding only.
  const tool = cluster.clientFor({ user: TOOL, groups: ['toolforge'] });
  clients.push(tool);
  step(4, `As ${TOOL}: a build, as builds-api creates it (the buildpacks Pipeline, its own image), followed to its end:`);
  // Until the quota controller has counted PipelineRuns, the quota refuses them ("status unknown").
  const run = await eventually(() => tool.request<RunObject>('POST', collectionPath(PIPELINE_RUNS, namespace), { body: builderRun(TOOL) }),
    { timeoutMs: 90_000, intervalMs: 500 });
  say(`   POST .../namespaces/${namespace}/pipelineruns  ->  ${run.metadata.name}`);
  const outcome = await follow(tool, namespace, run.metadata.name);
  if (outcome !== 'Succeeded') throw new Error(`the build did not succeed: ${outcome}`);

  step(5, `As ${TOOL}: builds the build fence refuses, with the API server's message:`);
  for (const [what, spec] of [
    ['an inline pipelineSpec', { pipelineRef: undefined, pipelineSpec: { tasks: [{ name: 'x', taskSpec: { steps: [{ name: 'x', image: 'debian', script: 'id' }] } }] } }],
    ['another tool\'s image', { params: (builderRun('quarry').spec as { params: unknown[] }).params }],
  ] as const) {
    const refusal = await tool.request('POST', collectionPath(PIPELINE_RUNS, namespace), { body: builderRun(TOOL, spec) })
      .then(() => undefined, (err: unknown) => (err instanceof ApiError ? err.message : undefined));
    if (!refusal) throw new Error(`${what} was not refused`);
    say(`   ${what}: ${refusal.replace(/^.* denied request: /, '')}`);
  }

  if (once) {
    say('');
    await stopAll();
    return;
  }
  say(`\nThe build cluster stays up until Ctrl-C. As its admin, paste this line into a shell:
   export PATH="${dirname(kubectlPath())}:$PATH" KUBECONFIG=${cluster.plane.adminKubeconfig}
   kubectl get ns -l ${LABEL_TOOL} -L ${LABEL_TOOL},${LABEL_READY}
   kubectl -n ${namespace} get pipelineruns,taskruns,pods
A build service acts as a tool: README "Developing a build service against this".`);
  const rotation = setInterval(() => void kubeconfig.refresh(), 30 * 60_000);
  await untilSignal();
  clearInterval(rotation);
  say('');
  await stopAll();
}

runScript('dev cluster', main, stopAll);
