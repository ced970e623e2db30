/**
 * Outbound URLs and the Booking.com token (issue 16, point 1), as an attacker holding one tenant's
 * API key would try them: through the HTTP API first, then past it (URLs written in SQL), with real
 * listeners standing for internal services that must never be called.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { useTestDatabase } from '../helpers/db.ts';
import { connectionIds, startSandboxServer } from '../helpers/outbound.ts';
import { seedDemo } from '../helpers/demo.ts';
import { createLogger } from '../../core/logger.ts';
import { buildApp } from '../../api/index.ts';
import { createApiKey } from '../../api/keys.ts';
import { CONNECTORS, requestFullSync, SyncWorker } from '../../connectors/index.ts';
import { BookingReservationPoller } from '../../connectors/booking-com/reservations.ts';
import { outboundUrlProblem, setOutboundPolicy } from '../../connectors/outbound/hosts.ts';
import { tokenAccountKey } from '../../connectors/booking-com/auth.ts';

const db = useTestDatabase();
const PRODUCTION = { sandboxOrigins: [], extraHosts: [] };
let app: FastifyInstance;
let key: string;
let server: Awaited<ReturnType<typeof startSandboxServer>>;
const ids: Record<string, string> = {};
/** A listener standing for an internal service (a metadata endpoint, an admin port): it counts what reaches it. */
let internal: http.Server;
let internalUrl: string;
const reached: Array<{ url: string; authorization?: string }> = [];

beforeAll(async () => {
  const { pool } = db.current;
  server = await startSandboxServer();
  await seedDemo(pool, { sandboxBaseUrl: server.url, days: 5 });
  await pool.query(`UPDATE channel.channel_connections SET settings = settings || '{"sync_days": 365}'::jsonb WHERE channel_code = 'booking_com'`);
  await pool.query(`UPDATE channel.channel_connections SET settings = settings || '{"sync_days": 30}'::jsonb WHERE channel_code = 'expedia'`);
  Object.assign(ids, await connectionIds(pool));
  key = (await createApiKey(pool, { email: 'tenant@demo.example', role: 'admin', properties: ['DEMO'] })).key;
  app = await buildApp({ pool, logLevel: 'silent' });
  internal = http.createServer((req, res) => {
    reached.push({ url: req.url ?? '', authorization: req.headers.authorization });
    // A redirect to yet another host: never to be followed either.
    res.writeHead(302, { location: `${server.url}/sandbox/expedia/eqc/ar` }).end();
  });
  await new Promise<void>((r) => internal.listen(0, 'localhost', r));
  internalUrl = `http://localhost:${(internal.address() as { port: number }).port}/sandbox/internal`;
});
afterAll(async () => {
  setOutboundPolicy({ sandboxOrigins: ['http://127.0.0.1:*', 'http://localhost:*'], extraHosts: ['127.0.0.1:*'] });
  await app?.close();
  await server?.close();
  await new Promise((r) => internal?.close(r));
});

const h = () => ({ authorization: `Bearer ${key}` });
const worker = () =>
  new SyncWorker({
    pool: db.current.pool,
    log: createLogger(process.env.TEST_LOG ?? 'silent'),
    connectors: CONNECTORS,
    pollMs: 20,
    concurrency: 1,
    batchSize: 5000,
    timeoutMs: 2000,
    maxAttempts: 1,
    defaultRatePerMinute: 100_000,
    only: Object.values(ids),
  });

describe('outbound URLs (issue 16)', () => {
  it("outside sandbox mode, the API refuses any URL that is not the OTA's own https host, naming it; nothing is stored", async () => {
    setOutboundPolicy(PRODUCTION);
    try {
      const before = (await db.current.pool.query(`SELECT endpoint_url, settings, version FROM channel.channel_connections WHERE id = $1`, [ids.booking_com]))
        .rows[0];
      const attacks = [
        { endpointUrl: 'http://169.254.169.254/latest/meta-data' }, // cloud metadata
        { endpointUrl: 'https://127.0.0.1:5432' },
        { endpointUrl: 'https://[::1]/' },
        { endpointUrl: 'https://10.0.0.7/' },
        { endpointUrl: 'https://supply-xml.booking.com.evil.example' },
        { endpointUrl: 'https://evil.example/supply-xml.booking.com' },
        { endpointUrl: 'http://supply-xml.booking.com' }, // https only
        { endpointUrl: 'https://user:pass@supply-xml.booking.com' },
        { endpointUrl: 'https://supply-xml.booking.com:8443' },
        { reservationsUrl: 'https://attacker.example' },
        { settings: { auth_url: 'https://attacker.example' } },
        { endpointUrl: `${server.url.replace('http:', 'https:')}/sandbox/booking-com` }, // a sandbox (even over https), outside sandbox mode
      ];
      for (const payload of attacks) {
        const res = await app.inject({ method: 'PATCH', url: `/api/v1/connections/${ids.booking_com}`, headers: h(), payload });
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
        expect(res.json().error.code, JSON.stringify(payload)).toBe('ERR_OTA_HOST_NOT_ALLOWED');
      }
      const created = await app.inject({
        method: 'POST',
        url: '/api/v1/connections',
        headers: h(),
        payload: { channel: 'expedia', hotelCode: '7777001', endpointUrl: 'http://metadata.google.internal/' },
      });
      expect(created.statusCode).toBe(400);
      expect(created.json().error.message).toContain('metadata.google.internal is not one of the expedia hosts');
      expect(
        (await db.current.pool.query(`SELECT endpoint_url, settings, version FROM channel.channel_connections WHERE id = $1`, [ids.booking_com])).rows[0],
      ).toEqual(before);
      // The OTA's own host is taken.
      const ok = await app.inject({
        method: 'PATCH',
        url: `/api/v1/connections/${ids.expedia}`,
        headers: h(),
        payload: { endpointUrl: 'https://services.expediapartnercentral.com' },
      });
      expect(ok.statusCode).toBe(200);
      await db.current.pool.query(`UPDATE channel.channel_connections SET endpoint_url = $2 WHERE id = $1`, [ids.expedia, `${server.url}/sandbox/expedia`]);
    } finally {
      setOutboundPolicy({ sandboxOrigins: ['http://127.0.0.1:*', 'http://localhost:*'], extraHosts: ['127.0.0.1:*'] });
    }
  });

  it('an operator-allowed host is taken over https; sandbox hosts only in sandbox mode', () => {
    const policy = { sandboxOrigins: [], extraHosts: ['eqc-cert.example:8443'] };
    expect(outboundUrlProblem('expedia', 'https://eqc-cert.example:8443/eqc', policy)).toBeNull();
    expect(outboundUrlProblem('expedia', 'http://eqc-cert.example:8443/eqc', policy)).toMatch(/https/);
    expect(outboundUrlProblem('expedia', 'https://eqc-cert.example/eqc', policy)).toMatch(/not one of the expedia hosts/);
    // Sandbox mode allows the sandboxes' exact origin, under /sandbox/ — not another port or path of that host.
    const sandbox = { sandboxOrigins: ['http://api:8080'], extraHosts: [] };
    expect(outboundUrlProblem('expedia', 'http://api:8080/sandbox/expedia', sandbox)).toBeNull();
    expect(outboundUrlProblem('expedia', 'http://api:9464/sandbox/expedia', sandbox)).toMatch(/not one of the expedia hosts/); // the metrics listener
    expect(outboundUrlProblem('expedia', 'http://api:8080/metrics', sandbox)).toMatch(/not one of the expedia hosts/);
    expect(outboundUrlProblem('expedia', 'https://api:8080/sandbox/expedia', sandbox)).toMatch(/not one of the expedia hosts/);
  });

  it('a URL written past the API (in SQL) is refused before any request: the connection goes down naming it, the internal service is never reached', async () => {
    const { pool } = db.current;
    setOutboundPolicy({ sandboxOrigins: ['http://127.0.0.1:*'], extraHosts: [] }); // sandbox mode on 127.0.0.1 only: "localhost" is an internal host
    try {
      await pool.query(`UPDATE channel.channel_connections SET endpoint_url = $2 WHERE id = $1`, [ids.expedia, internalUrl]);
      await requestFullSync(pool, ids.expedia!, 30);
      const w = worker();
      await w.syncConnection(ids.expedia!);
      await w.stop();
      expect(reached).toEqual([]);
      const {
        rows: [c],
      } = await pool.query(`SELECT status, status_reason FROM channel.channel_connections WHERE id = $1`, [ids.expedia]);
      expect(c.status).toBe('down');
      expect(c.status_reason).toContain('refusing to call');
      expect(c.status_reason).toContain('localhost is not one of the expedia hosts');
    } finally {
      setOutboundPolicy({ sandboxOrigins: ['http://127.0.0.1:*', 'http://localhost:*'], extraHosts: ['127.0.0.1:*'] });
      await pool.query(`UPDATE channel.channel_connections SET endpoint_url = $2, status = 'active', status_reason = NULL WHERE id = $1`, [
        ids.expedia,
        `${server.url}/sandbox/expedia`,
      ]);
      await pool.query(`DELETE FROM channel.ari_dirty_cells WHERE connection_id = $1`, [ids.expedia]);
    }
  });

  it('a Booking.com reservations URL written in SQL is never polled: the connection shows an alert naming it, resolved once the URL is fixed', async () => {
    const { pool } = db.current;
    setOutboundPolicy({ sandboxOrigins: ['http://127.0.0.1:*'], extraHosts: [] });
    const poller = new BookingReservationPoller({ pool, log: createLogger('silent'), intervalMs: 1, ackPauseMs: 0, timeoutMs: 2000, ackAttempts: 1 });
    const open = async () =>
      (
        await pool.query(
          `SELECT severity, error_code, message FROM channel.sync_errors
      WHERE connection_id = $1 AND kind = 'reservations' AND resolved_at IS NULL`,
          [ids.booking_com],
        )
      ).rows;
    try {
      await pool.query(`UPDATE channel.channel_connections SET reservations_url = $2 WHERE id = $1`, [ids.booking_com, internalUrl]);
      const results = await poller.pollOnce();
      // Refused before any request: the token exchange's host, or the queue's, is not allowed.
      expect(results.find((r) => r.connectionId === ids.booking_com)?.error).toMatch(/refusing to call|is never sent to localhost/);
      expect(reached).toEqual([]);
      // Seen where the revenue team looks (the error log of the API), not only in the process log.
      const errors = await app.inject({ method: 'GET', url: `/api/v1/errors?connection=${ids.booking_com}`, headers: h() });
      expect(errors.json().errors).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'reservations', severity: 'alert' })]));
      expect(await open()).toEqual([
        expect.objectContaining({ severity: 'alert', error_code: 'ERR_OTA_HOST_NOT_ALLOWED', message: expect.stringContaining('localhost') }),
      ]);
    } finally {
      setOutboundPolicy({ sandboxOrigins: ['http://127.0.0.1:*', 'http://localhost:*'], extraHosts: ['127.0.0.1:*'] });
      await pool.query(`UPDATE channel.channel_connections SET reservations_url = $2 WHERE id = $1`, [ids.booking_com, `${server.url}/sandbox/booking-com`]);
    }
    const fixed = await poller.pollOnce();
    expect(fixed.filter((r) => r.connectionId === ids.booking_com).map((r) => r.error)).toEqual([undefined, undefined]);
    expect(await open()).toEqual([]);
    await poller.stop();
  });

  it('a Booking.com token goes only to the host it was issued for, is cached per account (client id and secret), and no redirect is followed', async () => {
    const { pool } = db.current;
    // The token would come from an exchange at "localhost" while the ARI endpoint is the sandbox at
    // 127.0.0.1 (both sandbox hosts here): refused before any exchange or request.
    await pool.query(`UPDATE channel.channel_connections SET settings = settings || jsonb_build_object('auth_url', $2::text) WHERE id = $1`, [
      ids.booking_com,
      internalUrl,
    ]);
    await requestFullSync(pool, ids.booking_com!, 365);
    const w = worker();
    await w.syncConnection(ids.booking_com!);
    expect(reached).toEqual([]); // no exchange, no request, above all no Authorization header
    const {
      rows: [c],
    } = await pool.query(`SELECT status_reason FROM channel.channel_connections WHERE id = $1`, [ids.booking_com]);
    expect(c.status_reason).toMatch(/a token from localhost:\d+ is never sent to 127\.0\.0\.1/);
    await pool.query(`DELETE FROM channel.ari_dirty_cells WHERE connection_id = $1`, [ids.booking_com]);

    // An endpoint answering 302 to another host: the redirect is not followed.
    await pool.query(`UPDATE channel.channel_connections SET endpoint_url = $2 WHERE id = $1`, [ids.expedia, internalUrl]);
    await pool.query(`DELETE FROM channel.ota_closures WHERE connection_id = $1`, [ids.expedia]); // the old endpoint's closing is another test's
    await requestFullSync(pool, ids.expedia!, 30);
    const before = server.expedia.stats.requests;
    await w.syncConnection(ids.expedia!);
    await w.stop();
    expect(reached.map((r) => r.url)).toEqual(['/sandbox/internal/eqc/ar']);
    expect(server.expedia.stats.requests).toBe(before); // where the 302 pointed never heard of it

    // The token cache is per account: the same client id with another secret is another account.
    expect(tokenAccountKey('https://connectivity-authentication.booking.com', 'machine-1', 'secret-a')).not.toBe(
      tokenAccountKey('https://connectivity-authentication.booking.com', 'machine-1', 'secret-b'),
    );
  });
});
