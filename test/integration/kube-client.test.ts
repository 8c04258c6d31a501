// The client's request deadline against a real API server made slow for real: a validating
// webhook that never answers (a TCP listener that accepts and stays silent) holds each
// ConfigMap create in a marked namespace for its timeout. The slowness is the API server's
// own, not a proxy's: the request is inside the server, as one stuck on etcd or a webhook
// would be. A control plane of its own, so that the webhook slows no other test.
import { createServer, type Server, type Socket } from 'node:net';
import { KubeClient, loadKubeConfig, RequestTimeoutError } from '../../src/kube/client.js';
import { CONFIG_MAPS, collectionPath, NAMESPACES } from '../../src/kube/resources.js';
import { configFor, eventually, uniqueName } from '../../envtest/cluster.js';
import { Pki } from '../../envtest/pki.js';
import { startSupervisedControlPlane, type SupervisedControlPlane } from '../../envtest/spawn.js';

const WEBHOOK_TIMEOUT_SECONDS = 4;
const USER = 'kube-client-test';
let plane: SupervisedControlPlane;
let admin: KubeClient;
let silent: Server;
const held: Socket[] = [];
let slowNamespace = '';
let plainNamespace = '';

const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v: '1' } });
/** A client as an ordinary user (cluster-admin through RBAC, not a system:master). */
const userClient = (options: ConstructorParameters<typeof KubeClient>[1] = {}) => new KubeClient(configFor({ user: USER }, plane.info), options);

beforeAll(async () => {
  plane = await startSupervisedControlPlane();
  admin = new KubeClient(loadKubeConfig(plane.info.adminKubeconfig));
  silent = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  slowNamespace = uniqueName('slow');
  plainNamespace = uniqueName('plain');
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: slowNamespace, labels: { 'kube-client-test': 'slow' } } } });
  await admin.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: plainNamespace } } });
  await admin.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { body: {
    metadata: { name: USER }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: USER }],
  } });
  await admin.request('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', { body: {
    metadata: { name: 'kube-client-test-silent' },
    webhooks: [{
      name: 'silent.kube-client-test.example.org',
      clientConfig: { url: `https://127.0.0.1:${port}/`, caBundle: Buffer.from(new Pki(plane.info.dir).caPem()).toString('base64') },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
      namespaceSelector: { matchLabels: { 'kube-client-test': 'slow' } },
      failurePolicy: 'Ignore', sideEffects: 'None', admissionReviewVersions: ['v1'], timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS,
    }],
  } });
  // The webhook is in force once a create in the slow namespace reaches it.
  await eventually(async () => {
    const before = held.length;
    await admin.request('POST', collectionPath(CONFIG_MAPS, slowNamespace), { body: configMap(uniqueName('probe')) });
    expect(held.length).toBeGreaterThan(before);
  }, { timeoutMs: 60_000, intervalMs: 500 });
}, 180_000);

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => silent?.close(r));
  admin?.close();
  await plane?.stop();
}, 60_000);

describe('KubeClient against a slow API server', () => {
  it('ends a request the server holds past the deadline with a RequestTimeoutError', async () => {
    const client = userClient({ requestTimeoutMs: 1000 });
    const failure = await client.request('POST', collectionPath(CONFIG_MAPS, slowNamespace), { body: configMap(uniqueName('late')) })
      .then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(RequestTimeoutError);
    expect((failure as RequestTimeoutError).message).toMatch(/^POST \/api\/v1\/namespaces\/.*\/configmaps: no answer within 1000 ms$/);
    // The client is fine afterwards: its pool lost only the aborted socket.
    await client.request('GET', collectionPath(CONFIG_MAPS, plainNamespace));
    client.close();
  });
});
