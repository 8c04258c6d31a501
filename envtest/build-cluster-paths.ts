// Where a build cluster's binaries and module sources are (kube-scheduler, kwok, Tekton's
// controller, webhook and resolvers): asked of envtest/go/build-simulation.sh, which alone
// knows the pinned versions and the cache.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, testenvBinDir } from './controlplane.js';

export interface SimulationPaths {
  /** etcd, kube-apiserver, kube-controller-manager. */
  controlPlaneDir: string;
  scheduler: string;
  kwok: string;
  tekton: string;
  tektonWebhook: string;
  tektonResolvers: string;
  kwokVersion: string;
  tektonVersion: string;
  /** The kwok module in the Go module cache: its node stages are read from there. */
  kwokSource: string;
  /** The Tekton Pipelines module in the Go module cache: its CRDs and config maps. */
  tektonSource: string;
}

export const BUILD_COMMAND = 'bash envtest/go/build-simulation.sh';

export function simulationPaths(): SimulationPaths {
  const out = execFileSync('bash', [join(repoRoot(), 'envtest/go/build-simulation.sh'), '--paths'], { encoding: 'utf8' });
  const kv = new Map(out.trim().split('\n').map((line) => {
    const at = line.indexOf('=');
    return [line.slice(0, at), line.slice(at + 1)] as const;
  }));
  const get = (key: string) => {
    const value = kv.get(key);
    if (!value) throw new Error(`build-simulation.sh --paths did not say ${key}`);
    return value;
  };
  return {
    controlPlaneDir: testenvBinDir(),
    scheduler: get('scheduler'),
    kwok: get('kwok'),
    tekton: get('tekton'),
    tektonWebhook: get('tekton_webhook'),
    tektonResolvers: get('tekton_resolvers'),
    kwokVersion: get('kwok_version'),
    tektonVersion: get('tekton_version'),
    kwokSource: get('kwok_source'),
    tektonSource: get('tekton_source'),
  };
}

/** The binaries that are not built yet; empty when the simulation can run. */
export function missingBinaries(paths: SimulationPaths): string[] {
  const wanted = [
    ...['etcd', 'kube-apiserver', 'kube-controller-manager'].map((b) => join(paths.controlPlaneDir, b)),
    paths.scheduler, paths.kwok, paths.tekton, paths.tektonWebhook, paths.tektonResolvers,
  ];
  return wanted.filter((p) => !existsSync(p));
}
