// The operator as a real process (`node dist/src/cli.js run`), as the container runs it: under
// its ServiceAccount's token, with its JSON log parsed and its /metrics on a free port. Used
// by the demo and by the tests of leader election and plan.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import yaml from 'js-yaml';
import { configForServiceAccount, eventually } from './cluster.js';
import type { KubeObject } from '../src/api/meta.js';
import type { KubeClient } from '../src/kube/client.js';
import { LEASES, objectPath } from '../src/kube/resources.js';
import type { ControlPlaneInfo } from './controlplane.js';
import { freePort, repoRoot } from './controlplane.js';
import { OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT } from './install.js';
import { Pki } from './pki.js';

/** One JSON line of the operator's log. */
export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

export interface OperatorProcess {
  child: ChildProcess;
  metricsAddress: string;
  healthAddress: string;
  /** Every log line so far, parsed; lines that are not JSON have level "raw". */
  log: LogLine[];
  /** The leader-election identity, from the "starting" line. */
  identity: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** The Prometheus text of its /metrics. */
  metrics(): Promise<string>;
  /** Signals it (SIGTERM unless told) and waits for it to exit; SIGKILL after the timeout. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface OperatorKubeconfig {
  path: string;
  /** Mints a new token into the token file, as the kubelet rotates a projected token. */
  refresh(): Promise<void>;
}

/**
 * A kubeconfig for the operator's ServiceAccount that reads its token from a file, re-read
 * every minute by the client as the in-cluster token is, so that a long demo can rotate it.
 */
export async function writeOperatorKubeconfig(dir: string, info: ControlPlaneInfo): Promise<OperatorKubeconfig> {
  const tokenFile = join(dir, 'operator.token');
  const path = join(dir, 'operator.kubeconfig');
  const refresh = async () => {
    const kc = await configForServiceAccount(OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, info);
    writeFileSync(tokenFile, kc.getCurrentUser()?.token ?? '', { mode: 0o600 });
  };
  await refresh();
  const user = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SERVICE_ACCOUNT}`;
  writeFileSync(path, yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: info.server, 'certificate-authority-data': Buffer.from(new Pki(info.dir).caPem()).toString('base64') } }],
    users: [{ name: user, user: { tokenFile } }],
    contexts: [{ name: 'operator', context: { cluster: 'local', user } }],
    'current-context': 'operator',
  }), { mode: 0o600 });
  return { path, refresh };
}

export interface StartOptions {
  kubeconfig: string;
  /** More `run` flags; --kubeconfig and the two bind addresses are set here. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Each log line as it comes (the demo prints some). */
  onLine?: (line: LogLine) => void;
  /**
   * Keep the build queue on, as `run` does by default. Off unless asked (--max-running-builds=0):
   * the queue's hold policy is cluster-scoped and outlives the process, so on a cluster that test
   * files share it would hold every later file's PipelineRuns with nobody to start them.
   */
  buildQueue?: boolean;
}

/** Starts `node dist/src/cli.js run` and resolves once its HTTP endpoints answer. */
export async function startOperatorProcess(options: StartOptions): Promise<OperatorProcess> {
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  const healthAddress = `127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, [
    join(repoRoot(), 'dist/src/cli.js'), 'run',
    `--kubeconfig=${options.kubeconfig}`,
    `--metrics-bind-address=${metricsAddress}`,
    `--health-probe-bind-address=${healthAddress}`,
    ...(options.buildQueue ? [] : ['--max-running-builds=0']),
    ...(options.args ?? []),
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });

  const log: LogLine[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  const take = (text: string) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { level: 'raw', message: text };
    }
    log.push(line);
    options.onLine?.(line);
    for (const waiter of waiters) waiter(line);
  };
  createInterface({ input: child.stderr! }).on('line', take);
  createInterface({ input: child.stdout! }).on('line', take);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));

  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = 20_000) => new Promise<LogLine>((resolve, reject) => {
    const found = log.find(match);
    if (found) return resolve(found);
    const timer = setTimeout(() => {
      waiters.delete(waiter);
      reject(new Error(`no matching operator log line within ${timeoutMs} ms; last lines:\n${log.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`));
    }, timeoutMs);
    const waiter = (line: LogLine) => {
      if (!match(line)) return;
      clearTimeout(timer);
      waiters.delete(waiter);
      resolve(line);
    };
    waiters.add(waiter);
    void exited.then(({ code, signal }) => {
      if (!waiters.has(waiter)) return;
      clearTimeout(timer);
      waiters.delete(waiter);
      reject(new Error(`the operator exited (code ${code}, signal ${signal}) before the awaited log line; last lines:\n` +
        log.slice(-10).map((l) => JSON.stringify(l)).join('\n')));
    });
  });

  const proc: OperatorProcess = {
    child, metricsAddress, healthAddress, log, exited, waitForLog,
    identity: waitForLog((l) => l.message === 'starting').then((l) => String(l.identity)),
    async metrics() {
      const res = await fetch(`http://${metricsAddress}/metrics`);
      return res.text();
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
  proc.identity.catch(() => undefined);
  await waitForHttp(`http://${healthAddress}/healthz`, exited);
  return proc;
}

async function waitForHttp(url: string, exited: Promise<unknown>, timeoutMs = 20_000): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error(`the operator exited before ${url} answered`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The sum of a metric's samples whose labels include all of `labels`, from Prometheus text. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

/**
 * Waits until an operator has nothing left to do, told by its own metrics rather than by a
 * sleep: every work queue empty, no worker busy, and nothing added to any queue between two
 * readings a moment apart (a watch event of its own last write would add one).
 */
export async function waitUntilIdle(metricsText: () => Promise<string>, { timeoutMs = 30_000, intervalMs = 250 } = {}): Promise<void> {
  let lastAdds: number | undefined;
  await eventually(async () => {
    const text = await metricsText();
    const adds = metricValue(text, 'workqueue_adds_total');
    const busy = metricValue(text, 'workqueue_depth') + metricValue(text, 'controller_runtime_active_workers');
    const steady = adds === lastAdds;
    lastAdds = adds;
    if (busy !== 0 || !steady) throw new Error(`not idle: ${busy} queued or in progress, ${adds} added so far`);
  }, { timeoutMs, intervalMs });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/src/cli.js ARGS` to its end, as a user at a shell would. */
export function runCli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot(), 'dist/src/cli.js'), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Deletes what a test file made (namespaces, cluster-scoped objects) and waits until it is
 * gone, so that no later file counts the namespace controller's writes or these namespaces.
 */
export async function removeAndWait(client: KubeClient, paths: string[], timeoutMs = 45_000): Promise<void> {
  await Promise.all(paths.map((path) => client.request('DELETE', path).catch((err: unknown) => {
    if ((err as { code?: number }).code !== 404) throw err;
  })));
  const deadline = Date.now() + timeoutMs;
  for (const path of paths) {
    while (await client.request('GET', path).then(() => true, (err: { code?: number }) => err.code !== 404)) {
      if (Date.now() > deadline) throw new Error(`${path} still exists ${timeoutMs} ms after its deletion`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Who holds the operator's leader-election Lease of that name now ('' for nobody or no Lease). */
export async function leaseHolder(client: KubeClient, lease: string): Promise<string> {
  const found = await client.request<KubeObject & { spec: { holderIdentity?: string } }>('GET', objectPath(LEASES, lease, OPERATOR_NAMESPACE))
    .catch(() => undefined);
  return found?.spec.holderIdentity ?? '';
}

/** Of two replicas started with the same Lease, the one that took it and the other. */
export async function leaderOf(client: KubeClient, lease: string, replicas: [OperatorProcess, OperatorProcess]): Promise<{ leader: OperatorProcess; standby: OperatorProcess }> {
  const byIdentity = new Map(await Promise.all(replicas.map(async (p) => [await p.identity, p] as const)));
  const leader = await eventually(async () => {
    const p = byIdentity.get(await leaseHolder(client, lease));
    if (!p) throw new Error('neither replica holds the Lease yet');
    return p;
  }, { timeoutMs: 30_000 });
  return { leader, standby: leader === replicas[0] ? replicas[1] : replicas[0] };
}
