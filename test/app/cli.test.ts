/**
 * The `stayos` command as a user runs it: `start` on the embedded PostgreSQL from an empty data
 * directory (the quick start), on a given DATABASE_URL, and argument errors.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { freePort } from '../setup/pg-server.ts';
import { ADAPTERS } from '../../connectors/registry.ts';

// The demo connects every channel with a sandbox (the registry's).
const SANDBOXED = ADAPTERS.filter((a) => a.sandbox);

const db = useTestDatabase();

async function healthz(port: number): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: await res.json() };
}

describe('stayos start', () => {
  it('from an empty data directory: embedded PostgreSQL, migrations, demo data, a healthy fully synced demo on the dashboard, demo traffic and a fault it recovers from; SIGINT stops it all; a restart keeps the data', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stayos-start-'));
    fs.chmodSync(dataDir, 0o755);
    const env = { DATABASE_URL: undefined, STAYOS_DATA_DIR: dataDir, STAYOS_PG_PORT: String(await freePort()), STAYOS_HTTP_PORT: String(await freePort()) };
    try {
      const spawnedAt = Date.now();
      const first = runCli(['start'], env);
      await waitFor(() => first.output().includes('StayOS Channel is running'), { timeoutMs: 90_000, what: `start (${first.output()})` });
      const h = await healthz(Number(env.STAYOS_HTTP_PORT));
      expect(h).toMatchObject({ status: 200, body: { status: 'ok', database: 'up' } });
      // The demo connections point at the sandboxes this process serves, and a full sync fills them.
      await waitFor(
        async () => {
          const stats = (await (await fetch(`http://127.0.0.1:${env.STAYOS_HTTP_PORT}/sandbox/expedia/_control/stats`)).json()) as { accepted: number };
          const booking = (await (await fetch(`http://127.0.0.1:${env.STAYOS_HTTP_PORT}/sandbox/booking-com/_control/stats`)).json()) as { accepted: number };
          const google = (await (await fetch(`http://127.0.0.1:${env.STAYOS_HTTP_PORT}/sandbox/google-hotels/_control/stats`)).json()) as { accepted: number };
          return stats.accepted > 0 && booking.accepted > 0 && google.accepted > 0;
        },
        { timeoutMs: 60_000, what: `the demo hotel reaching both sandboxes (${first.output()})` },
      );
      const ready = await fetch(`http://127.0.0.1:${env.STAYOS_HTTP_PORT}/readyz`);
      expect(ready.status).toBe(200);

      // What a newcomer sees: one line with the dashboard's URL (the demo key in its fragment),
      // and within seconds every demo connection healthy and fully synced.
      const line = first
        .output()
        .split('\n')
        .find((l) => l.startsWith('StayOS Channel is running'))!;
      const url = /dashboard (http:\/\/\S+)\/#key=(sos_\S+)/.exec(line);
      expect(url, line).not.toBeNull();
      const [, base, apiKey] = url!;
      const api = async (p: string, init: RequestInit = {}) => {
        const res = await fetch(`${base}${p}`, {
          ...init,
          headers: { authorization: `Bearer ${apiKey}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
        });
        expect(res.status, p).toBeLessThan(300);
        return res.json() as Promise<any>;
      };
      const synced = async () => {
        const { channels } = await api('/api/v1/channels');
        return (
          channels.length === SANDBOXED.length &&
          channels.every((c: any) => c.health.status === 'active' && c.pending.cells === 0 && c.lastSuccessAt) &&
          channels
        );
      };
      const channels = await waitFor(synced, { timeoutMs: 90_000, what: `a healthy, fully synced demo (${first.output()})` });
      console.log(`first run: healthy and fully synced ${((Date.now() - spawnedAt) / 1000).toFixed(1)} s after \`stayos start\` on an empty data directory`);
      const today = new Date().toISOString().slice(0, 10);
      const in13 = new Date(Date.now() + 13 * 86_400_000).toISOString().slice(0, 10);
      for (const c of channels) expect(await api(`/api/v1/channels/${c.id}/parity?from=${today}&to=${in13}`)).toMatchObject({ cells: 14 * 12, differing: 0 });
      expect(await (await fetch(`${base}/`)).text()).toContain('<title>StayOS Channel</title>');

      // The operator's commands use the running server's PostgreSQL, found through the data
      // directory (even from a shell with another STAYOS_PG_PORT); a second `start` is refused and
      // leaves the first one's database alone.
      const list = runCli(['connection', 'list'], { ...env, STAYOS_PG_PORT: String(await freePort()) });
      expect((await list.exited).code, list.output()).toBe(0);
      expect(list.output()).toMatch(/1234567[\s\S]*7654321/);
      const again = runCli(['start'], { ...env, STAYOS_HTTP_PORT: String(await freePort()) });
      expect((await again.exited).code).toBe(1);
      expect(again.output()).toContain('is in use by a running StayOS');
      expect((await healthz(Number(env.STAYOS_HTTP_PORT))).body).toMatchObject({ status: 'ok', database: 'up' });

      // demo-traffic moves it: bookings arrive through both paths, rate changes go out, and it settles synced again.
      const traffic = runCli(['demo-traffic', '--rate', '20', '--count', '40', '--seed', '7'], env);
      expect((await traffic.exited).code, traffic.output()).toBe(0);
      const sent = /sent: (\d+) Expedia bookings, (\d+) Booking\.com bookings.*?(\d+) rate changes; 0 refused/.exec(traffic.output());
      expect(sent, traffic.output()).not.toBeNull();
      await waitFor(
        async () => {
          const { bookings } = await api('/api/v1/bookings?limit=200');
          const by = (ch: string) => new Set(bookings.filter((b: any) => b.channel === ch && b.outcome === 'created').map((b: any) => b.reservationId)).size;
          return by('expedia') >= Number(sent![1]) && by('booking_com') === Number(sent![2]);
        },
        { timeoutMs: 60_000, what: 'the demo bookings in the PMS' },
      );
      await waitFor(synced, { timeoutMs: 60_000, what: 'the demo synced again after the traffic' });

      // The fault switch: Expedia's sandbox fails, the connection leaves "active"; switched off, it recovers.
      const outage = runCli(['demo-fault', 'expedia', 'outage'], env);
      expect((await outage.exited).code).toBe(0);
      const ex = channels.find((c: any) => c.channel === 'expedia').id;
      await api(`/api/v1/channels/${ex}/full-sync`, { method: 'POST', body: JSON.stringify({ days: 30 }) });
      await waitFor(async () => (await api(`/api/v1/channels/${ex}`)).health.status !== 'active', { timeoutMs: 60_000, what: 'Expedia degrading' });
      const off = runCli(['demo-fault', 'expedia', 'off'], env);
      expect((await off.exited).code).toBe(0);
      await waitFor(synced, { timeoutMs: 120_000, what: 'Expedia recovering' });
      // The outage stays in the error log, resolved.
      const { errors } = await api('/api/v1/errors?hours=1');
      expect(
        errors.some((e: any) => e.channel === 'expedia' && e.resolvedAt !== null && /HTTP 5\d\d/.test(e.message)),
        JSON.stringify(errors),
      ).toBe(true);
      expect(fs.readFileSync(path.join(dataDir, 'encryption.key'), 'utf8').trim().length).toBeGreaterThanOrEqual(32);
      first.child.kill('SIGINT');
      expect(await first.exited).toEqual({ code: 0, signal: null });
      expect(fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false); // PostgreSQL stopped too
      const key = fs.readFileSync(path.join(dataDir, 'encryption.key'), 'utf8');

      // Second start: same data, no second demo seed, same key.
      const second = runCli(['seed-demo'], env);
      expect(await second.exited).toEqual({ code: 0, signal: null });
      expect(second.output()).toContain('demo property already present');
      expect(fs.readFileSync(path.join(dataDir, 'encryption.key'), 'utf8')).toBe(key);

      // PostgreSQL runs in a session of its own (pg_ctl), so Ctrl+C reaches StayOS only. A StayOS
      // killed outright leaves it running: the next start finds its owner gone and takes it over.
      const killed = runCli(['start'], env);
      await waitFor(() => killed.output().includes('StayOS Channel is running'), { timeoutMs: 90_000, what: `start (${killed.output()})` });
      const pgPid = Number(fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      killed.child.kill('SIGKILL');
      await killed.exited;
      expect(() => process.kill(pgPid, 0)).not.toThrow(); // still running, orphaned
      const next = runCli(['start'], env);
      await waitFor(() => next.output().includes('StayOS Channel is running'), { timeoutMs: 90_000, what: `start after SIGKILL (${next.output()})` });
      expect((await healthz(Number(env.STAYOS_HTTP_PORT))).body).toMatchObject({ status: 'ok', database: 'up' });
      next.child.kill('SIGINT');
      expect(await next.exited).toEqual({ code: 0, signal: null });
      expect(fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 240_000); // a whole start, traffic, an outage and two restarts: its own waits reach 120 s (41–49 s in CI, once over the 60 s default)

  it('on DATABASE_URL: serves /healthz, keeps partitions ahead at start, and SIGTERM stops it with exit code 0', async () => {
    const port = await freePort();
    // The furthest-ahead partition of the audit log goes missing; the start's maintenance must restore it.
    const {
      rows: [last],
    } = await db.current.pool.query(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit.audit_log'::regclass ORDER BY c.relname DESC LIMIT 1`,
    );
    await db.current.pool.query(`ALTER TABLE audit.audit_log DETACH PARTITION audit.${last.relname}`);
    await db.current.pool.query(`DROP TABLE audit.${last.relname}`);
    const proc = runCli(['start', '--only', 'api'], {
      DATABASE_URL: db.current.url,
      STAYOS_ENCRYPTION_KEY: TEST_KEY,
      STAYOS_HTTP_PORT: String(port),
      STAYOS_SEED_DEMO: 'false',
    });
    await waitFor(() => proc.output().includes('StayOS Channel is running (api)'), { timeoutMs: 60_000, what: `start (${proc.output()})` });
    expect((await healthz(port)).status).toBe(200);
    await waitFor(async () => (await db.current.pool.query(`SELECT to_regclass($1) AS t`, [`audit.${last.relname}`])).rows[0].t, {
      what: 'partition recreated',
    });
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
  });

  it('refuses bad arguments and bad configuration with exit code 2 and a message', async () => {
    const bad = runCli(['start', '--only', 'everything'], {});
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toMatch(/argument 'everything' is invalid.*Allowed choices are api, cdc, connectors/s);
    const badEnv = runCli(['migrate'], { STAYOS_TRANSPORT: 'kafka' });
    expect((await badEnv.exited).code).toBe(2);
    expect(badEnv.output()).toMatch(/STAYOS_TRANSPORT="kafka".*Fix:/);
    const undo = runCli(['migrate', 'undo'], {});
    expect((await undo.exited).code).toBe(2);
    expect(undo.output()).toContain('undo needs --to');
  });

  it('migrate status lists every migration as applied on a migrated database', async () => {
    const proc = runCli(['migrate', 'status'], { DATABASE_URL: db.current.url, STAYOS_ENCRYPTION_KEY: TEST_KEY });
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toMatch(/applied {2}V1\.0\.0 {2}shared/);
    expect(proc.output()).not.toContain('pending');
  });
});
