// What each memory setting of the operator's process does, on one fleet (bench/README.md, "Memory").
// The fleet is converged once; then the operator is restarted with each setting in turn and
// rolls a policy change out to every tool, so each setting sees the same list of every object
// and the same 10,000 (or N) writes. Prints a Markdown table.
//
//   node dist-tools/bench/settings.js --tools 10000 --setting=deployment \
//        --setting= --setting=--max-semi-space-size=4 '--setting=MALLOC_ARENA_MAX=2 --max-semi-space-size=4'
//
// A setting is node flags and NAME=value environment entries, in place of the Deployment's
// environment; `deployment` is the Deployment's own (manifests/deployment.yaml), '' none.
// The operators' logs go to --work-dir (bench/results/settings-* unless given).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../envtest/controlplane.js';
import { startSupervisedControlPlane } from '../envtest/spawn.js';
import { waitQuiet } from './apiserver.js';
import { deploymentEnv, formatEnv, metricValue, type OperatorProcess } from './operator-under-test.js';
import {
  applyPolicy, coldConvergePhase, createToolNamespaces, fleetOf, fleetPolicy, preparePlane, restartPhase, rolloutPhase, watchQuotas,
  type OperatorRun,
} from './phases.js';

const { values } = parseArgs({
  options: {
    tools: { type: 'string', default: '10000' },
    setting: { type: 'string', multiple: true, default: ['deployment', ''] },
    'work-dir': { type: 'string' },
  },
});

interface Setting {
  label: string;
  nodeArgs: string[];
  env: Record<string, string>;
}

function parseSetting(text: string): Setting {
  if (text === 'deployment') {
    const env = deploymentEnv();
    return { label: `the Deployment's (${formatEnv(env)})`, nodeArgs: [], env };
  }
  const words = text.split(/\s+/).filter(Boolean);
  const isEnv = (w: string) => /^[A-Z_][A-Z0-9_]*=/.test(w);
  const env = Object.fromEntries(words.filter(isEnv).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  const nodeArgs = words.filter((w) => w.startsWith('--'));
  const unknown = words.filter((w) => !w.startsWith('--') && !isEnv(w));
  if (unknown.length > 0) throw new Error(`--setting "${text}": ${unknown.join(' ')} is neither a node flag nor NAME=value`);
  return { label: text === '' ? 'none (V8 and glibc defaults; `run` sets the heap growth)' : text, nodeArgs, env };
}

const tools = Number(values.tools);
if (!Number.isInteger(tools) || tools < 1) throw new Error(`--tools wants a positive integer, got ${values.tools}`);
const settings = values.setting.map(parseSetting);
const log = (message: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const mb = (bytes: number) => Math.round(bytes / 1024 ** 2);
const workDir = values['work-dir'] ?? join(repoRoot(), 'bench/results', `settings-${tools}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(workDir, { recursive: true });

let logs = 0;
const runWith = (kubeconfig: string, setting: Setting): OperatorRun => ({
  kubeconfig, logFile: () => join(workDir, `operator-${++logs}.log`), nodeArgs: setting.nodeArgs, env: setting.env,
});

/** V8's young generation and old space as the operator's /metrics says, MB. */
async function spaces(operator: OperatorProcess): Promise<{ young: number; old: number }> {
  const text = await operator.metrics();
  const size = (space: string) => mb(metricValue(text, 'nodejs_heap_space_size_total_bytes', { space }) ?? 0);
  return { young: size('new'), old: size('old') };
}

const rows: string[] = [];
const fleet = fleetOf(tools, 'fleet');
const supervised = await startSupervisedControlPlane({});
try {
  const plane = await preparePlane(supervised.info, workDir, supervised.child.pid);
  log(`setup: ${tools} tool namespaces, converged once`);
  await createToolNamespaces(plane, fleet);
  await applyPolicy(plane, fleetPolicy(fleet, '4'));
  await waitQuiet(plane.admin);
  let { operator } = await coldConvergePhase(plane, fleet, runWith(plane.operatorKubeconfig, settings[0]!), { log });
  const quotas = watchQuotas(plane);
  await quotas.start();
  let pods = 4;
  try {
    for (const setting of settings) {
      log(`setting: ${setting.label}`);
      const restarted = await restartPhase(plane, fleet, operator, runWith(plane.operatorKubeconfig, setting));
      operator = restarted.operator;
      const afterRestart = operator.memory().peakRssBytes;
      const cpuBefore = operator.cpuSeconds();
      const rollout = await rolloutPhase(plane, fleet, quotas, { from: String(pods), to: String(pods + 1) });
      pods++;
      await operator.sample();
      const { young, old } = await spaces(operator);
      const restartWrites = Object.values(restarted.result.writes).reduce((a, b) => a + b, 0);
      rows.push(`| ${setting.label} | ${mb(afterRestart)} | **${mb(operator.memory().peakRssBytes)}** | ${mb(operator.peaks.heapUsedBytes)} | ` +
        `${young} / ${old} | ${(operator.cpuSeconds() - cpuBefore).toFixed(1)} | ${(rollout.ms / 1000).toFixed(1)} | ${restartWrites} |`);
    }
  } finally {
    await operator.stop();
    await quotas.stop();
    plane.admin.close();
  }
} finally {
  await supervised.stop();
}

process.stdout.write(`\n${tools} tools, converged once; the operator restarted with each setting, then a rollout (${tools} quota writes).\n\n` +
  '| setting | peak RSS after the restart (MB) | peak RSS after the rollout (MB) | peak heap used (MB) | young generation / old space at the end (MB) | rollout CPU (s) | rollout (s) | writes on restart |\n' +
  '|---|---|---|---|---|---|---|---|\n' +
  `${rows.join('\n')}\n`);
