// A control plane that schedules pods: the test control plane with the Deployment and
// ReplicaSet controllers, kube-scheduler, and kwok playing the kubelet of a few fake nodes.
// kwok's own "fast" stages mark a scheduled pod Running and Ready at once without running
// any container: a Deployment rolls out here, but its program never starts.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../src/kube/client.js';
import { loadKubeConfig } from '../src/kube/credentials.js';
import { eventually } from './cluster.js';
import { ControlPlane, DEFAULT_CONTROLLERS, repoRoot, stopProcess } from './controlplane.js';

export const KWOK_NODE_LABEL = 'kwok.toolforge.org/node';

/** What the pods of a Deployment need: its controllers, and PDBs' status. */
const CONTROLLERS = [...DEFAULT_CONTROLLERS, 'deployment-controller', 'replicaset-controller', 'disruption-controller'];

/** kube-scheduler and kwok from build-simulation.sh's cache, and kwok's module (its stages). */
function schedulingPaths(): { scheduler: string; kwok: string; kwokSource: string } {
  const out = execFileSync('bash', [join(repoRoot(), 'envtest/go/build-simulation.sh'), '--paths'], { encoding: 'utf8' });
  const kv = new Map(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
  const paths = { scheduler: kv.get('scheduler') ?? '', kwok: kv.get('kwok') ?? '', kwokSource: kv.get('kwok_source') ?? '' };
  for (const [what, path] of Object.entries(paths)) {
    if (!path || !existsSync(path)) throw new Error(`${what} is missing (${path || 'not downloaded'}): run "make testenv"`);
  }
  return paths;
}

/** kwok's own Stage objects from its module: a node becomes Ready, a pod Running and Ready, a deleted pod goes. */
function kwokStages(kwokSource: string): string {
  const files = ['node/fast/node-initialize.yaml', 'pod/fast/pod-ready.yaml', 'pod/fast/pod-complete.yaml', 'pod/fast/pod-delete.yaml'];
  return files.map((f) => readFileSync(join(kwokSource, 'kustomize/stage', f), 'utf8')).join('\n---\n');
}

export class KwokCluster {
  private readonly processes: { name: string; child: ChildProcess }[] = [];
  private stopped = false;
  readonly admin: KubeClient;

  private constructor(readonly plane: ControlPlane, readonly nodes: string[]) {
    this.admin = new KubeClient(loadKubeConfig(plane.adminKubeconfig));
  }

  get kubeconfig(): string {
    return this.plane.adminKubeconfig;
  }

  static async start(nodeCount = 2): Promise<KwokCluster> {
    const paths = schedulingPaths();
    const plane = await ControlPlane.start({ controllers: CONTROLLERS });
    const cluster = new KwokCluster(plane, Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`));
    try {
      await cluster.boot(paths);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private async boot(paths: { scheduler: string; kwok: string; kwokSource: string }): Promise<void> {
    const kubeconfig = (name: string) => {
      const path = join(this.plane.dir, `${name}.kubeconfig`);
      this.plane.writeKubeconfig({ user: `system:${name}`, groups: ['system:masters'] }, path);
      return path;
    };
    this.spawn('kube-scheduler', paths.scheduler, [`--kubeconfig=${kubeconfig('kube-scheduler')}`, '--leader-elect=false', '--secure-port=0', '--profiling=false']);
    const config = join(this.plane.dir, 'kwok.yaml');
    writeFileSync(config, kwokStages(paths.kwokSource));
    this.spawn('kwok', paths.kwok, [
      `--kubeconfig=${kubeconfig('kwok')}`, `--config=${config}`, '--manage-all-nodes=false',
      `--manage-nodes-with-label-selector=${KWOK_NODE_LABEL}=true`, '--cidr=10.244.0.0/16', '--node-ip=10.99.0.1',
    ]);
    const capacity = { cpu: '4', memory: '8Gi', pods: '110' };
    for (const name of this.nodes) {
      await this.admin.request('POST', '/api/v1/nodes', {
        body: {
          apiVersion: 'v1', kind: 'Node',
          metadata: {
            name,
            labels: { [KWOK_NODE_LABEL]: 'true', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
            annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          },
        },
      });
      // TaintNodesByCondition taints a new node not-ready; no node lifecycle controller runs to lift it.
      await this.admin.request('PATCH', `/api/v1/nodes/${name}`, { body: { spec: { taints: null } }, contentType: 'application/merge-patch+json' });
      await this.admin.request('PATCH', `/api/v1/nodes/${name}/status`, {
        body: { status: { capacity, allocatable: capacity } }, contentType: 'application/merge-patch+json',
      });
    }
    await eventually(async () => {
      const list = await this.admin.request<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>('GET', '/api/v1/nodes', {
        query: { labelSelector: `${KWOK_NODE_LABEL}=true` },
      });
      const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      if (ready !== this.nodes.length) throw new Error(`${ready} of ${this.nodes.length} kwok nodes Ready\n${this.plane.logTail('kwok')}`);
    }, { timeoutMs: 60_000, intervalMs: 500 });
  }

  private spawn(name: string, bin: string, args: string[]): void {
    const logFd = openSync(join(this.plane.dir, 'logs', `${name}.log`), 'a');
    const child = spawn(bin, args, { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    child.on('exit', (code, signal) => {
      if (!this.stopped) process.stderr.write(`kwok cluster: ${name} exited (${code ?? signal})\n${this.plane.logTail(name, 15)}\n`);
    });
    this.processes.push({ name, child });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.admin.close();
    for (const { child } of [...this.processes].reverse()) await stopProcess(child);
    await this.plane.stop();
  }
}
