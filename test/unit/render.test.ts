// renderBuildNamespace: the objects of a tool's build namespace, exactly as they are applied.
import { effectivePolicy, type EffectivePolicy } from '../../src/policy/effective.js';
import { renderBuildNamespace } from '../../src/render/build-namespace-objects.js';
import type { DesiredObject } from '../../src/api/meta.js';
import type { BuildQuotaPolicySpec, LimitRangeItem } from '../../src/api/types.js';
import { bqp, toolNs } from './fixtures/policy.js';

function effectiveFor(tool: string, ...specs: BuildQuotaPolicySpec[]): EffectivePolicy {
  const policies = specs.map((spec, i) => bqp(`p${i}`, spec));
  const effective = effectivePolicy(tool, toolNs(tool), policies);
  if (effective === undefined) throw new Error('test policies must match');
  return effective;
}

function render(tool: string, spec: BuildQuotaPolicySpec, ready = false): DesiredObject[] {
  const result = renderBuildNamespace(tool, effectiveFor(tool, spec), { ready });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

const owner = { 'app.kubernetes.io/managed-by': 'build-namespace-operator', 'builds.toolforge.org/tool': 'my-tool' };

describe('renderBuildNamespace', () => {
  it('renders the whole build namespace of a typical policy', () => {
    const objects = render('my-tool', {
      resourceQuota: { hard: { pods: 4, 'requests.cpu': '2', 'count/pipelineruns.tekton.dev': '20' } },
      serviceAccount: { secrets: ['harbor-push'] },
      access: { extraSubjects: [{ kind: 'ServiceAccount', name: 'builds-api', namespace: 'builds-api' }] },
      deletionPolicy: 'Retain',
    });
    expect(objects).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: 'image-build-my-tool',
          labels: {
            ...owner,
            'pod-security.kubernetes.io/audit': 'baseline',
            'pod-security.kubernetes.io/enforce': 'baseline',
            'pod-security.kubernetes.io/warn': 'baseline',
          },
          // With the build fence's parameters (their content is test/unit/fence.test.ts's).
          annotations: expect.objectContaining({
            'builds.toolforge.org/deletion-policy': 'Retain', 'builds.toolforge.org/policies': 'p0',
            'fence.builds.toolforge.org/serviceAccountName': 'buildpacks-service-account',
          }),
        },
      },
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'build-quota', namespace: 'image-build-my-tool', labels: owner },
        spec: { hard: { 'count/pipelineruns.tekton.dev': '20', pods: '4', 'requests.cpu': '2' } },
      },
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'buildpacks-service-account', namespace: 'image-build-my-tool', labels: owner },
        secrets: [{ name: 'harbor-push' }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'tool-builds', namespace: 'image-build-my-tool', labels: owner },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'build-namespace-tool' },
        subjects: [
          { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'my-tool' },
          { kind: 'ServiceAccount', name: 'builds-api', namespace: 'builds-api' },
        ],
      },
    ]);
  });

  it.each([
    { name: 'not ready: no ready label', ready: false, want: undefined },
    { name: 'ready: the ready label', ready: true, want: 'true' },
  ])('$name', ({ ready, want }) => {
    const [ns] = render('my-tool', {}, ready);
    expect(ns?.metadata.labels['builds.toolforge.org/ready']).toBe(want);
  });

  it('puts the Namespace first and the RoleBinding that lets the tool in last', () => {
    const kinds = render('my-tool', {
      limitRange: { limits: [{ type: 'Container', max: { cpu: '1' } }] },
      networkPolicy: {},
    }).map((o) => o.kind);
    expect(kinds).toEqual(['Namespace', 'ResourceQuota', 'LimitRange', 'NetworkPolicy', 'ServiceAccount', 'RoleBinding']);
  });

  it('renders each scoped quota as build-quota-<name>, after build-quota', () => {
    const systemPriorities = { scopeName: 'PriorityClass' as const, operator: 'In' as const, values: ['system-node-critical', 'system-cluster-critical'] };
    const objects = render('my-tool', { resourceQuota: { hard: { pods: 4 }, scoped: [{ name: 'system-priorities', hard: { pods: 0 }, scopeSelector: { matchExpressions: [systemPriorities] } }] } });
    expect(objects.filter((o) => o.kind === 'ResourceQuota')).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ name: 'build-quota' }) }),
      {
        apiVersion: 'v1', kind: 'ResourceQuota',
        metadata: { name: 'build-quota-system-priorities', namespace: 'image-build-my-tool', labels: owner },
        spec: { hard: { pods: '0' }, scopeSelector: { matchExpressions: [systemPriorities] } },
      },
    ]);
    expect(render('my-tool', { resourceQuota: { hard: { pods: 4 } } }).filter((o) => o.kind === 'ResourceQuota')).toHaveLength(1);
  });

  it('gives every object our labels and every namespaced one the build namespace', () => {
    for (const o of render('my-tool', { limitRange: { limits: [{ type: 'Pod', max: { cpu: '1' } }] }, networkPolicy: {} })) {
      expect(o.metadata.labels).toMatchObject(owner);
      if (o.kind !== 'Namespace') expect(o.metadata.namespace).toBe('image-build-my-tool');
    }
  });

  it('adds the policy labels and annotations to the Namespace, the operator keys winning', () => {
    const effective = effectiveFor('my-tool', {
      namespace: { podSecurity: 'restricted', labels: { team: 'builds' }, annotations: { note: 'hi' } },
    });
    // validation keeps policies off our keys; render holds even when given one.
    effective.namespace.labels['builds.toolforge.org/tool'] = 'someone-else';
    const result = renderBuildNamespace('my-tool', effective, { ready: false });
    const ns = result.ok ? result.value[0] : undefined;
    expect(ns?.metadata.labels).toEqual({
      ...owner,
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      team: 'builds',
    });
    expect(Object.entries(ns?.metadata.annotations ?? {}).filter(([k]) => !k.startsWith('fence.builds.toolforge.org/'))).toEqual([
      ['builds.toolforge.org/deletion-policy', 'Delete'],
      ['builds.toolforge.org/policies', 'p0'],
      ['note', 'hi'],
    ]);
  });

  it.each<{ name: string; limits: LimitRangeItem[]; want: unknown[] }>([
    {
      name: 'Container limits get the defaults the API server would add',
      limits: [{ type: 'Container', max: { cpu: '2', memory: '4Gi' }, min: { cpu: '10m' }, default: { memory: '1Gi' } }],
      want: [{
        type: 'Container',
        max: { cpu: '2', memory: '4Gi' },
        min: { cpu: '10m' },
        default: { cpu: '2', memory: '1Gi' },
        defaultRequest: { cpu: '2', memory: '1Gi' },
      }],
    },
    {
      name: 'a defaultRequest falls back to min when there is no default',
      limits: [{ type: 'Container', min: { cpu: '10m' } }],
      want: [{ type: 'Container', min: { cpu: '10m' }, defaultRequest: { cpu: '10m' } }],
    },
    {
      name: 'Pod and PersistentVolumeClaim limits are not defaulted',
      limits: [{ type: 'Pod', max: { cpu: '4' } }, { type: 'PersistentVolumeClaim', max: { storage: '1Gi' } }],
      want: [{ type: 'Pod', max: { cpu: '4' } }, { type: 'PersistentVolumeClaim', max: { storage: '1Gi' } }],
    },
  ])('$name', ({ limits, want }) => {
    const lr = render('my-tool', { limitRange: { limits } }).find((o) => o.kind === 'LimitRange');
    expect(lr).toEqual({
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'build-limits', namespace: 'image-build-my-tool', labels: owner },
      spec: { limits: want },
    });
  });

  it.each([
    {
      name: 'an empty section: deny all ingress to every pod',
      section: {},
      want: { podSelector: {}, policyTypes: ['Ingress'] },
    },
    {
      name: 'egress rules add Egress to the policy types, ports default to TCP',
      section: {
        egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: [] } }], ports: [{ port: 443 }, { protocol: 'UDP' as const, port: 53 }] }],
      },
      want: {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'UDP', port: 53 }] }],
      },
    },
    {
      name: 'explicit policy types and an allow-all ingress rule are kept',
      section: { podSelector: { matchLabels: { app: 'x' } }, policyTypes: ['Egress' as const], ingress: [{}] },
      want: { podSelector: { matchLabels: { app: 'x' } }, policyTypes: ['Egress'], ingress: [{}] },
    },
  ])('NetworkPolicy: $name', ({ section, want }) => {
    const np = render('my-tool', { networkPolicy: section }).find((o) => o.kind === 'NetworkPolicy');
    expect(np?.metadata.name).toBe('build-network');
    expect(np?.spec).toEqual(want);
  });

  it('renders no NetworkPolicy and no LimitRange when no policy asks for them', () => {
    const kinds = render('my-tool', { limitRange: { limits: [] } }).map((o) => o.kind);
    expect(kinds).not.toContain('NetworkPolicy');
    expect(kinds).not.toContain('LimitRange');
  });

  it('writes out the apiGroup of User and Group subjects, as the API server defaults it', () => {
    const rb = render('my-tool', {
      access: {
        toolRole: 'other-role',
        extraSubjects: [{ kind: 'Group', name: 'admins' }, { kind: 'ServiceAccount', name: 'sa' }],
      },
    }).find((o) => o.kind === 'RoleBinding');
    expect(rb?.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'other-role' });
    expect(rb?.subjects).toEqual([
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'my-tool' },
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'admins' },
      { kind: 'ServiceAccount', name: 'sa' },
    ]);
  });

  it('lists imagePullSecrets and a custom ServiceAccount name', () => {
    const sa = render('my-tool', { serviceAccount: { name: 'builder', imagePullSecrets: ['pull'] } }).find(
      (o) => o.kind === 'ServiceAccount',
    );
    expect(sa).toEqual({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'builder', namespace: 'image-build-my-tool', labels: owner },
      imagePullSecrets: [{ name: 'pull' }],
    });
  });

  it('cuts a long namespace name', () => {
    const [ns] = render('a'.repeat(53), {});
    expect(ns?.metadata.name).toBe(`image-build-${'a'.repeat(42)}-79d78e00`);
    expect(ns?.metadata.labels['builds.toolforge.org/tool']).toBe('a'.repeat(53));
  });

  it('is deterministic', () => {
    const spec: BuildQuotaPolicySpec = { resourceQuota: { hard: { z: '1', a: '2' } }, namespace: { labels: { z: 'z', a: 'a' } } };
    expect(JSON.stringify(render('my-tool', spec))).toBe(JSON.stringify(render('my-tool', spec)));
  });

  it.each([
    { name: 'upper case tool', tool: 'MyTool', template: undefined, reason: 'InvalidToolName' },
    { name: 'empty tool', tool: '', template: undefined, reason: 'InvalidToolName' },
    { name: 'tool too long', tool: 'a'.repeat(54), template: undefined, reason: 'ToolNameTooLong' },
    { name: 'template that gives no DNS label', tool: 'x', template: 'Builds_{tool}', reason: 'InvalidNamespaceName' },
    { name: 'template that gives a tool namespace', tool: 'x', template: 'tool-{tool}', reason: 'NamespaceCollision' },
  ])('refuses with a typed error, never an exception: $name', ({ tool, template, reason }) => {
    const effective = effectiveFor('x', template === undefined ? {} : { namespace: { nameTemplate: template } });
    const result = renderBuildNamespace(tool, { ...effective, tool }, { ready: false });
    expect(result.ok ? 'ok' : result.error.reason).toBe(reason);
  });

  it('refuses an effective policy computed for another tool', () => {
    const result = renderBuildNamespace('a', effectiveFor('b', {}), { ready: false });
    expect(result.ok ? 'ok' : result.error.reason).toBe('InvalidToolName');
  });
});
