// Label selector semantics (metav1.LabelSelector) and which policies apply to a tool, in order.
import { policiesForTool, policyMatchesTool, selectorMatches } from '../../src/policy/select.js';
import type { LabelSelector } from '../../src/api/types.js';
import { bqp, toolNs } from './fixtures/policy.js';

describe('selectorMatches', () => {
  const labels = { tenancy: 'tool', tier: 'gold', empty: '' };
  it.each<{ name: string; selector: LabelSelector; labels?: Record<string, string>; want: boolean }>([
    { name: 'empty selector matches everything', selector: {}, want: true },
    { name: 'empty selector matches a namespace without labels', selector: {}, labels: undefined, want: true },
    { name: 'matchLabels equal', selector: { matchLabels: { tenancy: 'tool' } }, want: true },
    { name: 'matchLabels all must hold', selector: { matchLabels: { tenancy: 'tool', tier: 'silver' } }, want: false },
    { name: 'matchLabels missing key', selector: { matchLabels: { team: 'x' } }, want: false },
    { name: 'matchLabels empty value', selector: { matchLabels: { empty: '' } }, want: true },
    { name: 'In: value listed', selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold', 'silver'] }] }, want: true },
    { name: 'In: value not listed', selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['silver'] }] }, want: false },
    { name: 'In: key missing', selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['x'] }] }, want: false },
    { name: 'NotIn: value listed', selector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gold'] }] }, want: false },
    { name: 'NotIn: value not listed', selector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['silver'] }] }, want: true },
    { name: 'NotIn: key missing matches', selector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['x'] }] }, want: true },
    { name: 'Exists', selector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, want: true },
    { name: 'Exists with an empty value', selector: { matchExpressions: [{ key: 'empty', operator: 'Exists' }] }, want: true },
    { name: 'Exists: key missing', selector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, want: false },
    { name: 'DoesNotExist', selector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, want: true },
    { name: 'DoesNotExist: key present', selector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, want: false },
    {
      name: 'labels and expressions are ANDed',
      selector: { matchLabels: { tenancy: 'tool' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gold'] }] },
      want: false,
    },
    { name: 'invalid: In without values matches nothing', selector: { matchExpressions: [{ key: 'tier', operator: 'In' }] }, want: false },
    {
      name: 'invalid: Exists with values matches nothing',
      selector: { matchExpressions: [{ key: 'tier', operator: 'Exists', values: ['gold'] }] },
      want: false,
    },
  ])('$name', ({ selector, want, ...rest }) => {
    expect(selectorMatches(selector, 'labels' in rest ? rest.labels : labels)).toBe(want);
  });

  it('does not match inherited properties as labels', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {})).toBe(false);
  });
});

describe('policyMatchesTool', () => {
  it.each([
    { name: 'no selector means tenancy=tool', policy: bqp('p'), ns: toolNs('a'), want: true },
    { name: 'no selector: a namespace without tenancy=tool', policy: bqp('p'), ns: { name: 'tool-a', labels: {} }, want: false },
    { name: 'empty selector matches any namespace', policy: bqp('p', { toolSelector: {} }), ns: { name: 'kube-system' }, want: true },
    { name: 'tools list names the tool', policy: bqp('p', { tools: ['a', 'b'] }), ns: toolNs('a'), want: true },
    { name: 'tools list without the tool', policy: bqp('p', { tools: ['b'] }), ns: toolNs('a'), want: false },
    { name: 'empty tools list means all', policy: bqp('p', { tools: [] }), ns: toolNs('a'), want: true },
    {
      name: 'tools list and selector must both hold',
      policy: bqp('p', { tools: ['a'], toolSelector: { matchLabels: { tier: 'gold' } } }),
      ns: toolNs('a'),
      want: false,
    },
    { name: 'tools list never matches a non-tool namespace', policy: bqp('p', { tools: ['a'], toolSelector: {} }), ns: { name: 'a' }, want: false },
    { name: 'an invalid tool name can match (reported later)', policy: bqp('p'), ns: toolNs('Bad_Name'), want: true },
  ])('$name', ({ policy, ns, want }) => {
    expect(policyMatchesTool(policy, ns)).toBe(want);
  });
});

describe('policiesForTool', () => {
  it.each([
    {
      name: 'higher priority first',
      policies: [bqp('low', { priority: 1 }), bqp('high', { priority: 10 }), bqp('default')],
      want: ['high', 'low', 'default'],
    },
    {
      name: 'ties broken by name, alphabetically first',
      policies: [bqp('b', { priority: 5 }), bqp('c', { priority: 5 }), bqp('a', { priority: 5 })],
      want: ['a', 'b', 'c'],
    },
    {
      name: 'negative priorities come after the default 0',
      policies: [bqp('fallback', { priority: -1 }), bqp('zzz')],
      want: ['zzz', 'fallback'],
    },
    {
      name: 'policies that do not match are left out',
      policies: [bqp('other', { tools: ['b'] }), bqp('mine', { tools: ['a'] }), bqp('gold', { toolSelector: { matchLabels: { tier: 'gold' } } })],
      want: ['mine'],
    },
    { name: 'none match', policies: [bqp('other', { tools: ['b'] })], want: [] },
  ])('$name', ({ policies, want }) => {
    expect(policiesForTool(toolNs('a'), policies).map((p) => p.metadata.name)).toEqual(want);
  });

  it('does not reorder its input', () => {
    const policies = [bqp('b'), bqp('a')];
    policiesForTool(toolNs('a'), policies);
    expect(policies.map((p) => p.metadata.name)).toEqual(['b', 'a']);
  });
});
