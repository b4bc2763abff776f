import { BlockList, isIP } from 'node:net';

/**
 * Which proxies in front of the issuer may name the client (TRUST_PROXY): none, a number of hops,
 * or a list of addresses and CIDR ranges. Express's `trust proxy` and RFC 7239 §5.2 practice.
 */
export type TrustedProxies = { kind: 'none' } | { kind: 'hops'; hops: number } | { kind: 'addresses'; list: readonly string[] };

/** Parses a TRUST_PROXY value; undefined when it is not one (the config schema reports that). */
export function parseTrustedProxies(value: string): TrustedProxies | undefined {
  if (value === 'false') return { kind: 'none' };
  if (/^\d{1,2}$/.test(value)) return Number(value) === 0 ? { kind: 'none' } : { kind: 'hops', hops: Number(value) };
  const list = value.split(',').map((entry) => entry.trim());
  return list.every((entry) => toBlockList([entry]) !== undefined) ? { kind: 'addresses', list } : undefined;
}

/**
 * The client's address, from the socket's peer and X-Forwarded-For. Proxies that forward append
 * the address they received the request from (nginx `$proxy_add_x_forwarded_for`, cloud load
 * balancers), so only the right end of the list was written by proxies we trust; whatever the
 * client sent is to the left. Walking from the right: `hops` trusted proxies are skipped, or every
 * address in the trusted list is; the next address is the client's. Never the leftmost entry just
 * because it comes first.
 */
export function clientAddressResolver(
  trust: TrustedProxies,
): (socketAddress: string | undefined, forwardedFor: string | undefined) => string | undefined {
  if (trust.kind === 'none') return (socketAddress) => plain(socketAddress);
  const trusted = trust.kind === 'addresses' ? toBlockList(trust.list)! : undefined;
  const hops = trust.kind === 'hops' ? trust.hops : 0;
  const isTrusted = (address: string, index: number) =>
    trusted ? trusted.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4') : index < hops;

  return function resolveClientAddress(socketAddress, forwardedFor) {
    const socket = plain(socketAddress);
    if (socket === undefined) return undefined;
    // Nearest first: the socket's peer, then X-Forwarded-For from its right end.
    const chain = [
      socket,
      ...(forwardedFor ?? '')
        .split(',')
        .map((entry) => plain(entry.trim()))
        .reverse(),
    ];
    for (let i = 0; i < chain.length; i += 1) {
      const address = chain[i];
      // A malformed entry ends the walk: the last address we could read stands for the client.
      if (address === undefined) return chain[i - 1];
      if (!isTrusted(address, i) || i === chain.length - 1) return address;
    }
    return socket;
  };
}

/** An IP address as written, IPv4-mapped IPv6 (`::ffff:192.0.2.1`) as IPv4; undefined if not one. */
function plain(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const candidate = mapped ? mapped[1]! : address;
  return isIP(candidate) ? candidate : undefined;
}

function toBlockList(entries: readonly string[]): BlockList | undefined {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || rest.length > 0) return undefined;
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) {
      list.addAddress(address!, type);
    } else {
      if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 6 ? 128 : 32)) return undefined;
      list.addSubnet(address!, Number(prefix), type);
    }
  }
  return list;
}
