// parseCidr judges ipBlock CIDRs as the API server's CEL isCIDR() and strict validation do.
import { containsCidr, isMasked, parseCidr } from '../../src/api/cidr.js';

describe('parseCidr', () => {
  it.each([
    ['IPv4', '10.0.0.0/8', true],
    ['IPv4 host', '1.2.3.4/32', true],
    ['everything', '0.0.0.0/0', true],
    ['IPv6', 'fd00::/8', true],
    ['IPv6 upper case', 'FD00::/8', true],
    ['IPv6 all', '::/0', true],
    ['IPv6 full', '1:2:3:4:5:6:7:8/128', true],
    ['IPv6 with embedded IPv4', '1:2:3:4:5:6:1.2.3.4/128', true],
    ['IPv6 compressed with embedded IPv4', '1::1.2.3.4/128', true],
    ['no prefix length', '1.2.3.4', false],
    ['prefix too long', '1.2.3.4/33', false],
    ['IPv6 prefix too long', '::1/129', false],
    ['leading zero in an octet', '01.2.3.4/32', false],
    ['leading zero in the prefix', '1.2.3.4/032', false],
    ['signed prefix', '1.2.3.4/+8', false],
    ['octet out of range', '256.0.0.0/8', false],
    ['three octets', '1.2.3/24', false],
    ['IPv4-mapped IPv6', '::ffff:1.2.3.4/128', false],
    ['IPv6 zone', 'fe80::1%eth0/64', false],
    ['two ellipses', '1::2::3/64', false],
    ['ellipsis standing for nothing', '1:2:3:4::5:6:7:8/128', false],
    ['embedded IPv4 not last', '1.2.3.4::/128', false],
    ['group of five digits', '12345::/16', false],
  ])('%s: %s', (_name, input, valid) => {
    expect(parseCidr(input) !== undefined).toBe(valid);
  });
});

describe('isMasked and containsCidr', () => {
  const c = (s: string) => {
    const parsed = parseCidr(s);
    if (parsed === undefined) throw new Error(`bad test CIDR ${s}`);
    return parsed;
  };
  it.each([
    ['10.0.0.0/8', true],
    ['10.0.0.1/8', false],
    ['fd00::/8', true],
    ['fd00::1/8', false],
  ])('%s is masked: %s', (s, want) => {
    expect(isMasked(c(s))).toBe(want);
  });
  it.each([
    ['10.0.0.0/8', '10.1.0.0/16', true],
    ['10.0.0.0/8', '10.0.0.0/8', true],
    ['10.0.0.0/8', '11.0.0.0/16', false],
    ['10.0.0.0/16', '10.0.0.0/8', false],
    ['10.0.0.0/8', 'fd00::/16', false],
    ['fd00::/8', 'fd00:1::/32', true],
  ])('%s contains %s: %s', (outer, inner, want) => {
    expect(containsCidr(c(outer), c(inner))).toBe(want);
  });
});
