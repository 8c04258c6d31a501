// Tool names and the tool a namespace belongs to.
import { toolFromNamespace, toolNamespaceName, validateToolName } from '../../src/api/tool.js';

const name53 = 'a'.repeat(53);

describe('toolFromNamespace', () => {
  it.each([
    { name: 'a tool namespace', ns: { name: 'tool-my-tool', labels: { tenancy: 'tool' } }, want: 'my-tool' },
    { name: 'digits only', ns: { name: 'tool-0' }, want: '0' },
    { name: 'the longest tool name', ns: { name: `tool-${name53}` }, want: name53 },
    { name: 'not a tool namespace', ns: { name: 'kube-system' }, error: 'NotToolNamespace' },
    { name: 'prefix only', ns: { name: 'tool-' }, error: 'InvalidToolName' },
    { name: 'upper case', ns: { name: 'tool-MyTool' }, error: 'InvalidToolName' },
    { name: 'ends with a dash', ns: { name: 'tool-a-' }, error: 'InvalidToolName' },
    { name: 'underscore', ns: { name: 'tool-a_b' }, error: 'InvalidToolName' },
    { name: 'a dot', ns: { name: 'tool-a.b' }, error: 'InvalidToolName' },
    { name: 'too long', ns: { name: `tool-${name53}b` }, error: 'ToolNameTooLong' },
  ])('$name', ({ ns, want, error }) => {
    const got = toolFromNamespace(ns);
    if (error === undefined) expect(got).toEqual({ ok: true, value: want });
    else expect(got.ok ? undefined : got.error.reason).toBe(error);
  });

  it('gives a message a person can act on', () => {
    const got = toolFromNamespace({ name: 'tool-Bad' });
    expect(got.ok ? '' : got.error.message).toContain('"tool-Bad"');
  });
});

describe('validateToolName and toolNamespaceName', () => {
  it('round-trips a tool through its namespace', () => {
    expect(toolFromNamespace({ name: toolNamespaceName('x1') })).toEqual({ ok: true, value: 'x1' });
  });
  it.each([
    ['a', true],
    ['a-b', true],
    ['-a', false],
    ['', false],
    [name53, true],
    [`${name53}a`, false],
  ])('%j valid: %s', (name, valid) => {
    expect(validateToolName(name).ok).toBe(valid);
  });
});
