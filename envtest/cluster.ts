// What an integration test uses to reach the shared control plane: clients for the admin
// and for any other identity, unique names, and an `eventually` that polls an assertion.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { ControlPlaneInfo } from './controlplane.js';
import { kubeconfigYaml } from './controlplane.js';
import { Pki, type Identity } from './pki.js';

export function controlPlaneInfo(): ControlPlaneInfo {
  const raw = process.env.BNO_CONTROL_PLANE;
  if (!raw) throw new Error('BNO_CONTROL_PLANE is not set: integration tests run under the Jest global setup');
  return JSON.parse(raw) as ControlPlaneInfo;
}

export function adminConfig(info: ControlPlaneInfo = controlPlaneInfo()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(info.adminKubeconfig);
  return kc;
}

/** A client configuration that authenticates as the identity with a fresh client certificate. */
export function configFor(identity: Identity, info: ControlPlaneInfo = controlPlaneInfo()): KubeConfig {
  const pki = new Pki(info.dir);
  const { certPem, keyPem } = pki.mintClient(identity);
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(info.server, pki.caPem(), certPem, keyPem, identity.user));
  return kc;
}

/** A DNS-label-safe name unique to this run, so tests sharing one control plane never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/**
 * Polls the assertion until it stops throwing or the timeout passes; then rethrows the
 * last failure, so the test fails with what was expected and what was last seen.
 */
export async function eventually<T>(
  assertion: () => Promise<T> | T,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (err) {
      if (Date.now() >= deadline) {
        if (err instanceof Error) err.message = `not true within ${timeoutMs} ms: ${err.message}`;
        throw err;
      }
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * A client configuration that authenticates as a ServiceAccount with a token from the
 * TokenRequest API, exactly as a pod would (its user name is too long for a certificate CN).
 */
export async function configForServiceAccount(namespace: string, name: string, info: ControlPlaneInfo = controlPlaneInfo()): Promise<KubeConfig> {
  const admin = adminConfig(info);
  const core = admin.makeApiClient(CoreV1Api);
  const request = await eventually(() => core.createNamespacedServiceAccountToken({
    namespace, name, body: { spec: { audiences: [], expirationSeconds: 3600 } },
  }));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: info.server, caData: Buffer.from(new Pki(info.dir).caPem()).toString('base64') }],
    users: [{ name, token: request.status?.token ?? '' }],
    contexts: [{ name: 'test', cluster: 'test', user: name }],
    currentContext: 'test',
  });
  return kc;
}
