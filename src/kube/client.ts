// The REST transport to the API server: credentials from client-node's KubeConfig
// (kubeconfig file or in-cluster), raw JSON in and out, one keep-alive connection pool.
//
// Why not the generated API clients: client-node 1.x builds a new https.Agent for every
// request, so every call pays a TLS handshake, and it turns objects into class instances
// (dates become Date) while watch events stay plain JSON. An operator that keeps
// thousands of objects in caches and compares them needs one plain-JSON shape and cheap
// calls, so it speaks REST directly with client-node's authentication.
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { createInterface } from 'node:readline';

export type Query = Record<string, string | number | boolean | undefined>;

/** One of a Status's details.causes: a field the API server refused, and why. */
export interface StatusCause {
  field?: string;
  message?: string;
  reason?: string;
}

/** A failed API call: the HTTP status, the API server's Status message and its causes. */
export class ApiError extends Error {
  constructor(readonly code: number, message: string, readonly reason?: string, readonly causes: StatusCause[] = []) {
    super(message);
    this.name = 'ApiError';
  }
}

export const statusCode = (err: unknown): number | undefined => (err instanceof ApiError ? err.code : undefined);
export const isNotFound = (err: unknown) => statusCode(err) === 404;
export const isConflict = (err: unknown) => statusCode(err) === 409;
export const isGone = (err: unknown) => statusCode(err) === 410;
export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A kubeconfig file when given (or $KUBECONFIG), otherwise in-cluster credentials. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/** Counts every request by verb, so tests and benchmarks can see what a component did. */
export type RequestObserver = (verb: string, path: string, status: number) => void;

export class KubeClient {
  private readonly server: URL;
  private readonly agent: Agent | HttpAgent;
  private observers: RequestObserver[] = [];

  constructor(readonly config: KubeConfig, maxSockets = 32) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    this.agent = this.server.protocol === 'http:'
      ? new HttpAgent({ keepAlive: true, maxSockets })
      : new Agent({ keepAlive: true, maxSockets });
  }

  onRequest(observer: RequestObserver): void {
    this.observers.push(observer);
  }

  private async options(method: string, path: string, query: Query | undefined, agent: Agent | HttpAgent | undefined): Promise<RequestOptions> {
    const opts: RequestOptions = { method, headers: {} };
    // Fills in the CA, the client certificate or the (refreshed) bearer token.
    await this.config.applyToHTTPSOptions(opts);
    const url = new URL(path, this.server);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return {
      ...opts,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      agent,
    };
  }

  private send(opts: RequestOptions, body?: string, signal?: AbortSignal) {
    const send = opts.protocol === 'http:' ? httpRequest : httpsRequest;
    return send({ ...opts, signal });
  }

  /** One request; the parsed JSON body, or an ApiError for any status but 2xx. */
  async request<T>(method: string, path: string, init: { query?: Query; body?: unknown; contentType?: string } = {}): Promise<T> {
    const text = await this.requestText(method, path, init);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** One request; the body as text (for /metrics), or an ApiError for any status but 2xx. */
  async requestText(method: string, path: string, init: { query?: Query; body?: unknown; contentType?: string } = {}): Promise<string> {
    const opts = await this.options(method, path, init.query, this.agent);
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    opts.headers = {
      ...opts.headers,
      Accept: 'application/json, */*',
      // Node sends a DELETE body without chunking, so only a length makes the API server
      // read it (and not take it for the start of the next request on the connection).
      ...(body === undefined ? {} : { 'Content-Type': init.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) }),
    };
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = this.send(opts, body);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
    for (const observe of this.observers) observe(method, path, status);
    if (status < 200 || status >= 300) throw apiError(status, text);
    return text;
  }

  /**
   * A watch: calls onEvent for each event line until the server closes the stream, the
   * signal aborts it, or it fails. Resolves on a clean end, rejects with the failure.
   */
  async watch(path: string, query: Query, onEvent: (event: { type: string; object: unknown }) => void, signal: AbortSignal): Promise<void> {
    // A watch holds its connection for minutes: it gets its own, not one from the pool.
    const opts = await this.options('GET', path, { ...query, watch: true }, undefined);
    opts.headers = { ...opts.headers, Accept: 'application/json' };
    for (const observe of this.observers) observe('WATCH', path, 200);
    await new Promise<void>((resolve, reject) => {
      const req = this.send(opts, undefined, signal);
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(apiError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
          return;
        }
        const lines = createInterface({ input: res, crlfDelay: Infinity });
        lines.on('line', (line) => {
          if (!line) return;
          try {
            onEvent(JSON.parse(line) as { type: string; object: unknown });
          } catch (err) {
            req.destroy(err instanceof Error ? err : new Error(String(err)));
          }
        });
        // An abort is how a watch is stopped on purpose: it ends cleanly.
        const failed = (err: Error) => (signal.aborted ? resolve() : reject(err));
        lines.on('error', failed);
        res.on('error', failed);
        res.on('end', () => resolve());
        res.on('close', () => resolve());
      });
      req.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function apiError(status: number, text: string): ApiError {
  try {
    const parsed = JSON.parse(text) as { message?: string; reason?: string; details?: { causes?: StatusCause[] } };
    return new ApiError(status, parsed.message ?? text, parsed.reason, parsed.details?.causes ?? []);
  } catch {
    return new ApiError(status, text || `HTTP ${status}`);
  }
}
