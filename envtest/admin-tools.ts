// helm and promtool, built from their pinned Go modules (envtest/go/build-admin-tools.sh)
// into the test cache; run to their end with their output, never throwing on an exit code.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './controlplane.js';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

function adminToolPath(name: 'helm' | 'promtool'): string {
  const out = execFileSync('bash', [join(repoRoot(), 'envtest/go/build-admin-tools.sh'), '--paths'], { encoding: 'utf8' });
  const path = out.split('\n').find((l) => l.startsWith(`${name}=`))?.slice(name.length + 1) ?? '';
  if (!existsSync(path)) throw new Error(`${name} is not built (${path}): run "make testenv"`);
  return path;
}

export const helmPath = (): string => adminToolPath('helm');
export const promtoolPath = (): string => adminToolPath('promtool');

/** Runs a command to its end; the caller reads `code`. */
export function runTool(bin: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(bin, [...args], { env: { ...process.env, ...options.env }, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      if (typeof code !== 'number') return reject(err ?? new Error(`${bin} did not run`));
      resolve({ code, stdout, stderr });
    });
  });
}
