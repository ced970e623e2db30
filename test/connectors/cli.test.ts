/**
 * The operators' commands: `stayos full-sync` pushes a connection's whole window and shows its
 * progress; `stayos connection pause|resume|list|create|update|mappings`; bad arguments get exit code 2 and a message, bad
 * requests a registry error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/process.ts';
import { connectionIds, mismatches, startSandboxServer } from '../helpers/outbound.ts';
import { seedDemo } from '../helpers/demo.ts';

const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startSandboxServer>>;
const ids: Record<string, string> = {};
// STAYOS_SANDBOX_URL: where the sandboxes are, the only sandbox origin a command may call.
const env = () => ({ DATABASE_URL: db.current.url, STAYOS_ENCRYPTION_KEY: TEST_KEY, STAYOS_LOG_LEVEL: 'warn', STAYOS_SANDBOX_URL: server.url });

beforeAll(async () => {
  server = await startSandboxServer();
  await seedDemo(db.current.pool, { sandboxBaseUrl: server.url, days: 40 });
  Object.assign(ids, await connectionIds(db.current.pool));
});
afterAll(async () => {
  await server?.close();
});

describe('stayos full-sync', () => {
  it('pushes every mapped cell of the window and waits until the OTA acknowledged them all', async () => {
    const run = runCli(['full-sync', '--connection', ids.expedia!, '--days', '40'], env());
    const { code } = await run.exited;
    expect(run.output()).toContain('480 cells (40 days) marked'); // 3 room types × 4 rate plans × 40 nights
    expect(run.output()).toContain('full sync done');
    expect(code).toBe(0);
    expect(await mismatches(db.current.pool, ids.expedia!, server, 40)).toEqual([]);
  });

  it('refuses a window the OTA does not allow, an unknown connection, and a bad --days', async () => {
    const short = runCli(['full-sync', '--connection', ids.booking_com!, '--days', '100'], env());
    expect((await short.exited).code).toBe(1);
    expect(short.output()).toMatch(/ERR_VALIDATION: .*at least 12 months/);
    const unknown = runCli(['full-sync', '--connection', '00000000-0000-7000-8000-000000000000'], env());
    expect((await unknown.exited).code).toBe(1);
    expect(unknown.output()).toContain('ERR_NOT_FOUND');
    const bad = runCli(['full-sync', '--connection', ids.expedia!, '--days', 'soon'], env());
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toContain('whole number of days');
  });
});

describe('stayos connection pause|resume', () => {
  it('pauses and resumes a connection', async () => {
    const pause = runCli(['connection', 'pause', '--connection', ids.booking_com!], env());
    expect((await pause.exited).code).toBe(0);
    expect(pause.output()).toContain('is paused');
    expect((await db.current.pool.query(`SELECT status FROM channel.channel_connections WHERE id = $1`, [ids.booking_com])).rows[0].status).toBe('paused');
    const resume = runCli(['connection', 'resume', '--connection', ids.booking_com!], env());
    expect((await resume.exited).code).toBe(0);
    expect(resume.output()).toContain('is active');
    const wrong = runCli(['connection', 'stop', '--connection', ids.booking_com!], env());
    expect((await wrong.exited).code).toBe(2);
    expect(wrong.output()).toContain("unknown command 'stop'");
  });
});

describe('stayos connection list|create|update|mappings', () => {
  it('creates a connection with credentials from a file (stored encrypted, never printed), updates it with a version check, and replaces its mappings', async () => {
    const { pool } = db.current;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stayos-cli-'));
    const creds = path.join(dir, 'creds.json');
    fs.writeFileSync(creds, JSON.stringify({ username: 'cliuser', password: 'cli-secret-77' }));
    const run = async (args: string[]) => {
      const p = runCli(['connection', ...args], env());
      return { code: (await p.exited).code, out: p.output() };
    };
    const created = await run([
      'create',
      '--property',
      'DEMO',
      '--channel',
      'expedia',
      '--hotel-code',
      '5550001',
      '--endpoint-url',
      'https://services.expediapartnercentral.com',
      '--credentials-file',
      creds,
      '--setting',
      'rate_limit_per_minute=300',
      '--paused',
    ]);
    expect(created.code, created.out).toBe(0);
    const id = /created ([0-9a-f-]{36})/.exec(created.out)![1]!;
    const {
      rows: [c],
    } = await pool.query(`SELECT status, settings, shared.decrypt_pii(credentials)::jsonb AS creds FROM channel.channel_connections WHERE id = $1`, [id]);
    expect(c).toEqual({ status: 'paused', settings: { rate_limit_per_minute: 300 }, creds: { username: 'cliuser', password: 'cli-secret-77' } });
    // Booking.com: both base URLs default to the production hosts; --reservations-url sets the second.
    const booking = await run([
      'create',
      '--property',
      'DEMO',
      '--channel',
      'booking_com',
      '--hotel-code',
      '5550002',
      '--reservations-url',
      'https://secure-supply-xml.booking.com/',
    ]);
    expect(booking.code, booking.out).toBe(0);
    expect(booking.out).toContain('https://supply-xml.booking.com  reservations https://secure-supply-xml.booking.com/');
    const list = await run(['list', '--property', 'DEMO']);
    expect(list.out).toContain('5550001');
    expect(list.out).toContain('credentials set');
    expect(list.out + created.out).not.toContain('cli-secret-77');

    // Bad input: exit 2 and nothing written.
    for (const args of [
      ['create', '--property', 'DEMO', '--channel', 'agoda', '--hotel-code', '1', '--endpoint-url', 'https://x.example'],
      ['update', '--connection', id, '--status', 'sleeping'],
      ['update', '--connection', id, '--setting', 'Bad Key=1'],
      ['update', '--connection', id],
      ['update', '--connection', id, '--setting', 'sync_days=400d'],
      ['update', '--connection', id, '--setting', 'sync_days=1.5'],
      ['create', '--property', 'DEMO', '--channel', 'booking_com', '--hotel-code', '5550009', '--setting', 'max_attempts=many'],
      // Hosts that are not the OTA's (issue 16): the sandbox mode of these runs allows 127.0.0.1 only.
      ['update', '--connection', id, '--endpoint-url', 'http://169.254.169.254/latest'],
      ['update', '--connection', id, '--endpoint-url', 'https://expedia.example'],
      ['create', '--property', 'DEMO', '--channel', 'booking_com', '--hotel-code', '5550010', '--setting', 'auth_url=https://attacker.example'],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
    }
    const bad = await run(['update', '--connection', id, '--setting', 'sync_days=400d']);
    expect(bad.out).toContain('settings.sync_days: must be a whole number from 1 to 730');
    expect((await pool.query(`SELECT settings, version FROM channel.channel_connections WHERE id = $1`, [id])).rows[0]).toEqual({
      settings: { rate_limit_per_minute: 300 },
      version: 1,
    });
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.channel_connections WHERE ota_hotel_code = '5550009'`)).rows[0].n).toBe(0);
    // A file that is not JSON: refused without quoting it (the parser's message would show the password).
    fs.writeFileSync(creds, '{"username":"cliuser","password":cli-secret-88}');
    const notJson = await run(['update', '--connection', id, '--credentials-file', creds]);
    expect(notJson.code).toBe(2);
    expect(notJson.out).toContain('is not valid JSON');
    expect(notJson.out).not.toContain('cli-secret-88');
    const stale = await run(['update', '--connection', id, '--status', 'active', '--version', '7']);
    expect(stale.code).toBe(1);
    expect(stale.out).toContain('ERR_CONFLICT');
    const updated = await run(['update', '--connection', id, '--status', 'active', '--version', '1']);
    expect(updated.code, updated.out).toBe(0);
    expect((await pool.query(`SELECT status, version FROM channel.channel_connections WHERE id = $1`, [id])).rows[0]).toEqual({ status: 'active', version: 2 });

    const file = path.join(dir, 'mappings.json');
    fs.writeFileSync(
      file,
      JSON.stringify([
        { roomType: 'STD', ratePlan: 'BAR', otaRoomCode: '7001', otaRateCode: '6001' },
        { roomType: 'NOPE', ratePlan: 'BAR', otaRoomCode: '7002', otaRateCode: '6001' },
      ]),
    );
    const refused = await run(['mappings', '--connection', id, '--file', file]);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('room type NOPE');
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.channel_mappings WHERE connection_id = $1`, [id])).rows[0].n).toBe(0);
    fs.writeFileSync(
      file,
      JSON.stringify([
        { roomType: 'STD', ratePlan: 'BAR', otaRoomCode: '7001', otaRateCode: '6001' },
        { roomType: 'DLX', ratePlan: 'BAR', otaRoomCode: '7002', otaRateCode: '6001' },
      ]),
    );
    const replaced = await run(['mappings', '--connection', id, '--file', file]);
    expect(replaced.code, replaced.out).toBe(0);
    expect(replaced.out).toContain('2 added');
    const shown = await run(['mappings', '--connection', id]);
    expect(shown.out.trim().split('\n')).toEqual(['DLX/BAR -> 7002/6001', 'STD/BAR -> 7001/6001']);

    // Disabling closes the inventory at the OTA first; deleting keeps the OTA open only when told.
    const disabling = await run(['update', '--connection', id, '--status', 'disabled']);
    expect(disabling.code, disabling.out).toBe(0);
    expect(disabling.out).toContain('closing 2 OTA target(s) first (availability 0, rates closed); disabled once the OTA confirmed them');
    expect((await pool.query(`SELECT status, closing_for FROM channel.channel_connections WHERE id = $1`, [id])).rows[0]).toEqual({
      status: 'active',
      closing_for: 'disable',
    });
    const busy = await run(['delete', '--connection', id]);
    expect(busy.code).toBe(1);
    expect(busy.out).toContain('ERR_CONFLICT');
    expect((await run(['delete', '--connection', 'not-a-uuid'])).code).toBe(2);
    const bookingId = /created ([0-9a-f-]{36})/.exec(booking.out)![1]!;
    const gone = await run(['delete', '--connection', bookingId, '--keep-ota-open']);
    expect(gone.code, gone.out).toBe(0);
    expect(gone.out).toContain('deleted now');
    expect((await pool.query(`SELECT deleted_at IS NOT NULL AS deleted FROM channel.channel_connections WHERE id = $1`, [bookingId])).rows[0].deleted).toBe(
      true,
    );
  }, 150_000); // a dozen CLI processes, each starting Node
});
