// The fleet benchmark's phases, each a function of a prepared control plane and a fleet of
// tools, so that `make bench` (bench/fleet.ts) and the smoke test run the same code:
// floor (the operator's writes made directly), cold converge, restart at rest, idle, policy
// rollout, and latency (new tool, hand edit undone). Writes and reads are the API server's
// own counts (apiserver_request_total), with the benchmark's own requests taken out.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import {
  API_VERSION, KIND, LABEL_MANAGED_BY, LABEL_READY, MANAGER, READY_VALUE, type BuildQuotaPolicy,
} from '../src/api/types.js';
import { DEFAULT_OPTIONS } from '../src/controller/setup.js';
import { isConflict, KubeClient } from '../src/kube/client.js';
import { loadKubeConfig } from '../src/kube/credentials.js';
import type { KubeObject } from '../src/api/meta.js';
import { BUILD_QUOTA_POLICIES, collectionPath, NAMESPACES, objectPath, RESOURCE_QUOTAS, ResourceTypes } from '../src/kube/resources.js';
import { Writer } from '../src/kube/writer.js';
import { effectivePolicy } from '../src/policy/index.js';
import { BUILD_QUOTA_NAME, buildNamespaceName, renderBuildNamespace } from '../src/render/index.js';
import { eventually } from '../envtest/cluster.js';
import type { ControlPlaneInfo } from '../envtest/controlplane.js';
import { installOperatorPrerequisites, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT } from '../envtest/install.js';
import { Pki } from '../envtest/pki.js';
import {
  countsObject, diffCounts, flowControl, isControlPlaneWrite, isOperatorWrite, isRead, mark, openWatches, othersBetween, RecordingClient, sum,
  waitQuiet,
  type Counts,
} from './apiserver.js';
import { metricValue, OperatorProcess } from './operator-under-test.js';
import { cpuBetween, descendantsCpu, machineBusySeconds } from './procfs.js';
import { keyOf, Watched } from './watch.js';

/** On the tool namespaces of a fleet and on the build namespaces its policy makes. */
export const FLEET_LABEL = 'bench.toolforge.org/fleet';
const BENCH_MANAGER = 'bench';
/** The controller label of the operator's tool reconciles in controller_runtime_* metrics. */
const TOOL_CONTROLLER = 'buildnamespace';

export type Log = (message: string) => void;

export interface Plane {
  info: ControlPlaneInfo;
  /** The benchmark's own client (cluster admin); it counts its requests so windows can leave them out. */
  admin: RecordingClient;
  /** A kubeconfig file for the operator's ServiceAccount, with the RBAC of manifests/. */
  operatorKubeconfig: string;
  /** The control plane's supervisor: its descendants are etcd, kube-apiserver and the controller manager. */
  supervisorPid?: number;
}

export interface Fleet {
  id: string;
  tools: string[];
}

export interface Quota extends KubeObject {
  spec?: { hard?: Record<string, string> };
}

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 0) => Number(n.toFixed(digits));

export function fleetOf(size: number, id: string): Fleet {
  const width = Math.max(5, String(size).length);
  return { id, tools: Array.from({ length: size }, (_, i) => `${id}-${String(i + 1).padStart(width, '0')}`) };
}

export const buildNamespaceOf = (tool: string) => buildNamespaceName(tool);
const quotaKey = (tool: string) => keyOf(BUILD_QUOTA_NAME, buildNamespaceOf(tool));

/** A tool namespace as maintain_kubeusers makes it, with the fleet's label. */
export function toolNamespace(tool: string, fleet: Fleet): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: `tool-${tool}`, labels: { name: `tool-${tool}`, tenancy: 'tool', [FLEET_LABEL]: fleet.id } },
  };
}

/** The fleet's one policy, shaped like Toolforge's default; pods is the key the rollout changes. */
export function fleetPolicy(fleet: Fleet, pods = '4'): BuildQuotaPolicy {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: `bench-${fleet.id}` },
    spec: {
      toolSelector: { matchLabels: { [FLEET_LABEL]: fleet.id } },
      namespace: { labels: { [FLEET_LABEL]: fleet.id } },
      resourceQuota: { hard: { pods, 'requests.cpu': '2', 'requests.memory': '4Gi', 'count/pipelineruns.tekton.dev': '20' } },
      limitRange: {
        limits: [{
          type: 'Container',
          default: { cpu: '1', memory: '1Gi' },
          defaultRequest: { cpu: '250m', memory: '256Mi' },
          max: { cpu: '2', memory: '4Gi' },
        }],
      },
    },
  };
}

export const readySelector = (fleet: Fleet) => `${LABEL_READY}=${READY_VALUE},${FLEET_LABEL}=${fleet.id}`;
export const quotaSelector = () => `${LABEL_MANAGED_BY}=${MANAGER}`;

/** Runs fn over items with at most `concurrency` at once. */
export async function inParallel<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export function latencySummary(samplesMs: number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  // Nearest rank: p99 of 100 samples is the 99th.
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
  return {
    samples: sorted.length,
    p50Ms: round(rank(0.5), 1),
    p99Ms: round(rank(0.99), 1),
    maxMs: round(sorted.at(-1) ?? NaN, 1),
    meanMs: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length), 1),
  };
}

/** Logs "what: n of total" every few seconds while a long wait runs. */
function progress(log: Log, what: string, total: number, count: () => number, everyMs = 10_000): () => void {
  const started = performance.now();
  const timer = setInterval(() => log(`${what}: ${count()} of ${total} after ${Math.round((performance.now() - started) / 1000)} s`), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

// ---------------------------------------------------------------------------------------
// The control plane and the fleet.

/**
 * Installs what a cluster admin installs (CRD, tool ClusterRole, the operator's RBAC) and
 * writes a kubeconfig for the operator's ServiceAccount: the operator and the floor both
 * act as it, so both go through the same RBAC and API priority level.
 */
export async function preparePlane(info: ControlPlaneInfo, workDir: string, supervisorPid?: number): Promise<Plane> {
  const admin = new RecordingClient(loadKubeConfig(info.adminKubeconfig), { maxSockets: 64 });
  await installOperatorPrerequisites(admin);
  const request = await eventually(() => admin.request<{ status: { token: string } }>('POST',
    `${objectPath({ apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true }, OPERATOR_SERVICE_ACCOUNT, OPERATOR_NAMESPACE)}/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 24 * 3600 } } }),
  { timeoutMs: 20_000 });
  const operatorKubeconfig = join(workDir, 'operator.kubeconfig');
  writeFileSync(operatorKubeconfig, yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'bench', cluster: { server: info.server, 'certificate-authority-data': Buffer.from(new Pki(info.dir).caPem()).toString('base64') } }],
    users: [{ name: 'operator', user: { token: request.status.token } }],
    contexts: [{ name: 'bench', context: { cluster: 'bench', user: 'operator' } }],
    'current-context': 'bench',
  }), { mode: 0o600 });
  return { info, admin, operatorKubeconfig, supervisorPid };
}

/** CPU seconds so far of the control plane's processes, the benchmark and (when given) the operator. */
function cpuNow(plane: Plane, operator?: OperatorProcess): Record<string, number> {
  const usage = process.cpuUsage();
  const ours: Record<string, number> = {
    ...(plane.supervisorPid ? descendantsCpu(plane.supervisorPid) : {}),
    ...(operator ? { operator: operator.cpuSeconds() } : {}),
    bench: (usage.user + usage.system) / 1e6,
  };
  // Whatever else ran on the machine meanwhile: other people's work skews a window.
  ours.other = machineBusySeconds() - Object.values(ours).reduce((a, b) => a + b, 0);
  return ours;
}

/** Creates the tool namespaces (as maintain_kubeusers would); resolves with ms taken. */
export async function createToolNamespaces(plane: Plane, fleet: Fleet, tools = fleet.tools, concurrency = 32): Promise<number> {
  const started = performance.now();
  await inParallel(tools, concurrency, async (tool) => {
    await plane.admin.request('POST', collectionPath(NAMESPACES), { body: toolNamespace(tool, fleet) }).catch((err: unknown) => {
      if (!isConflict(err)) throw err;
    });
  });
  return performance.now() - started;
}

/** Server-side applies the policy as an admin would; resolves with the stored object (schema defaults filled in). */
export async function applyPolicy(plane: Plane, policy: BuildQuotaPolicy): Promise<BuildQuotaPolicy> {
  return plane.admin.request<BuildQuotaPolicy>('PATCH', objectPath(BUILD_QUOTA_POLICIES, policy.metadata.name), {
    query: { fieldManager: BENCH_MANAGER, force: true }, body: policy, contentType: 'application/apply-patch+yaml',
  });
}

const flowControlBetween = (a: { rejected: number; waitSeconds: number }, b: { rejected: number; waitSeconds: number }) =>
  ({ rejected: b.rejected - a.rejected, waitSeconds: round(b.waitSeconds - a.waitSeconds, 1) });

/** How many reconciles of tools (not of other controllers, such as retention) the operator has run so far. */
async function reconcileCount(operator: OperatorProcess): Promise<number> {
  return metricValue(await operator.metrics(), 'controller_runtime_reconcile_total', { controller: TOOL_CONTROLLER }) ?? 0;
}

// ---------------------------------------------------------------------------------------
// 1. Floor.

export interface FloorResult {
  tools: number;
  ms: number;
  /** Writes the floor sent, as the API server counted them. */
  writes: number;
  writesPerSecond: number;
  /** The floor's writes by verb and resource. */
  writesByVerb: Record<string, number>;
  /** The control plane's own writes in the window (a ServiceAccount per namespace, quota status). */
  controlPlaneWrites: Record<string, number>;
  /** CPU seconds each process used in the timed window (the benchmark process sends the floor's writes). */
  cpuSeconds: Record<string, number>;
  /** API Priority and Fairness in the window: requests rejected, seconds spent queued. */
  flowControl: { rejected: number; waitSeconds: number };
}

/**
 * The least the operator's work can cost: for every tool, the objects the operator renders
 * (its own renderBuildNamespace and effectivePolicy on the stored policy), applied with the
 * same KubeClient and Writer, as the operator's identity, by as many workers as it has, in
 * the order a reconcile applies them (namespace, then the four objects at once, then the
 * ready label). Timed until the benchmark's watch has seen every build namespace ready.
 */
export async function floorPhase(plane: Plane, fleet: Fleet, options: { workers?: number; timeoutMs?: number; log?: Log } = {}): Promise<FloorResult> {
  const { workers = DEFAULT_OPTIONS.workers, timeoutMs = 1_800_000, log = () => {} } = options;
  const policy = await plane.admin.request<BuildQuotaPolicy>('GET', objectPath(BUILD_QUOTA_POLICIES, fleetPolicy(fleet).metadata.name));
  const client = new KubeClient(loadKubeConfig(plane.operatorKubeconfig));
  const writer = new Writer(client, new ResourceTypes(client));
  const ready = new Watched<KubeObject>(plane.admin, NAMESPACES, readySelector(fleet));
  await ready.start();
  try {
    await waitQuiet(plane.admin);
    const before = await mark(plane.admin);
    const apfBefore = await flowControl(plane.admin);
    const cpuBefore = cpuNow(plane);
    const started = performance.now();
    const allReady = ready.until(fleet.tools.map(buildNamespaceOf), () => true, timeoutMs);
    const stopProgress = progress(log, 'floor: build namespaces ready', fleet.tools.length, () => ready.size);
    await inParallel(fleet.tools, workers, async (tool) => {
      const view = toolNamespace(tool, fleet).metadata;
      const effective = effectivePolicy(tool, { name: view.name, labels: view.labels }, [policy]);
      if (!effective) throw new Error(`the fleet policy does not match ${tool}`);
      const rendered = renderBuildNamespace(tool, effective, { ready: true });
      if (!rendered.ok) throw new Error(rendered.error.message);
      const [namespace, ...inside] = rendered.value as (KubeObject & { metadata: { labels?: Record<string, string> } })[];
      const labels = { ...namespace!.metadata.labels };
      delete labels[LABEL_READY];
      await writer.apply({ ...namespace!, metadata: { ...namespace!.metadata, labels } });
      await Promise.all(inside.map((obj) => writer.apply(obj)));
      await writer.apply(namespace!);
    });
    const doneAt = await allReady;
    const cpu = cpuBetween(cpuBefore, cpuNow(plane));
    const apf = flowControlBetween(apfBefore, await flowControl(plane.admin));
    stopProgress();
    const ms = doneAt - started;
    await waitQuiet(plane.admin);
    const counts = othersBetween(before, await mark(plane.admin));
    const writes = sum(counts, isOperatorWrite);
    return {
      tools: fleet.tools.length,
      ms: round(ms),
      writes,
      writesPerSecond: round(writes / (ms / 1000)),
      writesByVerb: countsObject(counts, isOperatorWrite),
      controlPlaneWrites: countsObject(counts, isControlPlaneWrite),
      cpuSeconds: cpu,
      flowControl: apf,
    };
  } finally {
    client.close();
    await ready.stop();
  }
}

// ---------------------------------------------------------------------------------------
// 2. Cold converge.

export interface OperatorRun {
  kubeconfig: string;
  /** A fresh log file for each process. */
  logFile: () => string;
  nodeArgs?: string[];
  /** The operator's environment; unset, the Deployment's. */
  env?: Record<string, string>;
  workers?: number;
}

export interface ConvergeResult {
  tools: number;
  /** From spawning the operator until the watch saw every build namespace ready. */
  ms: number;
  /** From spawning until /readyz said the caches had synced. */
  cachesSyncedMs: number;
  /** Writes the operator made, as the API server counted them, by verb and resource. */
  operatorWrites: Record<string, number>;
  writes: number;
  writesPerSecond: number;
  /** The control plane's own writes in the window. */
  controlPlaneWrites: Record<string, number>;
  peakRssBytes: number;
  peakHeapUsedBytes: number;
  /** CPU seconds each process used until every build namespace was ready. */
  cpuSeconds: Record<string, number>;
  /** Reconciles the operator ran until then (controller_runtime_reconcile_total): one per tool is the least. */
  reconciles: number;
  flowControl: { rejected: number; waitSeconds: number };
}

/** Starts the operator against tool namespaces and a policy that exist; times until every build namespace is ready. */
export async function coldConvergePhase(plane: Plane, fleet: Fleet, run: OperatorRun, options: { timeoutMs?: number; log?: Log } = {}):
Promise<{ result: ConvergeResult; operator: OperatorProcess }> {
  const { timeoutMs = 1_800_000, log = () => {} } = options;
  const ready = new Watched<KubeObject>(plane.admin, NAMESPACES, readySelector(fleet));
  await ready.start();
  try {
    await waitQuiet(plane.admin);
    const before = await mark(plane.admin);
    const apfBefore = await flowControl(plane.admin);
    const cpuBefore = cpuNow(plane);
    cpuBefore.operator = 0;
    const allReady = ready.until(fleet.tools.map(buildNamespaceOf), () => true, timeoutMs);
    const operator = await OperatorProcess.start({ kubeconfig: run.kubeconfig, logFile: run.logFile(), nodeArgs: run.nodeArgs, env: run.env, workers: run.workers });
    operator.startSampling();
    const stopProgress = progress(log, 'cold converge: build namespaces ready', fleet.tools.length, () => ready.size);
    try {
      const cachesSyncedMs = await operator.waitReady(timeoutMs);
      const doneAt = await allReady;
      const cpu = cpuBetween(cpuBefore, cpuNow(plane, operator));
      const apf = flowControlBetween(apfBefore, await flowControl(plane.admin));
      const reconciles = await reconcileCount(operator);
      const ms = doneAt - operator.startedAt;
      stopProgress();
      await waitQuiet(plane.admin);
      await operator.sample();
      const counts = othersBetween(before, await mark(plane.admin));
      const writes = sum(counts, isOperatorWrite);
      return {
        operator,
        result: {
          tools: fleet.tools.length,
          ms: round(ms),
          cachesSyncedMs: round(cachesSyncedMs),
          operatorWrites: countsObject(counts, isOperatorWrite),
          writes,
          writesPerSecond: round(writes / (ms / 1000)),
          controlPlaneWrites: countsObject(counts, isControlPlaneWrite),
          peakRssBytes: Math.max(operator.peaks.rssBytes, operator.memory().peakRssBytes),
          peakHeapUsedBytes: operator.peaks.heapUsedBytes,
          cpuSeconds: cpu,
          reconciles,
          flowControl: apf,
        },
      };
    } catch (err) {
      stopProgress();
      await operator.stop();
      throw err;
    }
  } finally {
    await ready.stop();
  }
}

// ---------------------------------------------------------------------------------------
// 3. Restart at rest.

export interface RestartResult {
  /** Peak RSS of the process that was stopped (the one that converged the fleet). */
  previousPeakRssBytes: number;
  cachesSyncedMs: number;
  /** Until the operator had reconciled every tool once and its queue was empty. */
  initialPassMs: number;
  /** The operator's writes in the window, by verb and resource: must be none. */
  writes: Record<string, number>;
  /** The control plane's own writes in the window (controller manager backlog, API server Lease). */
  controlPlaneWrites: Record<string, number>;
  /** What the operator says it wrote (build_namespace_operator_api_writes_total; Events not included). */
  operatorReportedWrites: number;
  /** LIST and GET requests; WATCH: watches opened (and still open at the end). */
  reads: { LIST: number; GET: number; WATCH: number };
  readsByResource: Record<string, number>;
  settleMs: number;
}

/**
 * Stops the operator and starts it again against the converged fleet: time until its caches
 * synced and its first pass over every tool was done, and what it sent meanwhile. The window
 * stays open settleMs after the pass, for writes that come later (the status loop).
 */
export async function restartPhase(plane: Plane, fleet: Fleet, previous: OperatorProcess, run: OperatorRun,
  options: { settleMs?: number; timeoutMs?: number } = {}): Promise<{ result: RestartResult; operator: OperatorProcess }> {
  const { settleMs = 3_000, timeoutMs = 1_800_000 } = options;
  await waitQuiet(plane.admin);
  const stopped = await previous.stop();
  await waitQuiet(plane.admin, { quietMs: 1_000 });
  const watchesBefore = await openWatches(plane.admin);
  const before = await mark(plane.admin);
  const operator = await OperatorProcess.start({ kubeconfig: run.kubeconfig, logFile: run.logFile(), nodeArgs: run.nodeArgs, env: run.env, workers: run.workers });
  operator.startSampling();
  try {
    const cachesSyncedMs = await operator.waitReady(timeoutMs);
    const initialPassMs = await operator.waitInitialPass(fleet.tools.length, timeoutMs);
    await sleep(settleMs);
    const counts = othersBetween(before, await mark(plane.admin));
    const watches = diffCounts(await openWatches(plane.admin), watchesBefore);
    // Watches that ended in the window are in apiserver_request_total; those opened are in the gauge.
    for (const key of [...counts.keys()]) if (key.startsWith('WATCH')) counts.delete(key);
    for (const [key, n] of watches) counts.set(key, n);
    const byVerb = (verb: string) => sum(counts, (v) => v === verb);
    return {
      operator,
      result: {
        previousPeakRssBytes: stopped.peakRssBytes,
        cachesSyncedMs: round(cachesSyncedMs),
        initialPassMs: round(initialPassMs),
        writes: countsObject(counts, isOperatorWrite),
        controlPlaneWrites: countsObject(counts, isControlPlaneWrite),
        operatorReportedWrites: metricValue(await operator.metrics(), 'build_namespace_operator_api_writes_total') ?? 0,
        reads: { LIST: byVerb('LIST'), GET: byVerb('GET'), WATCH: byVerb('WATCH') },
        readsByResource: countsObject(counts, isRead),
        settleMs,
      },
    };
  } catch (err) {
    await operator.stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------
// At rest.

export interface IdleResult {
  seconds: number;
  cpuSeconds: number;
  /** Of one core. */
  cpuPercent: number;
  /** The operator's writes: must be none. */
  writes: Record<string, number>;
  controlPlaneWrites: Record<string, number>;
  /** Reads (LIST, GET) in the window; watches held open are not counted until they end. */
  reads: number;
  /** Reconciles in the window: the controller manager's quota status updates still wake tools. */
  reconciles: number;
  rssBytes: number;
  heapUsedBytes: number;
}

/** The operator with nothing to do: its CPU, its requests, its memory. */
export async function idlePhase(plane: Plane, operator: OperatorProcess, ms: number): Promise<IdleResult> {
  const before = await mark(plane.admin);
  const reconciles = await reconcileCount(operator);
  const cpu = operator.cpuSeconds();
  const started = performance.now();
  await sleep(ms);
  const cpuSeconds = operator.cpuSeconds() - cpu;
  const reconciled = (await reconcileCount(operator)) - reconciles;
  const seconds = (performance.now() - started) / 1000;
  const counts = othersBetween(before, await mark(plane.admin));
  const now = await operator.sample();
  return {
    seconds: round(seconds, 1),
    cpuSeconds: round(cpuSeconds, 2),
    cpuPercent: round((100 * cpuSeconds) / seconds, 2),
    writes: countsObject(counts, isOperatorWrite),
    controlPlaneWrites: countsObject(counts, isControlPlaneWrite),
    reads: sum(counts, (v) => v === 'LIST' || v === 'GET'),
    reconciles: reconciled,
    rssBytes: now.rssBytes,
    heapUsedBytes: now.heapUsedBytes,
  };
}

// ---------------------------------------------------------------------------------------
// 4. Policy rollout.

export interface RolloutResult {
  key: string;
  from: string;
  to: string;
  /** From the policy apply until the watch saw every tool's ResourceQuota with the new value. */
  ms: number;
  quotaWrites: number;
  policyStatusWrites: number;
  /** Events the operator posted (RolledOut on the policy). */
  eventWrites: number;
  /** Operator writes on anything else: expected none. */
  otherOperatorWrites: number;
  operatorWrites: Record<string, number>;
}

/** Changes one quota key of the fleet's policy; times until every ResourceQuota has it and counts what it cost. */
export async function rolloutPhase(plane: Plane, fleet: Fleet, quotas: Watched<Quota>,
  options: { from: string; to: string; timeoutMs?: number; log?: Log }): Promise<RolloutResult> {
  const { from, to, timeoutMs = 1_800_000, log = () => {} } = options;
  const keys = fleet.tools.map(quotaKey);
  const want = (q: Quota) => q.spec?.hard?.pods === to;
  await waitQuiet(plane.admin);
  const before = await mark(plane.admin);
  const started = performance.now();
  const stopProgress = progress(log, 'rollout: quotas updated', keys.length, () => quotas.count(keys, want));
  await applyPolicy(plane, fleetPolicy(fleet, to));
  const doneAt = await quotas.until(keys, want, timeoutMs).finally(stopProgress);
  const ms = doneAt - started;
  await waitQuiet(plane.admin);
  const counts = othersBetween(before, await mark(plane.admin));
  const quotaWrites = sum(counts, (v, r) => isOperatorWrite(v, r) && r === 'resourcequotas');
  const policyStatusWrites = sum(counts, (v, r) => isOperatorWrite(v, r) && r === 'buildquotapolicies/status');
  const eventWrites = sum(counts, (v, r) => isOperatorWrite(v, r) && r === 'events');
  return {
    key: 'pods',
    from,
    to,
    ms: round(ms),
    quotaWrites,
    policyStatusWrites,
    eventWrites,
    otherOperatorWrites: sum(counts, isOperatorWrite) - quotaWrites - policyStatusWrites - eventWrites,
    operatorWrites: countsObject(counts, isOperatorWrite),
  };
}

// ---------------------------------------------------------------------------------------
// 5. Latency.

export interface LatencyResult {
  /** Creating a tool namespace until its build namespace is ready. */
  newTool: LatencySummary;
  /** A hand edit of a managed ResourceQuota until the watch sees it restored. */
  restore: LatencySummary;
}

/** Sequential samples with the fleet idle: new tools (added to the fleet), then hand edits of spread-out quotas. */
export async function latencyPhase(plane: Plane, fleet: Fleet, quotas: Watched<Quota>,
  options: { samples: number; pods: string; timeoutMs?: number }): Promise<LatencyResult> {
  const { samples, pods, timeoutMs = 30_000 } = options;
  const ready = new Watched<KubeObject>(plane.admin, NAMESPACES, readySelector(fleet));
  await ready.start();
  const existing = [...fleet.tools];
  try {
    await waitQuiet(plane.admin, { quietMs: 1_000 });
    const newTool: number[] = [];
    for (let i = 1; i <= samples; i++) {
      const tool = `${fleet.id}-new-${i}`;
      const started = performance.now();
      const seen = ready.until([buildNamespaceOf(tool)], () => true, timeoutMs);
      await plane.admin.request('POST', collectionPath(NAMESPACES), { body: toolNamespace(tool, fleet) });
      newTool.push((await seen) - started);
      fleet.tools.push(tool);
    }
    await waitQuiet(plane.admin, { quietMs: 1_000 });
    const restore: number[] = [];
    for (let i = 0; i < samples; i++) {
      const tool = existing[Math.floor((i * existing.length) / samples)]!;
      const namespace = buildNamespaceOf(tool);
      const started = performance.now();
      const edited = await plane.admin.request<Quota>('PATCH', objectPath(RESOURCE_QUOTAS, BUILD_QUOTA_NAME, namespace), {
        body: { spec: { hard: { pods: '999' } } }, contentType: 'application/merge-patch+json',
      });
      const editedVersion = BigInt(edited.metadata.resourceVersion ?? '0');
      const at = await quotas.until([quotaKey(tool)],
        (q) => BigInt(q.metadata.resourceVersion ?? '0') > editedVersion && q.spec?.hard?.pods === pods, timeoutMs);
      restore.push(at - started);
    }
    return { newTool: latencySummary(newTool), restore: latencySummary(restore) };
  } finally {
    await ready.stop();
  }
}

/** The benchmark's watch on every managed ResourceQuota (started by the caller when needed). */
export function watchQuotas(plane: Plane): Watched<Quota> {
  return new Watched<Quota>(plane.admin, RESOURCE_QUOTAS, quotaSelector());
}

export type { Counts };
