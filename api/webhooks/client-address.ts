/**
 * The key that budgets and lockouts count a client under. One IPv4 address is one client; an IPv6
 * client is its /64 — one host is routinely given a whole /64 (RFC 7421 and SLAAC), so counting
 * single addresses would hand an attacker 2^64 fresh budgets. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, how a dual-stack socket shows an IPv4 peer) is that IPv4 address.
 */
import net from 'node:net';

export function clientKey(ip: string): string {
  const bare = ip.replace(/%.*$/, ''); // a zone index (fe80::1%eth0) names the interface, not the host
  if (net.isIPv4(bare)) return bare;
  if (!net.isIPv6(bare)) return ip; // not an address (a test's stand-in, a proxy's garbage): as given
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return mapped[1]!;
  const [head = '', tail = ''] = bare.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  let parts = [...groups(head), ...(bare.includes('::') ? Array(8 - groups(head).length - groups(tail).length).fill('0') : []), ...groups(tail)];
  // An embedded IPv4 tail (64:ff9b::192.0.2.1) takes two groups; it is past the /64 anyway.
  parts = parts.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
  return `${parts.join(':')}::/64`;
}
