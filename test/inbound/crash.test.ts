/**
 * SIGKILL of the API process in the middle of an ingestion: the transaction never commits, so no
 * part of the booking exists; Expedia's resend to a restarted server completes it, once.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { businessFingerprint, post, reservationOf } from '../helpers/inbound.ts';
import { runCli, type CliProcess } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { DEMO_CONNECTIONS, seedDemo } from '../helpers/demo.ts';
import { addDays } from '../../core/dates.ts';
import { buildBnRequest } from '../../connectors/expedia/booking-notification.ts';

const db = useTestDatabase();
const expedia = DEMO_CONNECTIONS.find((c) => c.channel === 'expedia')!;

async function startApi(): Promise<{ proc: CliProcess; url: string }> {
  const proc = runCli(['start', '--only', 'api'], {
    DATABASE_URL: db.current.url,
    STAYOS_ENCRYPTION_KEY: TEST_KEY,
    STAYOS_SEED_DEMO: 'false',
    STAYOS_SANDBOXES: 'false',
    STAYOS_HTTP_PORT: String(20000 + Math.floor(Math.random() * 20000)),
    STAYOS_LOG_LEVEL: 'error',
  });
  const line = await waitFor(() => /running \(api\): dashboard (http:\/\/[^\s/]+)/.exec(proc.output())?.[1], {
    timeoutMs: 30_000,
    what: `the API to start:\n${proc.output()}`,
  });
  return { proc, url: line };
}

beforeAll(async () => {
  await seedDemo(db.current.pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 5 });
});

describe('SIGKILL during ingestion', () => {
  it('leaves no partial reservation, and the resend completes it', async () => {
    const { pool } = db.current;
    const arrival = addDays(new Date().toISOString().slice(0, 10), 30);
    const body = buildBnRequest({
      kind: 'new',
      requestId: 'crash-1',
      hotelCode: expedia.hotelCode,
      username: String(expedia.credentials.username),
      password: String(expedia.credentials.password),
      externalId: 'CRASH-1',
      timeStamp: '2026-11-20T10:00:00+00:00',
      currency: 'EUR',
      room: {
        roomCode: expedia.roomCodes.STD!,
        rateCode: expedia.rateCodes.BAR!,
        arrival,
        departure: addDays(arrival, 2),
        adults: 2,
        nights: [
          { date: arrival, amount: '120.00' },
          { date: addDays(arrival, 1), amount: '120.00' },
        ],
      },
      guest: { firstName: 'Crash', lastName: 'Test' },
    });
    const before = await businessFingerprint(pool);
    const first = await startApi();
    // The channel reservation is written last but one: hold its table so the ingestion stops
    // there, with the guest, reservation, rooms and nights already written in its transaction.
    const locker = await pool.connect();
    let victim: number | undefined;
    try {
      await locker.query(`BEGIN; LOCK TABLE channel.channel_reservations IN EXCLUSIVE MODE`);
      const sent = post(`${first.url}/webhooks/expedia`, body).catch((err: Error) => err);
      victim = await waitFor(
        async () =>
          (
            await pool.query<{ pid: number }>(`SELECT a.pid FROM pg_stat_activity a
          WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' AND a.query LIKE '%channel.channel_reservations%'`)
          ).rows[0]?.pid,
        { what: 'the ingestion to block mid-transaction' },
      );
      const {
        rows: [inFlight],
      } = await pool.query(`SELECT count(*)::int AS n FROM pg_locks WHERE pid = $1 AND relation = 'reservation.reservations'::regclass`, [victim]);
      expect(inFlight.n).toBeGreaterThan(0); // it had written the reservation already
      first.proc.child.kill('SIGKILL');
      expect(await first.proc.exited).toMatchObject({ signal: 'SIGKILL' });
      expect(await sent).toBeInstanceOf(Error); // the connection died with the server
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    // The orphaned backend finds its client gone at its next read and rolls back.
    await waitFor(async () => !(await pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [victim])).rowCount, { what: 'the orphaned backend to end' });
    expect(await businessFingerprint(pool)).toEqual(before);
    expect(await reservationOf(pool, 'expedia', 'CRASH-1')).toBeUndefined();

    const second = await startApi();
    try {
      const res = await post(`${second.url}/webhooks/expedia`, body.replace('RetryIndicator="false"', 'RetryIndicator="true"'));
      expect(res.status).toBe(200);
      const r = await reservationOf(pool, 'expedia', 'CRASH-1');
      expect(r).toMatchObject({ status: 'confirmed', check_in: arrival, last_name: 'Test' });
      expect(r!.rooms).toHaveLength(1);
      const {
        rows: [n],
      } = await pool.query(`SELECT count(*)::int AS n FROM guest.profiles WHERE last_name = 'Test' AND first_name = 'Crash'`);
      expect(n.n).toBe(1);
    } finally {
      second.proc.child.kill('SIGTERM');
      await second.proc.exited;
    }
  });
});
