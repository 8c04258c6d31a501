// diffObject compares only the fields we own. The live objects below are shaped as a real
// kube-apiserver v1.36 returned them after a server-side apply of the desired ones.
import { diffObject, needsRecreate, type FieldDiff } from '../../src/render/owned-fields-diff.js';
import type { DesiredObject } from '../../src/api/meta.js';

const owner = { 'app.kubernetes.io/managed-by': 'build-namespace-operator', 'builds.toolforge.org/tool': 'rt' };

const applied = (fieldsV1: object, manager = 'build-namespace-operator', operation = 'Apply') => [
  { manager, operation, apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1, time: '2026-01-01T00:00:00Z' },
];

const namespace: DesiredObject = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: {
    name: 'image-build-rt',
    labels: { ...owner, 'pod-security.kubernetes.io/enforce': 'baseline' },
    annotations: { 'builds.toolforge.org/policies': 'default' },
  },
};

const liveNamespace = (labels: Record<string, string> = {}, managedFields: unknown[] = []) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: {
    name: 'image-build-rt',
    uid: '7d5f',
    resourceVersion: '42',
    creationTimestamp: new Date('2026-01-01T00:00:00Z'),
    labels: { ...owner, 'pod-security.kubernetes.io/enforce': 'baseline', 'kubernetes.io/metadata.name': 'image-build-rt', ...labels },
    annotations: { 'builds.toolforge.org/policies': 'default' },
    managedFields,
  },
  spec: { finalizers: ['kubernetes'] },
  status: { phase: 'Active' },
});

const quota: DesiredObject = {
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: { name: 'build-quota', namespace: 'image-build-rt', labels: owner },
  spec: { hard: { pods: '4', 'requests.cpu': '2000m', 'requests.memory': '4096Mi' } },
};

const liveQuota = (hard: Record<string, string>, managedFields: unknown[] = []) => ({
  metadata: { name: 'build-quota', namespace: 'image-build-rt', labels: owner, managedFields },
  spec: { hard },
  status: { hard, used: { pods: '0' } },
});

const limitRange: DesiredObject = {
  apiVersion: 'v1',
  kind: 'LimitRange',
  metadata: { name: 'build-limits', namespace: 'image-build-rt', labels: owner },
  spec: { limits: [{ type: 'Container', max: { cpu: '2000m' }, default: { cpu: '2000m' }, defaultRequest: { cpu: '2000m' } }] },
};

const roleBinding: DesiredObject = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name: 'tool-builds', namespace: 'image-build-rt', labels: owner },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'build-namespace-tool' },
  subjects: [
    { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'rt' },
    { kind: 'ServiceAccount', name: 'builds-api', namespace: 'builds-api' },
  ],
};

const networkPolicy: DesiredObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'build-network', namespace: 'image-build-rt', labels: owner },
  spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port: 443 }] }] },
};

const serviceAccount: DesiredObject = {
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name: 'buildpacks-service-account', namespace: 'image-build-rt', labels: owner },
  imagePullSecrets: [{ name: 'pull' }],
};

describe('diffObject', () => {
  it.each<{ name: string; desired: DesiredObject; live: unknown; want: FieldDiff[] }>([
    {
      name: 'up to date: server-set fields, extra labels, status and timestamps are ignored',
      desired: namespace,
      live: liveNamespace({ team: 'someone-elses' }),
      want: [],
    },
    {
      name: 'a label of ours changed',
      desired: namespace,
      live: liveNamespace({ 'pod-security.kubernetes.io/enforce': 'privileged' }),
      want: [{ path: 'metadata.labels[pod-security.kubernetes.io/enforce]', want: 'baseline', got: 'privileged' }],
    },
    {
      name: 'an annotation of ours missing',
      desired: namespace,
      live: { metadata: { labels: { ...owner, 'pod-security.kubernetes.io/enforce': 'baseline' } } },
      want: [{ path: 'metadata.annotations[builds.toolforge.org/policies]', want: 'default', got: undefined }],
    },
    {
      name: 'a label we applied before and no longer want (the ready label withdrawn)',
      desired: namespace,
      live: liveNamespace(
        { 'builds.toolforge.org/ready': 'true' },
        applied({ 'f:metadata': { 'f:labels': { 'f:builds.toolforge.org/ready': {}, 'f:app.kubernetes.io/managed-by': {} } } }),
      ),
      want: [{ path: 'metadata.labels[builds.toolforge.org/ready]', want: undefined, got: 'true' }],
    },
    {
      name: "someone else's field is not ours to remove",
      desired: namespace,
      live: liveNamespace(
        { 'builds.toolforge.org/ready': 'true' },
        applied({ 'f:metadata': { 'f:labels': { 'f:builds.toolforge.org/ready': {} } } }, 'kubectl'),
      ),
      want: [],
    },
    {
      name: 'fields we updated (not applied) are not removed by apply either',
      desired: namespace,
      live: liveNamespace(
        { 'builds.toolforge.org/ready': 'true' },
        applied({ 'f:metadata': { 'f:labels': { 'f:builds.toolforge.org/ready': {} } } }, 'build-namespace-operator', 'Update'),
      ),
      want: [],
    },
    {
      name: 'quantities compare by value: the server stores 2000m as 2 and 4096Mi as 4Gi',
      desired: quota,
      live: liveQuota({ pods: '4', 'requests.cpu': '2', 'requests.memory': '4Gi' }),
      want: [],
    },
    {
      name: 'a quantity that differs in value',
      desired: quota,
      live: liveQuota({ pods: '10', 'requests.cpu': '2', 'requests.memory': '4G' }),
      want: [
        { path: 'spec.hard[pods]', want: '4', got: '10' },
        { path: 'spec.hard[requests.memory]', want: '4096Mi', got: '4G' },
      ],
    },
    {
      name: 'a quota key missing from the live object',
      desired: quota,
      live: liveQuota({ pods: '4', 'requests.cpu': '2' }),
      want: [{ path: 'spec.hard[requests.memory]', want: '4096Mi', got: undefined }],
    },
    {
      name: 'a quota key we applied and dropped since',
      desired: quota,
      live: liveQuota(
        { pods: '4', 'requests.cpu': '2', 'requests.memory': '4Gi', 'limits.cpu': '8' },
        applied({ 'f:spec': { 'f:hard': { 'f:pods': {}, 'f:limits.cpu': {}, 'f:requests.cpu': {}, 'f:requests.memory': {} } } }),
      ),
      want: [{ path: 'spec.hard[limits.cpu]', want: undefined, got: '8' }],
    },
    {
      name: "a quota key someone else added is not ours",
      desired: quota,
      live: liveQuota({ pods: '4', 'requests.cpu': '2', 'requests.memory': '4Gi', secrets: '5' }),
      want: [],
    },
    {
      name: 'LimitRange items compare their quantities by value',
      desired: limitRange,
      live: { metadata: { labels: owner }, spec: { limits: [{ type: 'Container', max: { cpu: '2' }, default: { cpu: '2' }, defaultRequest: { cpu: '2' } }] } },
      want: [],
    },
    {
      name: 'LimitRange items are compared whole: an extra key in a live item is a difference',
      desired: limitRange,
      live: {
        metadata: { labels: owner },
        spec: { limits: [{ type: 'Container', max: { cpu: '2', memory: '1Gi' }, default: { cpu: '2' }, defaultRequest: { cpu: '2' } }] },
      },
      want: [{ path: 'spec.limits[0].max[memory]', want: undefined, got: '1Gi' }],
    },
    {
      name: 'a list of another length',
      desired: roleBinding,
      live: { metadata: { labels: owner }, roleRef: roleBinding.roleRef, subjects: [(roleBinding.subjects as unknown[])[0]] },
      want: [{ path: 'subjects', want: roleBinding.subjects, got: [(roleBinding.subjects as unknown[])[0]] }],
    },
    {
      name: 'a list element that differs',
      desired: roleBinding,
      live: {
        metadata: { labels: owner },
        roleRef: roleBinding.roleRef,
        subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'rt' }, { kind: 'ServiceAccount', name: 'builds-api', namespace: 'other' }],
      },
      want: [{ path: 'subjects[1].namespace', want: 'builds-api', got: 'other' }],
    },
    {
      name: 'empty lists and maps equal absent ones (the server drops them)',
      desired: { ...networkPolicy, spec: { podSelector: {}, policyTypes: ['Ingress'], egress: [] } },
      live: { metadata: { labels: owner }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
      want: [],
    },
    {
      name: 'an atomic selector is compared whole',
      desired: networkPolicy,
      live: {
        metadata: { labels: owner },
        spec: { podSelector: { matchLabels: { app: 'x' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port: 443 }] }] },
      },
      want: [{ path: 'spec.podSelector.matchLabels', want: undefined, got: { app: 'x' } }],
    },
    {
      name: 'a top-level field we applied and dropped since',
      desired: serviceAccount,
      live: {
        metadata: { labels: owner, managedFields: applied({ 'f:secrets': { '.': {}, 'k:{"name":"harbor-push"}': {} }, 'f:imagePullSecrets': {} }) },
        secrets: [{ name: 'harbor-push' }],
        imagePullSecrets: [{ name: 'pull' }],
      },
      want: [{ path: 'secrets', want: undefined, got: [{ name: 'harbor-push' }] }],
    },
    {
      name: 'a missing live object',
      desired: serviceAccount,
      live: undefined,
      want: [{ path: '', want: serviceAccount, got: undefined }],
    },
  ])('$name', ({ desired, live, want }) => {
    expect(diffObject(desired, live)).toEqual(want);
  });

  it('honours another field manager name', () => {
    const live = liveNamespace(
      { 'builds.toolforge.org/ready': 'true' },
      applied({ 'f:metadata': { 'f:labels': { 'f:builds.toolforge.org/ready': {} } } }, 'test-manager'),
    );
    expect(diffObject(namespace, live, { manager: 'test-manager' })).toHaveLength(1);
  });
});

describe('needsRecreate', () => {
  it.each([
    { name: 'a RoleBinding whose roleRef changed', desired: roleBinding, diffs: [{ path: 'roleRef.name', want: 'a', got: 'b' }], want: true },
    { name: 'a RoleBinding whose subjects changed', desired: roleBinding, diffs: [{ path: 'subjects', want: [], got: [] }], want: false },
    { name: 'any other kind', desired: quota, diffs: [{ path: 'spec.hard[pods]', want: '1', got: '2' }], want: false },
  ])('$name', ({ desired, diffs, want }) => {
    expect(needsRecreate(desired, diffs)).toBe(want);
  });
});
