import { Interner } from '../../src/runtime/intern.js';
import type { KubeObject } from '../../src/api/meta.js';

/** As the API server sends it: a fresh parse, so nothing is shared to begin with. */
const quota = (tool: string): KubeObject => JSON.parse(JSON.stringify({
  apiVersion: 'v1', kind: 'ResourceQuota',
  metadata: {
    name: 'build-quota', namespace: `image-build-${tool}`, uid: `uid-${tool}`, creationTimestamp: '2026-12-04T10:00:00Z',
    labels: { 'app.kubernetes.io/managed-by': 'build-namespace-operator', 'builds.toolforge.org/tool': tool },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: `image-build-${tool}`, uid: 'u' }],
    managedFields: [{
      manager: 'build-namespace-operator', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', time: '2026-12-04T10:00:00Z',
      fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app.kubernetes.io/managed-by': {} } }, 'f:spec': { 'f:hard': { 'f:pods': {} } } },
    }],
  },
  spec: { hard: { pods: '4' } },
})) as KubeObject;

describe('Interner', () => {
  it('leaves every value as it was', () => {
    const interner = new Interner();
    expect(interner.object(quota('a'))).toEqual(quota('a'));
  });

  it('gives objects with the same owned fields one frozen copy of them', () => {
    const interner = new Interner();
    const [a, b] = [interner.object(quota('a')), interner.object(quota('b'))];
    const fields = (o: KubeObject) => o.metadata.managedFields![0]!.fieldsV1;
    expect(fields(a)).toBe(fields(b));
    expect(Object.isFrozen(fields(a))).toBe(true);
    expect(() => { (fields(a) as Record<string, unknown>)['f:spec'] = {}; }).toThrow(TypeError);
  });

  it('keeps different owned fields apart', () => {
    const interner = new Interner();
    const other = quota('b');
    other.metadata.managedFields![0]!.fieldsV1 = { 'f:spec': { 'f:hard': { 'f:cpu': {} } } };
    const [a, b] = [interner.object(quota('a')), interner.object(other)];
    expect(a.metadata.managedFields![0]!.fieldsV1).not.toBe(b.metadata.managedFields![0]!.fieldsV1);
    expect(b.metadata.managedFields![0]!.fieldsV1).toEqual({ 'f:spec': { 'f:hard': { 'f:cpu': {} } } });
  });
});
