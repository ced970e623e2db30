/**
 * Where StayOS may send a request on a connection's behalf (issue 16). A tenant sets its
 * connection's URLs; without a rule a tenant could make the workers call any address (SSRF) and
 * have another account's Booking.com token sent there. So, per channel:
 *  - the OTA's own hosts, over https;
 *  - hosts the operator allows (STAYOS_OTA_EXTRA_HOSTS: a certification endpoint, a proxy), over
 *    https — http too only in sandbox mode;
 *  - in sandbox mode (STAYOS_SANDBOXES), the sandboxes themselves: the exact origin they are
 *    served at (scheme, host and port of STAYOS_SANDBOX_URL) and a path under /sandbox/ — not
 *    any port of that host, which would make the workers a loopback port scanner.
 * Checked where a URL is set (API, CLI: a 400 / exit 2 naming it) and again before every request
 * (a URL written by hand in SQL takes the connection down, naming it). Redirects are never
 * followed (maxRedirects 0), so an allowed host cannot bounce a request elsewhere.
 */
import { StayosError } from '../../core/errors.ts';
import { sandboxBaseUrl, type Config } from '../../core/config.ts';
import { registeredOta } from './registered.ts';

/** An OTA as the URL check needs it: its code, and the hosts it publishes (its adapter's). */
export type HostedOta = { code: string; hosts: readonly string[] };
const hostedOta = (ota: string | HostedOta): HostedOta => (typeof ota === 'string' ? { code: ota, hosts: registeredOta(ota)?.hosts ?? [] } : ota);

export interface OutboundPolicy {
  /**
   * Sandbox mode (STAYOS_SANDBOXES): the origins the sandboxes are served at (`http://api:8080`;
   * a port of `*` — the tests' sandboxes on ephemeral ports — matches any); paths under /sandbox/ only.
   */
  sandboxOrigins: readonly string[];
  /** Operator-allowed `host` or `host:port` entries (STAYOS_OTA_EXTRA_HOSTS); `host:*` (any port) is for the tests' fake OTAs. */
  extraHosts: readonly string[];
}

let current: OutboundPolicy = { sandboxOrigins: [], extraHosts: [] };

/** Set once at start-up from the configuration (and by the test setup). */
export function setOutboundPolicy(policy: OutboundPolicy): void {
  current = { sandboxOrigins: policy.sandboxOrigins.map((h) => h.toLowerCase()), extraHosts: policy.extraHosts.map((h) => h.toLowerCase()) };
}

/** Whether `u` is a sandbox URL of the policy: its origin (or host with a `*` port) and a /sandbox/ path. */
function isSandbox(u: URL, policy: OutboundPolicy): boolean {
  if (!u.pathname.startsWith('/sandbox/')) return false;
  const origin = u.origin.toLowerCase();
  return policy.sandboxOrigins.some((o) => o === origin || (o.endsWith(':*') && `${u.protocol}//${u.hostname.toLowerCase()}` === o.slice(0, -2)));
}

/** The policy the configuration gives: the sandboxes' host in sandbox mode, and the operator's extra hosts. */
export function outboundPolicyOf(config: Pick<Config, 'sandboxes' | 'sandboxUrl' | 'http' | 'otaExtraHosts'>): OutboundPolicy {
  return { sandboxOrigins: config.sandboxes ? [new URL(sandboxBaseUrl(config)).origin] : [], extraHosts: config.otaExtraHosts };
}

export function outboundPolicy(): OutboundPolicy {
  return current;
}

/** Why `url` may not be called for a `channel` connection, or null when it may. */
export function outboundUrlProblem(ota: string | HostedOta, url: string, policy: OutboundPolicy = current): string | null {
  const { code: channel, hosts } = hostedOta(ota);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `"${url.slice(0, 200)}" is not a URL`;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `${u.protocol} URLs are not allowed (https only)`;
  if (u.username || u.password) return "a URL may not carry credentials (use the connection's credentials)";
  const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const sandbox = policy.sandboxOrigins.length > 0;
  if (sandbox && isSandbox(u, policy)) return null;
  const https = u.protocol === 'https:';
  if (hosts.includes(host) && (u.port === '' || u.port === '443')) return https ? null : `${channel} must be reached over https`;
  if (
    policy.extraHosts.includes(host) ||
    policy.extraHosts.includes(`${host}:${u.port || (https ? '443' : '80')}`) ||
    policy.extraHosts.includes(`${host}:*`)
  ) {
    return https || sandbox ? null : `${host} must be reached over https (http only in sandbox mode)`;
  }
  const allowed = hosts.join(', ') || (registeredOta(channel) ? 'none' : `none: channel ${channel} is not registered (connectors/registry.ts was not loaded)`);
  return (
    `${host} is not one of the ${channel} hosts (allowed: ${allowed}${policy.extraHosts.length ? `; operator-allowed: ${policy.extraHosts.join(', ')}` : ''}); ` +
    `other hosts need STAYOS_OTA_EXTRA_HOSTS${sandbox ? '' : ', sandboxes STAYOS_SANDBOXES=true'}`
  );
}

/** Throws ERR_OTA_HOST_NOT_ALLOWED naming the URL's problem (before any request is sent). */
export function assertOutboundUrl(channel: string, url: string): void {
  const problem = outboundUrlProblem(channel, url);
  if (problem) throw new StayosError('ERR_OTA_HOST_NOT_ALLOWED', `${channel}: refusing to call ${safeUrl(url)}: ${problem}`, { details: { ota: channel } });
}

/** A URL for a message: origin and path only (no query, no credentials). */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}
