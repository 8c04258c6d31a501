// The informer against the real API server: paged initial list, then watch events, with
// an index, a relist that emits only what really changed, and a stop during a relist that
// leaves no watch behind.
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/credentials.js';
import { BlackholeProxy } from '../../envtest/blackhole-proxy.js';
import { Informer, type ChangeType } from '../../src/runtime/informer.js';
import type { KubeObject } from '../../src/api/meta.js';
import { CONFIG_MAPS, collectionPath, NAMESPACES, objectPath } from '../../src/kube/resources.js';
import { adminConfig, controlPlaneInfo, eventually, uniqueName } from '../../envtest/cluster.js';

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

    // Relists every 500 ms happen meanwhile: after two more, none re-announced an unchanged object.
    const lists = informer.counts.lists;
    await eventually(() => expect(informer.counts.lists).toBeGreaterThanOrEqual(lists + 2 * 3), { timeoutMs: 20_000 });
    expect(changes.filter((c) => c === 'add cm-2')).toHaveLength(1);
    expect(changes.filter((c) => c.startsWith('update cm-2'))).toHaveLength(0);
    informer.stop();
    await running;
  });

  it('metadata only: the API server sends no spec or status, in the list or the watch', async () => {
    const suite = uniqueName('informer-meta');
    const names = [`${suite}-a`, `${suite}-b`];
    await client.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: names[0], labels: { suite } } } });
    const informer = new Informer<KubeObject & { spec?: unknown; status?: unknown }>(client, NAMESPACES, { labelSelector: `suite=${suite}`, metadataOnly: true });
    const changes: string[] = [];
    informer.onChange((type, obj) => changes.push(`${type} ${obj.metadata.name}`));
    const running = informer.run();
    await informer.synced;
    await client.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: names[1], labels: { suite, colour: 'red' } } } });
    await eventually(() => expect(changes).toContain(`add ${names[1]}`));
    for (const name of names) {
      const listedOrWatched = informer.get(name)!;
      // The kind's own type, though the server said PartialObjectMetadata; metadata intact.
      expect(listedOrWatched).toMatchObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { suite } } });
      expect(listedOrWatched.metadata.uid).toBeDefined();
      expect(listedOrWatched.spec).toBeUndefined();
      expect(listedOrWatched.status).toBeUndefined();
    }
    // The same request without it gets the whole object: the test can tell the two apart.
    const whole = await client.request<{ status?: { phase?: string } }>('GET', objectPath(NAMESPACES, names[0]!));
    expect(whole.status?.phase).toBe('Active');
    informer.stop();
    await running;
    for (const name of names) await client.request('DELETE', objectPath(NAMESPACES, name));
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

  it('stop() during a relist aborts the list and starts no watch after it', async () => {
    const namespace = uniqueName('informer-stop');
    await client.request('POST', collectionPath(NAMESPACES), { body: { metadata: { name: namespace } } });
    // The informer's client reaches the API server through a proxy that can hold its bytes.
    const proxy = await BlackholeProxy.start(controlPlaneInfo().server);
    const admin = adminConfig();
    const viaProxy = new KubeConfig();
    viaProxy.loadFromOptions({
      clusters: admin.clusters.map((c) => ({ ...c, server: proxy.url })), users: admin.users, contexts: admin.contexts, currentContext: admin.currentContext,
    });
    const proxied = new KubeClient(viaProxy);
    const informer = new Informer<KubeObject>(proxied, CONFIG_MAPS, { namespace, relistIntervalMs: 1000 });
    const running = informer.run();
    await informer.synced;
    await eventually(() => expect(informer.counts.watches).toBeGreaterThanOrEqual(1));

    // The next periodic relist's list goes out and its answer waits in the proxy.
    proxy.hold();
    const lists = informer.counts.lists;
    await eventually(() => expect(informer.counts.lists).toBeGreaterThan(lists), { timeoutMs: 10_000 });
    await eventually(() => expect(proxy.counts.bytesHeld).toBeGreaterThan(0), { timeoutMs: 10_000 });
    const watches = informer.counts.watches;
    informer.stop();
    // The answer arrives after the stop: it must not lead to a watch.
    proxy.forward();
    const ended = await Promise.race([running.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000).unref())]);
    expect(ended).toBe(true);
    expect(informer.counts.watches).toBe(watches);
    // Nothing of the informer holds a connection: a leaked watch would hold its own.
    proxied.close();
    await eventually(() => expect(proxy.openConnections).toBe(0), { timeoutMs: 10_000 });
    await proxy.close();
    await client.request('DELETE', objectPath(NAMESPACES, namespace));
  });
});
