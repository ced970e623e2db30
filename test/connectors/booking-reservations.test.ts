/**
 * Booking.com reservations, pulled and acknowledged, against the sandbox over HTTP: every queued
 * reservation ends in the PMS exactly once and acknowledged, through injected failures (5xx on
 * polls and acknowledgements, acknowledgements lost) and poller restarts; nothing is acknowledged
 * before its transaction committed; the sandbox's queue keeps Booking.com's rules (30-minute
 * expiry, acknowledgements cover only what was handed out).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { startSandboxServer } from '../helpers/outbound.ts';
import { waitFor } from '../helpers/wait.ts';
import { reservationOf } from '../helpers/inbound.ts';
import { seedDemo } from '../helpers/demo.ts';
import { createPool } from '../../core/db.ts';
import { addDays } from '../../core/dates.ts';
import { createLogger } from '../../core/logger.ts';
import { BookingReservationPoller } from '../../connectors/booking-com/reservations.ts';
import { ReservationQueue, EXPIRY_MS, type SandboxReservation } from '../../connectors/booking-com/sandbox-reservations.ts';

const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startSandboxServer>>;
const HOTEL = '1234567';
const today = new Date().toISOString().slice(0, 10);

// A 1 ms interval: each pollOnce finds the hotel due again (a poll is claimed for the interval).
const poller = (pool = db.current.pool) =>
  new BookingReservationPoller({
    pool,
    log: createLogger('silent'),
    intervalMs: 1,
    ackPauseMs: 0,
    timeoutMs: 2000,
    ackAttempts: 2,
  });

/** One room for 1–3 nights from 20–59 days ahead at 100 + i a night; booker (and guest) "Guest Number<i>"; a card. */
function reservation(
  id: string,
  i: number,
  over: Omit<Partial<SandboxReservation>, 'rooms'> = {},
  room = '123456701',
): SandboxReservation & { rooms: Array<SandboxReservation['rooms'][number] & { arrival: string; departure: string }> } {
  const arrival = addDays(today, 20 + (i % 40));
  const nights = 1 + (i % 3);
  return {
    id,
    hotel: HOTEL,
    currency: 'EUR',
    rooms: [
      {
        roomCode: room,
        rateCode: '5001',
        arrival,
        departure: addDays(arrival, nights),
        adults: 2,
        nights: Array.from({ length: nights }, (_, n) => ({ date: addDays(arrival, n), amount: (100 + i).toFixed(2) })),
      },
    ],
    booker: { firstName: 'Guest', lastName: `Number${i}`, email: `g${i}@example.com` },
    card: { code: 'VI', number: '4111111111111111', expire: '1230', holder: `Guest Number${i}` },
    ...over,
  };
}

beforeAll(async () => {
  server = await startSandboxServer();
  await seedDemo(db.current.pool, { sandboxBaseUrl: server.url, days: 5 });
});
afterAll(async () => server?.close());

describe('Booking.com reservation poller', () => {
  it('nothing is acknowledged before it is committed; once the database takes it, it is stored and acknowledged once', async () => {
    server.booking.reservations.add('new', reservation('BK-LOCK-1', 1));
    // The poller's sessions give up on a lock after 300 ms; a held table lock stands in for an outage.
    const url = new URL(db.current.url);
    url.searchParams.set('options', '-c lock_timeout=300');
    const pool = createPool(url.toString(), { max: 2, encryptionKeys: [TEST_KEY] }); // the URL's options and the keys' both reach the session
    const locker = await db.current.pool.connect();
    try {
      await locker.query(`BEGIN; LOCK TABLE reservation.reservations IN ACCESS EXCLUSIVE MODE`);
      const [first] = await poller(pool).pollOnce();
      expect(first).toMatchObject({ received: 1, stored: 0, acknowledged: false });
      expect(server.booking.reservations.summary(HOTEL).pending.map((p) => p.id)).toEqual(['BK-LOCK-1']);
      await locker.query('ROLLBACK');
      const [second] = await poller(pool).pollOnce();
      expect(second).toMatchObject({ received: 1, stored: 1, acknowledged: true });
    } finally {
      locker.release();
      await pool.end();
    }
    expect(server.booking.reservations.summary(HOTEL)).toMatchObject({ pending: [], acked: [{ id: 'BK-LOCK-1' }] });
    expect(await reservationOf(db.current.pool, 'booking_com', 'BK-LOCK-1')).toMatchObject({ status: 'confirmed', last_name: 'Number1' });
  });

  it('a modification we cannot take is reported as a failure and stays queued; the reservation keeps its last stored state', async () => {
    const good = reservation('BK-LOCK-1', 1);
    good.rooms[0]!.adults = 3;
    server.booking.reservations.add('modify', good);
    expect((await poller().pollOnce()).find((r) => r.queue === 'modify')).toMatchObject({ received: 1, stored: 1, acknowledged: true });
    expect(await reservationOf(db.current.pool, 'booking_com', 'BK-LOCK-1')).toMatchObject({ adults: 3 });
    server.booking.reservations.add('modify', reservation('BK-LOCK-1', 1, {}, '999999998')); // a room we do not map
    const results = await poller().pollOnce();
    expect(results.find((r) => r.queue === 'modify')).toMatchObject({ received: 1, stored: 0, refused: 1, acknowledged: false });
    const { pending } = server.booking.reservations.summary(HOTEL);
    expect(pending).toEqual([expect.objectContaining({ id: 'BK-LOCK-1', failures: [expect.stringContaining('999999998')] })]);
    expect(await reservationOf(db.current.pool, 'booking_com', 'BK-LOCK-1')).toMatchObject({ adults: 3 });
    server.booking.reservations.reset(); // the refused one would otherwise stay queued for the next test
  });

  it("children and their ages, when the message lists them per GuestCount (the variant beyond the reference's Count), DecimalPlaces 3", async () => {
    const r = reservation('BK-KIDS-1', 3);
    r.rooms[0]!.childAges = [4, 9];
    r.rooms[0]!.adults = 2;
    server.booking.reservations.add('new', { ...r, decimalPlaces: 3 });
    expect((await poller().pollOnce()).find((x) => x.queue === 'new')).toMatchObject({ stored: 1, acknowledged: true });
    const stored = await reservationOf(db.current.pool, 'booking_com', 'BK-KIDS-1');
    expect(stored).toMatchObject({ adults: 2, children: 2 });
    expect(stored!.rooms[0].nights.every((n: { amount: string }) => n.amount === '103.00')).toBe(true);
    const {
      rows: [a],
    } = await db.current.pool.query(
      `SELECT attributes -> 'ota_details' -> 'rooms' -> 0 -> 'child_ages' AS ages FROM reservation.reservations WHERE attributes ->> 'ota_reservation_id' = 'BK-KIDS-1'`,
    );
    expect(a.ages).toEqual([4, 9]);
  });

  it('every queued reservation ends in the PMS exactly once and acknowledged, across 5xx, lost acknowledgements and restarts', async () => {
    const { pool } = db.current;
    const N = 60;
    for (let i = 0; i < N; i++) server.booking.reservations.add('new', reservation(`BK-${i}`, i));
    server.booking.reservations.add('new', reservation('BK-BAD', 99, {}, '999999999')); // a room we do not map
    server.booking.faults.set({ rates: { http5xx: 0.2 }, seed: 7 });
    server.booking.failNextAcks = 3;
    const settled = () => {
      const { pending } = server.booking.reservations.summary(HOTEL);
      return pending.every((x) => x.id === 'BK-BAD') && pending[0]?.failures.length;
    };

    let p = poller();
    p.start();
    try {
      // Restart the poller twice while it works.
      for (const share of [0.25, 0.6]) {
        await waitFor(() => server.booking.reservations.summary(HOTEL).acked.length >= share * N, { timeoutMs: 60_000, what: `${share * 100} % acknowledged` });
        await p.stop();
        p = poller();
        p.start();
      }
      await waitFor(settled, { timeoutMs: 60_000, what: 'all new reservations acknowledged, the refused one reported' });
      // Then the guests change their bookings (a night more) and cancel some, under the same faults.
      for (let i = 0; i < N; i += 4) {
        const r = reservation(`BK-${i}`, i);
        const last = r.rooms[0]!.departure;
        r.rooms[0]!.nights.push({ date: last, amount: '99.00' });
        r.rooms[0]!.departure = addDays(last, 1);
        server.booking.reservations.add('modify', r);
      }
      for (let i = 2; i < N; i += 6) server.booking.reservations.add('cancel', reservation(`BK-${i}`, i));
      server.booking.failNextAcks = 2;
      await waitFor(settled, { timeoutMs: 60_000, what: 'all modifications and cancellations acknowledged' });
    } finally {
      await p.stop();
      server.booking.faults.set({});
    }
    expect(server.booking.faults.injected.http5xx).toBeGreaterThan(0);
    const summary = server.booking.reservations.summary(HOTEL);
    expect(summary.expired).toEqual([]);
    expect(summary.pending).toEqual([expect.objectContaining({ id: 'BK-BAD', failures: expect.arrayContaining([expect.stringContaining('999999999')]) })]);

    const { rows: counts } = await pool.query(`SELECT cr.external_reservation_id AS id, count(*)::int AS n,
        (SELECT count(*)::int FROM reservation.reservations r WHERE r.attributes ->> 'ota_reservation_id' = cr.external_reservation_id) AS reservations
      FROM channel.channel_reservations cr WHERE cr.channel_code = 'booking_com' AND cr.external_reservation_id LIKE 'BK-%' GROUP BY 1`);
    expect(counts).toHaveLength(N + 2); // BK-0 … BK-59, BK-LOCK-1 and BK-KIDS-1
    expect(counts.every((c) => c.n === 1 && c.reservations === 1)).toBe(true);
    for (let i = 0; i < N; i++) {
      const r = await reservationOf(pool, 'booking_com', `BK-${i}`);
      const base = reservation(`BK-${i}`, i).rooms[0]!;
      const cancelled = i >= 2 && (i - 2) % 6 === 0;
      const modified = i % 4 === 0;
      // A cancellation queued over a modification not yet handed out replaces it (one current message
      // per reservation): a cancelled booking's dates may be either version.
      expect(r, `BK-${i}`).toMatchObject({ status: cancelled ? 'cancelled' : 'confirmed', check_in: base.arrival });
      if (!cancelled) expect(r!.check_out, `BK-${i}`).toBe(modified ? addDays(base.departure, 1) : base.departure);
    }
    const { rows: problems } = await pool.query(`SELECT kind FROM channel.mapping_problems WHERE ota_room_code = '999999999'`);
    expect(problems).toEqual([{ kind: 'unknown_ota_room' }]);
  });
});

describe('the sandbox reservation queue (Booking.com rules)', () => {
  it('expires what is not acknowledged within 30 minutes, and an acknowledgement covers only versions handed out', () => {
    const t0 = Date.parse('2027-01-10T10:00:00Z');
    let now = t0;
    const q = new ReservationQueue(() => new Date(now));
    const hotels = new Set([HOTEL]);
    q.add('new', reservation('A', 1));
    q.add('new', reservation('B', 2));
    expect(q.poll('new', hotels)).toContain('ResID_Value="A"');
    const changed = reservation('A', 1);
    changed.rooms[0]!.adults = 3;
    q.add('modify', changed); // before A's first acknowledgement: A's new message holds the change, not yet handed out
    // Acknowledging A acknowledges nothing: it has no modify message, and the version handed out is no longer the latest.
    expect(q.acknowledge('modify', hotels, ['A'])).toEqual({ status: 400, id: 'A' });
    expect(q.acknowledge('new', hotels, ['A'])).toEqual({ status: 400, id: 'A' });
    expect(q.poll('new', hotels)).toContain('<GuestCount Count="3"/>');
    expect(q.acknowledge('new', hotels, ['A'])).toEqual({ status: 200, acknowledged: 1 });
    now = t0 + 60_000;
    q.add('modify', reservation('A', 1)); // after it: a modify message, never acknowledged
    now = t0 + 60_000 + EXPIRY_MS;
    expect(q.summary()).toMatchObject({
      acked: [{ id: 'A', kind: 'new' }],
      expired: [
        { id: 'B', kind: 'new' },
        { id: 'A', kind: 'modify' },
      ],
      pending: [],
    });
    expect(q.poll('new', hotels)).not.toContain('ResID_Value');
  });
});

describe('Booking.com reservation poller, several replicas', () => {
  it("several replicas poll each hotel once per interval between them, and keep Booking.com's pause after an acknowledgement (issue 16, point 7)", async () => {
    const { pool } = db.current;
    // A 10-minute interval and a 2-hour pause after an acknowledgement: each visible in the claim.
    const replica = () =>
      new BookingReservationPoller({ pool, log: createLogger('silent'), intervalMs: 600_000, ackPauseMs: 7_200_000, timeoutMs: 2000, ackAttempts: 2 });
    const due = () =>
      pool.query(`UPDATE channel.connection_sync_state SET reservations_poll_at = now() - interval '1 second' WHERE reservations_poll_at IS NOT NULL`);
    await due();
    const [a, b, c] = [replica(), replica(), replica()];
    const polled = async (p: BookingReservationPoller) => (await p.pollOnce()).length;
    // The first replica polls both queues of the hotel; within the interval the others find it not due.
    expect(await polled(a)).toBe(2);
    expect([await polled(b), await polled(c), await polled(a)]).toEqual([0, 0, 0]);
    // Due again: exactly one of them takes it, whichever asks first.
    await due();
    expect([await polled(c), await polled(b), await polled(a)]).toEqual([2, 0, 0]);
    // An acknowledgement pauses the hotel for every replica, not only for the one that sent it.
    server.booking.reservations.add('new', reservation('BK-REPLICAS-1', 3));
    await due();
    const [took] = await b.pollOnce();
    expect(took).toMatchObject({ stored: 1, acknowledged: true });
    const {
      rows: [state],
    } = await pool.query(`SELECT reservations_poll_at > now() + interval '1 hour' AS paused FROM channel.connection_sync_state s
      JOIN channel.channel_connections c ON c.id = s.connection_id WHERE c.channel_code = 'booking_com'`);
    expect(state.paused).toBe(true);
    expect([await polled(a), await polled(c)]).toEqual([0, 0]);
    await due();
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });
});
