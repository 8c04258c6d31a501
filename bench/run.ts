// One benchmark run at one fleet size: the floor on a control plane of its own (so its
// objects never reach the operator's caches, and nothing has to be deleted), then cold
// converge, restart, rest, rollout and latency on a second one. Returns every figure, and
// formats runs at several sizes as one Markdown table.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { testenvBinDir } from '../envtest/controlplane.js';
import { startSupervisedControlPlane } from '../envtest/spawn.js';
import { waitQuiet } from './apiserver.js';
import { descendantsMemory } from './procfs.js';
import { deploymentEnv, type OperatorProcess } from './operator-under-test.js';
import {
  applyPolicy, coldConvergePhase, createToolNamespaces, fleetOf, fleetPolicy, floorPhase, idlePhase, latencyPhase, preparePlane,
  restartPhase, rolloutPhase, watchQuotas,
  type ConvergeResult, type FloorResult, type IdleResult, type LatencyResult, type Log, type OperatorRun, type RestartResult,
  type Quota, type RolloutResult,
} from './phases.js';
import type { Watched } from './watch.js';

export interface FleetOptions {
  tools: number;
  /** Latency samples of each kind. */
  samples: number;
  /** How long the operator is watched doing nothing. */
  idleMs: number;
  /** Logs, kubeconfigs and profiles of this run go here. */
  workDir: string;
  /** Run the operator with --cpu-prof and take a heap snapshot at rest (into workDir). */
  profile?: boolean;
  /**
   * Only the heap snapshot at the end (no CPU profile): V8 collects all garbage before it
   * writes one, so the heap used right after it is the live heap.
   */
  heapSnapshot?: boolean;
  /** Node flags for the operator process, e.g. --max-old-space-size=256. */
  operatorNodeArgs?: string[];
  apiserverArgs?: string[];
  workers?: number;
  log?: Log;
}

export interface Target {
  name: string;
  target: string;
  value: string;
  met: boolean;
}

export interface FleetReport {
  tools: number;
  startedAt: string;
  durationSeconds: number;
  machine: Machine;
  /** 1, 5 and 15 minute load averages when the run started and ended: other work on the machine shows here. */
  loadAverage: { start: number[]; end: number[] };
  apiserverArgs: string[];
  operatorNodeArgs: string[];
  /** The operator container's environment from manifests/deployment.yaml, which the operator ran with. */
  operatorEnv: Record<string, string>;
  profiled: boolean;
  setup: { toolNamespacesMs: number; toolNamespacesPerSecond: number };
  floor: FloorResult;
  coldConverge: ConvergeResult & { ratioToFloor: number };
  restart: RestartResult;
  idle: IdleResult;
  rollout: RolloutResult;
  latency: LatencyResult;
  memory: {
    coldConvergePeakRssMB: number;
    coldConvergePeakHeapUsedMB: number;
    afterRestartPeakRssMB: number;
    afterRestartPeakHeapUsedMB: number;
    atRestRssMB: number;
    atRestHeapUsedMB: number;
    /** Heap used right after the heap snapshot's full GC: what the operator really holds. */
    liveHeapMB?: number;
  };
  /** Peak RSS over the whole run of the control plane's processes, by command name (MB). */
  controlPlanePeakRssMB: Record<string, number>;
  targets: Target[];
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kubeApiserver: string;
  etcd: string;
}

/** 150 MB up to 10,000 tools; beyond, a share of 1 GiB for 100,000 tools. */
export const peakRssTargetMB = (tools: number) => Math.max(150, Math.round((1024 * tools) / 100_000));

const MB = 1024 * 1024;
const mb = (bytes: number) => Math.round(bytes / MB);

export function machine(): Machine {
  const bin = testenvBinDir();
  const version = (name: string) => {
    try {
      return execFileSync(join(bin, name), ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    kubeApiserver: version('kube-apiserver'),
    etcd: version('etcd'),
  };
}

export async function runFleet(options: FleetOptions): Promise<FleetReport> {
  const { tools, samples, idleMs, workDir, profile = false, apiserverArgs = [], operatorNodeArgs = [], workers, log = () => {} } = options;
  const snapshot = profile || options.heapSnapshot === true;
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg().map((n) => Number(n.toFixed(2)));
  mkdirSync(workDir, { recursive: true });
  const fleet = fleetOf(tools, 'fleet');
  let logs = 0;
  const run = (kubeconfig: string): OperatorRun => ({
    kubeconfig,
    logFile: () => join(workDir, `operator-${++logs}.log`),
    nodeArgs: [
      ...operatorNodeArgs,
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${workDir}`] : []),
      ...(snapshot ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${workDir}`] : []),
    ],
    workers,
  });

  // 1. The floor, on a control plane of its own.
  log(`floor: ${tools} tools`);
  let floor: FloorResult;
  const floorPlane = await startSupervisedControlPlane({ apiserverArgs });
  try {
    mkdirSync(join(workDir, 'floor'), { recursive: true });
    const plane = await preparePlane(floorPlane.info, join(workDir, 'floor'), floorPlane.child.pid);
    await applyPolicy(plane, fleetPolicy(fleet));
    floor = await floorPhase(plane, fleet, { workers, log });
    plane.admin.close();
  } finally {
    await floorPlane.stop();
  }
  log(`floor: ${(floor.ms / 1000).toFixed(1)} s, ${floor.writes} writes`);

  const supervised = await startSupervisedControlPlane({ apiserverArgs });
  let operator: OperatorProcess | undefined;
  let quotas: Watched<Quota> | undefined;
  try {
    const plane = await preparePlane(supervised.info, workDir, supervised.child.pid);
    log(`setup: creating ${tools} tool namespaces`);
    const toolNamespacesMs = await createToolNamespaces(plane, fleet);
    await applyPolicy(plane, fleetPolicy(fleet, '4'));
    await waitQuiet(plane.admin);

    // 2. Cold converge.
    log('cold converge');
    const cold = await coldConvergePhase(plane, fleet, run(plane.operatorKubeconfig), { log });
    operator = cold.operator;
    log(`cold converge: ${(cold.result.ms / 1000).toFixed(1)} s`);

    // 3. Restart against the converged fleet.
    log('restart');
    const restarted = await restartPhase(plane, fleet, operator, run(plane.operatorKubeconfig));
    operator = restarted.operator;
    log(`restart: first pass ${(restarted.result.initialPassMs / 1000).toFixed(1)} s, ${Object.keys(restarted.result.writes).length === 0 ? 'no' : JSON.stringify(restarted.result.writes)} writes`);

    log(`at rest for ${idleMs / 1000} s`);
    const idle = await idlePhase(plane, operator, idleMs);

    // 4. Policy rollout.
    quotas = watchQuotas(plane);
    await quotas.start();
    log('rollout');
    const rollout = await rolloutPhase(plane, fleet, quotas, { from: '4', to: '5', log });
    log(`rollout: ${(rollout.ms / 1000).toFixed(1)} s`);

    // 5. Latency.
    log(`latency: ${samples} samples each`);
    const latency = await latencyPhase(plane, fleet, quotas, { samples, pods: '5' });

    // 6. Memory (sampled all along).
    const atRest = await operator.sample();
    // The peak before the snapshot: writing one takes memory of its own.
    const peakRssBytes = Math.max(operator.peaks.rssBytes, operator.memory().peakRssBytes);
    let liveHeapBytes: number | undefined;
    if (snapshot) {
      log('heap snapshot');
      await operator.heapSnapshot();
      liveHeapBytes = (await operator.sample()).heapUsedBytes;
    }
    const controlPlanePeakRssMB = Object.fromEntries(Object.entries(supervised.child.pid === undefined ? {} : descendantsMemory(supervised.child.pid))
      .filter(([name]) => name === 'kube-apiserver' || name === 'etcd').map(([name, m]) => [name, mb(m.peakRssBytes)]));
    await operator.stop();
    operator = undefined;
    await quotas.stop();
    quotas = undefined;
    plane.admin.close();

    const memory = {
      coldConvergePeakRssMB: mb(Math.max(cold.result.peakRssBytes, restarted.result.previousPeakRssBytes)),
      coldConvergePeakHeapUsedMB: mb(cold.result.peakHeapUsedBytes),
      afterRestartPeakRssMB: mb(peakRssBytes),
      afterRestartPeakHeapUsedMB: mb(restarted.operator.peaks.heapUsedBytes),
      atRestRssMB: mb(atRest.rssBytes),
      atRestHeapUsedMB: mb(atRest.heapUsedBytes),
      ...(liveHeapBytes !== undefined ? { liveHeapMB: mb(liveHeapBytes) } : {}),
    };
    const ratioToFloor = Number((cold.result.ms / floor.ms).toFixed(2));
    const restartWrites = Object.values(restarted.result.writes).reduce((a, b) => a + b, 0);
    const idleWrites = Object.values(idle.writes).reduce((a, b) => a + b, 0);
    const peakRss = Math.max(memory.coldConvergePeakRssMB, memory.afterRestartPeakRssMB);
    const targets: Target[] = [
      { name: 'cold converge / floor', target: '≤ 1.25', value: String(ratioToFloor), met: ratioToFloor <= 1.25 },
      { name: 'writes on restart', target: '0', value: String(restartWrites), met: restartWrites === 0 },
      { name: 'writes at rest', target: '0', value: String(idleWrites), met: idleWrites === 0 },
      { name: 'new tool p99', target: '< 1000 ms', value: `${latency.newTool.p99Ms} ms`, met: latency.newTool.p99Ms < 1000 },
      { name: 'restore p99', target: '< 1000 ms', value: `${latency.restore.p99Ms} ms`, met: latency.restore.p99Ms < 1000 },
      { name: 'peak RSS', target: `≤ ${peakRssTargetMB(tools)} MB`, value: `${peakRss} MB`, met: peakRss <= peakRssTargetMB(tools) },
    ];
    return {
      tools,
      startedAt,
      durationSeconds: Math.round((performance.now() - started) / 1000),
      machine: machine(),
      loadAverage: { start: loadAtStart, end: loadavg().map((n) => Number(n.toFixed(2))) },
      apiserverArgs,
      operatorNodeArgs,
      operatorEnv: deploymentEnv(),
      profiled: profile,
      setup: { toolNamespacesMs: Math.round(toolNamespacesMs), toolNamespacesPerSecond: Math.round(tools / (toolNamespacesMs / 1000)) },
      floor,
      coldConverge: { ...cold.result, ratioToFloor },
      restart: restarted.result,
      idle,
      rollout,
      latency,
      memory,
      controlPlanePeakRssMB,
      targets,
    };
  } finally {
    await operator?.stop().catch(() => undefined);
    await quotas?.stop().catch(() => undefined);
    await supervised.stop();
  }
}

// ---------------------------------------------------------------------------------------
// The table.

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const entries = (record: Record<string, number>) =>
  Object.keys(record).length === 0 ? 'none' : Object.entries(record).map(([k, v]) => `${k} ${v}`).join(', ');

/** CPU seconds of the main processes, and how much of the machine they used over the window. */
function cpu(seconds: Record<string, number>, ms: number): string {
  const names = ['kube-apiserver', 'etcd', 'kube-controller', 'bench', 'operator'];
  const shown = names.filter((n) => seconds[n] !== undefined).map((n) => String(seconds[n]));
  const capacity = (availableParallelism() * ms) / 1000;
  const ours = Object.entries(seconds).filter(([n]) => n !== 'other').reduce((a, [, s]) => a + s, 0);
  const share = (s: number) => `${Math.round((100 * s) / capacity)}%`;
  return `${shown.join(' / ')} (${share(ours)} of ${availableParallelism()} cores; other work on the machine ${share(seconds.other ?? 0)})`;
}

/** One Markdown table, a column per fleet size. */
export function formatReports(reports: FleetReport[]): string {
  const rows: [string, (r: FleetReport) => string][] = [
    ['setup: tool namespaces created (s, per s)', (r) => `${seconds(r.setup.toolNamespacesMs)} (${r.setup.toolNamespacesPerSecond}/s)`],
    ['**1. floor**: time (s)', (r) => seconds(r.floor.ms)],
    ['floor: writes, writes/s', (r) => `${r.floor.writes}, ${r.floor.writesPerSecond}/s`],
    ['floor: CPU s: apiserver / etcd / controller manager / benchmark', (r) => cpu(r.floor.cpuSeconds, r.floor.ms)],
    ['floor: API priority and fairness: rejected, s queued', (r) => `${r.floor.flowControl.rejected}, ${r.floor.flowControl.waitSeconds}`],
    ['**2. cold converge**: time (s)', (r) => seconds(r.coldConverge.ms)],
    ['cold converge: ratio to floor (target ≤ 1.25)', (r) => `**${r.coldConverge.ratioToFloor}**`],
    ['cold converge: caches synced after (s)', (r) => seconds(r.coldConverge.cachesSyncedMs)],
    ['cold converge: operator writes, writes/s', (r) => `${r.coldConverge.writes}, ${r.coldConverge.writesPerSecond}/s`],
    ['cold converge: operator writes by verb', (r) => entries(r.coldConverge.operatorWrites)],
    ['cold converge: reconciles (per tool)', (r) => `${r.coldConverge.reconciles} (${(r.coldConverge.reconciles / r.tools).toFixed(1)})`],
    ['cold converge: CPU s: apiserver / etcd / controller manager / benchmark / operator', (r) => cpu(r.coldConverge.cpuSeconds, r.coldConverge.ms)],
    ['cold converge: API priority and fairness: rejected, s queued', (r) => `${r.coldConverge.flowControl.rejected}, ${r.coldConverge.flowControl.waitSeconds}`],
    ['**3. restart**: caches synced (s)', (r) => seconds(r.restart.cachesSyncedMs)],
    ['restart: first pass over every tool done (s)', (r) => seconds(r.restart.initialPassMs)],
    ['restart: operator writes (target 0)', (r) => `**${entries(r.restart.writes)}**`],
    ['restart: control plane writes meanwhile', (r) => entries(r.restart.controlPlaneWrites)],
    ['restart: reads: LIST / GET / watches opened', (r) => `${r.restart.reads.LIST} / ${r.restart.reads.GET} / ${r.restart.reads.WATCH}`],
    ['at rest: operator CPU (% of a core), reconciles, reads, writes', (r) =>
      `${r.idle.cpuPercent}% over ${r.idle.seconds} s, ${r.idle.reconciles}, ${r.idle.reads}, ${entries(r.idle.writes)}`],
    ['at rest: control plane writes meanwhile', (r) => entries(r.idle.controlPlaneWrites)],
    ['**4. rollout** (pods 4→5): time (s)', (r) => seconds(r.rollout.ms)],
    ['rollout: writes: quota / policy status / Event / other', (r) =>
      `${r.rollout.quotaWrites} / ${r.rollout.policyStatusWrites} / ${r.rollout.eventWrites} / ${r.rollout.otherOperatorWrites}`],
    ['**5. new tool → ready**: p50 / p99 (ms, target p99 < 1000)', (r) => `${r.latency.newTool.p50Ms} / **${r.latency.newTool.p99Ms}** (n=${r.latency.newTool.samples})`],
    ['hand-edited quota → restored: p50 / p99 (ms, target p99 < 1000)', (r) => `${r.latency.restore.p50Ms} / **${r.latency.restore.p99Ms}** (n=${r.latency.restore.samples})`],
    ['**6. memory**: peak RSS, cold converge (MB, target ≤ 150 up to 10,000 tools)', (r) => `**${r.memory.coldConvergePeakRssMB}**`],
    ['memory: peak RSS after restart (MB)', (r) => String(r.memory.afterRestartPeakRssMB)],
    ['memory: peak heap used, converge / after restart (MB)', (r) => `${r.memory.coldConvergePeakHeapUsedMB} / ${r.memory.afterRestartPeakHeapUsedMB}`],
    ['memory: at rest RSS / heap used (MB)', (r) => `${r.memory.atRestRssMB} / ${r.memory.atRestHeapUsedMB}`],
    ['memory: live heap after a full GC (MB; KB per tool)', (r) => (r.memory.liveHeapMB === undefined ? 'not measured'
      : `${r.memory.liveHeapMB}; ${((r.memory.liveHeapMB * 1024) / r.tools).toFixed(1)}`)],
    ['control plane: peak RSS kube-apiserver / etcd (MB)', (r) => `${r.controlPlanePeakRssMB['kube-apiserver'] ?? '?'} / ${r.controlPlanePeakRssMB.etcd ?? '?'}`],
    ['targets met', (r) => `${r.targets.filter((t) => t.met).length} of ${r.targets.length}` +
      (r.targets.some((t) => !t.met) ? ` (missed: ${r.targets.filter((t) => !t.met).map((t) => t.name).join(', ')})` : '')],
    ['benchmark run time (s)', (r) => String(r.durationSeconds)],
    ['load average at start / end (1 min)', (r) => `${r.loadAverage.start[0]} / ${r.loadAverage.end[0]}`],
  ];
  const header = `| | ${reports.map((r) => `${r.tools.toLocaleString('en')} tools`).join(' | ')} |`;
  const rule = `|---|${reports.map(() => '---').join('|')}|`;
  const table = [header, rule, ...rows.map(([name, cell]) => `| ${name} | ${reports.map(cell).join(' | ')} |`)].join('\n');
  const growth = liveHeapGrowth(reports);
  return growth.length === 0 ? table : `${table}\n\n${growth.join('\n')}`;
}

/**
 * What each tool more costs in live heap, between consecutive fleet sizes of one run: the
 * figure that says whether memory stays flat per tool (target ≤ 5 KB) and what 100,000 need.
 */
export function liveHeapGrowth(reports: FleetReport[]): string[] {
  const measured = reports.filter((r) => r.memory.liveHeapMB !== undefined).sort((a, b) => a.tools - b.tools);
  const lines: string[] = [];
  for (let i = 1; i < measured.length; i++) {
    const [a, b] = [measured[i - 1]!, measured[i]!];
    const kbPerTool = ((b.memory.liveHeapMB! - a.memory.liveHeapMB!) * 1024) / (b.tools - a.tools);
    lines.push(`live heap per added tool, ${a.tools.toLocaleString('en')} → ${b.tools.toLocaleString('en')} tools: ${kbPerTool.toFixed(2)} KB (target ≤ 5)`);
  }
  return lines;
}
