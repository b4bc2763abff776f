// Where the issuer may fetch from when someone else names the URL: a client's or a trusted issuer's
// jwks_uri, an issuer's discovery document. A registrant who could name any URL could make the
// issuer read its cloud's metadata service or a local admin port (SSRF; OWASP SSRF Prevention
// Cheat Sheet), so link-local and metadata addresses are never fetched, and loopback only outside
// production or where an operator says so.
import { BlockList, isIP } from 'node:net';

export interface OutboundPolicy {
  /** NODE_ENV=production: no loopback host, except the listed ones. */
  production: boolean;
  /** KEY_URL_LOOPBACK_HOSTS: loopback hosts (`host` or `host:port`) fetched in production too, such as a local sidecar. */
  loopbackHosts: readonly string[];
}

/** Link-local and cloud metadata addresses: never fetched, whatever the policy. */
const NEVER = new BlockList();
NEVER.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local; the metadata service of AWS, GCP, Azure, OpenStack
NEVER.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud's metadata service
NEVER.addSubnet('0.0.0.0', 8, 'ipv4'); // "this host": connecting to it reaches the issuer's own ports
NEVER.addSubnet('fe80::', 10, 'ipv6'); // link-local
NEVER.addAddress('fd00:ec2::254', 'ipv6'); // AWS's metadata service over IPv6
NEVER.addAddress('::', 'ipv6');
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

export type AddressClass = 'never' | 'loopback' | 'other';

/** What kind of address an IP literal is; an IPv4 address mapped into IPv6 counts as the IPv4 one. */
export function classifyAddress(address: string): AddressClass {
  const ip = unmapped(address.replace(/^\[|\]$/g, ''));
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (NEVER.check(ip, family)) return 'never';
  return LOOPBACK.check(ip, family) ? 'loopback' : 'other';
}

/** `::ffff:a9fe:a9fe` and `::ffff:169.254.169.254` are 169.254.169.254. */
function unmapped(ip: string): string {
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(ip);
  if (!mapped) return ip;
  if (mapped[1]) return mapped[1];
  const [high, low] = [parseInt(mapped[2]!, 16), parseInt(mapped[3]!, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

function classifyHost(hostname: string): AddressClass {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (isIP(host.replace(/^\[|\]$/g, ''))) return classifyAddress(host);
  if (METADATA_NAMES.has(host)) return 'never';
  return host === 'localhost' || host.endsWith('.localhost') ? 'loopback' : 'other';
}

/**
 * Why `value` can never be fetched, whatever the deployment: not an http(s) URL, credentials or a
 * fragment in it, http to anything but loopback, or a link-local or metadata address. The shape a
 * registration is checked for wherever it is parsed.
 */
export function urlShapeProblem(value: string): string | undefined {
  if (value.length > 2048 || !URL.canParse(value)) return 'not a URL';
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'not an https URL';
  if (url.username || url.password || url.hash) return 'a URL must carry no credentials and no fragment';
  const kind = classifyHost(url.hostname);
  if (kind === 'never') return 'link-local and cloud metadata addresses are never fetched';
  if (url.protocol === 'http:' && kind !== 'loopback') return 'not an https URL (http only for localhost)';
  return undefined;
}

/**
 * Why the issuer must not fetch `value` in this deployment, or undefined when it may: the shape
 * above, and in production no loopback host unless an operator listed it.
 */
export function outboundUrlProblem(value: string, policy: OutboundPolicy): string | undefined {
  const shape = urlShapeProblem(value);
  if (shape) return shape;
  const url = new URL(value);
  if (policy.production && classifyHost(url.hostname) === 'loopback' && !isListed(url, policy)) {
    return 'a loopback address is not fetched in production (unless listed in KEY_URL_LOOPBACK_HOSTS)';
  }
  return undefined;
}

const isListed = (url: URL, policy: OutboundPolicy) =>
  policy.loopbackHosts.includes(url.host) || policy.loopbackHosts.includes(url.hostname);

/**
 * Whether a connection may go to `address`, an IP that `host` (of a URL already allowed) resolved
 * to: never a link-local or metadata address, and in production a loopback one only for a listed host.
 */
export function mayConnectTo(address: string, host: string, policy: OutboundPolicy): boolean {
  const kind = classifyAddress(address);
  if (kind === 'never') return false;
  if (kind === 'loopback' && policy.production)
    return policy.loopbackHosts.some((listed) => listed === host || listed.startsWith(`${host}:`));
  return true;
}

export function outboundPolicyFrom(config: { env: string; keyUrlLoopbackHosts: readonly string[] }): OutboundPolicy {
  return { production: config.env === 'production', loopbackHosts: config.keyUrlLoopbackHosts };
}
