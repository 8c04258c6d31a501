// effectivePolicy: layering of the matching policies into one per tool.
import { effectivePolicy, type EffectivePolicy } from '../../src/policy/effective.js';
import type { BuildQuotaPolicy } from '../../src/api/types.js';
import { effectiveFence } from '../../src/policy/fence.js';
import { bqp, toolNs } from './fixtures/policy.js';

const ns = toolNs('a');

const defaults: EffectivePolicy = {
  tool: 'a',
  sources: [],
  namespace: { nameTemplate: 'image-build-{tool}', podSecurity: 'baseline', labels: {}, annotations: {} },
  resourceQuota: { hard: {} },
  serviceAccount: { name: 'buildpacks-service-account', secrets: [], imagePullSecrets: [] },
  access: { toolRole: 'build-namespace-tool', extraSubjects: [] },
  replicate: [],
  builds: {},
  fence: effectiveFence([], [], () => undefined),
  deletionPolicy: 'Delete',
};

describe('effectivePolicy', () => {
  it.each<{ name: string; policies: BuildQuotaPolicy[]; want: Partial<EffectivePolicy> }>([
    {
      name: 'one policy without sections: every default',
      policies: [bqp('default')],
      want: {},
    },
    {
      name: 'quota keys merged, the higher priority winning each key',
      policies: [
        bqp('default', { resourceQuota: { hard: { pods: '4', 'requests.cpu': '2', 'requests.memory': '4Gi' } } }),
        bqp('big-tool', { priority: 10, tools: ['a'], resourceQuota: { hard: { 'requests.cpu': '8' } } }),
      ],
      want: {
        sources: ['big-tool', 'default'],
        resourceQuota: { hard: { pods: '4', 'requests.cpu': '8', 'requests.memory': '4Gi' } },
      },
    },
    {
      name: 'equal priorities: the alphabetically first name wins a key',
      policies: [
        bqp('b', { priority: 5, resourceQuota: { hard: { pods: '2' } } }),
        bqp('a', { priority: 5, resourceQuota: { hard: { pods: '9' } } }),
      ],
      want: { sources: ['a'], resourceQuota: { hard: { pods: '9' } } },
    },
    {
      name: 'integer quantities become strings, keys sorted',
      policies: [bqp('p', { resourceQuota: { hard: { pods: 4, 'count/pipelineruns.tekton.dev': '20' } } })],
      want: { sources: ['p'], resourceQuota: { hard: { 'count/pipelineruns.tekton.dev': '20', pods: '4' } } },
    },
    {
      name: 'other sections are taken whole from the strongest policy that sets them',
      policies: [
        bqp('default', {
          namespace: { podSecurity: 'restricted', labels: { team: 'x' } },
          serviceAccount: { secrets: ['harbor-push'] },
        }),
        bqp('override', { priority: 1, namespace: { labels: { special: 'yes' } } }),
      ],
      want: {
        sources: ['override', 'default'],
        // the override's section replaces the default's: podSecurity falls back to its default
        namespace: { nameTemplate: 'image-build-{tool}', podSecurity: 'baseline', labels: { special: 'yes' }, annotations: {} },
        serviceAccount: { name: 'buildpacks-service-account', secrets: ['harbor-push'], imagePullSecrets: [] },
      },
    },
    {
      name: 'a policy that contributes nothing is not a source',
      policies: [
        bqp('default', { resourceQuota: { hard: { pods: '4' } } }),
        bqp('override', { priority: 1, resourceQuota: { hard: { pods: '8' } } }),
      ],
      want: { sources: ['override'], resourceQuota: { hard: { pods: '8' } } },
    },
    {
      name: 'deletionPolicy from the strongest policy that sets it',
      policies: [bqp('default', { deletionPolicy: 'Retain' }), bqp('quota-only', { priority: 1, resourceQuota: { hard: { pods: '1' } } })],
      want: { sources: ['quota-only', 'default'], resourceQuota: { hard: { pods: '1' } }, deletionPolicy: 'Retain' },
    },
    {
      name: 'limitRange, networkPolicy, replicate and builds carried, apiVersion defaulted',
      policies: [
        bqp('p', {
          limitRange: { limits: [{ type: 'Container', max: { cpu: 2 }, default: { memory: '1Gi' } }] },
          networkPolicy: { egress: [{}] },
          replicate: [
            { kind: 'Secret', namespace: 'image-build-admin', name: 'harbor-push' },
            { apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: 'image-build-admin', name: 'buildpacks' },
          ],
          builds: { keepSuccessful: 4, keepFailed: 2 },
          access: { toolRole: 'custom', extraSubjects: [{ kind: 'ServiceAccount', name: 'builds-api', namespace: 'builds-api' }] },
        }),
      ],
      want: {
        fence: effectiveFence([], ['buildpacks'], () => undefined),
        sources: ['p'],
        limitRange: { limits: [{ type: 'Container', max: { cpu: '2' }, default: { memory: '1Gi' } }] },
        networkPolicy: { egress: [{}] },
        replicate: [
          { apiVersion: 'v1', kind: 'Secret', namespace: 'image-build-admin', name: 'harbor-push' },
          { apiVersion: 'tekton.dev/v1', kind: 'Pipeline', namespace: 'image-build-admin', name: 'buildpacks' },
        ],
        builds: { keepSuccessful: 4, keepFailed: 2 },
        access: { toolRole: 'custom', extraSubjects: [{ kind: 'ServiceAccount', name: 'builds-api', namespace: 'builds-api' }] },
      },
    },
    {
      name: 'builds.maxRunning layered on its own: an override of the cap keeps the retention, and a retention override the cap',
      policies: [
        bqp('default', { builds: { keepSuccessful: 3, maxRunning: 2 } }),
        bqp('more-builds', { priority: 5, tools: ['a'], builds: { maxRunning: 6 } }),
        bqp('keep-more', { priority: 9, tools: ['a'], builds: { keepFailed: 5 } }),
      ],
      want: { sources: ['keep-more', 'more-builds'], builds: { keepFailed: 5, maxRunning: 6 } },
    },
    {
      name: 'builds.maxRunning unset everywhere stays unset (the queue derives it from the quota)',
      policies: [bqp('default', { builds: { keepSuccessful: 3 } })],
      want: { sources: ['default'], builds: { keepSuccessful: 3 } },
    },
    {
      name: 'an override with an empty limits list removes the LimitRange',
      policies: [
        bqp('default', { limitRange: { limits: [{ type: 'Container', max: { cpu: '2' } }] } }),
        bqp('override', { priority: 1, limitRange: { limits: [] } }),
      ],
      want: { sources: ['override'] },
    },
    {
      name: 'an override with an empty replicate list replicates nothing',
      policies: [
        bqp('default', { replicate: [{ kind: 'Secret', namespace: 'x', name: 'y' }] }),
        bqp('override', { priority: 1, replicate: [] }),
      ],
      want: { sources: ['override'] },
    },
    {
      name: 'policies that do not match the tool are ignored',
      policies: [bqp('default'), bqp('other-tool', { priority: 9, tools: ['b'], deletionPolicy: 'Retain' })],
      want: {},
    },
  ])('$name', ({ policies, want }) => {
    expect(effectivePolicy('a', ns, policies)).toEqual({ ...defaults, ...want });
  });

  it('is undefined when no policy matches', () => {
    expect(effectivePolicy('a', ns, [bqp('other', { tools: ['b'] })])).toBeUndefined();
    expect(effectivePolicy('a', ns, [])).toBeUndefined();
  });

  it('treats null sections as unset, as the API server prunes them', () => {
    const policies = [
      bqp('default', { namespace: { podSecurity: 'restricted' } }),
      { ...bqp('override', { priority: 1 }), spec: { priority: 1, namespace: null } } as unknown as BuildQuotaPolicy,
    ];
    expect(effectivePolicy('a', ns, policies)?.namespace.podSecurity).toBe('restricted');
  });

  it('shares nothing with its input', () => {
    const policy = bqp('p', { serviceAccount: { secrets: ['s'] }, namespace: { labels: { a: 'b' } } });
    const effective = effectivePolicy('a', ns, [policy]);
    effective?.serviceAccount.secrets.push('t');
    if (effective) effective.namespace.labels.c = 'd';
    expect(policy.spec).toEqual({ serviceAccount: { secrets: ['s'] }, namespace: { labels: { a: 'b' } } });
  });

  it('is deterministic whatever the order of the policies', () => {
    const policies = [
      bqp('a', { resourceQuota: { hard: { pods: '1', cpu: '1' } } }),
      bqp('b', { resourceQuota: { hard: { memory: '1Gi', pods: '2' } } }),
      bqp('c', { priority: 3, namespace: {} }),
    ];
    const once = effectivePolicy('a', ns, policies);
    expect(effectivePolicy('a', ns, [...policies].reverse())).toEqual(once);
    expect(JSON.stringify(effectivePolicy('a', ns, [...policies].reverse()))).toBe(JSON.stringify(once));
  });
});
