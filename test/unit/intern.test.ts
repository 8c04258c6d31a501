import { Interner } from '../../src/runtime/intern.js';
import { cacheOptions, DEFAULT_OPTIONS } from '../../src/controller/setup.js';
import { diffObject } from '../../src/render/owned-fields-diff.js';
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

/** Two values whose `{"v": ...}` serialisations have the same FNV-1a hash. */
const COLLIDING = ['k7pvu', 'ka3ea'];

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

  it('shares equal subtrees across objects: the labels of one tool, the quota spec of a policy, a Namespace status', () => {
    const interner = new Interner();
    const [a, b] = [interner.object(quota('a')), interner.object(quota('b'))];
    const spec = (o: KubeObject) => (o as KubeObject & { spec: unknown }).spec;
    expect(spec(a)).toBe(spec(b));
    expect(() => { (spec(a) as { hard: Record<string, string> }).hard.pods = '9'; }).toThrow(TypeError);
    // The same tool's objects share their labels; another tool's differ.
    const limitRange = interner.object(JSON.parse(JSON.stringify({ ...quota('a'), kind: 'LimitRange', metadata: { ...quota('a').metadata, name: 'build-limits' } })) as KubeObject);
    expect(limitRange.metadata.labels).toBe(a.metadata.labels);
    expect(b.metadata.labels).not.toBe(a.metadata.labels);
    expect(b.metadata.labels).toEqual(quota('b').metadata.labels);
    // A name repeated across namespaces is one string; a subtree no one repeats keeps its values shared too.
    expect(Object.isFrozen(a.metadata.labels)).toBe(true);
    const ns = (name: string) => interner.object(JSON.parse(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } })) as KubeObject);
    const [x, y] = [ns('x'), ns('y')];
    expect((x as KubeObject & { status: unknown }).status).toBe((y as KubeObject & { status: unknown }).status);
  });

  it('keeps a subtree too large to compare cheaply as it is, and never mistakes a hash collision for a match', () => {
    const interner = new Interner();
    const big = { data: 'x'.repeat(5000) };
    expect(Object.isFrozen(interner.tree(big))).toBe(false);
    // FNV-1a collides on these two (found by search); each keeps its own value.
    const [p, q] = [interner.tree({ v: COLLIDING[0] }), interner.tree({ v: COLLIDING[1] })];
    expect(p).not.toBe(q);
    expect([p.v, q.v]).toEqual(COLLIDING);
  });

  it('the cache keeps our managedFields entry without its time, once for all objects alike, and the diff still reads it', () => {
    const transform = cacheOptions(DEFAULT_OPTIONS).defaultTransform!;
    const at = (tool: string, time: string) => {
      const obj = quota(tool);
      obj.metadata.managedFields![0]!.time = time;
      obj.metadata.managedFields!.push({ manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} } });
      return transform(obj);
    };
    const [a, b] = [at('a', '2026-12-04T10:00:00Z'), at('b', '2026-12-04T11:30:00Z')];
    expect(a.metadata.managedFields).toBe(b.metadata.managedFields);
    expect(a.metadata.managedFields).toEqual([expect.not.objectContaining({ time: expect.anything() })]);
    expect(a.metadata.managedFields![0]).toMatchObject({ manager: 'build-namespace-operator', operation: 'Apply' });
    // A quota key we applied before and no longer want is still found through the shared entry.
    const desired = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'build-quota', labels: a.metadata.labels! }, spec: { hard: {} } };
    expect(diffObject(desired, a).map((d) => d.path)).toContain('spec.hard[pods]');
  });
});

