// parseQuantity and sameQuantity against what k8s.io/apimachinery's resource.ParseQuantity and
// Quantity.Cmp answer (the wants below were produced by that Go code, quirks included).
import { compareQuantities, parseQuantity, quantitySign, quantityToNumber, sameQuantity } from '../../src/api/quantity.js';

describe('parseQuantity accepts what ParseQuantity accepts', () => {
  it.each([
    // name, input, valid, sign
    ['plain integer', '2', true, 1],
    ['zero', '0', true, 0],
    ['milli', '500m', true, 1],
    ['binary', '4Gi', true, 1],
    ['exponent', '1e3', true, 1],
    ['upper-case exponent', '1E3', true, 1],
    ['signed exponent', '1e-3', true, 1],
    ['explicit plus exponent', '1e+3', true, 1],
    ['decimal with suffix', '1.5k', true, 1],
    ['decimal binary', '1.5Gi', true, 1],
    ['micro and nano', '1u', true, 1],
    ['exa (E alone is a suffix)', '1E', true, 1],
    ['negative', '-1', true, -1],
    ['leading plus', '+1', true, 1],
    ['leading zeros', '00012', true, 1],
    ['fraction only', '.5', true, 1],
    ['trailing dot', '5.', true, 1],
    ['quirk: a lone sign is zero', '+', true, 0],
    ['quirk: a lone dot is zero', '.', true, 0],
    ['quirk: a suffix alone is zero', 'Ki', true, 0],
    ['quirk: Ti alone is zero', 'Ti', true, 0],
    ['quirk: exponent alone is zero', 'e3', true, 0],
    ['quirk: Ei alone has no digits', 'Ei', false, 0],
    ['quirk: tiny exponent without digits', '.e-20', false, 0],
    ['empty', '', false, 0],
    ['unknown suffix K', '1K', false, 0],
    ['bare e', '1e', false, 0],
    ['lower-case mi', '1mi', false, 0],
    ['double exponent', '1ee3', false, 0],
    ['fractional exponent', '1e3.5', false, 0],
    ['digits after a binary suffix', '1Gi5', false, 0],
    ['leading space', ' 1', false, 0],
    ['trailing space', '1 ', false, 0],
    ['sign twice', '+-1', false, 0],
    ['exponent sign without digits', '1e+', false, 0],
    ['words', 'two', false, 0],
  ])('%s: %j', (_name, input, valid, sign) => {
    const q = parseQuantity(input);
    expect(q.ok).toBe(valid);
    if (q.ok) expect(quantitySign(q.value)).toBe(sign);
    else expect(q.error.reason).toBe('InvalidQuantity');
  });

  it('takes integers as written in int-or-string fields', () => {
    const q = parseQuantity(4);
    expect(q.ok && quantityToNumber(q.value)).toBe(4);
  });

  it('refuses non-finite numbers without throwing', () => {
    expect(parseQuantity(Number.NaN).ok).toBe(false);
  });
});

describe('compareQuantities orders as Quantity.Cmp does', () => {
  it.each([
    ['2', '2000m', 0],
    ['1Ki', '1024', 0],
    ['1Gi', '1073741824', 0],
    ['1.5Gi', '1536Mi', 0],
    ['1e3', '1k', 0],
    ['1E3', '1000', 0],
    ['500m', '0.5', 0],
    ['1', '999m', 1],
    ['1M', '1Mi', -1],
    ['1m', '1000u', 0],
    ['1u', '1000n', 0],
    ['0.1n', '1n', 0], // rounded up to one nano unit
    ['1e-20', '1n', 0],
    ['-1e-20', '-1n', 0], // rounded away from zero
    ['-1', '0', -1],
    ['-2', '-3', 1],
    ['0', '-0', 0],
    ['8Ei', '9223372036854775807', 0], // binary quantities are capped at the int64 maximum
    ['16Ei', '8Ei', 0],
    ['1E', '1e18', 0],
    ['1e4294967296', '1', 0], // the exponent wraps around as an int32
    ['1e2147483647', '1e2147483646', 1],
    ['123456789012345678901234567890', '123456789012345678901234567891', -1],
    ['1.1234567891', '1.12345678911', 0],
    ['4Gi', '4G', 1],
    ['+1', '1', 0],
    ['1.Ki', '1024', 0],
    ['.5', '500m', 0],
    ['5.', '5', 0],
  ] as const)('%s vs %s', (a, b, want) => {
    const qa = parseQuantity(a);
    const qb = parseQuantity(b);
    if (!qa.ok || !qb.ok) throw new Error('test quantities must parse');
    expect(compareQuantities(qa.value, qb.value)).toBe(want);
    expect(compareQuantities(qb.value, qa.value)).toBe(-want || 0);
  });
});

describe('sameQuantity', () => {
  it.each([
    { name: 'canonical form of milli-units', a: '2000m', b: '2', want: true },
    { name: 'integer and string', a: 4, b: '4', want: true },
    { name: 'binary and decimal forms', a: '1Ki', b: '1024', want: true },
    { name: 'different amounts', a: '1', b: '2', want: false },
    { name: 'an invalid quantity equals only the same text', a: 'two', b: 'two', want: true },
    { name: 'an invalid quantity differs from a valid one', a: 'two', b: '2', want: false },
  ])('$name', ({ a, b, want }) => {
    expect(sameQuantity(a, b)).toBe(want);
  });
});
