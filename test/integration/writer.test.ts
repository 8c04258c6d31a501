// The writer's requests as the API server reads them: a delete carries its UID
// precondition, so an object that was replaced since it was seen is never deleted.
import { KubeClient, ApiError } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/credentials.js';
import type { KubeObject } from '../../src/api/meta.js';
import { CONFIG_MAPS, NAMESPACES, ResourceTypes, collectionPath, objectPath } from '../../src/kube/resources.js';
import { Writer } from '../../src/kube/writer.js';
import { controlPlaneInfo, uniqueName } from '../../envtest/cluster.js';

const client = new KubeClient(loadKubeConfig(controlPlaneInfo().adminKubeconfig));
const writer = new Writer(client, new ResourceTypes(client));
afterAll(() => client.close());

describe('Writer.delete', () => {
  it('refuses to delete an object whose UID is not the one seen, and the connection stays usable', async () => {
    const namespace = uniqueName('writer');
    await client.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: namespace } } });
    const created = await client.request<KubeObject>('POST', collectionPath(CONFIG_MAPS, namespace), {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace } },
    });
    const stale = { ...created, metadata: { ...created.metadata, uid: '00000000-0000-0000-0000-000000000000' } };
    const refused = await writer.delete(CONFIG_MAPS, stale).then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).code).toBe(409);
    // The next request on the same keep-alive connection is read as a request of its own.
    const still = await client.request<KubeObject>('GET', objectPath(CONFIG_MAPS, 'cm', namespace));
    expect(still.metadata.uid).toBe(created.metadata.uid);
    await writer.delete(CONFIG_MAPS, created);
    await expect(client.request('GET', objectPath(CONFIG_MAPS, 'cm', namespace))).rejects.toMatchObject({ code: 404 });
  });
});
