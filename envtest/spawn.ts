// Starts the control-plane supervisor as a child process and hands back its details:
// used by Jest's global setup, the demo and the benchmarks alike.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ControlPlaneInfo, ControlPlaneOptions } from './controlplane.js';
import { repoRoot } from './controlplane.js';

export interface SupervisedControlPlane {
  info: ControlPlaneInfo;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startSupervisedControlPlane(options: ControlPlaneOptions = {}): Promise<SupervisedControlPlane> {
  const script = join(repoRoot(), 'dist-tools/envtest/supervisor.js');
  const child = spawn(process.execPath, [script], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, BNO_CONTROL_PLANE_OPTIONS: JSON.stringify(options) },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const firstLine = new Promise<string | undefined>((resolve) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve(line));
    lines.once('close', () => resolve(undefined));
  });
  const line = await Promise.race([firstLine, exited.then(() => undefined)]);
  if (!line) throw new Error(`the control plane did not start (supervisor ${script} exited)`);
  const info = JSON.parse(line) as ControlPlaneInfo;
  return {
    info,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
