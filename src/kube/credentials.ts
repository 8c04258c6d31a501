// Where the API server is and how to prove who we are: a kubeconfig file (as client-go reads
// it: current context, file paths relative to the file, several files in $KUBECONFIG) or the
// pod's ServiceAccount. Client certificates, bearer tokens, token files re-read as the kubelet
// rotates them and basic auth are read here; only an `exec` or `auth-provider` plugin loads
// @kubernetes/client-node, on first use. Importing client-node costs some 28 MB of heap, 75 MB
// of RSS and 0.3 s of start-up, for code the operator's pod never runs.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { isIPv6 } from 'node:net';
import type { RequestOptions } from 'node:https';
import yaml from 'js-yaml';
import { errorMessage } from './client.js';

/**
 * What the REST client needs of a configuration: the server, and the TLS material and
 * Authorization header of each request. client-node's KubeConfig has the same shape, so a
 * test may hand one in.
 */
export interface ClientCredentials {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** client-go re-reads a token file at most once a minute (its cachingTokenSource). */
const TOKEN_FILE_REREAD_MS = 60_000;

interface NamedEntry<T> { name?: unknown; cluster?: T; user?: T; context?: T }
interface ClusterEntry {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}
interface UserEntry {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
  as?: string;
}
interface ContextEntry { cluster?: string; user?: string }

/** One kubeconfig file as parsed, with the directory its relative paths start from. */
interface ConfigFile {
  path: string;
  doc: {
    'current-context'?: string;
    clusters?: NamedEntry<ClusterEntry>[];
    users?: NamedEntry<UserEntry>[];
    contexts?: NamedEntry<ContextEntry>[];
  };
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the pod's ServiceAccount files are; tests point it elsewhere. */
  serviceAccountDir?: string;
  /** Milliseconds, for the token file's re-read interval. */
  now?: () => number;
}

/**
 * A kubeconfig file when given (else $KUBECONFIG, else ~/.kube/config); in a pod, without
 * either, the pod's ServiceAccount. Any error says which file and field to fix.
 */
export function loadKubeConfig(path?: string, options: LoadOptions = {}): ClientCredentials {
  const env = options.env ?? process.env;
  if (path) return fromFiles([path], options);
  if (env.KUBECONFIG) return fromFiles(env.KUBECONFIG.split(delimiter).filter(Boolean), options);
  if (env.KUBERNETES_SERVICE_HOST) return inCluster(env, options);
  return fromFiles([join(homedir(), '.kube', 'config')], options);
}

/** The pod's ServiceAccount: the service's address, the cluster CA and the projected token. */
function inCluster(env: NodeJS.ProcessEnv, options: LoadOptions): ClientCredentials {
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new StaticCredentials(server, { ca: readFileSync(join(dir, 'ca.crt')) }, { tokenFile: join(dir, 'token') }, options.now);
}

function fromFiles(paths: string[], options: LoadOptions): ClientCredentials {
  const files = paths.map((path): ConfigFile => {
    let doc: unknown;
    try {
      doc = yaml.load(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`kubeconfig ${path}: ${errorMessage(err)}`);
    }
    if (doc !== undefined && doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) throw new Error(`kubeconfig ${path}: not a mapping`);
    return { path, doc: (doc ?? {}) };
  });
  // As client-go merges several files: the first file that sets a value wins.
  const contextName = files.map((f) => f.doc['current-context']).find(Boolean);
  if (!contextName) throw new Error(`kubeconfig ${paths.join(delimiter)}: no current-context`);
  const context = find(files, 'contexts', contextName, 'context');
  const clusterName = context.entry.cluster;
  if (!clusterName) throw new Error(`kubeconfig ${context.file.path}: context ${contextName} names no cluster`);
  const cluster = find(files, 'clusters', clusterName, 'cluster');
  const user = context.entry.user ? find(files, 'users', context.entry.user, 'user') : undefined;
  return credentialsOf(cluster, user, { paths, contextName }, options);
}

function find<K extends 'contexts' | 'clusters' | 'users', F extends 'context' | 'cluster' | 'user'>(
  files: ConfigFile[], list: K, name: string, field: F,
): { file: ConfigFile; entry: NonNullable<NamedEntry<F extends 'context' ? ContextEntry : F extends 'cluster' ? ClusterEntry : UserEntry>[F]> } {
  for (const file of files) {
    const found = (file.doc[list] ?? []).find((e) => e.name === name);
    if (found?.[field]) return { file, entry: found[field] as never };
  }
  throw new Error(`kubeconfig ${files.map((f) => f.path).join(delimiter)}: no ${field} named ${name}`);
}

function credentialsOf(
  cluster: { file: ConfigFile; entry: ClusterEntry },
  user: { file: ConfigFile; entry: UserEntry } | undefined,
  source: PluginSource,
  options: LoadOptions,
): ClientCredentials {
  const c = cluster.entry;
  const where = `kubeconfig ${cluster.file.path}`;
  if (!c.server) throw new Error(`${where}: the cluster has no server`);
  if (c['proxy-url']) throw new Error(`${where}: proxy-url is not supported; reach the API server directly`);
  const tls: TlsMaterial = {
    ca: material(cluster.file, c['certificate-authority-data'], c['certificate-authority'], 'certificate-authority'),
    insecure: c['insecure-skip-tls-verify'] === true,
    serverName: c['tls-server-name'],
  };
  if (!user) return new StaticCredentials(c.server, tls, {}, options.now);
  const u = user.entry;
  const userWhere = `kubeconfig ${user.file.path}`;
  if (u.as) throw new Error(`${userWhere}: impersonation (as) is not supported`);
  // A plugin runs code of its own (a command, a cloud SDK): client-node knows them all.
  if (u.exec || u['auth-provider']) return new PluginCredentials(c.server, source);
  tls.cert = material(user.file, u['client-certificate-data'], u['client-certificate'], 'client-certificate');
  tls.key = material(user.file, u['client-key-data'], u['client-key'], 'client-key');
  if (Boolean(tls.cert) !== Boolean(tls.key)) throw new Error(`${userWhere}: a client certificate needs both client-certificate and client-key`);
  return new StaticCredentials(c.server, tls, {
    token: u.token,
    tokenFile: u.tokenFile ? resolvePath(user.file, u.tokenFile) : undefined,
    basic: u.username !== undefined ? `${u.username}:${u.password ?? ''}` : undefined,
  }, options.now);
}

/** Inline data (base64) wins over a file, as in client-go; a relative file is beside the kubeconfig. */
function material(file: ConfigFile, data: string | undefined, path: string | undefined, field: string): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (!path) return undefined;
  try {
    return readFileSync(resolvePath(file, path));
  } catch (err) {
    throw new Error(`kubeconfig ${file.path}: ${field} ${path}: ${errorMessage(err)}`);
  }
}

const resolvePath = (file: ConfigFile, path: string) => (isAbsolute(path) ? path : join(dirname(file.path), path));

interface TlsMaterial { ca?: Buffer; cert?: Buffer; key?: Buffer; insecure?: boolean; serverName?: string }
interface Authorization { token?: string; tokenFile?: string; basic?: string }

class StaticCredentials implements ClientCredentials {
  private fileToken?: { value: string; readAt: number };

  constructor(
    private readonly server: string,
    private readonly tls: TlsMaterial,
    private readonly auth: Authorization,
    private readonly now: () => number = Date.now,
  ) {}

  getCurrentCluster() {
    return { server: this.server };
  }

  async applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    const { ca, cert, key, insecure, serverName } = this.tls;
    if (ca) opts.ca = ca;
    if (cert && key) Object.assign(opts, { cert, key });
    if (insecure) opts.rejectUnauthorized = false;
    if (serverName) opts.servername = serverName;
    const authorization = this.authorization();
    if (authorization) opts.headers = { ...opts.headers, Authorization: authorization };
  }

  private authorization(): string | undefined {
    if (this.auth.tokenFile) return `Bearer ${this.tokenFromFile(this.auth.tokenFile)}`;
    if (this.auth.token) return `Bearer ${this.auth.token}`;
    if (this.auth.basic) return `Basic ${Buffer.from(this.auth.basic).toString('base64')}`;
    return undefined;
  }

  /** The kubelet rewrites a projected token before it expires: read it again now and then. */
  private tokenFromFile(path: string): string {
    const now = this.now();
    if (!this.fileToken || now - this.fileToken.readAt >= TOKEN_FILE_REREAD_MS) {
      try {
        this.fileToken = { value: readFileSync(path, 'utf8').trim(), readAt: now };
      } catch (err) {
        // A token that was read once stays in use while the file is being replaced.
        if (!this.fileToken) throw new Error(`token file ${path}: ${errorMessage(err)}`);
      }
    }
    return this.fileToken.value;
  }
}

/** The files and context a plugin user came from, for client-node to read again. */
interface PluginSource { paths: string[]; contextName: string }

/** An exec or auth-provider user: client-node's KubeConfig does the work, loaded when first needed. */
class PluginCredentials implements ClientCredentials {
  private loaded?: Promise<ClientCredentials>;

  constructor(private readonly server: string, private readonly source: PluginSource) {}

  getCurrentCluster() {
    return { server: this.server };
  }

  async applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    this.loaded ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const kc = new KubeConfig();
      for (const path of this.source.paths) {
        const file = new KubeConfig();
        file.loadFromFile(path);
        kc.mergeConfig(file);
      }
      kc.setCurrentContext(this.source.contextName);
      return kc;
    });
    await (await this.loaded).applyToHTTPSOptions(opts);
  }
}
