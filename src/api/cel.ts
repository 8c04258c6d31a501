// CEL as the API server evaluates x-kubernetes-validations: a CEL environment with the Kubernetes
// libraries a CRD rule may call (quantity, IP/CIDR, format, the strings extension), built on the
// parsers of this package so that offline validation judges values as the server does.

import { Environment, Optional } from '@marcbachmann/cel-js';
import { RE2JS } from 're2js';
import { containsCidr, containsIp, maskedCidr, parseCidr, parseIp, type Cidr, type IpAddress } from './cidr.js';
import { isDns1123Label, isDns1123Subdomain, isLabelValue, isQualifiedName } from './k8s-syntax.js';
import { compareQuantities, parseQuantity, quantitySign, quantityToNumber, type Quantity } from './quantity.js';
import { err, ok, type Result } from './result.js';

// CEL values of the Kubernetes library types. Classes, because the CEL environment tells types
// apart by constructor.
class CelQuantity {
  constructor(readonly q: Quantity) {}
}
class CelIp {
  constructor(readonly ip: IpAddress) {}
}
class CelCidr {
  constructor(readonly cidr: Cidr) {}
}
/** What format.dns1123Label() and its siblings return: a check that lists what is wrong. */
class CelFormat {
  constructor(readonly errors: (s: string) => string[]) {}
}
/** The receiver of format.*(), which CEL reads as member calls on a constant named format. */
class FormatLibrary {}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

function mustParseQuantity(s: string): CelQuantity {
  const q = parseQuantity(s);
  if (!q.ok) throw new Error(q.error.message);
  return new CelQuantity(q.value);
}

function quantityOfInt(n: bigint): Quantity {
  const q = parseQuantity(n.toString());
  if (!q.ok) throw new Error(`${n} is not a quantity`);
  return q.value;
}

// Exact sums: the coefficients are aligned on the smaller exponent.
function addQuantities(a: Quantity, b: Quantity, sign: 1n | -1n): CelQuantity {
  const low = Math.min(a.exponent, b.exponent);
  const sum = a.coefficient * 10n ** BigInt(a.exponent - low) + sign * b.coefficient * 10n ** BigInt(b.exponent - low);
  const q = parseQuantity(`${sum}e${low}`);
  if (!q.ok) throw new Error(q.error.message);
  return new CelQuantity(q.value);
}

// A normalised quantity is whole when its exponent is not negative.
function quantityAsInteger(q: Quantity): bigint | undefined {
  if (q.exponent < 0) return undefined;
  const n = q.coefficient * 10n ** BigInt(q.exponent);
  return n > INT64_MAX || n < INT64_MIN ? undefined : n;
}

function mustParseIp(s: string): CelIp {
  const ip = parseIp(s);
  if (ip === undefined) throw new Error(`IP Address ${JSON.stringify(s)} parse error`);
  return new CelIp(ip);
}

function mustParseCidr(s: string): CelCidr {
  const c = parseCidr(s);
  if (c === undefined) throw new Error(`network address ${JSON.stringify(s)} parse error`);
  return new CelCidr(c);
}

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const check = (valid: (s: string) => boolean, message: string) => (s: string) => (valid(s) ? [] : [message]);
// The *Prefix formats check a name prefix for generateName, which may end in '-'.
const prefixOf = (valid: (s: string) => boolean) => (s: string) => valid(s.endsWith('-') ? `${s.slice(0, -1)}a` : s);
const isDns1035Label = (s: string): boolean => s.length <= 63 && DNS1035_LABEL.test(s);
const isUri = (s: string): boolean => {
  try {
    return new URL(s).protocol !== '' || s.startsWith('/');
  } catch {
    return false;
  }
};

// The named formats of the Kubernetes format library, with messages in its spirit.
const LABEL_MESSAGE = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character, at most 63 characters";
const SUBDOMAIN_MESSAGE = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character, at most 253 characters";
const DNS1035_MESSAGE = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character, at most 63 characters";
const FORMATS: Readonly<Record<string, (s: string) => string[]>> = {
  dns1123Label: check(isDns1123Label, LABEL_MESSAGE),
  dns1123Subdomain: check(isDns1123Subdomain, SUBDOMAIN_MESSAGE),
  dns1035Label: check(isDns1035Label, DNS1035_MESSAGE),
  dns1123LabelPrefix: check(prefixOf(isDns1123Label), LABEL_MESSAGE),
  dns1123SubdomainPrefix: check(prefixOf(isDns1123Subdomain), SUBDOMAIN_MESSAGE),
  dns1035LabelPrefix: check(prefixOf(isDns1035Label), DNS1035_MESSAGE),
  qualifiedName: check(
    isQualifiedName,
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'",
  ),
  labelValue: check(
    isLabelValue,
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters",
  ),
  uri: check(isUri, 'must be a URI'),
  uuid: check((s) => UUID.test(s), 'does not match the UUID format'),
  byte: check((s) => BASE64.test(s), 'must be base64 encoded'),
  date: check((s) => DATE.test(s) && !Number.isNaN(Date.parse(s)), 'must be a date in RFC 3339 full-date format'),
  datetime: check((s) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)), 'must be a date-time in RFC 3339 format'),
};

function kubernetesEnvironment(): Environment {
  const env = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false })
    .registerVariable('self', 'dyn')
    .registerType('Quantity', CelQuantity)
    .registerType('IP', CelIp)
    .registerType('CIDR', CelCidr)
    .registerType('Format', CelFormat)
    .registerType('FormatLibrary', FormatLibrary)
    .registerConstant('format', 'FormatLibrary', new FormatLibrary());

  // Quantity library: k8s.io/apiserver/pkg/cel/library/quantity.go.
  env
    .registerFunction('isQuantity(string): bool', (s: string) => parseQuantity(s).ok)
    .registerFunction('quantity(string): Quantity', mustParseQuantity)
    .registerFunction('Quantity.sign(): int', (a: CelQuantity) => BigInt(quantitySign(a.q)))
    .registerFunction('Quantity.isLessThan(Quantity): bool', (a: CelQuantity, b: CelQuantity) => compareQuantities(a.q, b.q) < 0)
    .registerFunction('Quantity.isGreaterThan(Quantity): bool', (a: CelQuantity, b: CelQuantity) => compareQuantities(a.q, b.q) > 0)
    .registerFunction('Quantity.compareTo(Quantity): int', (a: CelQuantity, b: CelQuantity) => BigInt(compareQuantities(a.q, b.q)))
    .registerFunction('Quantity.add(Quantity): Quantity', (a: CelQuantity, b: CelQuantity) => addQuantities(a.q, b.q, 1n))
    .registerFunction('Quantity.add(int): Quantity', (a: CelQuantity, b: bigint) => addQuantities(a.q, quantityOfInt(b), 1n))
    .registerFunction('Quantity.sub(Quantity): Quantity', (a: CelQuantity, b: CelQuantity) => addQuantities(a.q, b.q, -1n))
    .registerFunction('Quantity.sub(int): Quantity', (a: CelQuantity, b: bigint) => addQuantities(a.q, quantityOfInt(b), -1n))
    .registerFunction('Quantity.isInteger(): bool', (a: CelQuantity) => quantityAsInteger(a.q) !== undefined)
    .registerFunction('Quantity.asInteger(): int', (a: CelQuantity) => {
      const n = quantityAsInteger(a.q);
      if (n === undefined) throw new Error('cannot convert value to integer');
      return n;
    })
    .registerFunction('Quantity.asApproximateFloat(): double', (a: CelQuantity) => quantityToNumber(a.q))
    .registerOperator('Quantity == Quantity', (a: CelQuantity, b: CelQuantity) => compareQuantities(a.q, b.q) === 0);

  // IP and CIDR libraries: k8s.io/apiserver/pkg/cel/library/ip.go and cidr.go.
  env
    .registerFunction('isIP(string): bool', (s: string) => parseIp(s) !== undefined)
    .registerFunction('ip(string): IP', mustParseIp)
    .registerFunction('IP.family(): int', (a: CelIp) => BigInt(a.ip.family))
    .registerOperator('IP == IP', (a: CelIp, b: CelIp) => a.ip.family === b.ip.family && a.ip.address === b.ip.address)
    .registerFunction('isCIDR(string): bool', (s: string) => parseCidr(s) !== undefined)
    .registerFunction('cidr(string): CIDR', mustParseCidr)
    .registerFunction('CIDR.prefixLength(): int', (a: CelCidr) => BigInt(a.cidr.prefixLength))
    .registerFunction('CIDR.masked(): CIDR', (a: CelCidr) => new CelCidr(maskedCidr(a.cidr)))
    .registerFunction('CIDR.ip(): IP', (a: CelCidr) => new CelIp({ family: a.cidr.family, address: a.cidr.address }))
    .registerFunction('CIDR.containsIP(string): bool', (a: CelCidr, s: string) => containsIp(a.cidr, mustParseIp(s).ip))
    .registerFunction('CIDR.containsIP(IP): bool', (a: CelCidr, b: CelIp) => containsIp(a.cidr, b.ip))
    .registerFunction('CIDR.containsCIDR(string): bool', (a: CelCidr, s: string) => containsCidr(a.cidr, mustParseCidr(s).cidr))
    .registerFunction('CIDR.containsCIDR(CIDR): bool', (a: CelCidr, b: CelCidr) => containsCidr(a.cidr, b.cidr))
    .registerOperator(
      'CIDR == CIDR',
      (a: CelCidr, b: CelCidr) =>
        a.cidr.family === b.cidr.family && a.cidr.address === b.cidr.address && a.cidr.prefixLength === b.cidr.prefixLength,
    );

  // Format library: k8s.io/apiserver/pkg/cel/library/format.go. validate() is none when the
  // value is valid and holds the list of what is wrong otherwise.
  for (const [name, errors] of Object.entries(FORMATS)) {
    env.registerFunction(`FormatLibrary.${name}(): Format`, () => new CelFormat(errors));
  }
  env
    .registerFunction('FormatLibrary.named(string): optional<Format>', (_f: FormatLibrary, name: string) => {
      const errors = FORMATS[name];
      return errors === undefined ? Optional.none() : Optional.of(new CelFormat(errors));
    })
    .registerFunction('Format.validate(string): optional<list<string>>', (f: CelFormat, s: string) => {
      const errors = f.errors(s);
      return errors.length === 0 ? Optional.none() : Optional.of(errors);
    });

  // What the strings extension (ext.Strings, as the API server configures it) adds to the
  // functions the CEL library has itself.
  env
    .registerFunction('string.replace(string, string): string', (s: string, from: string, to: string) => s.replaceAll(from, to))
    .registerFunction('string.replace(string, string, int): string', (s: string, from: string, to: string, n: bigint) => {
      if (n < 0n) return s.replaceAll(from, to);
      let out = s;
      let start = 0;
      for (let i = 0n; i < n; i++) {
        const at = out.indexOf(from, start);
        if (at < 0) break;
        out = out.slice(0, at) + to + out.slice(at + from.length);
        start = at + to.length;
      }
      return out;
    })
    .registerFunction('string.charAt(int): string', (s: string, i: bigint) => {
      const chars = [...s];
      if (i < 0n || i > BigInt(chars.length)) throw new Error(`index out of range: ${i}`);
      return chars[Number(i)] ?? '';
    })
    .registerFunction('string.reverse(): string', (s: string) => [...s].reverse().join(''));

  // Regex library: k8s.io/apiserver/pkg/cel/library/regex.go, RE2 as the server's Go regexp is
  // (JavaScript's RegExp accepts lookarounds and backreferences that RE2 refuses, and the
  // reverse), so that a pattern refused by the server is refused here with its message.
  env
    .registerFunction('string.find(string): string', (s: string, pattern: string) => {
      const m = compileRe2(pattern).matcher(s);
      return m.find() ? m.group() ?? '' : '';
    })
    .registerFunction('string.findAll(string): list<string>', (s: string, pattern: string) => findAll(s, pattern, -1n))
    .registerFunction('string.findAll(string, int): list<string>', findAll);
  return env;
}

function compileRe2(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (e) {
    throw new Error(e instanceof Error ? e.message : String(e));
  }
}

function findAll(s: string, pattern: string, limit: bigint): string[] {
  const m = compileRe2(pattern).matcher(s);
  const out: string[] = [];
  while ((limit < 0n || BigInt(out.length) < limit) && m.find()) out.push(m.group() ?? '');
  return out;
}

const environment = kubernetesEnvironment();

/** A compiled CEL expression: call it with the value of `self`. */
export type CelProgram = (self: unknown) => Result<unknown, string>;

const programs = new Map<string, CelProgram | Error>();

/**
 * Compiles an expression once (the schema holds the same rule in many places); an expression
 * that does not parse or calls a function this environment lacks is an error value.
 */
export function compileCel(expression: string): Result<CelProgram, string> {
  let cached = programs.get(expression);
  if (cached === undefined) {
    try {
      const parsed = environment.parse(expression);
      const typed = parsed.check();
      if (!typed.valid) throw typed.error ?? new Error('does not type-check');
      cached = (self: unknown) => {
        try {
          return ok(parsed({ self }) as unknown);
        } catch (e) {
          return err(e instanceof Error ? e.message.split('\n')[0] ?? e.message : String(e));
        }
      };
    } catch (e) {
      cached = e instanceof Error ? e : new Error(String(e));
    }
    programs.set(expression, cached);
  }
  return cached instanceof Error ? err(cached.message.split('\n')[0] ?? cached.message) : ok(cached);
}

const admissionEnvironment = kubernetesEnvironment()
  .registerVariable('object', 'dyn')
  .registerVariable('oldObject', 'dyn')
  .registerVariable('params', 'dyn')
  .registerVariable('request', 'dyn')
  .registerVariable('namespaceObject', 'dyn')
  .registerVariable('variables', 'dyn')
  .registerVariable('authorizer', 'dyn');

/** The admission variables an expression of a ValidatingAdmissionPolicy sees. */
export interface AdmissionActivation {
  object?: unknown;
  oldObject?: unknown;
  params?: unknown;
  request?: unknown;
  namespaceObject?: unknown;
  variables?: Record<string, unknown>;
}

/**
 * Compiles an expression of an admission policy (validations, variables, match conditions) in
 * the variables the API server gives it, so that a rendered policy is checked before it is applied.
 */
export function compileAdmissionCel(expression: string): Result<(activation: AdmissionActivation) => Result<unknown, string>, string> {
  try {
    const parsed = admissionEnvironment.parse(expression);
    const typed = parsed.check();
    if (!typed.valid) throw typed.error ?? new Error('does not type-check');
    return ok((activation: AdmissionActivation) => {
      try {
        return ok(parsed({ self: undefined, authorizer: undefined, ...activation }) as unknown);
      } catch (e) {
        return err(e instanceof Error ? e.message.split('\n')[0] ?? e.message : String(e));
      }
    });
  } catch (e) {
    return err(e instanceof Error ? e.message.split('\n')[0] ?? e.message : String(e));
  }
}
