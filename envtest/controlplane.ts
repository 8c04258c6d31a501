// A real Kubernetes control plane on loopback: etcd, kube-apiserver (RBAC, its own CA and
// service-account keys) and kube-controller-manager, started from the cached binaries that
// envtest/go/build.sh makes, and stopped with everything they wrote.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { Pki, type ClientCredentials, type Identity } from './pki.js';

/** What a test process needs to reach a running control plane. */
export interface ControlPlaneInfo {
  dir: string;
  server: string;
  adminKubeconfig: string;
}

export interface ControlPlaneOptions {
  /** Directory with etcd, kube-apiserver, kube-controller-manager; defaults to the testenv cache. */
  binDir?: string;
  /** kube-controller-manager controllers to run. */
  controllers?: string[];
  /** Extra kube-apiserver flags, e.g. to raise request limits for benchmarks. */
  apiserverArgs?: string[];
  /** Extra kube-controller-manager flags. */
  controllerManagerArgs?: string[];
  /** Seconds to wait for the control plane to be ready. */
  readyTimeoutSeconds?: number;
}

export const DEFAULT_CONTROLLERS = [
  'resourcequota-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'garbage-collector-controller',
];

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root above the harness');
    dir = parent;
  }
  return dir;
}

/** The cache directory that `make testenv` fills. */
export function testenvBinDir(): string {
  if (process.env.BNO_TESTENV_DIR) return process.env.BNO_TESTENV_DIR;
  return execFileSync('bash', [join(repoRoot(), 'envtest/go/build.sh'), '--dir'], { encoding: 'utf8' }).trim();
}

/** A free TCP port on loopback, for the control plane and for operators under test. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** SIGTERM, then SIGKILL if the process is still there after the grace period. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Writes a kubeconfig file for an identity with a client certificate. */
export function kubeconfigYaml(server: string, caPem: string, certPem: string, keyPem: string, user: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(certPem), 'client-key-data': b64(keyPem) } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user } }],
    'current-context': 'test',
  });
}

export class ControlPlane {
  private readonly processes: { name: string; child: ChildProcess }[] = [];
  private stopped = false;
  private admin: ClientCredentials = { certPem: '', keyPem: '' };
  readonly pki: Pki;
  server = '';

  private constructor(readonly dir: string, private readonly binDir: string) {
    this.pki = new Pki(dir);
  }

  get adminKubeconfig(): string {
    return join(this.dir, 'admin.kubeconfig');
  }

  get info(): ControlPlaneInfo {
    return { dir: this.dir, server: this.server, adminKubeconfig: this.adminKubeconfig };
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const binDir = options.binDir ?? testenvBinDir();
    for (const bin of ['etcd', 'kube-apiserver', 'kube-controller-manager']) {
      if (!existsSync(join(binDir, bin))) {
        throw new Error(`${bin} is not in ${binDir}: run "make testenv" once to build the test control plane`);
      }
    }
    const plane = new ControlPlane(mkdtempSync(join(tmpdir(), 'bno-controlplane-')), binDir);
    try {
      await plane.boot(options);
    } catch (err) {
      await plane.stop();
      throw err;
    }
    return plane;
  }

  private async boot(options: ControlPlaneOptions): Promise<void> {
    mkdirSync(join(this.dir, 'logs'));
    this.pki.create();
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    this.server = `https://127.0.0.1:${apiPort}`;
    this.admin = this.pki.mintClient({ user: 'admin', groups: ['system:masters'] });
    writeFileSync(this.adminKubeconfig,
      kubeconfigYaml(this.server, this.pki.caPem(), this.admin.certPem, this.admin.keyPem, 'admin'), { mode: 0o600 });
    const kcmKubeconfig = join(this.dir, 'kube-controller-manager.kubeconfig');
    // The controller manager runs every controller under its own identity, so it needs
    // the superuser group rather than one ServiceAccount per controller.
    this.writeKubeconfig({ user: 'system:kube-controller-manager', groups: ['system:masters'] }, kcmKubeconfig);

    this.spawn('etcd', [
      '--name=default',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      // A test cluster's data is thrown away; fsync would only slow every write.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    this.spawn('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(this.dir, 'apiserver')}`,
      `--tls-cert-file=${this.pki.servingCert}`,
      `--tls-private-key-file=${this.pki.servingKey}`,
      `--client-ca-file=${this.pki.caCert}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${this.pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${this.pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      '--profiling=false',
      ...(options.apiserverArgs ?? []),
    ]);
    await this.waitForReady(options.readyTimeoutSeconds ?? 60);
    this.spawn('kube-controller-manager', [
      `--kubeconfig=${kcmKubeconfig}`,
      `--controllers=${(options.controllers ?? DEFAULT_CONTROLLERS).join(',')}`,
      '--leader-elect=false',
      '--secure-port=0',
      `--service-account-private-key-file=${this.pki.serviceAccountKey}`,
      `--root-ca-file=${this.pki.caCert}`,
      '--concurrent-namespace-syncs=10',
      '--profiling=false',
      ...(options.controllerManagerArgs ?? []),
    ]);
    // The serviceaccount controller making `default` in `default` shows the controller
    // manager is up; quota admission needs it before any quota can be used.
    await this.waitFor('the controller manager to create ServiceAccount default/default',
      options.readyTimeoutSeconds ?? 60,
      async () => (await this.get('/api/v1/namespaces/default/serviceaccounts/default')) === 200);
  }

  /** A kubeconfig for any identity, as YAML. */
  kubeconfigFor(identity: Identity): string {
    const { certPem, keyPem } = this.pki.mintClient(identity);
    return kubeconfigYaml(this.server, this.pki.caPem(), certPem, keyPem, identity.user);
  }

  writeKubeconfig(identity: Identity, path: string): void {
    writeFileSync(path, this.kubeconfigFor(identity), { mode: 0o600 });
  }

  private spawn(name: string, args: string[]): void {
    const logFd = openSync(join(this.dir, 'logs', `${name}.log`), 'a');
    const child = spawn(join(this.binDir, name), args, { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    child.on('exit', (code, signal) => {
      if (!this.stopped) process.stderr.write(`control plane: ${name} exited (${code ?? signal})\n`);
    });
    this.processes.push({ name, child });
  }

  private get(path: string): Promise<number> {
    return new Promise((resolve) => {
      const req = request(`${this.server}${path}`, {
        ca: this.pki.caPem(),
        cert: this.admin.certPem,
        key: this.admin.keyPem,
        timeout: 2000,
      }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  private async waitForReady(timeoutSeconds: number): Promise<void> {
    await this.waitFor('kube-apiserver /readyz', timeoutSeconds, async () => (await this.get('/readyz')) === 200);
  }

  private async waitFor(what: string, timeoutSeconds: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline) {
      const dead = this.processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
      if (dead) throw new Error(`${dead.name} exited while waiting for ${what}:\n${this.logTail(dead.name)}`);
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out after ${timeoutSeconds}s waiting for ${what}`);
  }

  logTail(name: string, lines = 30): string {
    try {
      return readFileSync(join(this.dir, 'logs', `${name}.log`), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Stops every process, newest first, and removes the data directory. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { child } of [...this.processes].reverse()) await stopProcess(child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
