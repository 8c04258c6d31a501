// A real kubectl, built from the same pinned Kubernetes module as the control plane
// (envtest/go/build.sh kubectl): tests, the demo and developers use it as admins would.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { testenvBinDir } from './controlplane.js';

export const kubectlPath = (): string => join(testenvBinDir(), 'kubectl');

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl to its end; never throws on a non-zero exit (the caller reads `code`). */
export function kubectl(args: readonly string[], options: { kubeconfig?: string; input?: string; cwd?: string } = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {}) };
    const child = execFile(kubectlPath(), [...args], { env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      // A spawn failure has a string code (ENOENT); an exit has the number it exited with.
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      if (typeof code !== 'number') return reject(err ?? new Error('kubectl did not run'));
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
