/**
 * Idempotent and order-proof, under load, through the real webhook: 1,000 Expedia bookings, with
 * modifications and cancellations, every message delivered 3 times at once, all messages in a
 * shuffled order. Afterwards each booking is exactly one reservation in its final state, and the
 * rooms consumed per night are exactly those of the final bookings.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { post, startInboundApp } from '../helpers/inbound.ts';
import { schemaErrors } from '../helpers/xml.ts';
import { DEMO_CONNECTIONS, seedDemo } from '../helpers/demo.ts';
import { DEMO } from '../../core/demo/demo-data.ts';
import { addDays } from '../../core/dates.ts';
import { prng } from '../../core/prng.ts';
import { buildBnRequest, type BnRequest } from '../../connectors/expedia/booking-notification.ts';

const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startInboundApp>>;
const expedia = DEMO_CONNECTIONS.find((c) => c.channel === 'expedia')!;
const ROOM_TYPES = ['STD', 'DLX', 'STE'] as const;
const today = new Date().toISOString().slice(0, 10);

interface Plan {
  id: string;
  roomType: (typeof ROOM_TYPES)[number];
  arrival: string;
  departure: string;
  cancelled: boolean;
  messages: BnRequest[];
}

/** Booking i: a new message, maybe a modification (other dates, later), maybe a cancellation (latest). */
function plan(i: number, random: () => number): Plan {
  const roomType = ROOM_TYPES[i % 3]!;
  const stay = (from: number, nights: number) => ({ arrival: addDays(today, from), departure: addDays(today, from + nights) });
  const first = stay(5 + Math.floor(random() * 200), 1 + Math.floor(random() * 4));
  const modified = random() < 0.4 ? stay(5 + Math.floor(random() * 200), 1 + Math.floor(random() * 4)) : undefined;
  const cancelled = random() < 0.2;
  const msg = (kind: BnRequest['kind'], n: number, s: { arrival: string; departure: string }): BnRequest => ({
    kind,
    requestId: `${i}-${n}`,
    hotelCode: expedia.hotelCode,
    username: String(expedia.credentials.username),
    password: String(expedia.credentials.password),
    externalId: `IDEM-${i}`,
    timeStamp: `2026-11-${String(10 + n).padStart(2, '0')}T10:00:00+00:00`,
    currency: 'EUR',
    room: {
      roomCode: expedia.roomCodes[roomType]!,
      rateCode: expedia.rateCodes.BAR!,
      adults: 2,
      ...s,
      nights: Array.from({ length: (Date.parse(s.departure) - Date.parse(s.arrival)) / 86_400_000 }, (_, k) => ({
        date: addDays(s.arrival, k),
        amount: `${100 + n}.00`,
      })),
    },
    guest: { firstName: 'Idem', lastName: `Guest${i}` },
  });
  const messages = [msg('new', 0, first), ...(modified ? [msg('modify', 1, modified)] : []), ...(cancelled ? [msg('cancel', 2, first)] : [])];
  return { id: `IDEM-${i}`, roomType, ...(modified ?? first), cancelled, messages };
}

beforeAll(async () => {
  await seedDemo(db.current.pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 5 });
  // Start from empty rooms: only this test's bookings consume inventory.
  await db.current.pool.query(`UPDATE reservation.reservation_rooms SET deleted_at = now() WHERE deleted_at IS NULL`);
  server = await startInboundApp(db.current.pool);
});
afterAll(async () => server?.close());

describe('1,000 bookings, each message 3 times at once, in shuffled order', () => {
  it('the generated messages are valid Expedia Booking Notifications', () => {
    const p = plan(1, prng(1));
    const xsd = path.resolve(import.meta.dirname, '../../connectors/expedia/xsd');
    for (const m of [...p.messages, { ...p.messages[0]!, kind: 'modify' as const }, { ...p.messages[0]!, kind: 'cancel' as const, ourConfirmation: 'SO1' }]) {
      const xml = buildBnRequest(m);
      const body = `<?xml version="1.0" encoding="UTF-8"?>${/<soap-env:Body>(.*)<\/soap-env:Body>/s.exec(xml)![1]}`;
      const root = m.kind === 'new' ? 'OTA_HotelResNotifRQ' : m.kind === 'modify' ? 'OTA_HotelResModifyNotifRQ' : 'OTA_CancelRQ';
      expect(schemaErrors(path.join(xsd, `${root}.xsd`), body), root).toBeNull();
    }
  });

  it('exactly one reservation per booking, each in its final state; inventory consumed = the final bookings', async () => {
    const { pool } = db.current;
    const random = prng(2026);
    const plans = Array.from({ length: 1000 }, (_, i) => plan(i, random));
    const groups = plans.flatMap((p) => p.messages);
    for (let i = groups.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [groups[i], groups[j]] = [groups[j]!, groups[i]!];
    }
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const m = groups[next++]!;
        const xml = buildBnRequest(m);
        const answers = await Promise.all(
          [0, 1, 2].map((k) => post(`${server.url}/webhooks/expedia`, k ? xml.replace('RetryIndicator="false"', 'RetryIndicator="true"') : xml)),
        );
        for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        // The three answers name the same confirmation number.
        const numbers = new Set(answers.map((a) => /Type="(?:3|10)" (?:ResID_Value|ID)="([^"]+)"/.exec(a.body)?.[1]));
        expect(numbers.size, `${m.externalId} ${m.kind}`).toBe(1);
      }
    };
    await Promise.all(Array.from({ length: 12 }, worker));
    expect(Object.fromEntries(statuses)).toEqual({ 200: groups.length * 3 });

    const { rows } = await pool.query<{ id: string; n: number; reservations: number; status: string; check_in: string; check_out: string; room_type: string }>(`
      SELECT cr.external_reservation_id AS id, count(*) OVER (PARTITION BY cr.external_reservation_id)::int AS n,
             (SELECT count(*)::int FROM reservation.reservations x WHERE x.attributes ->> 'ota_reservation_id' = cr.external_reservation_id) AS reservations,
             r.status, r.check_in_date::text AS check_in, r.check_out_date::text AS check_out,
             (SELECT rt.code FROM reservation.reservation_rooms rr JOIN property_mgmt.room_types rt ON rt.id = rr.room_type_id
               WHERE rr.reservation_id = r.id AND rr.deleted_at IS NULL) AS room_type
      FROM channel.channel_reservations cr JOIN reservation.reservations r ON r.id = cr.reservation_id
      WHERE cr.channel_code = 'expedia' AND cr.external_reservation_id LIKE 'IDEM-%'`);
    expect(rows).toHaveLength(1000);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const p of plans) {
      const r = byId.get(p.id)!;
      expect(r, p.id).toMatchObject({ n: 1, reservations: 1, status: p.cancelled ? 'cancelled' : 'confirmed', room_type: p.roomType });
      if (!p.cancelled) expect({ id: p.id, in: r.check_in, out: r.check_out }).toEqual({ id: p.id, in: p.arrival, out: p.departure });
    }
    // Rooms consumed per (room type, night) = the nights of the final, not cancelled bookings.
    const expected = new Map<string, number>();
    for (const p of plans.filter((x) => !x.cancelled)) {
      for (let d = p.arrival; d < p.departure; d = addDays(d, 1)) expected.set(`${p.roomType}|${d}`, (expected.get(`${p.roomType}|${d}`) ?? 0) + 1);
    }
    const { rows: consumed } = await pool.query<{ key: string; rooms: number }>(`
      SELECT rt.code || '|' || v.stay_date::text AS key, v.rooms FROM reservation.room_nights_consumed v JOIN property_mgmt.room_types rt ON rt.id = v.room_type_id`);
    expect(new Map(consumed.map((c) => [c.key, c.rooms]))).toEqual(expected);
    // Nights with more bookings than rooms were still accepted, each raising an alert.
    const {
      rows: [alerts],
    } = await pool.query(`SELECT count(*)::int AS n FROM channel.overbooking_alerts WHERE resolved_at IS NULL`);
    const capacity = Object.fromEntries(DEMO.roomTypes.map((t) => [t.code, t.rooms.length]));
    const over = [...expected].some(([k, n]) => n > capacity[k.split('|')[0]!]!);
    expect(alerts.n > 0).toBe(over);
    // Each alert was published as a domain event when it was raised.
    const {
      rows: [events],
    } = await pool.query(`SELECT count(DISTINCT aggregate_id)::int AS n FROM compliance.domain_events
      WHERE aggregate_type = 'overbooking_alert' AND event_type = 'created'`);
    const {
      rows: [raised],
    } = await pool.query(`SELECT count(*)::int AS n FROM channel.overbooking_alerts`);
    expect(events.n).toBe(raised.n);
  });
});
