// The credentials loader against the real API server: each way a kubeconfig can prove who
// we are reaches the server as the identity it names, as the server's own SelfSubjectReview
// says. Client certificates in files beside the kubeconfig, the token file the operator's
// pod uses, and an exec plugin (the one path that loads client-node).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { KubeClient, statusCode } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/credentials.js';
import { configForServiceAccount, controlPlaneInfo } from '../../envtest/cluster.js';
import { installOperatorPrerequisites, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, adminClient } from '../../envtest/install.js';
import { writeOperatorKubeconfig } from '../../envtest/operator-process.js';
import { Pki } from '../../envtest/pki.js';

const dir = mkdtempSync(join(tmpdir(), 'bno-credentials-'));
const info = controlPlaneInfo();
const OPERATOR_USER = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SERVICE_ACCOUNT}`;
const clients: KubeClient[] = [];

/** Who the API server takes the client for. */
async function whoAmI(path: string): Promise<string | undefined> {
  const client = new KubeClient(loadKubeConfig(path));
  clients.push(client);
  const review = await client.request<{ status?: { userInfo?: { username?: string } } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  return review.status?.userInfo?.username;
}

function writeKubeconfig(name: string, user: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, yaml.dump({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'c', cluster: { server: info.server, 'certificate-authority': 'ca.crt' } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
  }), { mode: 0o600 });
  return path;
}

beforeAll(async () => {
  const admin = adminClient();
  await installOperatorPrerequisites(admin);
  admin.close();
  writeFileSync(join(dir, 'ca.crt'), new Pki(info.dir).caPem());
}, 60_000);

afterAll(() => {
  for (const c of clients) c.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('credentials from a kubeconfig, as the API server sees them', () => {
  it('a client certificate in files beside the kubeconfig', async () => {
    const { certPem, keyPem } = new Pki(info.dir).mintClient({ user: 'credentials-test-cert' });
    writeFileSync(join(dir, 'tls.crt'), certPem);
    writeFileSync(join(dir, 'tls.key'), keyPem, { mode: 0o600 });
    expect(await whoAmI(writeKubeconfig('cert', { 'client-certificate': 'tls.crt', 'client-key': 'tls.key' }))).toBe('credentials-test-cert');
  });

  it('the token file a pod reads, and a clear 401 for a bad token', async () => {
    const operator = await writeOperatorKubeconfig(dir, info);
    expect(await whoAmI(operator.path)).toBe(OPERATOR_USER);
    const err: unknown = await whoAmI(writeKubeconfig('bad-token', { token: 'not-a-token' })).catch((e: unknown) => e);
    expect(statusCode(err)).toBe(401);
  });

  it('an exec plugin, run by client-node loaded on first use', async () => {
    const token = (await configForServiceAccount(OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, info)).getCurrentUser()!.token!;
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token } });
    const path = writeKubeconfig('exec', {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`], interactiveMode: 'Never' },
    });
    expect(await whoAmI(path)).toBe(OPERATOR_USER);
  });
});
