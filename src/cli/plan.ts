// `plan`: what `run` would change now, and nothing written. Exit 0 when nothing is pending,
// 2 when changes are, 1 on error: a CI job or an admin after a policy edit can tell them apart.
import type { PlannedChange } from '../controller/plan.js';
import type { KubeClient } from '../kube/client.js';
import { configFromFlags, RUN_FLAGS } from './run.js';
import { cell, formatTable } from './table.js';
import {
  flagHelp, formatDuration, KUBECONFIG_HELP, parseDuration, parseFlags, UsageError, withTimeout, type CommandIO,
} from './flags.js';

export const EXIT_NO_CHANGES = 0;
export const EXIT_ERROR = 1;
export const EXIT_CHANGES_PENDING = 2;

/**
 * The settings of `run` that change what it keeps: the cluster-wide admission objects (the
 * fence's exemptions, the pod fence, the queue's hold) and where the deletion guard's hold is.
 * `plan` reads them as `run` does, flag then variable then default, so that with the
 * Deployment's environment (or none, for a Deployment left at the defaults) it plans that run.
 */
const PLAN_RUN_FLAGS = RUN_FLAGS.filter((f) => [
  'fence-exempt-users', 'pod-fence-images', 'pod-fence-root-images', 'pod-fence-env', 'max-running-builds',
  'deletion-guard-share', 'deletion-guard-count', 'leader-election-namespace',
].includes(f.flag));

export const PLAN_HELP = `Usage: build-namespace-operator plan [--diff] [-o table|json] [--kubeconfig PATH]

Shows what \`run\` would change now: the same reconcile of every tool against the same
watch caches, with a writer that records instead of writing (applies go to the API server
as server-side dry-runs). Run it after editing a BuildQuotaPolicy to see which tools and
objects the edit reaches. Needs read access to what the operator watches. The settings of
\`run\` that shape what it keeps are read as \`run\` reads them (flag, then environment
variable, then default): give the Deployment's, or leave them for its defaults.

Exit status: 0 no changes, 2 changes pending, 1 error.

Flags:
${flagHelp([
    ['--diff', 'also show, for each object to update, the fields that differ (path, want, got)'],
    ['-o, --output FORMAT', 'table (default) or json'],
    KUBECONFIG_HELP,
    ['--timeout DURATION', 'give up when the caches have not synced and every tool been planned by then (default 2m)'],
    ...PLAN_RUN_FLAGS.map((f): [string, string] => [`--${f.flag} ${f.value ?? ''}`.trimEnd(), `as for run ($${f.env}, default ${f.default}): ${f.help}`]),
    ['-h, --help', 'show this help'],
  ])}`;

const objectName = (c: PlannedChange) => (c.namespace ? `${c.namespace}/${c.name}` : c.name);

/** The plan as text: one row per object, then (with diff) the differing fields of each. */
export function formatPlan(changes: readonly PlannedChange[], diff: boolean): string {
  if (changes.length === 0) return 'no changes\n';
  let text = formatTable(['tool', 'kind', 'namespace/name', 'action'], changes.map((c) => [c.tool, c.kind, objectName(c), c.held ? `${c.action} (held)` : c.action]));
  if (diff) {
    for (const c of changes.filter((x) => x.diffs.length > 0)) {
      text += `\n${c.kind} ${objectName(c)} (tool ${c.tool}):\n`;
      text += formatTable(['path', 'want', 'got'], c.diffs.map((d) => [d.path, cell(d.want), cell(d.got)]), '  ');
    }
  }
  const tools = new Set(changes.map((c) => c.tool)).size;
  const count = (action: string) => changes.filter((c) => c.action === action).length;
  text += `\n${changes.length} change(s) for ${tools} tool(s): ${count('create')} to create, ${count('update')} to update, ${count('delete')} to delete\n`;
  const held = changes.filter((c) => c.held).length;
  if (held) text += `${held} deletion(s) held back by the mass-deletion guard: see status.deletionHold of the BuildQuotaPolicies\n`;
  return text;
}

export async function planCommand(args: readonly string[], io: CommandIO): Promise<number> {
  const { values } = parseFlags(args, {
    diff: { type: 'boolean' },
    output: { type: 'string', short: 'o', default: 'table' },
    kubeconfig: { type: 'string' },
    timeout: { type: 'string', default: '2m' },
    help: { type: 'boolean', short: 'h' },
    ...Object.fromEntries(PLAN_RUN_FLAGS.map((f) => [f.flag, { type: f.type }])),
  });
  if (values.help) {
    io.out(PLAN_HELP);
    return 0;
  }
  const output = values.output as string;
  if (!['table', 'json'].includes(output)) throw new UsageError(`--output: "${output}" is not table or json`);
  const timeout = parseDuration(values.timeout as string, '--timeout');
  const config = configFromFlags(PLAN_RUN_FLAGS, values, io.env);

  const [{ KubeClient }, { loadKubeConfig }] = await Promise.all([import('../kube/client.js'), import('../kube/credentials.js')]);
  const { planChanges } = await import('../controller/plan.js');
  const { operatorOptions } = await import('./run-operator.js');
  let client: KubeClient | undefined;
  let changes: PlannedChange[];
  try {
    client = new KubeClient(loadKubeConfig(values.kubeconfig as string | undefined));
    changes = await withTimeout(planChanges(client, operatorOptions(config)), timeout,
      `no plan within ${formatDuration(timeout)}: is the API server reachable, and may this identity list and watch ` +
      'namespaces, BuildQuotaPolicies and the managed kinds?');
  } catch (err) {
    io.err(`plan failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  } finally {
    client?.close();
  }
  if (output === 'json') io.out(`${JSON.stringify({ changes }, null, 2)}\n`);
  else io.out(formatPlan(changes, Boolean(values.diff)));
  return changes.length ? EXIT_CHANGES_PENDING : EXIT_NO_CHANGES;
}
