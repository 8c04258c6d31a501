// What the API server itself counted (apiserver_request_total), by verb and resource, so that
// a phase's writes and reads are the server's figures, not what some client believes it sent;
// and a client that records its own requests under the same keys, to take the benchmark's
// own share out of a window.
import { KubeClient, type Query, type RequestInit } from '../src/kube/client.js';

/** Request counts by "VERB resource[/subresource]", e.g. "APPLY resourcequotas". */
export type Counts = Map<string, number>;

export const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION']);
export const READ_VERBS = new Set(['GET', 'LIST', 'WATCH', 'WATCHLIST']);

/** What the operator writes: its kinds, policy status and Events. */
const OPERATOR_RESOURCES = new Set([
  'namespaces', 'resourcequotas', 'limitranges', 'serviceaccounts', 'rolebindings', 'networkpolicies', 'secrets', 'configmaps',
  'buildquotapolicies/status', 'events', 'pipelineruns',
]);

const countKey = (verb: string, resource: string, subresource?: string) =>
  `${verb} ${resource}${subresource ? `/${subresource}` : ''}`;

/** Every resource request the API server has counted since it started (non-resource paths left out). */
export async function requestCounts(client: KubeClient): Promise<Counts> {
  const text = await client.requestText('GET', '/metrics');
  const counts: Counts = new Map();
  for (const line of text.split('\n')) {
    const m = /^apiserver_request_total\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (!labels.resource) continue;
    const key = countKey(labels.verb ?? '', labels.resource, labels.subresource);
    counts.set(key, (counts.get(key) ?? 0) + Number(m[2]));
  }
  return counts;
}

/**
 * Watches open now, by resource. apiserver_request_total counts a watch only when it ends,
 * so the watches a process opened are read from this gauge instead.
 */
export async function openWatches(client: KubeClient): Promise<Counts> {
  const text = await client.requestText('GET', '/metrics');
  const counts: Counts = new Map();
  for (const line of text.split('\n')) {
    const m = /^apiserver_longrunning_requests\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (!labels.resource || !['WATCH', 'WATCHLIST'].includes(labels.verb ?? '')) continue;
    const key = countKey('WATCH', labels.resource, labels.subresource);
    counts.set(key, (counts.get(key) ?? 0) + Number(m[2]));
  }
  return counts;
}

/** API Priority and Fairness: requests rejected, and seconds requests spent waiting in its queues, so far. */
export async function flowControl(client: KubeClient): Promise<{ rejected: number; waitSeconds: number }> {
  const text = await client.requestText('GET', '/metrics');
  let rejected = 0;
  let waitSeconds = 0;
  for (const line of text.split('\n')) {
    const m = /^(apiserver_flowcontrol_rejected_requests_total|apiserver_flowcontrol_request_wait_duration_seconds_sum)\{[^}]*\} (\S+)$/.exec(line);
    if (m?.[1] === 'apiserver_flowcontrol_rejected_requests_total') rejected += Number(m[2]);
    else if (m) waitSeconds += Number(m[2]);
  }
  return { rejected, waitSeconds };
}

/** after - before (- minus), keeping only keys that changed. */
export function diffCounts(after: Counts, before: Counts, minus: Counts = new Map()): Counts {
  const out: Counts = new Map();
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0) - (minus.get(key) ?? 0);
    if (delta !== 0) out.set(key, delta);
  }
  for (const [key, value] of minus) {
    if (!after.has(key) && value !== 0) out.set(key, -value);
  }
  return out;
}

export const sum = (counts: Counts, pick: (verb: string, resource: string) => boolean = () => true): number => {
  let total = 0;
  for (const [key, value] of counts) {
    const [verb = '', resource = ''] = key.split(' ');
    if (pick(verb, resource)) total += value;
  }
  return total;
};

export const isWrite = (verb: string) => WRITE_VERBS.has(verb);
export const isRead = (verb: string) => READ_VERBS.has(verb);

/**
 * Whether a mutating request is the operator's. Outside the benchmark's own requests (which
 * are taken out), only the operator and the control plane write, and the control plane's
 * writes are told apart by kind and verb: the controller manager POSTs each namespace's
 * `default` ServiceAccount (the operator only ever applies) and PUTs quota status; the API
 * server renews its identity Lease. Leader election is off in the benchmark.
 */
export function isOperatorWrite(verb: string, resource: string): boolean {
  if (!isWrite(verb) || !OPERATOR_RESOURCES.has(resource)) return false;
  return !(verb === 'POST' && resource === 'serviceaccounts');
}

export const isControlPlaneWrite = (verb: string, resource: string) => isWrite(verb) && !isOperatorWrite(verb, resource);

/** A counts map as a plain, sorted object (for JSON and tables). */
export function countsObject(counts: Counts, pick: (verb: string, resource: string) => boolean = () => true): Record<string, number> {
  return Object.fromEntries([...counts]
    .filter(([key]) => {
      const [verb = '', resource = ''] = key.split(' ');
      return pick(verb, resource);
    })
    .sort(([a], [b]) => a.localeCompare(b)));
}

/** The apiserver_request_total key of a request: verb as the server names it, resource and subresource from the path. */
export function classifyRequest(method: string, path: string, contentType?: string, query?: Query): string | undefined {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length >= 3) rest = parts.slice(3);
  else return undefined;
  let resource: string | undefined;
  let name: string | undefined;
  let subresource: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !['status', 'finalize'].includes(rest[2]!)) {
    [, , resource, name, subresource] = rest;
  } else {
    [resource, name, subresource] = rest;
  }
  if (!resource) return undefined;
  let verb = method.toUpperCase();
  if (verb === 'GET' && (query?.watch === true || query?.watch === 'true')) verb = 'WATCH';
  else if (verb === 'GET' && !name) verb = 'LIST';
  else if (verb === 'PATCH' && contentType === 'application/apply-patch+yaml') verb = 'APPLY';
  else if (verb === 'DELETE' && !name) verb = 'DELETECOLLECTION';
  return countKey(verb, resource, subresource);
}

/** A KubeClient that counts its own requests as the API server would, to subtract them from a window. */
export class RecordingClient extends KubeClient {
  private readonly own: Counts = new Map();

  private record(key: string | undefined): void {
    if (key) this.own.set(key, (this.own.get(key) ?? 0) + 1);
  }

  override async requestText(method: string, path: string, init: RequestInit = {}): Promise<string> {
    this.record(classifyRequest(method, path, init.contentType, init.query));
    return super.requestText(method, path, init);
  }

  override async watch(path: string, query: Query, onEvent: (event: { type: string; object: unknown }) => void, signal: AbortSignal): Promise<void> {
    this.record(classifyRequest('GET', path, undefined, { ...query, watch: true }));
    return super.watch(path, query, onEvent, signal);
  }

  /** What this client has sent so far. */
  counts(): Counts {
    return new Map(this.own);
  }
}

/** Server counts and the benchmark's own, taken together so a window can leave the benchmark out. */
export interface Mark {
  server: Counts;
  own: Counts;
}

export async function mark(client: RecordingClient): Promise<Mark> {
  const own = client.counts();
  return { server: await requestCounts(client), own };
}

/** What everyone but the benchmark's own client sent between two marks. */
export function othersBetween(before: Mark, after: Mark): Counts {
  return diffCounts(after.server, before.server, diffCounts(after.own, before.own));
}

/**
 * Polls until the operator has not written for quietMs. The controller manager is not waited
 * for: at its default 20 requests/s its backlog (a ServiceAccount per new namespace, quota
 * status) takes minutes at 10,000 tools, and it does not make the operator write.
 */
export async function waitQuiet(client: RecordingClient, { quietMs = 2_000, timeoutMs = 600_000, intervalMs = 500 } = {}): Promise<number> {
  const started = performance.now();
  let last = sum(await requestCounts(client), isOperatorWrite);
  let lastChange = performance.now();
  while (performance.now() - lastChange < quietMs) {
    if (performance.now() - started > timeoutMs) throw new Error(`the API server still saw writes after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
    const now = sum(await requestCounts(client), isOperatorWrite);
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    }
  }
  return performance.now() - started;
}
