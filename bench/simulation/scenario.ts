// The two ways of running builds that the simulation compares, and the workload it runs
// through them. *shared*: every tool's PipelineRuns in one image-build namespace under one
// quota, submitted by builds-api; *per-tool*: the operator gives each tool its own build
// namespace and quota from a BuildQuotaPolicy, and each tool submits there as itself.
import { KubeClient, errorMessage, isNotFound } from '../../src/kube/client.js';
import { Informer } from '../../src/runtime/informer.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { ResourceType } from '../../src/kube/resources.js';
import { createLogger } from '../../src/log.js';
import { createMetrics, type OperatorMetrics } from '../../src/metrics/metrics.js';
import { addControllers, cacheOptions, DEFAULT_OPTIONS } from '../../src/controller/setup.js';
import { Manager } from '../../src/runtime/manager.js';
import { configForServiceAccount } from '../../envtest/cluster.js';
import { OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, installOperatorPrerequisites } from '../../envtest/install.js';
import { BuildCluster, sleep, succeeded, waitFor, type RunObject } from '../../envtest/build-cluster.js';
import type { BuildRecord } from './stats.js';
import { PIPELINE_RUN_PENDING } from '../../src/render/build-queue-admission.js';
import { queueStanding, type QueuedRunView } from '../../src/render/build-queue.js';
import { BUILD_SERVICE_ACCOUNT, LABEL_SIM_TOOL, PIPELINE_NAME, TASK_NAME, buildPipelineRun } from '../../envtest/tekton.js';

export type Quota = Record<string, string>;

export interface Workload {
  /** The tool that floods, and how many builds it starts at once; 0 for none. */
  flood: { tool: string; builds: number };
  /** Tools that each start one build, this long after the flood. */
  others: { tools: string[]; afterMs: number };
  /** Each build lasts between these, drawn from a seeded generator: the same in every scenario. */
  buildMinMs: number;
  buildMaxMs: number;
  seed: number;
  /** Tools that each start this many builds at once, at the start, beside the flood. */
  burst?: { tools: string[]; builds: number };
}

export interface LayoutSettings {
  /** The one quota of the shared namespace. */
  sharedQuota: Quota;
  /** Each tool's quota in its own build namespace. */
  perToolQuota: Quota;
  limitRange: { default: Quota; defaultRequest: Quota; max: Quota };
  /** Per-tool only: the operator's build queue on, with this cluster-wide cap; unset, off. */
  maxRunningBuilds?: number;
}

/** How builds are laid out into namespaces, and who submits them. */
export interface Layout {
  readonly name: 'shared' | 'per-tool';
  /** Makes the namespaces, quotas and pipelines for these tools. */
  prepare(tools: string[]): Promise<void>;
  namespaceOf(tool: string): string;
  submitterFor(tool: string): KubeClient;
  /** Said in the results: how the Pipeline got into the build namespaces, etc. */
  notes: string[];
  /** The operator's patches on PipelineRuns so far, where it runs in process. */
  runPatches?(): Promise<number>;
  stop(): Promise<void>;
}

export const SHARED_NAMESPACE = 'image-build';
const QUOTA_NAME = 'build-quota';

async function waitForQuota(cluster: BuildCluster, namespace: string): Promise<void> {
  // Quota admission refuses what a quota limits ("status unknown for quota") until the
  // resourcequota controller counted every resource of it: a CRD's object count (e.g.
  // count/pipelineruns.tekton.dev) only after its periodic discovery found the CRD.
  await waitFor(`ResourceQuota ${namespace}/${QUOTA_NAME} to be counted`, 90_000, async () => {
    try {
      const rq = await cluster.admin.request<{ spec?: { hard?: Record<string, string> }; status?: { hard?: Record<string, string>; used?: Record<string, string> } }>(
        'GET', `/api/v1/namespaces/${namespace}/resourcequotas/${QUOTA_NAME}`);
      const counted = Object.keys(rq.spec?.hard ?? {}).every((k) => rq.status?.hard?.[k] !== undefined && rq.status?.used?.[k] !== undefined);
      return counted ? true : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }, 500);
}

/** Toolforge today: one namespace, one quota, builds-api submits for everybody. */
export class SharedLayout implements Layout {
  readonly name = 'shared' as const;
  readonly notes: string[] = [];

  constructor(private readonly cluster: BuildCluster, private readonly settings: LayoutSettings) {}

  async prepare(): Promise<void> {
    await this.cluster.createNamespace(SHARED_NAMESPACE);
    await this.cluster.writer.apply({
      apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: QUOTA_NAME, namespace: SHARED_NAMESPACE },
      spec: { hard: this.settings.sharedQuota },
    });
    await this.cluster.writer.apply({
      apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'build-limits', namespace: SHARED_NAMESPACE },
      spec: { limits: [{ type: 'Container', ...this.settings.limitRange }] },
    });
    await this.cluster.installBuildPipeline(SHARED_NAMESPACE);
    await waitForQuota(this.cluster, SHARED_NAMESPACE);
  }

  namespaceOf(): string {
    return SHARED_NAMESPACE;
  }

  submitterFor(): KubeClient {
    return this.cluster.admin;
  }

  async stop(): Promise<void> {}
}

const ADMIN_NAMESPACE = 'image-build-admin';
const POLICY_NAME = 'simulation';
const buildNamespaceOf = (tool: string) => `image-build-${tool}`;

/** The operator's way: a build namespace per tool, made from one BuildQuotaPolicy. */
export class PerToolLayout implements Layout {
  readonly name = 'per-tool' as const;
  readonly notes: string[] = [];
  private operator?: Manager;
  private operatorClient?: KubeClient;
  private metrics?: OperatorMetrics;
  private readonly submitters = new Map<string, KubeClient>();

  constructor(private readonly cluster: BuildCluster, private readonly settings: LayoutSettings) {}

  async prepare(tools: string[]): Promise<void> {
    const { cluster } = this;
    for (const resource of Object.keys(this.settings.perToolQuota).filter((k) => k.startsWith('count/'))) {
      await cluster.waitForObjectCountQuota(resource);
    }
    await installOperatorPrerequisites(cluster.admin);
    // The Pipeline and Task live once in the admin namespace; the policy replicates them.
    await cluster.createNamespace(ADMIN_NAMESPACE);
    await cluster.installBuildPipeline(ADMIN_NAMESPACE, false);
    await waitFor('the BuildQuotaPolicy to be accepted', 20_000, () => cluster.writer.apply({
      apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: POLICY_NAME },
      spec: {
        toolSelector: { matchLabels: { tenancy: 'tool' } },
        tools,
        namespace: { nameTemplate: 'image-build-{tool}', podSecurity: 'baseline' },
        resourceQuota: { hard: this.settings.perToolQuota },
        limitRange: { limits: [{ type: 'Container', ...this.settings.limitRange }] },
        serviceAccount: { name: BUILD_SERVICE_ACCOUNT },
        access: { toolRole: 'build-namespace-tool' },
        replicate: [
          { apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: ADMIN_NAMESPACE, name: PIPELINE_NAME },
          { apiVersion: 'tekton.dev/v1', kind: 'Task', namespace: ADMIN_NAMESPACE, name: TASK_NAME },
        ],
        deletionPolicy: 'Delete',
        // The build fence lets the simulation's own label and duration annotation through.
        builds: { fence: { labelPrefixes: ['user', 'sim.toolforge.org/'], annotationPrefixes: ['sim.toolforge.org/'] } },
      },
    }));
    for (const tool of tools) {
      await cluster.writer.apply({
        apiVersion: 'v1', kind: 'Namespace',
        metadata: { name: `tool-${tool}`, labels: { tenancy: 'tool', name: `tool-${tool}` } },
      });
    }

    // The operator as it runs in a cluster: under its own ServiceAccount and ClusterRole.
    this.operatorClient = new KubeClient(await configForServiceAccount(OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, cluster.plane.info));
    const options = { ...DEFAULT_OPTIONS, statusIntervalMs: 1000, maxRunningBuilds: this.settings.maxRunningBuilds ?? 0 };
    this.metrics = createMetrics({ processMetrics: false });
    this.operator = new Manager(this.operatorClient, createLogger(process.env.BNO_SIM_LOG_LEVEL ?? 'error'),
      this.metrics, { cache: cacheOptions(options) });
    addControllers(this.operator, options);
    await this.operator.start();
    await this.operator.leaderWorkStarted();

    for (const tool of tools) {
      const ns = buildNamespaceOf(tool);
      await waitFor(`the operator to make build namespace ${ns} (quota, ServiceAccount, RoleBinding)`, 60_000, async () => {
        await cluster.admin.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/${BUILD_SERVICE_ACCOUNT}`);
        await cluster.admin.request('GET', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/tool-builds`);
        return true;
      });
      await waitForQuota(cluster, ns);
    }
    // Replication is the operator's (replicate in the policy); where this operator does
    // not copy the Pipeline and Task (yet), the simulation does, and says so.
    const replicated = await this.pipelinesPresent(tools, 20_000);
    const missing = tools.filter((t) => !replicated.includes(t));
    for (const tool of missing) await cluster.installBuildPipeline(buildNamespaceOf(tool), false);
    this.notes.push(missing.length === 0
      ? 'Pipeline and Task replicated into every build namespace by the operator (policy.replicate).'
      : `Pipeline and Task created by the simulation in ${missing.length} of ${tools.length} build namespaces: the operator did not replicate them within 20 s.`);

    for (const tool of tools) this.submitters.set(tool, cluster.clientFor({ user: tool, groups: ['toolforge'] }));
    if (this.settings.maxRunningBuilds) await this.waitForHold(buildNamespaceOf(tools[0]!));
  }

  /** The API server loads the queue's hold a moment after the operator applies it: a build submitted before would start at once. */
  private async waitForHold(namespace: string): Promise<void> {
    await waitFor('the build queue\'s hold (MutatingAdmissionPolicy) to be in force', 60_000, async () => {
      const probe = await this.cluster.admin.request<{ spec?: { status?: string } }>('POST', `/apis/tekton.dev/v1/namespaces/${namespace}/pipelineruns`, {
        query: { dryRun: 'All' },
        body: { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: 'hold-probe' }, spec: { pipelineRef: { name: PIPELINE_NAME } } },
      });
      return probe.spec?.status === 'PipelineRunPending' ? true : undefined;
    });
    this.notes.push(`Build queue on: every PipelineRun created held, at most ${this.settings.maxRunningBuilds} running in the cluster.`);
  }

  /** The tools whose build namespace got the Pipeline and Task within the timeout. */
  private async pipelinesPresent(tools: string[], timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    const present = new Set<string>();
    while (Date.now() < deadline && present.size < tools.length) {
      for (const tool of tools) {
        if (present.has(tool)) continue;
        const ns = buildNamespaceOf(tool);
        try {
          await this.cluster.admin.request('GET', `/apis/tekton.dev/v1/namespaces/${ns}/pipelines/${PIPELINE_NAME}`);
          await this.cluster.admin.request('GET', `/apis/tekton.dev/v1/namespaces/${ns}/tasks/${TASK_NAME}`);
          present.add(tool);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      if (present.size < tools.length) await sleep(500);
    }
    return [...present];
  }

  namespaceOf(tool: string): string {
    return buildNamespaceOf(tool);
  }

  async runPatches(): Promise<number> {
    const counted = await this.metrics?.apiWrites.get();
    return counted?.values.find((v) => v.labels.verb === 'patch' && v.labels.kind === 'PipelineRun')?.value ?? 0;
  }

  submitterFor(tool: string): KubeClient {
    const client = this.submitters.get(tool);
    if (!client) throw new Error(`tool ${tool} was not prepared`);
    return client;
  }

  async stop(): Promise<void> {
    await this.operator?.stop(5_000);
    this.operatorClient?.close();
    for (const client of this.submitters.values()) client.close();
  }
}

/** mulberry32: a small seeded generator, so every scenario runs the same builds. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PlannedBuild {
  tool: string;
  atMs: number;
  durationMs: number;
}

/** The builds of a workload, in submission order, each with its own duration. */
export function plannedBuilds(workload: Workload): PlannedBuild[] {
  // Two generators, so that B..J's builds last the same whether or not a scenario floods.
  const draw = (random: () => number) => () =>
    Math.round(workload.buildMinMs + random() * (workload.buildMaxMs - workload.buildMinMs));
  const floodDuration = draw(seededRandom(workload.seed));
  const otherDuration = draw(seededRandom(workload.seed + 1));
  return [
    ...Array.from({ length: Math.max(workload.flood.builds, 0) }, () =>
      ({ tool: workload.flood.tool, atMs: 0, durationMs: floodDuration() })),
    ...workload.others.tools.map((tool) => ({ tool, atMs: workload.others.afterMs, durationMs: otherDuration() })),
    ...burstBuilds(workload, draw(seededRandom(workload.seed + 2))),
  ];
}

function burstBuilds(workload: Workload, duration: () => number): PlannedBuild[] {
  const burst = workload.burst;
  if (!burst) return [];
  return burst.tools.flatMap((tool) => Array.from({ length: burst.builds }, () => ({ tool, atMs: 0, durationMs: duration() })));
}

export interface ScenarioResult {
  scenario: string;
  layout: string;
  builds: BuildRecord[];
  /** How long the run was watched, from the first submission. */
  endedAtMs: number;
  windowMs: number;
  refusedPodCreates: number;
  /**
   * PipelineRuns started and not finished in the whole cluster, counted from a list of them
   * every `everyMs` while the workload ran (when asked for): the build queue's cap, checked.
   */
  clusterRunning?: { everyMs: number; samples: number; max: number; cap?: number };
  /** The operator's patches on PipelineRuns (the build queue's starts and places), when it ran in process. */
  operatorRunPatches?: number;
  /** CPU seconds each component used while the workload ran. */
  cpuSeconds: Record<string, number>;
  notes: string[];
}

const TASK_RUNS: ResourceType = { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', plural: 'taskruns', namespaced: true };
const PIPELINE_RUNS_TYPE: ResourceType = { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', plural: 'pipelineruns', namespaced: true };
const PODS: ResourceType = { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };

interface PodObject extends KubeObject {
  status?: { phase?: string };
}

/**
 * Runs the workload through a prepared layout and records, from watch events, when each
 * build's pod ran and when the build finished. Ends when every build finished or the
 * window closed, whichever comes first.
 */
export async function runWorkload(
  cluster: BuildCluster, layout: Layout, scenario: string, workload: Workload, windowMs: number,
  log: (line: string) => void = () => {}, signal?: AbortSignal,
  { sampleRunningEveryMs, runningCap }: { sampleRunningEveryMs?: number; runningCap?: number } = {},
): Promise<ScenarioResult> {
  const planned = plannedBuilds(workload);
  const records: BuildRecord[] = [];
  const byRun = new Map<string, BuildRecord>();
  const keyOf = (o: KubeObject, name = o.metadata.name) => `${o.metadata.namespace}/${name}`;
  let t0 = 0;
  const now = () => Date.now() - t0;

  // Watches, started before the first build so that nothing is missed.
  const selector = LABEL_SIM_TOOL;
  const pods = new Informer<PodObject>(cluster.admin, PODS, { labelSelector: selector });
  const taskRuns = new Informer<RunObject>(cluster.admin, TASK_RUNS, { labelSelector: selector });
  const pipelineRuns = new Informer<RunObject>(cluster.admin, PIPELINE_RUNS_TYPE, { labelSelector: selector });
  const runOf = (o: KubeObject) => byRun.get(keyOf(o, o.metadata.labels?.['tekton.dev/pipelineRun'] ?? o.metadata.name));
  pods.onChange((type, pod) => {
    const build = runOf(pod);
    if (!build || type === 'delete') return;
    build.podCreatedAt ??= now();
    const phase = pod.status?.phase;
    if (phase === 'Running' || phase === 'Succeeded' || phase === 'Failed') build.runningAt ??= now();
    if (phase === 'Succeeded' || phase === 'Failed') build.podDoneAt ??= now();
  });
  taskRuns.onChange((type, tr) => {
    const build = runOf(tr);
    if (build && type !== 'delete' && succeeded(tr)?.reason === 'ExceededResourceQuota') {
      build.quotaRefused = true;
      build.quotaRefusedAt ??= now();
    }
  });
  pipelineRuns.onChange((type, pr) => {
    const build = byRun.get(keyOf(pr));
    if (build && type !== 'delete' && (pr as QueuedRunView).spec?.status !== PIPELINE_RUN_PENDING) build.releasedAt ??= now();
    const cond = succeeded(pr);
    if (!build || type === 'delete' || !cond || cond.status === 'Unknown') return;
    build.finishedAt ??= now();
    build.outcome ??= cond.status === 'True' ? 'Succeeded' : `${cond.reason}: ${cond.message ?? ''}`;
  });
  const informers = [pods, taskRuns, pipelineRuns];
  const running = informers.map((i) => i.run());
  await Promise.all(informers.map((i) => i.synced));

  const submit = async (build: PlannedBuild) => {
    const namespace = layout.namespaceOf(build.tool);
    const record: BuildRecord = {
      tool: build.tool, namespace, name: '', durationMs: build.durationMs, submittedAt: now(), quotaRefused: false,
    };
    records.push(record);
    try {
      const created = await layout.submitterFor(build.tool).request<RunObject>(
        'POST', `/apis/tekton.dev/v1/namespaces/${namespace}/pipelineruns`,
        { body: buildPipelineRun(namespace, build.tool, build.durationMs) });
      record.name = created.metadata.name;
      byRun.set(`${namespace}/${record.name}`, record);
    } catch (err) {
      record.refusedAtSubmit = errorMessage(err);
    }
  };

  // Read from the API server, not from the watches: what the cluster held at each moment, in
  // this workload's namespaces (a cluster that ran another workload before may hold its runs).
  const namespaces = new Set(planned.map((b) => layout.namespaceOf(b.tool)));
  const sampled = { samples: 0, max: 0 };
  let sampling = true;
  const sampler = (async () => {
    if (!sampleRunningEveryMs) return;
    while (sampling) {
      const list = await cluster.admin.request<{ items: QueuedRunView[] }>('GET', '/apis/tekton.dev/v1/pipelineruns', { query: { labelSelector: selector } });
      const count = list.items.filter((r) => namespaces.has(r.metadata.namespace ?? '') && queueStanding(r) === 'running').length;
      sampled.samples++;
      sampled.max = Math.max(sampled.max, count);
      await sleep(sampleRunningEveryMs);
    }
  })();

  const refusedBefore = await cluster.refusedPodCreates();
  const cpuBefore = cluster.cpuSeconds();
  let endedAtMs: number;
  try {
    t0 = Date.now();
    const waves = [...new Set(planned.map((b) => b.atMs))].sort((a, b) => a - b);
    for (const at of waves) {
      const wait = at - now();
      if (wait > 0) await sleep(wait);
      const wave = planned.filter((b) => b.atMs === at);
      log(`${scenario}: t=${(now() / 1000).toFixed(1)}s submitting ${wave.length} build(s) of ${[...new Set(wave.map((b) => b.tool))].join(', ')}`);
      await Promise.all(wave.map(submit));
    }

    let lastReport = 0;
    for (;;) {
      signal?.throwIfAborted();
      const dead = cluster.deadComponent();
      if (dead) throw new Error(`${dead} died during ${scenario}:\n${cluster.logTail(dead)}`);
      const accepted = records.filter((r) => !r.refusedAtSubmit);
      const done = accepted.filter((r) => r.finishedAt !== undefined).length;
      if (done === accepted.length || now() >= windowMs) break;
      if (now() - lastReport >= 30_000) {
        lastReport = now();
        const started = accepted.filter((r) => r.runningAt !== undefined).length;
        log(`${scenario}: t=${(now() / 1000).toFixed(0)}s ${started}/${accepted.length} started, ${done} finished`);
      }
      await sleep(250);
    }
    endedAtMs = now();
  } finally {
    sampling = false;
    await sampler.catch((err: unknown) => log(`${scenario}: sampling the running builds failed: ${errorMessage(err)}`));
    for (const i of informers) i.stop();
    await Promise.race([Promise.allSettled(running), sleep(2_000)]);
  }
  return {
    scenario,
    layout: layout.name,
    builds: records,
    endedAtMs,
    windowMs,
    refusedPodCreates: (await cluster.refusedPodCreates()) - refusedBefore,
    ...(sampleRunningEveryMs ? { clusterRunning: { everyMs: sampleRunningEveryMs, ...sampled, ...(runningCap ? { cap: runningCap } : {}) } } : {}),
    ...(layout.runPatches ? { operatorRunPatches: await layout.runPatches() } : {}),
    cpuSeconds: Object.fromEntries(Object.entries(cluster.cpuSeconds())
      .map(([name, s]) => [name, Math.round((s - (cpuBefore[name] ?? 0)) * 10) / 10])),
    notes: [...layout.notes],
  };
}
