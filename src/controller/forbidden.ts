// A 403 from the API server to the operator's own identity means its RBAC does not match
// what it does (a rule missing from the ClusterRole, a Role not bound): a broken install,
// not a passing failure. Every such answer, whichever component met it (a watch, a write,
// an Event, the deletion guard), counts in a metric and is logged as an error, once per
// verb and resource per interval so that a retry loop cannot flood the log.
import type { RequestObserver } from '../kube/client.js';
import type { Logger } from '../log.js';
import type { OperatorMetrics } from '../metrics/metrics.js';

const LOG_INTERVAL_MS = 5 * 60_000;

/** "group/resource" of a REST path ("events.k8s.io/events", "configmaps"), without names. */
export function resourceOfPath(path: string): string {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  const group = parts[0] === 'apis' ? `${parts[1]}/` : '';
  const scoped = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  const [resource = '', , subresource] = scoped;
  return `${group}${resource}${subresource ? `/${subresource}` : ''}`;
}

export function reportForbidden(log: Logger, metrics: OperatorMetrics, now: () => number = Date.now): RequestObserver {
  const lastLogged = new Map<string, number>();
  return (verb, path, status) => {
    if (status !== 403) return;
    const resource = resourceOfPath(path);
    metrics.forbiddenRequests.inc({ verb, resource });
    const key = `${verb} ${resource}`;
    const last = lastLogged.get(key);
    if (last !== undefined && now() - last < LOG_INTERVAL_MS) return;
    lastLogged.set(key, now());
    log.error('forbidden by the operator\'s RBAC: the ClusterRole or Role from manifests/ lacks a rule', { verb, resource, path });
  };
}
