// One leader at a time, when the leader's network goes silent: operator process A reaches
// the API server through a TCP proxy, process B directly. A leads; the proxy then drops
// every byte without closing anything (a blackhole: requests hang, nothing fails) for
// longer than the renew deadline. B takes the Lease; A, whose renewals time out and whose
// renew deadline is a timer, closes its writes, fails /healthz and exits 1. The API
// server's audit log is the witness: no write of A's credential was received after B's
// acquisition, though the proxy forwards again from then on.
// A control plane of its own: audit logging is a kube-apiserver flag.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/meta.js';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/credentials.js';
import { BUILD_QUOTA_POLICIES, collectionPath, NAMESPACES, objectPath } from '../../src/kube/resources.js';
import { eventually, uniqueName } from '../../envtest/cluster.js';
import { BlackholeProxy } from '../../envtest/blackhole-proxy.js';
import { installOperatorPrerequisites, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT } from '../../envtest/install.js';
import { leaseHolder, startOperatorProcess, writeOperatorKubeconfig, type OperatorProcess } from '../../envtest/operator-process.js';
import { startSupervisedControlPlane, type SupervisedControlPlane } from '../../envtest/spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'bno-blackhole-test-'));
const auditLog = join(dir, 'audit.log');
const lease = 'bno-blackhole';
const suite = uniqueName('blackhole');
const RENEW_DEADLINE_SECONDS = 4;
const ELECTION = [
  '--leader-elect', `--leader-election-namespace=${OPERATOR_NAMESPACE}`, `--leader-election-id=${lease}`,
  '--leader-election-lease-duration=6s', `--leader-election-renew-deadline=${RENEW_DEADLINE_SECONDS}s`, '--leader-election-retry-period=1s',
  '--shutdown-timeout=5s', '--request-timeout=10s',
];
const OPERATOR_USER = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SERVICE_ACCOUNT}`;

interface AuditEvent {
  verb: string;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  user: { username: string; extra?: Record<string, string[]> };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}


let plane: SupervisedControlPlane;
let admin: KubeClient;
let proxy: BlackholeProxy;
const processes: OperatorProcess[] = [];

/** The credential id the API server records for a ServiceAccount token: its JWT id. */
function credentialId(tokenFile: string): string {
  const payload = readFileSync(tokenFile, 'utf8').split('.')[1]!;
  return `JTI=${(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { jti: string }).jti}`;
}

const auditEvents = (): AuditEvent[] => readFileSync(auditLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
const byCredential = (id: string) => (e: AuditEvent) => e.user.extra?.['authentication.kubernetes.io/credential-id']?.includes(id) ?? false;
const holder = () => leaseHolder(admin, lease);

async function createTool(tool: string): Promise<void> {
  await admin.request('POST', collectionPath(NAMESPACES), {
    body: { metadata: { name: `tool-${tool}`, labels: { name: `tool-${tool}`, tenancy: 'tool', suite } } },
  });
}

async function readyBuildNamespace(tool: string): Promise<void> {
  await eventually(async () => {
    const ns = await admin.request<KubeObject>('GET', objectPath(NAMESPACES, `image-build-${tool}`));
    expect(ns.metadata.labels?.['builds.toolforge.org/ready']).toBe('true');
  }, { timeoutMs: 60_000 });
}

beforeAll(async () => {
  const policy = join(dir, 'audit-policy.yaml');
  // Every write of the operator's ServiceAccount, at Metadata level; nothing else.
  writeFileSync(policy, [
    'apiVersion: audit.k8s.io/v1', 'kind: Policy', 'omitStages: [RequestReceived]', 'rules:',
    '- level: Metadata', `  users: ["${OPERATOR_USER}"]`, '  verbs: [create, update, patch, delete, deletecollection]',
    '- level: None', '',
  ].join('\n'));
  plane = await startSupervisedControlPlane({ apiserverArgs: [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`] });
  admin = new KubeClient(loadKubeConfig(plane.info.adminKubeconfig));
  await installOperatorPrerequisites(admin);
  await admin.request('PATCH', objectPath(BUILD_QUOTA_POLICIES, `${suite}-base`), {
    query: { fieldManager: 'test-admin', force: true }, contentType: 'application/apply-patch+yaml',
    body: { apiVersion: 'builds.toolforge.org/v1alpha1', kind: 'BuildQuotaPolicy', metadata: { name: `${suite}-base` },
      spec: { toolSelector: { matchLabels: { suite } }, resourceQuota: { hard: { pods: '2' } } } },
  });
  proxy = await BlackholeProxy.start(plane.info.server);
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await proxy?.close();
  admin?.close();
  await plane?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('a leader cut off behind a blackhole stops writing before the standby takes over, fails /healthz and exits', async () => {
  // A's kubeconfig points at the proxy; B's at the API server. Each has its own token.
  const [dirA, dirB] = ['a', 'b'].map((n) => mkdtempSync(join(dir, `${n}-`)));
  const kubeconfigA = (await writeOperatorKubeconfig(dirA!, { ...plane.info, server: proxy.url })).path;
  const kubeconfigB = (await writeOperatorKubeconfig(dirB!, plane.info)).path;
  const [credentialA, credentialB] = [credentialId(join(dirA!, 'operator.token')), credentialId(join(dirB!, 'operator.token'))];

  // Given A leads, and B stands by with synced caches.
  const a = await startOperatorProcess({ kubeconfig: kubeconfigA, args: ELECTION });
  processes.push(a);
  const identityA = await a.identity;
  await eventually(async () => expect(await holder()).toBe(identityA), { timeoutMs: 30_000 });
  await a.waitForLog((l) => l.message === 'leading; reconciling');
  const b = await startOperatorProcess({ kubeconfig: kubeconfigB, args: ELECTION });
  processes.push(b);
  const identityB = await b.identity;
  const first = uniqueName('first');
  await createTool(first);
  await readyBuildNamespace(first);
  for (const p of [a, b]) {
    await eventually(async () => expect((await fetch(`http://${p.healthAddress}/readyz`)).status).toBe(200), { timeoutMs: 30_000 });
  }
  expect(await holder()).toBe(identityA);

  // A's /healthz, sampled from now until it exits.
  const health: { status: number; body: string }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling && a.child.exitCode === null) {
      try {
        const res = await fetch(`http://${a.healthAddress}/healthz`, { signal: AbortSignal.timeout(2000) });
        health.push({ status: res.status, body: await res.text() });
      } catch {
        // gone, or not answering: the exit check below says which
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  // When the path between A and the API server goes silent, and work arrives meanwhile.
  const healthyBefore = health.length;
  proxy.blackhole();
  const during = uniqueName('during');
  await createTool(during);

  // Then B takes the Lease (after a lease duration of silence on its own clock).
  await eventually(async () => expect(await holder()).toBe(identityB), { timeoutMs: 60_000, intervalMs: 100 });
  // From here on A could reach the API server again, were it still trying.
  proxy.forward();
  await b.waitForLog((l) => l.message === 'leading; reconciling', 30_000);
  await readyBuildNamespace(during);

  // A noticed by itself: its writes closed, it said so on /healthz, and it exited 1.
  const exited = await Promise.race([a.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 60_000).unref())]);
  sampling = false;
  await sampler;
  expect(exited).toEqual({ code: 1, signal: null });
  expect(a.log.map((l) => l.message)).toEqual(expect.arrayContaining(['leadership lost; writes closed', 'leadership lost; exiting']));
  expect(health.slice(0, Math.max(healthyBefore, 1)).every((h) => h.status === 200)).toBe(true);
  expect(health.filter((h) => h.status === 500).map((h) => h.body)).toEqual(
    expect.arrayContaining([expect.stringMatching(/^leader election lost: the Lease was not renewed within the renew deadline/)]));

  // And the API server saw no write from A after B's acquisition.
  const events = await eventually(() => {
    const all = auditEvents();
    expect(all.filter(byCredential(credentialB)).length).toBeGreaterThan(0);
    return all;
  });
  const acquired = events.find((e) => byCredential(credentialB)(e) && e.objectRef?.resource === 'leases' && e.objectRef.name === lease &&
    ['create', 'update'].includes(e.verb) && (e.responseStatus?.code ?? 0) < 300);
  expect(acquired).toBeDefined();
  const writesOfA = events.filter(byCredential(credentialA));
  // A did write while it led (Lease renewals, the first tool's build namespace): the log saw it.
  expect(writesOfA.filter((e) => e.objectRef?.resource === 'leases').length).toBeGreaterThan(0);
  expect(writesOfA.filter((e) => e.objectRef?.resource !== 'leases').length).toBeGreaterThan(0);
  const after = writesOfA.filter((e) => e.requestReceivedTimestamp >= acquired!.requestReceivedTimestamp || e.stageTimestamp >= acquired!.requestReceivedTimestamp);
  expect(after.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name} at ${e.requestReceivedTimestamp}`)).toEqual([]);
  // Every user in the log is the operator's; the two are told apart by their tokens.
  expect(new Set(events.map((e) => e.user.username))).toEqual(new Set([OPERATOR_USER]));
  process.stdout.write(`leader-blackhole: A wrote ${writesOfA.length} times before B acquired at ${acquired!.requestReceivedTimestamp}; ` +
    `A's /healthz answered 500 ${health.filter((h) => h.status === 500).length} times before it exited\n`);
}, 240_000);
