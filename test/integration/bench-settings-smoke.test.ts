// The memory settings benchmark (bench/settings.ts) at 20 tools, so that it cannot rot
// unnoticed: it converges a fleet of its own, restarts the operator with each setting, rolls
// a policy out, and prints one row per setting. Figures are the benchmark's to report; this
// checks that the settings reached the process and that a restart wrote nothing.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../envtest/controlplane.js';

const TOOLS = 20;
let workDir: string;
let rows: string[][];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'bno-bench-settings-'));
  const { stdout } = await promisify(execFile)(process.execPath, [
    join(repoRoot(), 'dist-tools/bench/settings.js'), `--tools=${TOOLS}`, `--work-dir=${workDir}`,
    '--setting=deployment', '--setting=MALLOC_ARENA_MAX=1 --min-semi-space-size=8',
  ], { encoding: 'utf8' });
  rows = stdout.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| setting')).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}, 300_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the memory settings benchmark at 20 tools', () => {
  it('prints a row per setting, the Deployment\'s environment named in the first', () => {
    expect(rows.map((r) => r[0])).toEqual([
      "the Deployment's (NODE_OPTIONS=--max-semi-space-size=2 MALLOC_ARENA_MAX=2)",
      'MALLOC_ARENA_MAX=1 --min-semi-space-size=8',
    ]);
  });

  it('starts each operator with its setting: the young generation follows the semi-space size', () => {
    const young = rows.map((r) => Number(r[4]!.split('/')[0]));
    // The Deployment's semi-spaces stop at 2 MB; a minimum of 8 MB makes the young generation
    // start at least that large, which only a flag that reached the process can do.
    expect(young[0]).toBeLessThanOrEqual(4);
    expect(young[1]).toBeGreaterThanOrEqual(8);
  });

  it('writes nothing on any restart, and rolls the policy out under every setting', () => {
    for (const row of rows) {
      expect(row[7]).toBe('0');
      expect(Number(row[6])).toBeGreaterThan(0);
    }
  });
});
