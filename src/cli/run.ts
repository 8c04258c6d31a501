// `run`: the operator process (the container's default command). Every RunConfig field is a
// flag and an environment variable; a flag wins over the variable, the variable over the
// default. The flag table below is the one source of the help text and of the README's table.
import { existsSync, readFileSync } from 'node:fs';
import { DEFAULT_RUN_CONFIG, runOperator, type RunConfig } from './run-operator.js';
import {
  formatDuration, parseBindAddress, parseBoolean, parseDuration, parseFlags, parseInteger, parseNumber,
  UsageError, type CommandIO, type Options,
} from './flags.js';

/** A pod's own namespace, as its ServiceAccount token mount says. */
const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];

/** client-go's leader election defaults. */
const LEASE_DEFAULTS = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 };

export interface RunFlag {
  flag: string;
  /** Environment variable; undefined for --kubeconfig, whose variable KUBECONFIG the credentials loader reads itself. */
  env?: string;
  value?: string;
  type: 'string' | 'boolean';
  default: string;
  help: string;
  set?: (config: RunConfig, text: string, what: string) => void;
}

const seconds = (field: 'relistIntervalSeconds' | 'shutdownTimeoutSeconds' | 'requestTimeoutSeconds') =>
  (c: RunConfig, t: string, what: string) => { c[field] = parseDuration(t, what); };

/** A comma-separated list, blanks dropped; "" is the empty list. */
const list = (field: 'podFenceImages' | 'podFenceRootImages' | 'podFenceEnv') =>
  (c: RunConfig, t: string) => { c[field] = t.split(',').map((v) => v.trim()).filter(Boolean); };

/** Lease timings go into the Lease in whole seconds (leaseDurationSeconds is an int32). */
const leaseSeconds = (field: 'leaseDurationSeconds' | 'renewDeadlineSeconds' | 'retryPeriodSeconds') =>
  (c: RunConfig, t: string, what: string) => {
    const s = parseDuration(t, what);
    if (field === 'leaseDurationSeconds' && (!Number.isInteger(s) || s < 1)) throw new UsageError(`${what}: "${t}" must be whole seconds, at least 1s`);
    if (s <= 0) throw new UsageError(`${what}: "${t}" must be more than 0`);
    c[field] = s;
  };

export const RUN_FLAGS: RunFlag[] = [
  { flag: 'kubeconfig', value: 'PATH', type: 'string', default: '$KUBECONFIG, else in-cluster, else ~/.kube/config',
    help: 'kubeconfig file to reach the API server with',
    set: (c, t) => { c.kubeconfig = t; } },
  { flag: 'workers', env: 'BNO_WORKERS', value: 'N', type: 'string', default: String(DEFAULT_RUN_CONFIG.workers),
    help: 'tools reconciled at once', set: (c, t, w) => { c.workers = parseInteger(t, w, 1); } },
  { flag: 'relist-interval', env: 'BNO_RELIST_INTERVAL', value: 'DURATION', type: 'string',
    default: formatDuration(DEFAULT_RUN_CONFIG.relistIntervalSeconds),
    help: 'relist every watched resource this often, a safety net under the watches (0 = never)', set: seconds('relistIntervalSeconds') },
  { flag: 'deletion-guard-share', env: 'BNO_DELETION_GUARD_SHARE', value: 'RATIO', type: 'string', default: String(DEFAULT_RUN_CONFIG.deletionGuardShare),
    help: 'hold back build namespace deletions once more than this share of them would go within a minute, and more than --deletion-guard-count',
    set: (c, t, w) => { c.deletionGuardShare = parseNumber(t, w, 0, 1); } },
  { flag: 'deletion-guard-count', env: 'BNO_DELETION_GUARD_COUNT', value: 'N', type: 'string', default: String(DEFAULT_RUN_CONFIG.deletionGuardCount),
    help: 'hold back build namespace deletions once more than this many would go within a minute, and more than --deletion-guard-share', set: (c, t, w) => { c.deletionGuardCount = parseInteger(t, w, 0); } },
  { flag: 'log-level', env: 'BNO_LOG_LEVEL', value: 'LEVEL', type: 'string', default: DEFAULT_RUN_CONFIG.logLevel,
    help: `JSON log level: ${LOG_LEVELS.join(', ')}`,
    set: (c, t, w) => {
      if (!LOG_LEVELS.includes(t)) throw new UsageError(`${w}: "${t}" is not one of ${LOG_LEVELS.join(', ')}`);
      c.logLevel = t;
    } },
  { flag: 'metrics-bind-address', env: 'BNO_METRICS_BIND_ADDRESS', value: 'ADDR', type: 'string', default: DEFAULT_RUN_CONFIG.metricsAddress,
    help: 'where /metrics is served (Prometheus)', set: (c, t, w) => { c.metricsAddress = parseBindAddress(t, w); } },
  { flag: 'health-probe-bind-address', env: 'BNO_HEALTH_PROBE_BIND_ADDRESS', value: 'ADDR', type: 'string', default: DEFAULT_RUN_CONFIG.healthAddress,
    help: 'where /healthz and /readyz are served (probes)', set: (c, t, w) => { c.healthAddress = parseBindAddress(t, w); } },
  { flag: 'leader-elect', env: 'BNO_LEADER_ELECT', type: 'boolean', default: String(DEFAULT_RUN_CONFIG.leaderElect),
    help: 'reconcile only while holding the Lease, so that replicas can stand by; --leader-elect=false for one process' },
  { flag: 'leader-election-namespace', env: 'BNO_LEADER_ELECTION_NAMESPACE', value: 'NS', type: 'string',
    default: `the pod's namespace, else ${DEFAULT_RUN_CONFIG.leaderElectionNamespace}`,
    help: 'namespace of the Lease', set: (c, t) => { c.leaderElectionNamespace = t; } },
  { flag: 'leader-election-id', env: 'BNO_LEADER_ELECTION_ID', value: 'NAME', type: 'string', default: DEFAULT_RUN_CONFIG.leaderElectionName,
    help: 'name of the Lease', set: (c, t) => { c.leaderElectionName = t; } },
  { flag: 'leader-election-lease-duration', env: 'BNO_LEADER_ELECTION_LEASE_DURATION', value: 'DURATION', type: 'string',
    default: formatDuration(LEASE_DEFAULTS.leaseDurationSeconds),
    help: 'a standby takes the Lease when its holder has not renewed it for this long', set: leaseSeconds('leaseDurationSeconds') },
  { flag: 'leader-election-renew-deadline', env: 'BNO_LEADER_ELECTION_RENEW_DEADLINE', value: 'DURATION', type: 'string',
    default: formatDuration(LEASE_DEFAULTS.renewDeadlineSeconds),
    help: 'the leader exits when it could not renew the Lease for this long', set: leaseSeconds('renewDeadlineSeconds') },
  { flag: 'leader-election-retry-period', env: 'BNO_LEADER_ELECTION_RETRY_PERIOD', value: 'DURATION', type: 'string',
    default: formatDuration(LEASE_DEFAULTS.retryPeriodSeconds),
    help: 'how often the leader renews and a standby tries', set: leaseSeconds('retryPeriodSeconds') },
  { flag: 'fence-exempt-users', env: 'BNO_FENCE_EXEMPT_USERS', value: 'USER,...', type: 'string',
    default: DEFAULT_RUN_CONFIG.fenceExemptUsers.join(','),
    help: 'users the build fence lets write PipelineRuns unchecked: Tekton\'s controller (it updates the runs it reconciles) and this operator (it starts held runs)',
    set: (c, t, w) => {
      const users = t.split(',').map((u) => u.trim()).filter(Boolean);
      if (users.length === 0) throw new UsageError(`${w}: name at least one user (Tekton's controller must update its runs)`);
      c.fenceExemptUsers = users;
    } },
  { flag: 'pod-fence-images', env: 'BNO_POD_FENCE_IMAGES', value: 'IMAGE,...', type: 'string', default: '',
    help: 'turns on the build pod fence: the only images build pods may run (the Tasks\' and builders\', Tekton\'s own); an entry ending in / allows every image under it',
    set: list('podFenceImages') },
  { flag: 'pod-fence-root-images', env: 'BNO_POD_FENCE_ROOT_IMAGES', value: 'IMAGE,...', type: 'string', default: '',
    help: 'of those, the images that may run as uid 0 (same form)', set: list('podFenceRootImages') },
  { flag: 'pod-fence-env', env: 'BNO_POD_FENCE_ENV', value: 'NAME,...', type: 'string', default: '',
    help: 'the env names a build pod\'s containers may set: those the Tasks declare', set: list('podFenceEnv') },
  { flag: 'max-running-builds', env: 'BNO_MAX_RUNNING_BUILDS', value: 'N', type: 'string', default: String(DEFAULT_RUN_CONFIG.maxRunningBuilds),
    help: 'the build queue: every PipelineRun of a build namespace is created held and started in turn, fairly across tools, with at most N running in the cluster (protecting the one Tekton controller); 0 turns the queue off (needs MutatingAdmissionPolicy, Kubernetes 1.36+)',
    set: (c, t, w) => { c.maxRunningBuilds = parseInteger(t, w, 0); } },
  { flag: 'shutdown-timeout', env: 'BNO_SHUTDOWN_TIMEOUT', value: 'DURATION', type: 'string',
    default: formatDuration(DEFAULT_RUN_CONFIG.shutdownTimeoutSeconds),
    help: 'on SIGTERM, how long in-flight reconciles may take before the Lease is released', set: seconds('shutdownTimeoutSeconds') },
  { flag: 'request-timeout', env: 'BNO_REQUEST_TIMEOUT', value: 'DURATION', type: 'string',
    default: formatDuration(DEFAULT_RUN_CONFIG.requestTimeoutSeconds),
    help: 'give up an API request (not a watch) that has no answer after this long (0 = never); Lease renewals use half the renew deadline', set: seconds('requestTimeoutSeconds') },
];

export const RUN_HELP = `Usage: build-namespace-operator run [flags]

Runs the operator: watches tool namespaces and BuildQuotaPolicies and keeps every tool's
build namespace as its policies say, until SIGTERM or SIGINT. Serves /metrics, /healthz and
/readyz. Logs are JSON lines on stderr. The default command.

Flags (each also read from the environment variable shown; a flag wins):
${RUN_FLAGS.map((f) => `  --${f.flag}${f.value ? ` ${f.value}` : ''}   (${f.env ? `$${f.env}, ` : ''}default: ${f.default})\n      ${f.help}\n`).join('')}  -h, --help
      show this help
`;

function inClusterNamespace(): string | undefined {
  try {
    return existsSync(IN_CLUSTER_NAMESPACE_FILE) ? readFileSync(IN_CLUSTER_NAMESPACE_FILE, 'utf8').trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A RunConfig from `flags` (those of RUN_FLAGS a command takes) as parsed, then their
 * environment variables, then the defaults: one reading for `run` and for `plan`.
 */
export function configFromFlags(
  flags: readonly RunFlag[], given: Record<string, unknown>, env: NodeJS.ProcessEnv, podNamespace = inClusterNamespace(),
): RunConfig {
  const config: RunConfig = { ...DEFAULT_RUN_CONFIG, leaderElectionNamespace: podNamespace ?? DEFAULT_RUN_CONFIG.leaderElectionNamespace };
  for (const f of flags) {
    const flagValue = given[f.flag];
    const envValue = f.env ? env[f.env] : undefined;
    const what = flagValue !== undefined ? `--${f.flag}` : `$${f.env}`;
    if (f.flag === 'leader-elect') {
      if (typeof flagValue === 'boolean') config.leaderElect = flagValue;
      else if (envValue !== undefined && envValue !== '') config.leaderElect = parseBoolean(envValue, what);
      continue;
    }
    const text = typeof flagValue === 'string' ? flagValue : envValue;
    if (text === undefined || text === '') continue;
    f.set!(config, text, what);
  }
  if (config.podFenceImages.length === 0 && (config.podFenceRootImages.length > 0 || config.podFenceEnv.length > 0)) {
    throw new UsageError('--pod-fence-root-images and --pod-fence-env need --pod-fence-images: without it there is no build pod fence');
  }
  return config;
}

/** The RunConfig from the flags, then the environment, then the defaults. */
export function parseRunConfig(args: readonly string[], env: NodeJS.ProcessEnv, podNamespace = inClusterNamespace()): RunConfig {
  const options: Options = { help: { type: 'boolean', short: 'h' } };
  for (const f of RUN_FLAGS) options[f.flag] = { type: f.type };
  const { values, positionals } = parseFlags(args, options, true);
  if (positionals.length) throw new UsageError(`run takes no arguments, got "${positionals.join(' ')}"`);
  const config = configFromFlags(RUN_FLAGS, values, env, podNamespace);
  const lease = { ...LEASE_DEFAULTS, ...definedOnly(config) };
  // client-go's rules: a leader must give up before a standby may take over, with jitter to spare.
  if (lease.leaseDurationSeconds <= lease.renewDeadlineSeconds) {
    throw new UsageError(`the lease duration (${formatDuration(lease.leaseDurationSeconds)}) must be longer than the renew deadline (${formatDuration(lease.renewDeadlineSeconds)})`);
  }
  if (lease.renewDeadlineSeconds <= 1.2 * lease.retryPeriodSeconds) {
    throw new UsageError(`the renew deadline (${formatDuration(lease.renewDeadlineSeconds)}) must be longer than 1.2 × the retry period (${formatDuration(lease.retryPeriodSeconds)})`);
  }
  return config;
}

function definedOnly(config: RunConfig): Partial<typeof LEASE_DEFAULTS> {
  const out: Partial<typeof LEASE_DEFAULTS> = {};
  for (const k of ['leaseDurationSeconds', 'renewDeadlineSeconds', 'retryPeriodSeconds'] as const) {
    if (config[k] !== undefined) out[k] = config[k];
  }
  return out;
}

export async function runCommand(args: readonly string[], io: CommandIO): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    io.out(RUN_HELP);
    return 0;
  }
  return runOperator(parseRunConfig(args, io.env));
}
