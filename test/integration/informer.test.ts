// The informer against the real API server: paged initial list, then watch events, with
// an index, and a relist that emits only what really changed.
import { KubeClient, loadKubeConfig } from '../../src/kube/client.js';
import { Informer, type ChangeType } from '../../src/runtime/informer.js';
import type { KubeObject } from '../../src/api/meta.js';
import { CONFIG_MAPS, collectionPath, NAMESPACES, objectPath } from '../../src/kube/resources.js';
import { controlPlaneInfo, eventually, uniqueName } from '../../envtest/cluster.js';

const client = new KubeClient(loadKubeConfig(controlPlaneInfo().adminKubeconfig));
afterAll(() => client.close());

const configMap = (namespace: string, name: string, colour: string) => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: { colour } }, data: { v: '1' },
});

describe('Informer', () => {
  it('lists in pages, then delivers adds, updates and deletes from the watch, indexed', async () => {
    const namespace = uniqueName('informer');
    await client.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: namespace } } });
    for (let i = 0; i < 5; i++) {
      await client.request('POST', collectionPath(CONFIG_MAPS, namespace), { body: configMap(namespace, `cm-${i}`, i % 2 ? 'red' : 'blue') });
    }
    const informer = new Informer<KubeObject>(client, CONFIG_MAPS, { namespace, pageSize: 2, relistIntervalMs: 500 });
    informer.addIndex('colour', (o) => [o.metadata.labels?.colour ?? '']);
    const changes: string[] = [];
    informer.onChange((type: ChangeType, obj) => changes.push(`${type} ${obj.metadata.name}`));
    const running = informer.run();
    await informer.synced;

    // kube-root-ca.crt is made by the controller manager in every namespace; count ours.
    expect(informer.list().filter((o) => o.metadata.name.startsWith('cm-'))).toHaveLength(5);
    expect(informer.byIndex('colour', 'red').map((o) => o.metadata.name).sort()).toEqual(['cm-1', 'cm-3']);

    await client.request('POST', collectionPath(CONFIG_MAPS, namespace), { body: configMap(namespace, 'cm-new', 'red') });
    await client.request('PATCH', objectPath(CONFIG_MAPS, 'cm-1', namespace), {
      body: { metadata: { labels: { colour: 'green' } } }, contentType: 'application/merge-patch+json',
    });
    await client.request('DELETE', objectPath(CONFIG_MAPS, 'cm-0', namespace));
    await eventually(() => {
      expect(changes).toEqual(expect.arrayContaining(['add cm-new', 'update cm-1', 'delete cm-0']));
      expect(informer.byIndex('colour', 'red').map((o) => o.metadata.name).sort()).toEqual(['cm-3', 'cm-new']);
      expect(informer.byIndex('colour', 'green').map((o) => o.metadata.name)).toEqual(['cm-1']);
    });

    // Relists every 500 ms happened meanwhile: none of them re-announced an unchanged object.
    await new Promise((r) => setTimeout(r, 1200));
    expect(changes.filter((c) => c === 'add cm-2')).toHaveLength(1);
    expect(changes.filter((c) => c.startsWith('update cm-2'))).toHaveLength(0);
    informer.stop();
    await running;
  });

  it('keeps retrying a resource that is not served, and is not synced meanwhile', async () => {
    const restarts: string[] = [];
    const nothing = { apiVersion: 'example.org/v1', kind: 'Nothing', plural: 'nothings', namespaced: false };
    const running = new Informer<KubeObject>(client, nothing, { onRestart: (r) => restarts.push(r) });
    const loop = running.run();
    await eventually(() => expect(restarts.length).toBeGreaterThan(0));
    expect(running.hasSynced).toBe(false);
    expect(running.lastError).toMatch(/not found/i);
    running.stop();
    await loop;
  });
});
