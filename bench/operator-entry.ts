// The operator as the benchmark runs it: runOperator from src/main.ts, leader election off,
// in a child process of its own so that its RSS is its own and a restart is a real one.
// Configured by environment: BNO_BENCH_KUBECONFIG, BNO_BENCH_ADDRESS (/metrics and /readyz),
// BNO_BENCH_LOG_LEVEL, BNO_BENCH_WORKERS.
import { DEFAULT_RUN_CONFIG, runOperator } from '../src/cli/run-operator.js';

// The benchmark holds our stdin: when it goes away, so do we, as if told to stop.
process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();

const address = process.env.BNO_BENCH_ADDRESS ?? '127.0.0.1:8080';
const code = await runOperator({
  ...DEFAULT_RUN_CONFIG,
  kubeconfig: process.env.BNO_BENCH_KUBECONFIG,
  workers: Number(process.env.BNO_BENCH_WORKERS ?? DEFAULT_RUN_CONFIG.workers),
  logLevel: process.env.BNO_BENCH_LOG_LEVEL ?? 'warn',
  metricsAddress: address,
  healthAddress: address,
  leaderElect: false,
});
process.exit(code);
