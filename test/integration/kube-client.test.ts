// The client's request deadline against a real API server made slow for real: a validating
// webhook that never answers (a TCP listener that accepts and stays silent) holds each
// ConfigMap create in a marked namespace for its timeout. The slowness is the API server's
// own, not a proxy's: the request is inside the server, as one stuck on etcd or a webhook
// would be. The same held create fills a priority level of the API server's flow control
// that has no seats of its own, so the next request of that level gets the server's real
// 429 with Retry-After. A control plane of its own, so that the webhook slows no other test.
import { createServer, type Server, type Socket } from 'node:net';
import { KubeClient, RequestTimeoutError, statusCode } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/credentials.js';
import { CONFIG_MAPS, collectionPath, NAMESPACES } from '../../src/kube/resources.js';
import { configFor, eventually, uniqueName } from '../../envtest/cluster.js';
import { Pki } from '../../envtest/pki.js';
import { startSupervisedControlPlane, type SupervisedControlPlane } from '../../envtest/spawn.js';

const WEBHOOK_TIMEOUT_SECONDS = 4;
const USER = 'kube-client-test';
/** A user whose requests the API server's priority and fairness puts in a level with no seats. */
const THROTTLED = 'kube-client-test-throttled';
const FLOW_CONTROL = '/apis/flowcontrol.apiserver.k8s.io/v1';
let plane: SupervisedControlPlane;
let admin: KubeClient;
let silent: Server;
const held: Socket[] = [];
let slowNamespace = '';
let plainNamespace = '';

const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v: '1' } });
/** A client as an ordinary user (cluster-admin through RBAC, not a system:master). */
const userClient = (options: ConstructorParameters<typeof KubeClient>[1] = {}) => new KubeClient(configFor({ user: USER }, plane.info), options);
const clusterAdminBinding = (user: string) => ({
  metadata: { name: user }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
});

/**
 * Starts a create as the throttled user that the silent webhook holds inside the API server,
 * so it occupies its priority level; resolves once the webhook has it, with a release that
 * ends the hold (the webhook's connection drops, its failurePolicy lets the create through).
 */
async function holdLevel(client: KubeClient): Promise<{ release: () => Promise<unknown> }> {
  const before = held.length;
  const create = client.request('POST', collectionPath(CONFIG_MAPS, slowNamespace), { body: configMap(uniqueName('held')) })
    .catch((err: unknown) => err);
  await eventually(() => expect(held.length).toBeGreaterThan(before), { timeoutMs: 30_000 });
  return { release: () => { held.at(-1)!.destroy(); return create; } };
}

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
  for (const user of [USER, THROTTLED]) {
    await admin.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { body: clusterAdminBinding(user) });
  }
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

describe('KubeClient against the API server\'s priority and fairness', () => {
  beforeAll(async () => {
    // No seats of its own and none borrowed: a request is let in only while no other of
    // the level runs, and one that cannot be is rejected at once (no queues).
    await admin.request('POST', `${FLOW_CONTROL}/prioritylevelconfigurations`, { body: {
      metadata: { name: THROTTLED },
      spec: { type: 'Limited', limited: { nominalConcurrencyShares: 0, lendablePercent: 0, borrowingLimitPercent: 0, limitResponse: { type: 'Reject' } } },
    } });
    await admin.request('POST', `${FLOW_CONTROL}/flowschemas`, { body: {
      metadata: { name: THROTTLED },
      spec: {
        priorityLevelConfiguration: { name: THROTTLED }, matchingPrecedence: 500,
        rules: [{
          subjects: [{ kind: 'User', user: { name: THROTTLED } }],
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] }],
        }],
      },
    } });
    // The API server takes up a new configuration on its own time: wait until a request
    // made while the level is held is refused.
    const holder = new KubeClient(configFor({ user: THROTTLED }, plane.info));
    const probe = new KubeClient(configFor({ user: THROTTLED }, plane.info), { maxRetries: 0 });
    await eventually(async () => {
      const hold = await holdLevel(holder);
      const answer = await probe.request('GET', collectionPath(CONFIG_MAPS, plainNamespace)).then(() => 200, (err: unknown) => statusCode(err));
      await hold.release();
      expect(answer).toBe(429);
    }, { timeoutMs: 60_000, intervalMs: 500 });
    holder.close();
    probe.close();
  }, 120_000);

  it('waits out each 429 as its Retry-After says and gets the answer once the level has room', async () => {
    const holder = new KubeClient(configFor({ user: THROTTLED }, plane.info));
    const client = new KubeClient(configFor({ user: THROTTLED }, plane.info));
    const refusals: number[] = [];
    let answered = 0;
    client.onRequest((_verb, _path, status) => { if (status === 429) refusals.push(performance.now()); else answered = status; });
    const hold = await holdLevel(holder);
    const review = client.request<{ status: { userInfo: { username: string } } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    // Two refusals, so that the wait between them is the client's own.
    await eventually(() => expect(refusals.length).toBeGreaterThanOrEqual(2), { timeoutMs: 20_000 });
    await hold.release();
    const answer = await review;
    expect(answer.status.userInfo.username).toBe(THROTTLED);
    expect(answered).toBe(201);
    const gaps = refusals.slice(1).map((at, i) => at - refusals[i]!);
    process.stderr.write(`kube-client: ${refusals.length} refusals (429) before the answer, ${gaps.map((g) => Math.round(g)).join(', ')} ms apart\n`);
    // The API server's flow control says Retry-After: 1 (seconds).
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(950);
    holder.close();
    client.close();
  }, 60_000);

  it('gives the 429 to the caller when the server still refuses after the last retry', async () => {
    const holder = new KubeClient(configFor({ user: THROTTLED }, plane.info));
    const client = new KubeClient(configFor({ user: THROTTLED }, plane.info), { maxRetries: 1 });
    const hold = await holdLevel(holder);
    const failure = await client.request('GET', collectionPath(CONFIG_MAPS, plainNamespace)).then(() => undefined, (err: unknown) => err);
    await hold.release();
    expect(statusCode(failure)).toBe(429);
    holder.close();
    client.close();
  }, 60_000);
});
