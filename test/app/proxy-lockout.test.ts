/**
 * Behind a load balancer (issue 16, point 4): the failed-authentication lockout is keyed on
 * (client address, connection), and the client address comes from X-Forwarded-For only when the
 * operator trusts the proxy (STAYOS_TRUST_PROXY). One sender failing again and again locks out
 * itself at that connection, never another sender, never another hotel; a forged
 * X-Forwarded-For from an untrusted peer changes nothing. Through real HTTP, as a sender comes in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { addConnection, fixture, post, startInboundApp } from '../helpers/inbound.ts';
import { seedDemo } from '../helpers/demo.ts';
import { loadConfig } from '../../core/config.ts';
import { clientKey } from '../../api/webhooks/client-address.ts';

const db = useTestDatabase();
const creds = { username: 'proxy-sender', password: 'proxy-secret-1' };
const ids: string[] = [];

beforeAll(async () => {
  const { pool } = db.current;
  await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 3 });
  for (const hotelCode of ['PX1', 'PX2']) ids.push(await addConnection(pool, { channel: 'opentravel', hotelCode, credentials: creds, mappings: [] }));
});

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
/** One delivery to an OpenTravel connection, as `from` (its X-Forwarded-For), with good or bad credentials. */
const deliver = (url: string, connection: string, from: string, good: boolean) =>
  post(`${url}/webhooks/ota/${connection}`, '<OTA_HotelResNotifRQ/>', {
    authorization: basic(creds.username, good ? creds.password : 'wrong'),
    'x-forwarded-for': from,
  });
/** Fails authentication as `from` until it is turned away; returns how many tries that took. */
async function lockOut(url: string, connection: string, from: string): Promise<number> {
  for (let i = 1; i <= 60; i++) {
    const res = await deliver(url, connection, from, false);
    if (res.status === 429) return i;
    expect(res.status).toBe(401);
  }
  throw new Error('never locked out');
}

describe('failed-authentication lockout behind a load balancer', () => {
  let trusted: Awaited<ReturnType<typeof startInboundApp>>;
  let untrusted: Awaited<ReturnType<typeof startInboundApp>>;
  beforeAll(async () => {
    // The balancer is the loopback address the test connects from.
    trusted = await startInboundApp(db.current.pool, { trustProxy: loadConfig({ STAYOS_TRUST_PROXY: '127.0.0.1/32' }).http.trustProxy });
    untrusted = await startInboundApp(db.current.pool);
  });
  afterAll(async () => {
    await trusted?.close();
    await untrusted?.close();
  });

  it('trusting the balancer: a sender that keeps failing locks out itself at that connection only', async () => {
    expect(await lockOut(trusted.url, ids[0]!, '203.0.113.5')).toBeGreaterThan(1);
    expect((await deliver(trusted.url, ids[0]!, '203.0.113.5', true)).status).toBe(429); // even with the right password now
    // Another client behind the same balancer, same connection: heard (authenticated; the body is then judged).
    const other = await deliver(trusted.url, ids[0]!, '198.51.100.7', true);
    expect([401, 429]).not.toContain(other.status);
    // The same client at another hotel's connection: heard.
    expect([401, 429]).not.toContain((await deliver(trusted.url, ids[1]!, '203.0.113.5', true)).status);
  });

  it('an IPv6 client is its /64: rotating addresses inside it escapes nothing; the next /64 is another client', async () => {
    // A host is routinely given a whole /64 (RFC 7421); an IPv4 peer seen through a dual-stack
    // socket (::ffff:a.b.c.d) is that IPv4 address.
    let n = 0;
    const rotating = () => `2001:db8:aa:bb:${(++n).toString(16)}::${(n * 7).toString(16)}`;
    for (let i = 1; ; i++) {
      const res = await deliver(trusted.url, ids[1]!, rotating(), false);
      if (res.status === 429) break;
      expect(res.status).toBe(401);
      expect(i).toBeLessThan(60);
    }
    expect((await deliver(trusted.url, ids[1]!, '2001:0db8:00aa:00bb:ffff::1', true)).status).toBe(429); // same /64, other spelling
    expect([401, 429]).not.toContain((await deliver(trusted.url, ids[1]!, '2001:db8:aa:bc::1', true)).status); // the next /64
    expect(clientKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('::ffff:c000:201')).toBe('192.0.2.1'); // the same mapped address in hex
    expect(clientKey('1::2:3:4:5:1.2.3.4')).toBe('1:0:2:3::/64'); // an IPv4 tail is two groups
    expect(clientKey('2001:DB8:0:0:1::1')).toBe(clientKey('2001:db8::1:0:0:2'));
  });

  it('not trusting it (the default): a forged X-Forwarded-For is ignored, so rotating it does not escape the lockout; other connections are still heard', async () => {
    let n = 0;
    for (;;) {
      const res = await deliver(untrusted.url, ids[0]!, `192.0.2.${n++ % 250}`, false);
      if (res.status === 429) break;
      expect(res.status).toBe(401);
      expect(n).toBeLessThan(60);
    }
    expect((await deliver(untrusted.url, ids[0]!, '192.0.2.251', true)).status).toBe(429);
    expect([401, 429]).not.toContain((await deliver(untrusted.url, ids[1]!, '192.0.2.252', true)).status);
  });

  it('STAYOS_TRUST_PROXY is validated: addresses, CIDRs, a hop count, true or false; anything else names the variable', () => {
    expect(loadConfig({}).http.trustProxy).toBe(false);
    expect(loadConfig({ STAYOS_TRUST_PROXY: '10.0.0.0/8, 192.168.1.7' }).http.trustProxy).toEqual(['10.0.0.0/8', '192.168.1.7']);
    expect(loadConfig({ STAYOS_TRUST_PROXY: '2' }).http.trustProxy).toBe(2);
    for (const bad of ['10.0.0.0/33', 'balancer.internal', '10.0.0.1/8/1', ',']) {
      expect(() => loadConfig({ STAYOS_TRUST_PROXY: bad }), bad).toThrow(/STAYOS_TRUST_PROXY/);
    }
  });

  it('a flood from one address is turned away before its body is read (issue 16, point 7); another address is still heard', async () => {
    const flood = await startInboundApp(db.current.pool, { addressRatePerMinute: 3, trustProxy: ['127.0.0.1'] });
    try {
      const junk = '<not-soap>' + 'x'.repeat(100_000); // parsing it would cost, and answers Client.2002
      const send = (from: string) => post(`${flood.url}/webhooks/expedia`, junk, { 'x-forwarded-for': from });
      for (let i = 0; i < 3; i++) expect((await send('203.0.113.9')).body).toContain('Client.2002');
      const turned = await send('203.0.113.9');
      expect(turned.status).toBe(500); // a SOAP Fault, as Expedia expects: it resends
      expect(turned.body).toContain('Server.4000');
      expect(turned.body).toContain('too many messages from this address');
      expect(Number(turned.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await send('198.51.100.20')).body).toContain('Client.2002'); // another sender: read and judged
      const ot = await post(`${flood.url}/webhooks/ota/${ids[0]}`, junk, {
        'x-forwarded-for': '203.0.113.9',
        authorization: basic(creds.username, creds.password),
      });
      expect(ot.status).toBe(429);
    } finally {
      await flood.close();
    }
  });

  it('Expedia: hotel codes the sender makes up share one bucket, so rotating them does not escape the lockout', async () => {
    const app = await startInboundApp(db.current.pool, { trustProxy: ['127.0.0.1'] });
    try {
      const guess = (hotel: string) =>
        fixture('expedia/bn_06_New_Reservation_Request.xml').replaceAll('1154286', hotel).replace('Password="Password"', 'Password="guess"');
      let tries = 0;
      for (;;) {
        const res = await post(`${app.url}/webhooks/expedia`, guess(String(8_000_000 + tries++)), { 'x-forwarded-for': '203.0.113.77' });
        if (res.body.includes('too many failed authentications')) break;
        expect(res.body).toContain('Client.2001');
        expect(tries).toBeLessThan(60);
      }
      expect(tries).toBeLessThanOrEqual(32);
    } finally {
      await app.close();
    }
  });
});
