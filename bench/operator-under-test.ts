// The operator under test as a child process, started as its container starts it
// (`dist/src/cli.js run`, or dist-tools/bench/operator-entry.js where the CLI is not built,
// with the environment manifests/deployment.yaml gives the container):
// asked whether it is ready and what its metrics say, measured from /proc (RSS, its peak,
// CPU time) and stopped with SIGTERM as a Deployment would stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort, repoRoot } from '../envtest/controlplane.js';
import { readManifests } from '../envtest/install.js';
import { cpuSeconds, memory } from './procfs.js';

export interface OperatorProcessOptions {
  kubeconfig: string;
  /** Where the operator's log (stderr and stdout) goes. */
  logFile: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** The container's environment; unset, the Deployment's (deploymentEnv). */
  env?: Record<string, string>;
  workers?: number;
  logLevel?: string;
  /** `cli`: dist/src/cli.js run (the default where it is built); `bench`: dist-tools/bench/operator-entry.js. */
  entry?: 'cli' | 'bench';
}

/** The command line that starts the operator, leader election off, serving /metrics and /readyz on address. */
function operatorCommand(options: OperatorProcessOptions, address: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const cli = join(repoRoot(), 'dist/src/cli.js');
  const logLevel = options.logLevel ?? 'warn';
  if ((options.entry ?? (existsSync(cli) ? 'cli' : 'bench')) === 'cli') {
    return {
      args: [cli, 'run', `--kubeconfig=${options.kubeconfig}`, `--log-level=${logLevel}`, `--metrics-bind-address=${address}`,
        `--health-probe-bind-address=${address}`, '--leader-elect=false', ...(options.workers ? [`--workers=${options.workers}`] : [])],
      env: {},
    };
  }
  const entry = join(repoRoot(), 'dist-tools/bench/operator-entry.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "make build" first`);
  return {
    args: [entry],
    env: {
      BNO_BENCH_KUBECONFIG: options.kubeconfig,
      BNO_BENCH_ADDRESS: address,
      BNO_BENCH_LOG_LEVEL: logLevel,
      ...(options.workers ? { BNO_BENCH_WORKERS: String(options.workers) } : {}),
    },
  };
}

interface ContainerEnv {
  spec?: { template?: { spec?: { containers?: { name: string; env?: { name: string; value?: string }[] }[] } } };
}

/**
 * What manifests/deployment.yaml sets in the operator container's environment (its memory
 * settings): the operator under test runs with it, so that what is measured is what is
 * deployed.
 */
export function deploymentEnv(): Record<string, string> {
  const deployment = readManifests(join(repoRoot(), 'manifests/deployment.yaml')).find((d) => d.kind === 'Deployment') as ContainerEnv | undefined;
  const container = deployment?.spec?.template?.spec?.containers?.find((c) => c.name === 'operator');
  if (!container) throw new Error('manifests/deployment.yaml: no Deployment with an operator container');
  return Object.fromEntries((container.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])));
}

/** An environment as NAME=value words, for a report's reader. */
export const formatEnv = (env: Record<string, string>): string => Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');

// Children still running when the benchmark exits (an error, Ctrl-C) are stopped with it.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface MemorySample {
  rssBytes: number;
  /** VmHWM: the peak RSS of the process so far. */
  peakRssBytes: number;
}

/** Prometheus text: the sum of every series of a metric whose labels contain all of `match`. */
export function metricValue(text: string, name: string, match: Record<string, string> = {}): number | undefined {
  let found: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (!Object.entries(match).every(([k, v]) => labels[k] === v)) continue;
    found = (found ?? 0) + Number(m[3]);
  }
  return found;
}

function httpGet(port: number, path: string, timeoutMs = 10_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class OperatorProcess {
  /** performance.now() when the process was spawned. */
  readonly startedAt: number;
  private readonly exited: Promise<number | null>;
  private sampler?: NodeJS.Timeout;
  private sampling = false;
  /** Peaks seen by the sampler (heap from the operator's own /metrics). */
  readonly peaks = { rssBytes: 0, heapUsedBytes: 0, heapTotalBytes: 0 };

  private constructor(readonly child: ChildProcess, readonly port: number) {
    this.startedAt = performance.now();
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(options: OperatorProcessOptions): Promise<OperatorProcess> {
    const port = await freePort();
    const { args, env } = operatorCommand(options, `127.0.0.1:${port}`);
    const log = openSync(options.logFile, 'a');
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], {
      stdio: ['pipe', log, log],
      env: { ...process.env, ...(options.env ?? deploymentEnv()), ...env },
    });
    closeSync(log);
    children.add(child);
    child.once('exit', () => children.delete(child));
    return new OperatorProcess(child, port);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Polls /readyz (caches synced); resolves with ms since spawn. */
  async waitReady(timeoutMs = 600_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`the operator exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready`);
      const res = await httpGet(this.port, '/readyz', 2_000).catch(() => undefined);
      if (res?.status === 200) return performance.now() - this.startedAt;
      if (performance.now() > deadline) throw new Error(`the operator was not ready within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  async metrics(): Promise<string> {
    const res = await httpGet(this.port, '/metrics');
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    return res.text;
  }

  /**
   * Waits until the operator has reconciled at least `tools` times and its queue is empty and
   * idle: the pass over every tool it enqueues at start is done. Resolves with ms since spawn.
   */
  async waitInitialPass(tools: number, timeoutMs = 600_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const text = await this.metrics().catch(() => '');
      const reconciled = metricValue(text, 'controller_runtime_reconcile_total', { controller: 'buildnamespace' }) ?? 0;
      const depth = metricValue(text, 'workqueue_depth', { name: 'buildnamespace' }) ?? 1;
      const active = metricValue(text, 'controller_runtime_active_workers', { controller: 'buildnamespace' }) ?? 1;
      if (reconciled >= tools && depth === 0 && active === 0) return performance.now() - this.startedAt;
      if (performance.now() > deadline) throw new Error(`the operator's first pass was not done within ${timeoutMs} ms (${reconciled} of ${tools} reconciled)`);
      await sleep(100);
    }
  }

  /** RSS and its peak (VmHWM) from /proc. */
  memory(): MemorySample {
    return memory(this.pid);
  }

  /** User plus system CPU seconds the process has used. */
  cpuSeconds(): number {
    return cpuSeconds(this.pid);
  }

  /** Samples RSS from /proc and heap from /metrics every intervalMs, keeping the peaks. */
  startSampling(intervalMs = 1_000): void {
    this.sampler = setInterval(() => {
      if (this.sampling || !this.running) return;
      this.sampling = true;
      void this.sample().finally(() => (this.sampling = false));
    }, intervalMs);
    this.sampler.unref();
  }

  async sample(): Promise<{ rssBytes: number; heapUsedBytes: number; heapTotalBytes: number }> {
    const { rssBytes, peakRssBytes } = this.memory();
    const text = await this.metrics().catch(() => '');
    const heapUsedBytes = metricValue(text, 'nodejs_heap_size_used_bytes') ?? 0;
    const heapTotalBytes = metricValue(text, 'nodejs_heap_size_total_bytes') ?? 0;
    this.peaks.rssBytes = Math.max(this.peaks.rssBytes, peakRssBytes);
    this.peaks.heapUsedBytes = Math.max(this.peaks.heapUsedBytes, heapUsedBytes);
    this.peaks.heapTotalBytes = Math.max(this.peaks.heapTotalBytes, heapTotalBytes);
    return { rssBytes, heapUsedBytes, heapTotalBytes };
  }

  /** Sends the heap-snapshot signal (the process must run with --heapsnapshot-signal=SIGUSR2) and waits until it answers again. */
  async heapSnapshot(): Promise<void> {
    this.child.kill('SIGUSR2');
    await sleep(500);
    // Writing the snapshot blocks the process; a connection it held meanwhile may be reset.
    const deadline = performance.now() + 600_000;
    for (;;) {
      const answered = await httpGet(this.port, '/healthz', 600_000).then(() => true, (err: unknown) => {
        if (performance.now() > deadline) throw err;
        return false;
      });
      if (answered) return;
      await sleep(1_000);
    }
  }

  /** SIGTERM, as a Deployment stops it; SIGKILL after timeoutMs. Resolves with the peak RSS it reached. */
  async stop(timeoutMs = 60_000): Promise<{ exitCode: number | null; peakRssBytes: number }> {
    clearInterval(this.sampler);
    let peakRssBytes = this.peaks.rssBytes;
    if (this.running) {
      peakRssBytes = Math.max(peakRssBytes, this.memory().peakRssBytes);
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      const exitCode = await this.exited;
      clearTimeout(timer);
      return { exitCode, peakRssBytes };
    }
    return { exitCode: await this.exited, peakRssBytes };
  }
}
