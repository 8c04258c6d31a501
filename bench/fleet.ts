// `make bench`: how fast the fleet converges and what it costs at rest, at one or more fleet
// sizes. Prints a Markdown table and writes every figure as JSON to bench/results/.
//
//   node dist-tools/bench/fleet.js --tools 1000[,10000] [--samples 100] [--idle-seconds 30]
//        [--profile | --heap-snapshot] [--apiserver-arg=--max-requests-inflight=800 ...] [--workers 8]
//        [--operator-node-arg=--max-old-space-size=256 ...]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../envtest/controlplane.js';
import { formatEnv } from './operator-under-test.js';
import { formatReports, runFleet, type FleetReport } from './run.js';

const { values } = parseArgs({
  options: {
    tools: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '100' },
    'idle-seconds': { type: 'string', default: '30' },
    profile: { type: 'boolean', default: false },
    'heap-snapshot': { type: 'boolean', default: false },
    'apiserver-arg': { type: 'string', multiple: true, default: [] },
    'operator-node-arg': { type: 'string', multiple: true, default: [] },
    workers: { type: 'string' },
    out: { type: 'string' },
  },
});

const sizes = values.tools.split(',').map((s) => Number(s.trim()));
if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--tools wants positive integers, got ${values.tools}`);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = join(repoRoot(), 'bench/results');
const out = values.out ?? join(resultsDir, `fleet-${sizes.join('-')}-${stamp}.json`);
const log = (message: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const reports: FleetReport[] = [];
for (const tools of sizes) {
  const workDir = join(resultsDir, `run-${tools}-${stamp}`);
  mkdirSync(workDir, { recursive: true });
  log(`fleet of ${tools} tools (logs in ${workDir})`);
  const report = await runFleet({
    tools,
    samples: Number(values.samples),
    idleMs: Number(values['idle-seconds']) * 1000,
    workDir,
    profile: values.profile,
    heapSnapshot: values['heap-snapshot'],
    apiserverArgs: values['apiserver-arg'],
    operatorNodeArgs: values['operator-node-arg'],
    workers: values.workers ? Number(values.workers) : undefined,
    log,
  });
  reports.push(report);
  // Written after every size, so a long run that fails later keeps what it measured.
  writeFileSync(out, `${JSON.stringify(reports, null, 2)}\n`);
}

const m = reports[0]!.machine;
process.stdout.write(`\n${formatReports(reports)}\n\n` +
  `${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, node ${m.node}, ${m.kubeApiserver}, ${m.etcd}\n` +
  `operator environment (manifests/deployment.yaml): ${formatEnv(reports[0]!.operatorEnv) || 'none'}\n` +
  `results: ${out}\n`);
