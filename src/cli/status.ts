// `status`: one row per tool, as an admin asks about the fleet: is its build namespace ready,
// how much of its quota is in use, how many builds are running and queued. Read-only: a handful of
// cluster-wide lists (namespaces, policies, quotas, PipelineRuns), never one request per tool.
import { toolFromNamespace } from '../api/tool.js';
import {
  ANNOTATION_ORPHANED, LABEL_MANAGED_BY, LABEL_READY, LABEL_TOOL, MANAGER, READY_VALUE, TOOL_NAMESPACE_PREFIX,
  type BuildQuotaPolicy,
} from '../api/types.js';
import { policiesForTool } from '../policy/index.js';
import { BUILD_QUOTA_NAME } from '../render/index.js';
import { FENCE_ANNOTATION_PREFIX } from '../render/fence.js';
import { queueStanding, type QueuedRunView } from '../render/build-queue.js';
import type { KubeClient, Query } from '../kube/client.js';
import type { KubeObject } from '../api/meta.js';
import { BUILD_QUOTA_POLICIES, collectionPath, NAMESPACES, RESOURCE_QUOTAS } from '../kube/resources.js';
import { flagHelp, KUBECONFIG_HELP, parseDuration, parseFlags, UsageError, withTimeout, type CommandIO } from './flags.js';
import { formatTable } from './table.js';

export const STATUS_HELP = `Usage: build-namespace-operator status [--tool NAME] [-o table|json] [--kubeconfig PATH]

One row per tool that a BuildQuotaPolicy matches or that has a build namespace: the build
namespace, whether it is ready, its quota in use (used/hard) for pods, requests.cpu and
requests.memory from the ResourceQuota build-quota, its running builds (PipelineRuns started
and not finished) and its queued builds (held in the build queue), "-" when the cluster does
not serve tekton.dev; and the Pipelines its build fence allows (-o json: every parameter of
the fence, as the build namespace holds them for the API server). A tool namespace
whose name gives no valid tool name is listed as skipped.

Flags:
${flagHelp([
    ['--tool NAME', 'only this tool; repeatable'],
    ['-o, --output FORMAT', 'table (default) or json'],
    KUBECONFIG_HELP,
    ['--timeout DURATION', 'give up after this long (default 1m)'],
    ['-h, --help', 'show this help'],
  ])}`;

export interface ToolRow {
  tool: string;
  /** Undefined when the tool has none (yet). */
  buildNamespace?: string;
  /** yes, no, orphaned, terminating, missing, or skipped (invalid tool name). */
  ready: string;
  /** Why not ready, when known: the policy status failure reason or the skip reason. */
  reason?: string;
  pods?: QuotaCell;
  cpu?: QuotaCell;
  memory?: QuotaCell;
  /** Undefined when tekton.dev is not served. */
  runningBuilds?: number;
  /** Held in the build queue, waiting their turn; undefined when tekton.dev is not served. */
  queuedBuilds?: number;
  /**
   * The build fence's parameters as the build namespace holds them (what the API server
   * enforces): pipelines, params, patterns, timeouts, prefixes; undefined without a build namespace.
   */
  fence?: Record<string, string>;
}

export interface QuotaCell {
  used?: string;
  hard: string;
}

interface Quota extends KubeObject {
  spec?: { hard?: Record<string, string> };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

type PipelineRun = KubeObject & QueuedRunView;

// Not imported from kube/client.js, whose client library is slow to load: see cli/main.ts.
const isNotFound = (err: unknown) => (err as { code?: unknown } | undefined)?.code === 404;

interface ApiGroup {
  preferredVersion?: { groupVersion: string };
}

/** Every item of a collection, page by page. */
async function listAll<T>(client: KubeClient, path: string, query: Query = {}): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page = await client.request<{ items: T[]; metadata: { continue?: string } }>('GET', path, { query: { ...query, limit: 500, continue: next } });
    items.push(...page.items);
    next = page.metadata.continue || undefined;
  } while (next);
  return items;
}

function quotaCell(quota: Quota | undefined, ...keys: string[]): QuotaCell | undefined {
  if (!quota) return undefined;
  // status.hard is what the quota controller enforces; spec.hard until it has caught up.
  const hard = quota.status?.hard ?? quota.spec?.hard ?? {};
  const key = keys.find((k) => hard[k] !== undefined);
  if (!key) return undefined;
  return { used: quota.status?.used?.[key], hard: hard[key]! };
}

/** The PipelineRun resource path of the preferred tekton.dev version, or undefined when not served. */
async function pipelineRunsPath(client: KubeClient): Promise<string | undefined> {
  try {
    const group = await client.request<ApiGroup>('GET', '/apis/tekton.dev');
    const version = group.preferredVersion?.groupVersion;
    return version ? `/apis/${version}/pipelineruns` : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The rows, sorted by tool. */
export async function collectStatus(client: KubeClient, only?: readonly string[]): Promise<ToolRow[]> {
  const [namespaces, policies, quotas, runsPath] = await Promise.all([
    listAll<KubeObject>(client, collectionPath(NAMESPACES)),
    listAll<BuildQuotaPolicy>(client, collectionPath(BUILD_QUOTA_POLICIES)).catch((err: unknown) => {
      if (isNotFound(err)) throw new Error('the BuildQuotaPolicy CRD is not installed (kubectl apply -k manifests)');
      throw err;
    }),
    listAll<Quota>(client, collectionPath(RESOURCE_QUOTAS), { labelSelector: `${LABEL_MANAGED_BY}=${MANAGER}` }),
    pipelineRunsPath(client),
  ]);
  const runs = runsPath ? await listAll<PipelineRun>(client, runsPath) : undefined;

  const quotaOf = new Map(quotas.filter((q) => q.metadata.name === BUILD_QUOTA_NAME).map((q) => [q.metadata.namespace!, q]));
  const running = new Map<string, number>();
  const queued = new Map<string, number>();
  for (const run of runs ?? []) {
    const standing = queueStanding(run);
    const count = standing === 'running' ? running : standing === 'held' ? queued : undefined;
    count?.set(run.metadata.namespace!, (count.get(run.metadata.namespace!) ?? 0) + 1);
  }
  const failures = new Map<string, string>();
  for (const p of policies) for (const f of p.status?.failures ?? []) failures.set(f.tool, f.reason);

  const buildNamespaces = new Map<string, KubeObject>();
  for (const ns of namespaces) {
    const tool = ns.metadata.labels?.[LABEL_TOOL];
    if (tool && ns.metadata.labels?.[LABEL_MANAGED_BY] === MANAGER) buildNamespaces.set(tool, ns);
  }
  const rows = new Map<string, ToolRow>();
  for (const ns of namespaces) {
    if (!ns.metadata.name.startsWith(TOOL_NAMESPACE_PREFIX) || ns.metadata.labels?.[LABEL_MANAGED_BY] === MANAGER) continue;
    const view = { name: ns.metadata.name, labels: ns.metadata.labels ?? {} };
    if (policiesForTool(view, policies).length === 0) continue;
    const named = toolFromNamespace(view);
    const tool = ns.metadata.name.slice(TOOL_NAMESPACE_PREFIX.length);
    if (!named.ok) rows.set(tool, { tool, ready: 'skipped', reason: named.error.reason });
    else if (!buildNamespaces.has(tool)) rows.set(tool, { tool, ready: 'missing', reason: failures.get(tool) });
  }
  for (const [tool, ns] of buildNamespaces) {
    const name = ns.metadata.name;
    const quota = quotaOf.get(name);
    const ready = ns.metadata.deletionTimestamp ? 'terminating'
      : ns.metadata.annotations?.[ANNOTATION_ORPHANED] ? 'orphaned'
        : ns.metadata.labels?.[LABEL_READY] === READY_VALUE ? 'yes' : 'no';
    rows.set(tool, {
      tool,
      buildNamespace: name,
      ready,
      reason: ready === 'no' ? failures.get(tool) : undefined,
      pods: quotaCell(quota, 'pods'),
      cpu: quotaCell(quota, 'requests.cpu', 'cpu'),
      memory: quotaCell(quota, 'requests.memory', 'memory'),
      runningBuilds: runs ? running.get(name) ?? 0 : undefined,
      queuedBuilds: runs ? queued.get(name) ?? 0 : undefined,
      fence: fenceOf(ns),
    });
  }
  return [...rows.values()]
    .filter((r) => !only?.length || only.includes(r.tool))
    .sort((a, b) => (a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : 0));
}

/** The fence's parameters, keyed without their annotation prefix. */
function fenceOf(ns: KubeObject): Record<string, string> {
  return Object.fromEntries(Object.entries(ns.metadata.annotations ?? {})
    .filter(([k]) => k.startsWith(FENCE_ANNOTATION_PREFIX))
    .map(([k, v]) => [k.slice(FENCE_ANNOTATION_PREFIX.length), v]));
}

const showQuota = (q: QuotaCell | undefined) => (q ? `${q.used ?? '?'}/${q.hard}` : '-');

export function formatStatus(rows: readonly ToolRow[]): string {
  if (rows.length === 0) return 'no tools: no BuildQuotaPolicy matches a tool namespace, and no build namespace exists\n';
  const table = formatTable(
    ['tool', 'build namespace', 'ready', 'pods', 'cpu', 'memory', 'running builds', 'queued builds', 'allowed pipelines'],
    rows.map((r) => [
      r.tool, r.buildNamespace ?? '-', r.reason ? `${r.ready} (${r.reason})` : r.ready,
      showQuota(r.pods), showQuota(r.cpu), showQuota(r.memory), r.runningBuilds === undefined ? '-' : String(r.runningBuilds),
      r.queuedBuilds === undefined ? '-' : String(r.queuedBuilds),
      r.fence?.pipelines || '-',
    ]),
  );
  const ready = rows.filter((r) => r.ready === 'yes').length;
  const skipped = rows.filter((r) => r.ready === 'skipped').length;
  return `${table}\n${rows.length - skipped} tool(s), ${ready} ready${skipped ? `; ${skipped} tool namespace(s) skipped` : ''}\n`;
}

export async function statusCommand(args: readonly string[], io: CommandIO): Promise<number> {
  const { values } = parseFlags(args, {
    tool: { type: 'string', multiple: true },
    output: { type: 'string', short: 'o', default: 'table' },
    kubeconfig: { type: 'string' },
    timeout: { type: 'string', default: '1m' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(STATUS_HELP);
    return 0;
  }
  const output = values.output as string;
  if (!['table', 'json'].includes(output)) throw new UsageError(`--output: "${output}" is not table or json`);
  const timeout = parseDuration(values.timeout as string, '--timeout');
  const [{ KubeClient }, { loadKubeConfig }] = await Promise.all([import('../kube/client.js'), import('../kube/credentials.js')]);
  let client: KubeClient | undefined;
  try {
    client = new KubeClient(loadKubeConfig(values.kubeconfig as string | undefined));
    const rows = await withTimeout(collectStatus(client, values.tool as string[] | undefined), timeout, 'no answer from the API server in time');
    io.out(output === 'json' ? `${JSON.stringify({ tools: rows }, null, 2)}\n` : formatStatus(rows));
    return 0;
  } catch (err) {
    io.err(`status failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
