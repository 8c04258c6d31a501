import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestOptions } from 'node:https';
import yaml from 'js-yaml';
import { loadKubeConfig, type LoadOptions } from '../../src/kube/credentials.js';

let dir = '';
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'bno-credentials-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(name: string, user: Record<string, unknown> | undefined, cluster: Record<string, unknown> = { server: 'https://api.example:6443' }): string {
  const path = join(dir, name);
  writeFileSync(path, yaml.dump({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'main',
    clusters: [{ name: 'c', cluster }],
    ...(user ? { users: [{ name: 'u', user }] } : {}),
    contexts: [{ name: 'main', context: { cluster: 'c', ...(user ? { user: 'u' } : {}) } }],
  }));
  return path;
}

async function applied(path: string | undefined, options?: LoadOptions): Promise<RequestOptions> {
  const opts: RequestOptions = { headers: {} };
  await loadKubeConfig(path, options).applyToHTTPSOptions(opts);
  return opts;
}
const header = (opts: RequestOptions) => (opts.headers as Record<string, string>).Authorization;

describe('loadKubeConfig', () => {
  it('reads a client certificate and CA given inline', async () => {
    const path = kubeconfig('inline', { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
      { server: 'https://api.example:6443', 'certificate-authority-data': b64('CA'), 'tls-server-name': 'kubernetes' });
    expect(loadKubeConfig(path).getCurrentCluster()).toEqual({ server: 'https://api.example:6443' });
    const opts = await applied(path);
    expect({ ca: String(opts.ca), cert: String(opts.cert), key: String(opts.key), servername: opts.servername }).toEqual({ ca: 'CA', cert: 'CERT', key: 'KEY', servername: 'kubernetes' });
    expect(header(opts)).toBeUndefined();
    expect(opts.rejectUnauthorized).toBeUndefined();
  });

  it('reads files relative to the kubeconfig, as client-go does', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'CA-FILE');
    writeFileSync(join(dir, 'tls.crt'), 'CERT-FILE');
    writeFileSync(join(dir, 'tls.key'), 'KEY-FILE');
    const path = kubeconfig('files', { 'client-certificate': 'tls.crt', 'client-key': join(dir, 'tls.key') },
      { server: 'https://api.example:6443', 'certificate-authority': 'ca.crt' });
    const opts = await applied(path);
    expect([String(opts.ca), String(opts.cert), String(opts.key)]).toEqual(['CA-FILE', 'CERT-FILE', 'KEY-FILE']);
  });

  it('sends a bearer token, basic auth, or none; skips verification only when told', async () => {
    expect(header(await applied(kubeconfig('token', { token: 'abc' })))).toBe('Bearer abc');
    expect(header(await applied(kubeconfig('basic', { username: 'admin', password: 'pw' })))).toBe(`Basic ${b64('admin:pw')}`);
    const anonymous = await applied(kubeconfig('anon', undefined, { server: 'https://api.example', 'insecure-skip-tls-verify': true }));
    expect(header(anonymous)).toBeUndefined();
    expect(anonymous.rejectUnauthorized).toBe(false);
  });

  it('re-reads a token file once a minute, and keeps the last token while the file is away', async () => {
    let now = 0;
    writeFileSync(join(dir, 'token'), 'first\n');
    const credentials = loadKubeConfig(kubeconfig('tf', { tokenFile: 'token' }), { now: () => now });
    const token = async () => {
      const opts: RequestOptions = { headers: {} };
      await credentials.applyToHTTPSOptions(opts);
      return header(opts);
    };
    expect(await token()).toBe('Bearer first');
    writeFileSync(join(dir, 'token'), 'second');
    now = 59_000;
    expect(await token()).toBe('Bearer first');
    now = 60_000;
    expect(await token()).toBe('Bearer second');
    rmSync(join(dir, 'token'));
    now = 200_000;
    expect(await token()).toBe('Bearer second');
  });

  it('uses the pod ServiceAccount in a pod, brackets an IPv6 address, and $KUBECONFIG before it', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'POD-CA');
    writeFileSync(join(dir, 'token'), 'pod-token');
    const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
    const pod = loadKubeConfig(undefined, { env, serviceAccountDir: dir });
    expect(pod.getCurrentCluster()).toEqual({ server: 'https://[fd00::1]:443' });
    const opts = await applied(undefined, { env, serviceAccountDir: dir });
    expect([String(opts.ca), header(opts)]).toEqual(['POD-CA', 'Bearer pod-token']);
    const file = kubeconfig('env', { token: 'from-file' });
    expect(header(await applied(undefined, { env: { ...env, KUBECONFIG: file }, serviceAccountDir: dir }))).toBe('Bearer from-file');
  });

  it('merges the files of $KUBECONFIG: the first to set a value wins', async () => {
    const first = join(dir, 'first');
    writeFileSync(first, yaml.dump({ 'current-context': 'second', users: [{ name: 'u', user: { token: 'first-wins' } }] }));
    const second = join(dir, 'second');
    writeFileSync(second, yaml.dump({
      'current-context': 'ignored',
      clusters: [{ name: 'c', cluster: { server: 'https://two.example' } }],
      users: [{ name: 'u', user: { token: 'shadowed' } }],
      contexts: [{ name: 'second', context: { cluster: 'c', user: 'u' } }],
    }));
    const env = { KUBECONFIG: `${first}:${second}` };
    expect(loadKubeConfig(undefined, { env }).getCurrentCluster()).toEqual({ server: 'https://two.example' });
    expect(header(await applied(undefined, { env }))).toBe('Bearer first-wins');
  });

  it('says which file and field to fix', () => {
    const noContext = join(dir, 'empty');
    writeFileSync(noContext, 'apiVersion: v1\nkind: Config\n');
    expect(() => loadKubeConfig(noContext)).toThrow(`kubeconfig ${noContext}: no current-context`);
    expect(() => loadKubeConfig(join(dir, 'missing'))).toThrow(/kubeconfig .*missing: .*ENOENT/);
    expect(() => loadKubeConfig(kubeconfig('nouser', { 'client-certificate-data': b64('C') }))).toThrow('needs both client-certificate and client-key');
    expect(() => loadKubeConfig(kubeconfig('ca', {}, { server: 'https://x', 'certificate-authority': 'nope.crt' }))).toThrow(/certificate-authority nope.crt: .*ENOENT/);
    expect(() => loadKubeConfig(kubeconfig('proxy', {}, { server: 'https://x', 'proxy-url': 'http://p' }))).toThrow('proxy-url is not supported');
    expect(() => loadKubeConfig(kubeconfig('as', { token: 't', as: 'someone' }))).toThrow('impersonation (as) is not supported');
    expect(() => loadKubeConfig(kubeconfig('noserver', {}, {}))).toThrow('the cluster has no server');
  });

  it('hands an exec plugin to client-node, loaded on first use, which runs the command', async () => {
    const credential = { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-exec' } };
    const path = kubeconfig('exec', {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', `process.stdout.write(${JSON.stringify(JSON.stringify(credential))})`], interactiveMode: 'Never' },
    });
    expect(header(await applied(path))).toBe('Bearer from-exec');
  });
});
