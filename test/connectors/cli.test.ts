/**
 * The operators' commands: `stayos full-sync` pushes a connection's whole window and shows its
 * progress; `stayos connection pause|resume`; bad arguments get exit code 2 and a message, bad
 * requests a registry error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/process.ts';
import { connectionIds, mismatches, startSandboxServer } from '../helpers/outbound.ts';
import { seedDemo } from '../../core/demo/seed-demo.ts';

const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startSandboxServer>>;
const ids: Record<string, string> = {};
const env = () => ({ DATABASE_URL: db.current.url, STAYOS_ENCRYPTION_KEY: TEST_KEY, STAYOS_LOG_LEVEL: 'warn' });

beforeAll(async () => {
  server = await startSandboxServer();
  await seedDemo(db.current.pool, { encryptionKey: TEST_KEY, sandboxBaseUrl: server.url, days: 40 });
  Object.assign(ids, await connectionIds(db.current.pool));
});
afterAll(async () => {
  await server?.close();
});

describe('stayos full-sync', () => {
  it('pushes every mapped cell of the window and waits until the OTA acknowledged them all', async () => {
    const run = runCli(['full-sync', '--connection', ids.expedia!, '--days', '40'], env());
    const { code } = await run.exited;
    expect(run.output()).toContain('360 cells (40 days) marked');
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
    expect(wrong.output()).toContain('use pause or resume');
  });
});
