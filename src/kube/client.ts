// The REST transport to the API server: credentials from ./credentials.ts (kubeconfig file
// or in-cluster), raw JSON in and out, one keep-alive connection pool.
// Every request but a watch has a deadline, a 429 is retried after its Retry-After, and
// writes pass a gate the manager closes the moment this process may no longer write.
//
// Why not the generated API clients: client-node 1.x builds a new https.Agent for every
// request, so every call pays a TLS handshake, and it turns objects into class instances
// (dates become Date) while watch events stay plain JSON. An operator that keeps
// thousands of objects in caches and compares them needs one plain-JSON shape and cheap
// calls, so it speaks REST directly.
import type { ClientCredentials } from './credentials.js';
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

/** A request that got no complete answer within its deadline; it was aborted. */
export class RequestTimeoutError extends Error {
  constructor(readonly method: string, readonly path: string, readonly timeoutMs: number) {
    super(`${method} ${path}: no answer within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** A write refused before it was sent, because the client's write gate is closed. */
export class WritesClosedError extends Error {
  constructor(readonly method: string, readonly path: string, readonly reason: string) {
    super(`${method} ${path} refused: writes are closed (${reason})`);
    this.name = 'WritesClosedError';
  }
}

export const statusCode = (err: unknown): number | undefined => (err instanceof ApiError ? err.code : undefined);
export const isNotFound = (err: unknown) => statusCode(err) === 404;
export const isConflict = (err: unknown) => statusCode(err) === 409;
export const isGone = (err: unknown) => statusCode(err) === 410;
export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Counts every request by verb, so tests and benchmarks can see what a component did. */
export type RequestObserver = (verb: string, path: string, status: number) => void;

export interface KubeClientOptions {
  /** Sockets in this client's own keep-alive pool (watches never use it). */
  maxSockets?: number;
  /** The deadline of each non-watch request, 429 retries included; 0 = none. */
  requestTimeoutMs?: number;
  /** How often a 429 that names a Retry-After is retried before it is thrown. */
  maxRetries?: number;
  /** The longest a single Retry-After is waited, whatever the server asks. */
  maxRetryWaitMs?: number;
}

export const DEFAULT_CLIENT_OPTIONS: Required<KubeClientOptions> = {
  maxSockets: 32, requestTimeoutMs: 30_000, maxRetries: 5, maxRetryWaitMs: 10_000,
};

export interface RequestInit {
  query?: Query;
  body?: unknown;
  contentType?: string;
  /** Aborts the request (and any wait for a retry); it rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The media type asked for, when not plain JSON: the API server's metadata-only form, for one. */
  accept?: string;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class KubeClient {
  private readonly server: URL;
  private readonly agent: Agent | HttpAgent;
  private observers: RequestObserver[] = [];
  private readonly settings: Required<KubeClientOptions>;
  private writesClosed?: string;

  constructor(readonly config: ClientCredentials, options: KubeClientOptions = {}) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.settings = { ...DEFAULT_CLIENT_OPTIONS, ...definedOnly(options) };
    this.server = new URL(cluster.server);
    const maxSockets = this.settings.maxSockets;
    this.agent = this.server.protocol === 'http:'
      ? new HttpAgent({ keepAlive: true, maxSockets })
      : new Agent({ keepAlive: true, maxSockets });
  }

  /**
   * From now on every write (any method but GET, HEAD, OPTIONS) throws WritesClosedError
   * before it is sent: a process that lost its lease must not write, not even once more.
   * Requests already on the wire are not recalled. There is no reopening: such a process
   * exits and starts again clean.
   */
  closeWrites(reason: string): void {
    this.writesClosed ??= reason;
  }

  get writesClosedReason(): string | undefined {
    return this.writesClosed;
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
  async request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const text = await this.requestText(method, path, init);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * One request; the body as text (for /metrics), or an ApiError for any status but 2xx,
   * a RequestTimeoutError past the deadline, a WritesClosedError for a refused write.
   */
  async requestText(method: string, path: string, init: RequestInit = {}): Promise<string> {
    if (this.writesClosed !== undefined && !READ_METHODS.has(method)) throw new WritesClosedError(method, path, this.writesClosed);
    const { requestTimeoutMs, maxRetries, maxRetryWaitMs } = this.settings;
    // One controller for the whole call: the deadline covers the retries and their waits.
    const abort = new AbortController();
    const onAbort = () => abort.abort(init.signal?.reason);
    init.signal?.addEventListener('abort', onAbort, { once: true });
    if (init.signal?.aborted) onAbort();
    const deadline = requestTimeoutMs > 0 ? Date.now() + requestTimeoutMs : Infinity;
    const timer = requestTimeoutMs > 0
      ? setTimeout(() => abort.abort(new RequestTimeoutError(method, path, requestTimeoutMs)), requestTimeoutMs)
      : undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        const { status, text, retryAfter } = await this.attempt(method, path, init, abort.signal);
        for (const observe of this.observers) observe(method, path, status);
        if (status >= 200 && status < 300) return text;
        // The API server's overload answer (max-requests-inflight, priority and fairness).
        // Only an answer that names a wait is retried, as client-go does.
        if (status === 429 && retryAfter !== undefined && attempt < maxRetries) {
          const waitMs = Math.min(Math.max(retryAfter * 1000, 100), maxRetryWaitMs);
          if (Date.now() + waitMs < deadline) {
            await abortableDelay(waitMs, abort.signal);
            continue;
          }
        }
        throw apiError(status, text);
      }
    } catch (err) {
      throw abort.signal.aborted ? toError(abort.signal.reason) : err;
    } finally {
      clearTimeout(timer);
      init.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async attempt(method: string, path: string, init: RequestInit, signal: AbortSignal) {
    const opts = await this.options(method, path, init.query, this.agent);
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    opts.headers = {
      ...opts.headers,
      Accept: init.accept ?? 'application/json, */*',
      // Node sends a DELETE body without chunking, so only a length makes the API server
      // read it (and not take it for the start of the next request on the connection).
      ...(body === undefined ? {} : { 'Content-Type': init.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) }),
    };
    signal.throwIfAborted();
    return new Promise<{ status: number; text: string; retryAfter?: number }>((resolve, reject) => {
      // The signal destroys the socket too: a half-open connection is not put back in the pool.
      const req = this.send(opts, body, signal);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          retryAfter: retryAfterSeconds(res.headers['retry-after']),
        }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * A watch: calls onEvent for each event line until the server closes the stream, the
   * signal aborts it, or it fails. Resolves on a clean end, rejects with the failure.
   */
  async watch(
    path: string, query: Query, onEvent: (event: { type: string; object: unknown }) => void, signal: AbortSignal, accept = 'application/json',
  ): Promise<void> {
    // A watch holds its connection for minutes: it gets its own, not one from the pool.
    const opts = await this.options('GET', path, { ...query, watch: true }, undefined);
    opts.headers = { ...opts.headers, Accept: accept };
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

/** Retry-After in whole seconds, as the API server sends it; an HTTP date is not used there. */
function retryAfterSeconds(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  return Number(text);
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      reject(toError(signal.reason));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', done);
      resolve();
    }, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

const toError = (reason: unknown): Error => (reason instanceof Error ? reason : new Error(typeof reason === 'string' ? reason : 'aborted'));

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function apiError(status: number, text: string): ApiError {
  try {
    const parsed = JSON.parse(text) as { message?: string; reason?: string; details?: { causes?: StatusCause[] } };
    return new ApiError(status, parsed.message ?? text, parsed.reason, parsed.details?.causes ?? []);
  } catch {
    return new ApiError(status, text || `HTTP ${status}`);
  }
}
