// IP allow and deny lists (CIDR, IPv4 and IPv6), parsed and checked; use-ip-filter.ts applies
// them to requests. Deny wins over allow; with an allow list, every address outside it is
// refused, and so is a request whose peer is unknown.
import { BlockList, isIP } from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** "10.0.0.0/8", "2001:db8::/32" or a single address; a message saying what is wrong otherwise. */
export function parseCidr(text: string): Cidr | string {
  const [rawAddress, rawPrefix, extra] = text.trim().split('/');
  const address = normaliseAddress(rawAddress ?? '');
  const version = isIP(address);
  if (extra !== undefined || version === 0)
    return `"${text}" is not an IPv4 or IPv6 address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)`;
  const max = version === 4 ? 32 : 128;
  const prefix = rawPrefix === undefined ? max : Number(rawPrefix);
  if (rawPrefix === '' || !Number.isInteger(prefix) || prefix < 0 || prefix > max)
    return `"${text}": the prefix length must be a whole number from 0 to ${max}`;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** "::ffff:10.0.0.1" (an IPv4 peer on a dual-stack socket) as "10.0.0.1"; a zone id dropped. */
export function normaliseAddress(address: string): string {
  const unzoned = address.split('%', 1)[0]!;
  const lower = unzoned.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : unzoned;
}

function blockListOf(entries: readonly string[], setting: string): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const cidr = parseCidr(entry);
    if (typeof cidr === 'string') throw new TypeError(`security.hardening.${setting}: ${cidr}`);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return list;
}

export interface IpFilter {
  allows(address: string | undefined): boolean;
}

export function ipFilter(
  allow: readonly string[] | undefined,
  deny: readonly string[] | undefined,
): IpFilter | undefined {
  if (!allow?.length && !deny?.length) return undefined;
  const allowList = allow?.length ? blockListOf(allow, 'ipAllow') : undefined;
  const denyList = deny?.length ? blockListOf(deny, 'ipDeny') : undefined;
  return {
    allows(raw) {
      const address = raw === undefined ? undefined : normaliseAddress(raw);
      const version = address === undefined ? 0 : isIP(address);
      if (version === 0) return allowList === undefined;
      const family = version === 4 ? 'ipv4' : 'ipv6';
      if (denyList?.check(address!, family)) return false;
      return allowList === undefined || allowList.check(address!, family);
    },
  };
}
