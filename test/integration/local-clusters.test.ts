// The two local clusters the README gives a newcomer, run as `make demo` and `make dev ONCE=1`
// run them (compiled, on control planes of their own): each ends with exit 0 after showing
// what it promises, so a change that breaks either fails here and not on a newcomer's machine.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../envtest/controlplane.js';

function runScript(script: string, args: string[] = []): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot(), 'dist-tools/demo', script), ...args], { maxBuffer: 16 * 1024 * 1024, timeout: 280_000 }, (err, stdout, stderr) => {
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : -1, output: stdout + stderr });
    });
  });
}

describe('the local clusters of the README', () => {
  it('make demo: the operator builds, fences and cleans up, and plan says no changes', async () => {
    const { code, output } = await runScript('demo.js');
    expect({ code, tail: output.slice(-2000) }).toEqual({ code: 0, tail: expect.stringContaining('Stopped the operator (exit 0)') });
    expect(output).toContain("cdnjs's build, as builds-api creates it (the buildpacks Pipeline, its own image): admitted");
    expect(output).toContain('spec.pipelineSpec is not allowed in a build namespace');
    expect(output).toContain('spec.taskRunTemplate.podTemplate is not allowed');
    expect(output).toContain('spec.params[APP_IMAGE] must be a string matching');
    expect(output).toContain('(exit 0: the cluster is as the policies say)');
  }, 300_000);

  it('make dev ONCE=1: a tool\'s build runs on the real Tekton to Succeeded, and a forbidden one is refused', async () => {
    const { code, output } = await runScript('dev.js', ['--once']);
    expect({ code, tail: output.slice(-2000) }).toEqual({ code: 0, tail: expect.stringContaining('Stopped the operator (exit 0)') });
    expect(output).toMatch(/succeeded \(Succeeded\): Tasks Completed: 1/);
    expect(output).toContain('an inline pipelineSpec: spec.pipelineSpec is not allowed');
    expect(output).toContain("another tool's image: spec.params[APP_IMAGE] must be a string matching");
  }, 300_000);
});
