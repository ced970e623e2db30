/**
 * The key that budgets and lockouts count a client under. One IPv4 address is one client; an IPv6
 * client is its /64 — one host is routinely given a whole /64 (RFC 7421 and SLAAC), so counting
 * single addresses would hand an attacker 2^64 fresh budgets (the price: hosts sharing one /64
 * share a budget). An IPv4-mapped IPv6 address (::ffff:a.b.c.d, how a dual-stack socket shows an
 * IPv4 peer, in any spelling) is that IPv4 address.
 */
import net from 'node:net';

export function clientKey(ip: string): string {
  const bare = ip.replace(/%.*$/, ''); // a zone index (fe80::1%eth0) names the interface, not the host
  if (net.isIPv4(bare)) return bare;
  if (!net.isIPv6(bare)) return ip; // not an address (a test's stand-in, a proxy's garbage): as given
  // WHATWG URL parsing gives one spelling: lower case, zeros dropped, an IPv4 tail as two groups.
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped) {
    const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  const [head = '', tail = ''] = canonical.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const missing = canonical.includes('::') ? 8 - groups(head).length - groups(tail).length : 0;
  const all = [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)];
  return `${all.slice(0, 4).join(':')}::/64`;
}
