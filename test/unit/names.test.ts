// Build namespace names: the template filled in, and cut with a stable hash when too long.
import { buildNamespaceName } from '../../src/render/names.js';

const a53 = 'a'.repeat(53);
const dashAt54 = `${'a'.repeat(41)}-${'b'.repeat(11)}`; // image-build-<this> has '-' as its 54th character

describe('buildNamespaceName', () => {
  it.each([
    { name: 'default template', tool: 'my-tool', template: undefined, want: 'image-build-my-tool' },
    { name: 'custom template', tool: 'x', template: 'builds-{tool}', want: 'builds-x' },
    { name: 'tool twice', tool: 'x', template: '{tool}-b-{tool}', want: 'x-b-x' },
    {
      name: 'exactly 63 characters is kept',
      tool: 'a'.repeat(51),
      template: undefined,
      want: `image-build-${'a'.repeat(51)}`,
    },
    {
      name: 'a 53-character tool gives 65 characters: cut to 54 plus a hash',
      tool: a53,
      template: undefined,
      want: `image-build-${'a'.repeat(42)}-79d78e00`,
    },
    {
      name: 'a cut that ends in a dash loses it before the hash',
      tool: dashAt54,
      template: undefined,
      want: `image-build-${'a'.repeat(41)}-c9e6222e`,
    },
    {
      name: 'long template with the tool twice',
      tool: 'c'.repeat(53),
      template: 'x-{tool}-y-{tool}',
      want: `x-${'c'.repeat(52)}-a76c9cbb`,
    },
  ])('$name', ({ tool, template, want }) => {
    const got = buildNamespaceName(tool, template);
    expect(got).toBe(want);
    expect(got.length).toBeLessThanOrEqual(63);
    expect(got).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('gives different names to tools that share the first 54 characters', () => {
    const one = buildNamespaceName(`${'a'.repeat(50)}one`);
    const two = buildNamespaceName(`${'a'.repeat(50)}two`);
    expect(one).not.toBe(two);
    expect(one.slice(0, 54)).toBe(two.slice(0, 54));
  });
});
