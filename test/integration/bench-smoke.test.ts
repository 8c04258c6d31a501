// The fleet benchmark (bench/) at 50 tools, so that it cannot rot unnoticed: every phase runs
// to its end and a restart against the converged fleet writes nothing. Timings are the
// benchmark's to report, not this test's to judge. It runs on control planes of its own, as
// `make bench` does: the floor needs a cluster the operator never sees, and a restarted
// operator on the shared one would also act on other files' leftover tools and policies,
// so its write count would depend on them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFleet, type FleetReport } from '../../bench/run.js';

const TOOLS = 50;
const SAMPLES = 5;
let workDir: string;
let report: FleetReport;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'bno-bench-smoke-'));
  report = await runFleet({
    tools: TOOLS,
    samples: SAMPLES,
    idleMs: 1_000,
    workDir,
    heapSnapshot: true,
    log: process.env.BNO_TEST_LOG_LEVEL === 'debug' ? (m) => process.stderr.write(`${m}\n`) : undefined,
  });
}, 300_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the fleet benchmark at 50 tools', () => {
  it('makes every build namespace directly for the floor: six writes per tool', () => {
    expect(report.floor).toMatchObject({ tools: TOOLS, writes: 6 * TOOLS });
    expect(report.floor.writesByVerb).toEqual({
      'APPLY limitranges': TOOLS,
      'APPLY namespaces': 2 * TOOLS,
      'APPLY resourcequotas': TOOLS,
      'APPLY rolebindings': TOOLS,
      'APPLY serviceaccounts': TOOLS,
    });
  });

  it('has the operator converge the fleet from cold with the same objects', () => {
    expect(report.coldConverge.tools).toBe(TOOLS);
    expect(report.coldConverge.ms).toBeGreaterThan(0);
    expect(report.coldConverge.operatorWrites).toMatchObject({
      'APPLY limitranges': TOOLS,
      'APPLY namespaces': 2 * TOOLS,
      'APPLY resourcequotas': TOOLS,
      'APPLY rolebindings': TOOLS,
      'APPLY serviceaccounts': TOOLS,
    });
  });

  it('makes zero writes when restarted against the converged fleet, and none at rest', () => {
    expect(report.restart.writes).toEqual({});
    expect(report.restart.initialPassMs).toBeGreaterThanOrEqual(report.restart.cachesSyncedMs);
    // One GET: the deletion guard reads its stored state before its first decision.
    expect(report.restart.reads.GET).toBe(1);
    expect(report.idle.writes).toEqual({});
  });

  it('rolls a changed quota key out with one write per ResourceQuota and nothing else of the tools', () => {
    expect(report.rollout).toMatchObject({ quotaWrites: TOOLS, otherOperatorWrites: 0 });
    expect(report.rollout.policyStatusWrites).toBeGreaterThanOrEqual(1);
  });

  it('takes every latency sample and measures the operator process', () => {
    expect(report.latency.newTool.samples).toBe(SAMPLES);
    expect(report.latency.restore.samples).toBe(SAMPLES);
    expect(report.memory.coldConvergePeakRssMB).toBeGreaterThan(0);
    expect(report.memory.atRestHeapUsedMB).toBeGreaterThan(0);
    // The snapshot's full GC leaves the live heap: some, and no more than was in use before it.
    expect(report.memory.liveHeapMB).toBeGreaterThan(0);
    expect(report.memory.liveHeapMB).toBeLessThanOrEqual(report.memory.atRestHeapUsedMB + 1);
    expect(report.controlPlanePeakRssMB['kube-apiserver']).toBeGreaterThan(0);
    expect(report.controlPlanePeakRssMB.etcd).toBeGreaterThan(0);
    expect(report.targets.map((t) => t.name)).toEqual(expect.arrayContaining(['cold converge / floor', 'writes on restart']));
  });
});
