// A build cluster on loopback: the test control plane, kube-scheduler, kwok faking a few
// build nodes, and the real Tekton Pipelines controller, each Tekton component under the
// release's own ServiceAccount and RBAC; on request also Tekton's admission webhook (which
// converts v1beta1, defaults and validates) and its remote resolvers. Started from the
// cached binaries that envtest/go/build-simulation.sh makes; stopped with everything it
// wrote (its logs can be kept). The build-cluster simulation and the Tekton tests share it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { basename, join } from 'node:path';
import { ControlPlane, DEFAULT_CONTROLLERS, freePort, stopProcess } from './controlplane.js';
import type { Identity } from './pki.js';
import { KubeClient, errorMessage, isNotFound } from '../src/kube/client.js';
import type { KubeObject } from '../src/api/meta.js';
import { ResourceTypes } from '../src/kube/resources.js';
import { Writer } from '../src/kube/writer.js';
import { KubeConfig } from '@kubernetes/client-node';
import { BUILD_COMMAND, type SimulationPaths } from './build-cluster-paths.js';
import { kwokConfigYaml, type StageOptions } from './kwok-stages.js';
import {
  BUILD_SERVICE_ACCOUNT, RESOLVERS_NAMESPACE, TEKTON_IDENTITIES, buildPipeline, buildPipelineRun, buildTask, machineAddress, tektonConfig,
  tektonControllerArgs, tektonControllerEnv, tektonCrds, tektonRbac, tektonResolversArgs, tektonResolversEnv,
  tektonWebhookArgs, tektonWebhookConfigurations, tektonWebhookEnv, tokenKubeconfigYaml, webhookService,
  type BuildResources, type TektonComponent,
} from './tekton.js';

export interface BuildClusterOptions {
  nodes: number;
  nodeCpu: string;
  nodeMemory: string;
  nodePods: number;
  stages: StageOptions;
  /** What the build step requests (and is limited to). */
  buildResources: BuildResources;
  /** Copy every component's log here when the cluster stops. */
  keepLogsIn?: string;
  /**
   * The Tekton controller's -kube-api-qps (it doubles it, and the burst). Unset, it
   * allows itself 2 x 2 x 5 = 20 requests per second, as a default install does.
   */
  tektonApiQps?: number;
  /** Run Tekton's admission webhook (conversion, defaulting, validation); off, the CRDs convert nothing. */
  tektonWebhook?: boolean;
  /** Run Tekton's remote resolvers (git, http, bundles, hub, cluster). */
  tektonResolvers?: boolean;
  /** Extra kube-controller-manager flags. */
  controllerManagerArgs?: string[];
}

/** kube-controller-manager for Tekton: the test default plus pod GC (kwok plays the node controllers). */
export const SIMULATION_CONTROLLERS = [...DEFAULT_CONTROLLERS, 'pod-garbage-collector-controller'];

const NODE_LABEL = 'sim.toolforge.org/node';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until check returns a value other than undefined, or throws after the timeout saying what it waited for. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await sleep(intervalMs);
  }
}

interface Condition { type: string; status: string; reason?: string; message?: string }
export interface RunObject extends KubeObject {
  status?: { conditions?: Condition[]; phase?: string };
}

export function succeeded(obj: RunObject): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === 'Succeeded');
}

export class BuildCluster {
  private readonly processes: { name: string; child: ChildProcess }[] = [];
  private stopped = false;
  readonly admin: KubeClient;
  readonly writer: Writer;

  private constructor(readonly plane: ControlPlane, readonly paths: SimulationPaths, readonly options: BuildClusterOptions) {
    this.admin = this.clientFor({ user: 'sim-admin', groups: ['system:masters'] });
    this.writer = new Writer(this.admin, new ResourceTypes(this.admin));
  }

  static async start(paths: SimulationPaths, options: BuildClusterOptions): Promise<BuildCluster> {
    for (const [module, dir] of [['kwok', paths.kwokSource], ['Tekton Pipelines', paths.tektonSource]] as const) {
      if (!dir || !existsSync(dir)) {
        throw new Error(`the ${module} module is not in the Go module cache (its files are read at run time): run "${BUILD_COMMAND}"`);
      }
    }
    const plane = await ControlPlane.start({
      binDir: paths.controlPlaneDir,
      controllers: SIMULATION_CONTROLLERS,
      // A webhook's Service is resolved to its endpoints by the API server itself: no kube-proxy here.
      apiserverArgs: options.tektonWebhook ? ['--enable-aggregator-routing=true'] : [],
      controllerManagerArgs: options.controllerManagerArgs ?? [],
    });
    const cluster = new BuildCluster(plane, paths, options);
    try {
      await cluster.boot();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get logDir(): string {
    return join(this.plane.dir, 'logs');
  }

  clientFor(identity: Identity): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromString(this.plane.kubeconfigFor(identity));
    return new KubeClient(kc);
  }

  private async boot(): Promise<void> {
    const kubeconfig = (name: string) => {
      const path = join(this.plane.dir, `${name}.kubeconfig`);
      // Every component is trusted here: the simulation measures scheduling, not RBAC.
      this.plane.writeKubeconfig({ user: `system:${name}`, groups: ['system:masters'] }, path);
      return path;
    };

    this.spawn('kube-scheduler', this.paths.scheduler, [
      `--kubeconfig=${kubeconfig('kube-scheduler')}`,
      '--leader-elect=false',
      '--secure-port=0',
      '--profiling=false',
    ]);

    await this.createNodes();
    const kwokConfig = join(this.plane.dir, 'kwok.yaml');
    writeFileSync(kwokConfig, kwokConfigYaml(this.paths.kwokSource, this.options.stages));
    this.spawn('kwok', this.paths.kwok, [
      `--kubeconfig=${kubeconfig('kwok')}`,
      `--config=${kwokConfig}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-label-selector=${NODE_LABEL}=kwok`,
      '--cidr=10.244.0.0/16',
      '--node-ip=10.99.0.1',
    ]);

    await this.startTekton();

    await waitFor(`${this.options.nodes} kwok nodes to be Ready`, 30_000, async () => {
      const nodes = await this.admin.request<{ items: { status?: { conditions?: Condition[] } }[] }>('GET', '/api/v1/nodes', {
        query: { labelSelector: `${NODE_LABEL}=kwok` },
      });
      const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === this.options.nodes ? true : undefined;
    });
    await this.warmUp();
  }

  /**
   * Tekton as a release installs it: namespaces, ServiceAccounts and RBAC, config maps,
   * then (with the webhook) the webhook's Service and configurations and the CRDs with
   * their conversion stanza, the webhook itself, and only once it answers, the controller
   * and the resolvers; each component authenticates as its own ServiceAccount.
   */
  private async startTekton(): Promise<void> {
    const source = this.paths.tektonSource;
    const apply = async (docs: KubeObject[]) => {
      for (const doc of docs) await waitFor(`${doc.kind} ${doc.metadata.name} to apply`, 20_000, async () => this.writer.apply(doc));
    };
    await apply([...tektonRbac(source), ...tektonConfig(source)]);
    const freePorts = async () => ({ probes: await freePort(), metrics: await freePort(), profiling: await freePort() });
    if (this.options.tektonWebhook) {
      const webhookPort = await freePort();
      await apply([...webhookService(machineAddress(), webhookPort), ...tektonWebhookConfigurations(source)]);
      await apply(tektonCrds(source, 'webhook'));
      this.spawn('tekton-pipelines-webhook', this.paths.tektonWebhook, tektonWebhookArgs(await this.tektonKubeconfig('webhook')),
        tektonWebhookEnv(await freePorts(), webhookPort));
      await this.waitForTektonWebhook();
    } else {
      await apply(tektonCrds(source, 'none'));
    }
    await waitFor('the Tekton CRDs to be served', 30_000, async () => {
      await this.admin.request('GET', '/apis/tekton.dev/v1/pipelineruns', { query: { limit: 1 } });
      await this.admin.request('GET', '/apis/tekton.dev/v1/taskruns', { query: { limit: 1 } });
      return true;
    });
    const controllerArgs = [
      ...tektonControllerArgs(await this.tektonKubeconfig('controller')),
      ...(this.options.tektonApiQps ? [`-kube-api-qps=${this.options.tektonApiQps}`, `-kube-api-burst=${this.options.tektonApiQps * 2}`] : []),
    ];
    this.spawn('tekton-pipelines-controller', this.paths.tekton, controllerArgs, tektonControllerEnv(await freePorts()));
    if (this.options.tektonResolvers) {
      this.spawn('tekton-pipelines-resolvers', this.paths.tektonResolvers, tektonResolversArgs(await this.tektonKubeconfig('resolvers')),
        tektonResolversEnv(await freePorts()));
      // Each resolver works only once it leads: one lease per resolver, all five held.
      await waitFor('the five Tekton resolvers to lead', 60_000, async () => {
        const leases = await this.admin.request<{ items: { spec?: { holderIdentity?: string } }[] }>('GET',
          `/apis/coordination.k8s.io/v1/namespaces/${RESOLVERS_NAMESPACE}/leases`);
        return leases.items.filter((l) => l.spec?.holderIdentity).length >= 5 ? true : undefined;
      }, 250);
    }
  }

  /** A kubeconfig file with a token of the component's ServiceAccount (a day long: longer than any test). */
  private async tektonKubeconfig(component: TektonComponent): Promise<string> {
    const { namespace, name } = TEKTON_IDENTITIES[component];
    const request = await waitFor(`a token for ServiceAccount ${namespace}/${name}`, 20_000, async () =>
      this.admin.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86_400 } },
      }));
    const path = join(this.plane.dir, `tekton-${component}.kubeconfig`);
    writeFileSync(path, tokenKubeconfigYaml(this.plane.server, this.plane.pki.caPem(), request.status.token, name), { mode: 0o600 });
    return path;
  }

  /**
   * The webhook is ready when it has made its certificate, put its CA into the webhook
   * configurations and the CRDs' conversion stanza, and answers: a v1beta1 PipelineRun
   * created in a dry run comes back converted and defaulted.
   */
  private async waitForTektonWebhook(): Promise<void> {
    const probe = {
      apiVersion: 'tekton.dev/v1beta1', kind: 'PipelineRun',
      metadata: { name: 'webhook-probe', namespace: 'default' },
      spec: { pipelineRef: { name: 'probe' } },
    };
    await waitFor('Tekton\'s webhook to convert and default a v1beta1 PipelineRun', 90_000, async () => {
      if (this.deadComponent()) throw new Error(`${this.deadComponent()} exited`);
      const created = await this.admin.request<{ spec?: { timeouts?: unknown } }>('POST', '/apis/tekton.dev/v1beta1/namespaces/default/pipelineruns', {
        body: probe, query: { dryRun: 'All' },
      });
      return created.spec?.timeouts !== undefined || JSON.stringify(created.spec).includes('timeout') ? true : undefined;
    }, 500).catch((err: Error) => {
      throw new Error(`${err.message}\n--- tekton-pipelines-webhook ---\n${this.logTail('tekton-pipelines-webhook')}`);
    });
  }

  /** Fake build nodes: the scheduler places pods by their capacity, kwok "runs" them. */
  private async createNodes(): Promise<void> {
    const capacity = { cpu: this.options.nodeCpu, memory: this.options.nodeMemory, pods: String(this.options.nodePods) };
    for (let i = 0; i < this.options.nodes; i++) {
      const name = `build-node-${i}`;
      await this.admin.request('POST', '/api/v1/nodes', {
        body: {
          apiVersion: 'v1', kind: 'Node',
          metadata: {
            name,
            labels: { [NODE_LABEL]: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
            annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          },
          spec: {},
        },
      });
      // The TaintNodesByCondition admission plugin taints a new node not-ready; the node
      // lifecycle controller would lift that once the node is Ready, kwok does not.
      await this.admin.request('PATCH', `/api/v1/nodes/${name}`, {
        body: { spec: { taints: null } },
        contentType: 'application/merge-patch+json',
      });
      // Node status is not taken from a create: set the capacity the scheduler fits pods into.
      await this.admin.request('PATCH', `/api/v1/nodes/${name}/status`, {
        body: { status: { capacity, allocatable: capacity } },
        contentType: 'application/merge-patch+json',
      });
    }
  }

  /** Everything a build namespace needs for builds to run: the ServiceAccount, the Task and the Pipeline. */
  async installBuildPipeline(namespace: string, withServiceAccount = true): Promise<void> {
    if (withServiceAccount) {
      await this.writer.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: BUILD_SERVICE_ACCOUNT, namespace } });
    }
    await this.writer.apply(buildTask(namespace, this.options.buildResources));
    await this.writer.apply(buildPipeline(namespace));
  }

  async createNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
    await this.writer.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    await waitFor(`ServiceAccount ${name}/default`, 20_000, async () => {
      try {
        await this.admin.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`);
        return true;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  /**
   * One tiny build through the whole chain (Tekton, scheduler, kwok) before anything is
   * measured, so that no measurement includes a controller's start-up.
   */
  private async warmUp(): Promise<void> {
    const namespace = 'sim-warmup';
    await this.createNamespace(namespace);
    await this.installBuildPipeline(namespace);
    const run = await this.admin.request<RunObject>('POST', `/apis/tekton.dev/v1/namespaces/${namespace}/pipelineruns`, {
      body: buildPipelineRun(namespace, 'warmup', 1),
    });
    await waitFor('a warm-up build to succeed (Tekton, kube-scheduler and kwok working together)', 90_000, async () => {
      const now = await this.admin.request<RunObject>('GET', `/apis/tekton.dev/v1/namespaces/${namespace}/pipelineruns/${run.metadata.name}`);
      const cond = succeeded(now);
      if (cond?.status === 'False') throw new Error(`warm-up build failed: ${cond.reason}: ${cond.message}`);
      return cond?.status === 'True' ? true : undefined;
    }, 250).catch((err: Error) => {
      throw new Error(`${err.message}\n--- tekton-pipelines-controller ---\n${this.logTail('tekton-pipelines-controller')}` +
        `\n--- kwok ---\n${this.logTail('kwok')}\n--- kube-scheduler ---\n${this.logTail('kube-scheduler')}`);
    });
    // A DELETE without a body: KubeClient sends a DELETE's body without Content-Length,
    // which the API server reads as the start of the next request on that connection.
    await this.admin.request('DELETE', `/api/v1/namespaces/${namespace}`);
  }

  /**
   * Waits until the resourcequota controller counts a CRD's objects (e.g.
   * count/pipelineruns.tekton.dev). It finds a new CRD only at its next discovery pass
   * (every 30 s), and a quota it saw before then stays "status unknown" for that resource,
   * refusing every such object, until its full resync (5 min): so quotas that count
   * PipelineRuns must be made only after this.
   */
  async waitForObjectCountQuota(resource: string): Promise<void> {
    const namespace = 'sim-quota-probe';
    const path = `/api/v1/namespaces/${namespace}/resourcequotas/probe`;
    await this.createNamespace(namespace);
    await waitFor(`the resourcequota controller to count ${resource}`, 90_000, async () => {
      // Made anew each time: a quota made before the discovery is not counted again soon.
      await this.admin.request('DELETE', path).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      await this.writer.apply({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'probe', namespace }, spec: { hard: { [resource]: '1' } } });
      await sleep(1500);
      const rq = await this.admin.request<{ status?: { used?: Record<string, string> } }>('GET', path);
      return rq.status?.used?.[resource] !== undefined ? true : undefined;
    }, 1000);
    await this.admin.request('DELETE', `/api/v1/namespaces/${namespace}`);
  }

  /** The API server's count of refused pod creations (quota refusals are 403s). */
  async refusedPodCreates(): Promise<number> {
    const text = await this.metricsText();
    let total = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith('apiserver_request_total{')) continue;
      if (line.includes('resource="pods"') && line.includes('verb="POST"') && line.includes('code="403"') &&
        line.includes('subresource=""')) {
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }

  /** The API server's /metrics (Prometheus text, which the JSON client would refuse to ask for). */
  private metricsText(): Promise<string> {
    const { certPem, keyPem } = this.plane.pki.mintClient({ user: 'sim-metrics', groups: ['system:masters'] });
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${this.plane.server}/metrics`, { ca: this.plane.pki.caPem(), cert: certPem, key: keyPem, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200
          ? resolve(Buffer.concat(chunks).toString('utf8'))
          : reject(new Error(`GET /metrics: HTTP ${res.statusCode}`))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('GET /metrics timed out')));
      req.end();
    });
  }

  private spawn(name: string, bin: string, args: string[], env: Record<string, string> = {}): void {
    const logFd = openSync(join(this.logDir, `${name}.log`), 'a');
    const child = spawn(bin, args, { stdio: ['ignore', logFd, logFd], env: { ...process.env, ...env } });
    closeSync(logFd);
    child.on('exit', (code, signal) => {
      if (!this.stopped) process.stderr.write(`simulation: ${name} exited (${code ?? signal})\n${this.logTail(name, 15)}\n`);
    });
    this.processes.push({ name, child });
  }

  /**
   * CPU seconds (user + system) each component of this cluster has used so far, read
   * from /proc: which of them the machine's two cores were busy with.
   */
  cpuSeconds(): Record<string, number> {
    const ticksPerSecond = 100;
    const used: Record<string, number> = {};
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        if (!argv.some((a) => a.includes(this.plane.dir))) continue;
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const name = basename(argv[0] ?? pid).replace(/-v\d.*$/, '');
        used[name] = (used[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
      } catch {
        // The process ended meanwhile.
      }
    }
    return used;
  }

  /** A component that died while it should be running, if any. */
  deadComponent(): string | undefined {
    return this.processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null)?.name;
  }

  logTail(name: string, lines = 30): string {
    const path = join(this.logDir, `${name}.log`);
    if (!existsSync(path)) return '(no log)';
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  }

  /** Stops every process, newest first, then the control plane, which removes the data directory. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.admin.close();
    for (const { child } of [...this.processes].reverse()) await stopProcess(child);
    if (this.options.keepLogsIn) {
      try {
        cpSync(this.logDir, this.options.keepLogsIn, { recursive: true });
      } catch (err) {
        process.stderr.write(`simulation: logs not kept: ${errorMessage(err)}\n`);
      }
    }
    await this.plane.stop();
  }
}
