// The operator's HTTP endpoints: /healthz (the process is alive and, when it leads, renewing
// its Lease), /readyz (caches synced,
// and leading or standing by) and /metrics (Prometheus text from prom-client).
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** Undefined when ready; otherwise why not. */
  notReadyReason(): string | undefined;
  /** Undefined when healthy; otherwise why not (a leader that stopped renewing). */
  unhealthyReason?(): string | undefined;
}

export function startHttpServer(address: string, registry: Registry, health: HealthSource): Promise<Server> {
  const [host, portText] = splitAddress(address);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const reason = health.unhealthyReason?.();
      res.writeHead(reason ? 500 : 200, { 'Content-Type': 'text/plain' }).end(reason ? `${reason}\n` : 'ok\n');
    } else if (path === '/readyz') {
      const reason = health.notReadyReason();
      res.writeHead(reason ? 503 : 200, { 'Content-Type': 'text/plain' }).end(reason ? `${reason}\n` : 'ok\n');
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host, () => resolve(server));
  });
}

/** ":8080" or "0.0.0.0:8080" or "127.0.0.1:0" into host and port. */
function splitAddress(address: string): [string | undefined, string] {
  const i = address.lastIndexOf(':');
  const host = i > 0 ? address.slice(0, i) : undefined;
  return [host, address.slice(i + 1)];
}
