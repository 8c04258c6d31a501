// Kubernetes resource quantities ("2", "500m", "4Gi", "1e3") parsed exactly as
// k8s.io/apimachinery's resource.ParseQuantity does, so that "2000m" and "2" compare equal and
// what the CEL isQuantity() accepts is what we accept.

import { err, ok, type Result } from './result.js';

/** A parsed quantity: coefficient × 10^exponent, normalised (no trailing zeros in the coefficient). */
export interface Quantity {
  readonly coefficient: bigint;
  readonly exponent: number;
}

export interface QuantityError {
  reason: 'InvalidQuantity';
  message: string;
}

/** A quantity as written in YAML/JSON: a string, or an integer where the schema is int-or-string. */
export type QuantityInput = string | number;

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
// The API server rounds away from zero to nano units (10^-9) outside its fast path.
const NANO_EXPONENT = -9;
// resource.Quantity's fast path holds at most 18 decimal digits (maxInt64Factors).
const MAX_INT64_FACTORS = 18;

interface QuantityParts {
  positive: boolean;
  value: string;
  num: string;
  denom: string;
  suffix: string;
}

interface Suffix {
  base: 2 | 10;
  exponent: number;
}

const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = {
  '': 0, n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18,
};
const BINARY_SUFFIXES: Readonly<Record<string, number>> = {
  Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60,
};
const SUFFIX_CHARS = 'eEinumkKMGTP';

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** A port of parseQuantityString: sign, digits, optional fraction, then the suffix. */
function splitQuantity(str: string): QuantityParts | undefined {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  while (str[pos] === '0') pos++;
  if (pos >= end) return { positive, value: '0', num: '0', denom: '', suffix: '' };

  let i = pos;
  while (isDigit(str[i])) i++;
  if (i >= end) return { positive, value: str, num: str.slice(pos), denom: '', suffix: '' };
  const num = i === pos ? '0' : str.slice(pos, i);
  pos = i;

  let denom = '';
  if (str[pos] === '.') {
    pos++;
    let j = pos;
    while (isDigit(str[j])) j++;
    if (j >= end) return { positive, value: str, num, denom: str.slice(pos), suffix: '' };
    denom = str.slice(pos, j);
    pos = j;
  }
  const value = str.slice(0, pos);

  const suffixStart = pos;
  while (pos < end && SUFFIX_CHARS.includes(str[pos] ?? '')) pos++;
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  while (isDigit(str[pos])) pos++;
  if (pos < end) return undefined;
  return { positive, value, num, denom, suffix: str.slice(suffixStart) };
}

function interpretSuffix(suffix: string): Suffix | undefined {
  const decimal = DECIMAL_SUFFIXES[suffix];
  if (decimal !== undefined) return { base: 10, exponent: decimal };
  const binary = BINARY_SUFFIXES[suffix];
  if (binary !== undefined) return { base: 2, exponent: binary };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    // strconv.ParseInt(s, 10, 64) and then a conversion to int32, wrap-around included.
    const text = suffix.slice(1);
    if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
    const parsed = BigInt(text);
    if (parsed > INT64_MAX || parsed < INT64_MIN) return undefined;
    return { base: 10, exponent: Number(BigInt.asIntN(32, parsed)) };
  }
  return undefined;
}

function digitCount(n: bigint): number {
  return (n < 0n ? -n : n).toString().length;
}

function normalise(coefficient: bigint, exponent: number): Quantity {
  if (coefficient === 0n) return { coefficient: 0n, exponent: 0 };
  let c = coefficient;
  let e = exponent;
  while (c % 10n === 0n) {
    c /= 10n;
    e++;
  }
  return { coefficient: c, exponent: e };
}

/** Rounds |coefficient| × 10^exponent up to whole nano units, as inf.Dec's RoundUp does. */
function roundUpToNano(magnitude: bigint, exponent: number): [bigint, number] {
  if (exponent >= NANO_EXPONENT || magnitude === 0n) return [magnitude, exponent];
  const drop = NANO_EXPONENT - exponent;
  if (drop > digitCount(magnitude)) return [1n, NANO_EXPONENT];
  const divisor = 10n ** BigInt(drop);
  const quotient = magnitude / divisor;
  return [magnitude % divisor === 0n ? quotient : quotient + 1n, NANO_EXPONENT];
}

function invalid(input: QuantityInput, why: string): Result<Quantity, QuantityError> {
  return err({
    reason: 'InvalidQuantity',
    message: `${JSON.stringify(input)} is not a quantity (${why}); write one such as 4, 500m or 4Gi`,
  });
}

/** Parses a quantity; anything resource.ParseQuantity refuses is an error value. */
export function parseQuantity(input: QuantityInput): Result<Quantity, QuantityError> {
  if (typeof input === 'number' && !Number.isFinite(input)) return invalid(input, 'not a finite number');
  const str = typeof input === 'number' ? String(input) : input;
  if (str === '') return invalid(input, 'empty');
  const parts = splitQuantity(str);
  if (parts === undefined) return invalid(input, 'malformed');
  const suffix = interpretSuffix(parts.suffix);
  if (suffix === undefined) return invalid(input, `unknown suffix ${JSON.stringify(parts.suffix)}`);

  const digits = BigInt(parts.num + parts.denom);
  let magnitude: bigint;
  let exponent: number;
  // Mirrors the precision test that decides between ParseQuantity's int64 fast path and inf.Dec.
  let precision: number;
  let scale: number;
  if (suffix.base === 10) {
    magnitude = digits;
    exponent = suffix.exponent - parts.denom.length;
    precision = MAX_INT64_FACTORS - (parts.num.length + parts.denom.length);
    scale = suffix.exponent;
  } else {
    magnitude = digits * (1n << BigInt(suffix.exponent));
    exponent = -parts.denom.length;
    precision =
      parts.denom.length === 0 ? 15 - parts.num.length - Math.trunc((suffix.exponent * 3) / 10) - 1 : -1;
    scale = 0;
  }
  const fastPath = precision >= 0 && scale - parts.denom.length >= NANO_EXPONENT && magnitude <= INT64_MAX;

  if (!fastPath) {
    // inf.Dec.SetString needs at least one digit: ".e-20" and "Ei" are refused here.
    if (!/[0-9]/.test(parts.value)) return invalid(input, 'no digits');
    [magnitude, exponent] = roundUpToNano(magnitude, exponent);
    if (suffix.base === 2 && compareMagnitude(normalise(magnitude, exponent), { coefficient: INT64_MAX, exponent: 0 }) > 0) {
      [magnitude, exponent] = [INT64_MAX, 0];
    }
  }
  return ok(normalise(parts.positive ? magnitude : -magnitude, exponent));
}

function compareMagnitude(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const ma = a.coefficient < 0n ? -a.coefficient : a.coefficient;
  const mb = b.coefficient < 0n ? -b.coefficient : b.coefficient;
  if (ma === 0n || mb === 0n) return ma === mb ? 0 : ma === 0n ? -1 : 1;
  const orderA = digitCount(ma) + a.exponent;
  const orderB = digitCount(mb) + b.exponent;
  if (orderA !== orderB) return orderA < orderB ? -1 : 1;
  // Same order of magnitude: the exponents differ by fewer digits than the coefficients hold.
  const low = Math.min(a.exponent, b.exponent);
  const xa = ma * 10n ** BigInt(a.exponent - low);
  const xb = mb * 10n ** BigInt(b.exponent - low);
  return xa === xb ? 0 : xa < xb ? -1 : 1;
}

export function quantitySign(q: Quantity): -1 | 0 | 1 {
  return q.coefficient === 0n ? 0 : q.coefficient < 0n ? -1 : 1;
}

/** Orders two quantities as resource.Quantity.Cmp does. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const sa = quantitySign(a);
  const sb = quantitySign(b);
  if (sa !== sb) return sa < sb ? -1 : 1;
  const m = compareMagnitude(a, b);
  if (m === 0 || sa >= 0) return m;
  return m < 0 ? 1 : -1;
}

/**
 * True when both denote the same amount ("2" and "2000m", "1Ki" and "1024"). The API server
 * stores quantities in canonical form, so live objects must be compared this way, not as text.
 * Text that is no quantity is compared as text.
 */
export function sameQuantity(a: QuantityInput, b: QuantityInput): boolean {
  const pa = parseQuantity(a);
  const pb = parseQuantity(b);
  if (pa.ok && pb.ok) return compareQuantities(pa.value, pb.value) === 0;
  return String(a) === String(b);
}

/** An approximate float value, for display and metrics; Infinity when out of range. */
export function quantityToNumber(q: Quantity): number {
  return Number(q.coefficient) * 10 ** q.exponent;
}
