// CIDR parsing with the semantics of the API server's CEL cidr library (Go's netip.ParsePrefix,
// IPv4-mapped IPv6 refused), so NetworkPolicy ipBlocks are judged offline as the CRD judges them.

export interface IpAddress {
  readonly family: 4 | 6;
  /** The address as an unsigned integer of 32 or 128 bits. */
  readonly address: bigint;
}

export interface Cidr extends IpAddress {
  readonly prefixLength: number;
}

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

function parseIPv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseGroups(s: string, mayEndInIPv4: boolean): bigint[] | undefined {
  if (s === '') return [];
  const groups: bigint[] = [];
  const parts = s.split(':');
  for (const [i, part] of parts.entries()) {
    // An embedded IPv4 address may only stand in for the last two groups.
    if (mayEndInIPv4 && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIPv4(part);
      if (v4 === undefined) return undefined;
      groups.push(v4 >> 16n, v4 & 0xffffn);
      continue;
    }
    if (!HEX_GROUP.test(part)) return undefined;
    groups.push(BigInt(`0x${part}`));
  }
  return groups;
}

function parseIPv6(s: string): bigint | undefined {
  if (s.includes('%')) return undefined; // zones are not allowed in a prefix
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '', true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<bigint>(missing).fill(0n), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses "10.0.0.1" or "fd00::1"; undefined where the CEL isIP() would say false. */
export function parseIp(s: string): IpAddress | undefined {
  if (s.includes(':')) {
    const address = parseIPv6(s);
    if (address === undefined || address >> 32n === 0xffffn) return undefined; // IPv4-mapped IPv6
    return { family: 6, address };
  }
  const address = parseIPv4(s);
  return address === undefined ? undefined : { family: 4, address };
}

/** Parses "10.0.0.0/8" or "fd00::/8"; undefined where the CEL isCIDR() would say false. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return undefined;
  const addressText = s.slice(0, slash);
  const bitsText = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(bitsText)) return undefined;
  const prefixLength = Number(bitsText);
  if (addressText.includes(':')) {
    const address = parseIPv6(addressText);
    if (address === undefined || prefixLength > 128) return undefined;
    if (address >> 32n === 0xffffn) return undefined; // IPv4-mapped IPv6
    return { family: 6, address, prefixLength };
  }
  const address = parseIPv4(addressText);
  if (address === undefined || prefixLength > 32) return undefined;
  return { family: 4, address, prefixLength };
}

function width(c: Cidr): bigint {
  return c.family === 4 ? 32n : 128n;
}

function hostMask(c: Cidr): bigint {
  return (1n << (width(c) - BigInt(c.prefixLength))) - 1n;
}

/** True when no address bit is set after the prefix length, as strict validation requires. */
export function isMasked(c: Cidr): boolean {
  return (c.address & hostMask(c)) === 0n;
}

/** CEL cidr(a).containsIP(b): the address lies within the prefix. */
export function containsIp(outer: Cidr, ip: IpAddress): boolean {
  return containsCidr(outer, { ...ip, prefixLength: ip.family === 4 ? 32 : 128 });
}

/** CEL cidr(a).masked(): the prefix with every bit after the prefix length cleared. */
export function maskedCidr(c: Cidr): Cidr {
  return { ...c, address: c.address & ~hostMask(c) };
}

/** CEL cidr(a).containsCIDR(b): b lies within a (an equal prefix counts). */
export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefixLength < outer.prefixLength) return false;
  const mask = ~hostMask(outer);
  return (outer.address & mask) === (inner.address & mask);
}
