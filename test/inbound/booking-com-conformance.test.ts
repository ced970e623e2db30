/**
 * Booking.com reservations shaped as Booking.com's connectivity reference shapes them
 * (test/fixtures/booking-com/res_*.xml, each citing its pages), pulled by the real poller over HTTP
 * from a stand-in that only hands out those files and records what it is sent: not our sandbox,
 * so nothing here is our own reading of the protocol twice. Each test asserts the stored PMS state
 * row by row, with the expected values worked out from the fixture by the publisher's rules (an
 * integer amount with DecimalPlaces="2" is that amount / 100), and the acknowledgement sent.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStringPromise } from 'xml2js';
import { useTestDatabase } from '../helpers/db.ts';
import { addConnection, businessFingerprint, fixture, reservationDetail, reservationOf } from '../helpers/inbound.ts';
import { seedDemo } from '../helpers/demo.ts';
import { createLogger } from '../../core/logger.ts';
import { BookingReservationPoller, queuesOf } from '../../connectors/booking-com/reservations.ts';
import { connectionsOfChannel, type InboundConnection } from '../../inbound/index.ts';

const db = useTestDatabase();
const NS = 'http://www.opentravel.org/OTA/2003/05';
const EMPTY = {
  new: `<OTA_HotelResNotifRQ xmlns="${NS}" Version="2.001"><HotelReservations/></OTA_HotelResNotifRQ>`,
  modify: `<OTA_HotelResModifyNotifRQ xmlns="${NS}" Version="2.001"><HotelResModifies/></OTA_HotelResModifyNotifRQ>`,
};

/** Booking.com as the fixtures say: GET hands out the file queued for the endpoint, POST records the acknowledgement. */
async function fixtureOta() {
  const app = Fastify();
  const queued = { new: EMPTY.new, modify: EMPTY.modify };
  const acks: Array<{ queue: 'new' | 'modify'; body: string }> = [];
  const state = { failAcks: 0, gets: 0 };
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string' }, (_r, body, done) => done(null, body));
  app.post('/token-based-authentication/exchange', async () => ({ jwt: 'header.claims.signature', ruid: 'r' }));
  for (const [queue, path] of [
    ['new', '/hotels/ota/OTA_HotelResNotif'],
    ['modify', '/hotels/ota/OTA_HotelResModifyNotif'],
  ] as const) {
    app.get(path, async (_req, reply) => {
      state.gets += 1;
      return reply.type('application/xml').send(queued[queue]);
    });
    app.post(path, async (req, reply) => {
      acks.push({ queue, body: String(req.body) });
      if (state.failAcks > 0) {
        state.failAcks -= 1;
        return reply.code(503).send('unavailable');
      }
      if (String(req.body).includes('<Success')) queued[queue] = EMPTY[queue]; // acknowledged with success: it leaves the queue
      return reply
        .type('application/xml')
        .send(
          `<${queue === 'new' ? 'OTA_HotelResNotifRS' : 'OTA_HotelResModifyNotifRS'} xmlns="${NS}"><Success/></${queue === 'new' ? 'OTA_HotelResNotifRS' : 'OTA_HotelResModifyNotifRS'}>`,
        );
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, queued, acks, state, close: () => app.close() };
}

let ota: Awaited<ReturnType<typeof fixtureOta>>;
const poll = () =>
  new BookingReservationPoller({
    pool: db.current.pool,
    log: createLogger('silent'),
    intervalMs: 1,
    ackPauseMs: 0,
    timeoutMs: 2000,
    ackAttempts: 2,
  }).pollOnce();

/** The reservation ids an acknowledgement lists, and where (the reference's request table path). */
async function acked(body: string) {
  const doc = await parseStringPromise(body);
  const root = Object.keys(doc)[0]!;
  const rs = doc[root];
  const list = root === 'OTA_HotelResNotifRS' ? rs.HotelReservations?.[0]?.HotelReservation : rs.HotelResModifies?.[0]?.HotelResModify;
  return {
    root,
    ns: rs.$.xmlns,
    target: rs.$.Target,
    timeStamp: rs.$.TimeStamp,
    success: 'Success' in rs,
    errors: rs.Errors?.[0]?.Error?.map((e: { $: Record<string, string> }) => e.$) ?? [],
    ids: (list ?? []).flatMap((h: any) => h.ResGlobalInfo[0].HotelReservationIDs[0].HotelReservationID.map((i: any) => i.$.ResID_Value)),
  };
}

beforeAll(async () => {
  ota = await fixtureOta();
  await seedDemo(db.current.pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 5 });
  // The demo's own Booking.com connection points nowhere useful here; this test's hotel is the reference's 367456.
  await db.current.pool.query(`UPDATE channel.channel_connections SET status = 'disabled' WHERE channel_code = 'booking_com'`);
  await addConnection(db.current.pool, {
    channel: 'booking_com',
    hotelCode: '367456',
    credentials: { client_id: 'machine', client_secret: 'secret' },
    endpointUrl: 'http://127.0.0.1:9',
    reservationsUrl: ota.url,
    settings: { auth_url: ota.url },
    mappings: [
      { room: '36745601', rate: '1278608', roomType: 'STD', ratePlan: 'BAR' },
      { room: '36745602', rate: '1278608', roomType: 'DLX', ratePlan: 'BAR' },
      { room: '36745603', rate: '1278609', roomType: 'STE', ratePlan: 'NRF' },
    ],
  });
});
afterAll(async () => ota?.close());

describe('Booking.com reservations as the reference shapes them', () => {
  it('one room, nights from RoomRate/@EffectiveDate, amounts scaled by DecimalPlaces, booker, room guest, extras; acknowledged only once stored', async () => {
    ota.queued.new = fixture('booking-com/res_new_one_room.xml');
    ota.state.failAcks = 2; // the acknowledgement fails (both attempts): stored, not acknowledged
    const [first] = await poll();
    expect(first).toMatchObject({ queue: 'new', received: 1, stored: 1, acknowledged: false });

    const r = await reservationOf(db.current.pool, 'booking_com', '312637549');
    // Two RoomRates (EffectiveDate 2012-12-13 and -14): arrival 12-13, departure the night after the last.
    // Rate/Total 13350 and 14250 with DecimalPlaces 2; RoomStay/Total and ResGlobalInfo/Total 27600.
    expect(r).toMatchObject({
      status: 'confirmed',
      check_in: '2012-12-13',
      check_out: '2012-12-15',
      total: '276.00',
      currency: 'EUR',
      adults: 1,
      children: 0,
      first_name: 'Sam',
      last_name: 'Xu',
      email: 'noreply@booking.com',
      phone: '+31 20 715 00 00',
      channel_status: 'new',
    });
    expect(r!.rooms).toEqual([
      expect.objectContaining({
        room_type: 'STD',
        rate_plan: 'BAR',
        arrival: '2012-12-13',
        departure: '2012-12-15',
        adults: 1,
        total: '276.00',
        nights: [
          { date: '2012-12-13', amount: '133.50' },
          { date: '2012-12-14', amount: '142.50' },
        ],
      }),
    ]);
    for (const text of ['I need a wake up service', 'Non-Smoking', 'We will arrive late, around 23:00.']) expect(r!.special_requests).toContain(text);
    expect(r!.cards).toEqual([{ card_brand: 'mastercard', card_last4: '8164', is_virtual: false, number: '5346330641608164' }]);
    const d = await reservationDetail(db.current.pool, 'booking_com', '312637549');
    expect(d!.rooms).toEqual([expect.objectContaining({ ref: '369', guest_name: 'Sam Xu' })]);
    expect(d!.nationality).toBe('NL');
    expect(d!.addresses).toEqual([{ kind: 'home', line1: 'Herengracht 597', line2: 'Booking.com', city: 'Amsterdam', postal_code: '1017 CE', country: 'NL' }]);
    // The booker stays in the room: one guest row, the primary.
    expect(d!.guests).toEqual([{ first_name: 'Sam', last_name: 'Xu', is_primary: true }]);
    expect(d!.cards).toEqual([expect.objectContaining({ expiry_month: 1, expiry_year: 2022, is_virtual: false })]);
    const details = d!.attributes.ota_details;
    // CommissionPayableAmount 4500 with DecimalPlaces 2; services' prices are plain decimals (api-reference/price).
    expect(details.rooms[0]).toMatchObject({
      ref: '369',
      room_name: 'Double Room - Single Use',
      meal_plan: 'Breakfast costs EUR 15 per person per night.',
      commission: { amount: '45.00', currency: 'EUR' },
      amenities: ['Free WiFi'],
      additional_details: ['Including service charge'],
      service_rphs: ['1'],
    });
    expect(details.services).toEqual([
      {
        rph: '1',
        code: '1',
        units: '18',
        total: '54',
        unit_price: '3',
        currency: 'EUR',
        description: 'per person / per night',
        nights: '1',
        guests: '1',
        fees: ['5'],
      },
    ]);
    expect(details.amounts).toBe('after_tax');

    // Changed before its first acknowledgement: Booking.com hands it out as NEW again, with the latest content.
    ota.queued.new = fixture('booking-com/res_new_one_room_changed.xml');
    const [second] = await poll();
    expect(second).toMatchObject({ queue: 'new', received: 1, stored: 1, acknowledged: true });
    const changed = await reservationOf(db.current.pool, 'booking_com', '312637549');
    expect(changed).toMatchObject({ confirmation_number: r!.confirmation_number, check_out: '2012-12-16', total: '418.50' });
    expect(changed!.rooms[0].nights.map((n: { amount: string }) => n.amount)).toEqual(['133.50', '142.50', '142.50']);
    const {
      rows: [count],
    } = await db.current.pool.query(`SELECT count(*)::int AS n FROM reservation.reservations WHERE attributes ->> 'ota_reservation_id' = '312637549'`);
    expect(count.n).toBe(1);
    // The acknowledgement, in the request table's shape (acknowledging-new-reservations-ota).
    const ack = await acked(ota.acks.at(-1)!.body);
    expect(ota.acks.at(-1)!.queue).toBe('new');
    expect(ack).toMatchObject({ root: 'OTA_HotelResNotifRS', ns: NS, target: 'Production', success: true, errors: [], ids: ['312637549'] });
    expect(ack.timeStamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
  });

  it('a modification without any RoomStay is a cancellation, never refused as "no rooms"; acknowledged on the modification endpoint', async () => {
    ota.queued.modify = fixture('booking-com/res_cancel_empty.xml');
    const results = await poll();
    expect(results.find((x) => x.queue === 'modify')).toMatchObject({ received: 1, stored: 1, refused: 0, acknowledged: true });
    const r = await reservationOf(db.current.pool, 'booking_com', '312637549');
    expect(r).toMatchObject({ status: 'cancelled', channel_status: 'cancelled' });
    expect(r!.rooms.map((x: { status: string }) => x.status)).toEqual(['cancelled']);
    expect(await acked(ota.acks.at(-1)!.body)).toMatchObject({ root: 'OTA_HotelResModifyNotifRS', success: true, ids: ['312637549'] });
  });

  it('three rooms with their own dates, types and people; a modification keeps the untouched room, changes one and drops one; then ResStatus="Cancelled"', async () => {
    ota.queued.new = fixture('booking-com/res_new_three_rooms.xml');
    await poll();
    const r = await reservationOf(db.current.pool, 'booking_com', '312637551');
    // 369: 12-13..12-15 at 133.50 + 142.50; 370: 12-14..12-17 at 99.00, 99.00, 105.00 (AmountBeforeTax); 371: 12-13 at 120.00.
    expect(r).toMatchObject({ check_in: '2012-12-13', check_out: '2012-12-17', total: '699.00', adults: 4, last_name: 'Xu' });
    const d = await reservationDetail(db.current.pool, 'booking_com', '312637551');
    expect(d!.rooms.map((x: { ref: string; room_type: string; guest_name: string | null }) => [x.ref, x.room_type, x.guest_name])).toEqual([
      ['369', 'STD', 'Sam Xu'],
      ['370', 'DLX', 'Jan de Vries'],
      ['371', 'STD', 'Sam Xu'],
    ]); // 371 names nobody: the booker's name
    expect(d!.guests).toEqual([
      { first_name: 'Sam', last_name: 'Xu', is_primary: true },
      { first_name: null, last_name: 'Jan de Vries', is_primary: false },
    ]);
    expect(
      d!.attributes.ota_details.rooms.map((x: { total_amount_kind: string; commission: { amount: string } }) => [x.total_amount_kind, x.commission.amount]),
    ).toEqual([
      ['after_tax', '41.40'],
      ['before_tax', '45.45'],
      ['after_tax', '18.00'],
    ]);
    // The front desk assigns a room to 369 and to 370 before the modification comes.
    const {
      rows: [room],
    } = await db.current.pool.query(
      `SELECT r.id FROM property_mgmt.rooms r JOIN property_mgmt.room_types t ON t.id = r.room_type_id WHERE t.code = 'STD' LIMIT 1`,
    );
    const {
      rows: [room2],
    } = await db.current.pool.query(
      `SELECT r.id FROM property_mgmt.rooms r JOIN property_mgmt.room_types t ON t.id = r.room_type_id WHERE t.code = 'DLX' LIMIT 1`,
    );
    await db.current.pool.query(`UPDATE reservation.reservation_rooms SET room_id = $2 WHERE id = $1`, [d!.rooms[0].id, room.id]);
    await db.current.pool.query(`UPDATE reservation.reservation_rooms SET room_id = $2 WHERE id = $1`, [d!.rooms[1].id, room2.id]);

    ota.queued.modify = fixture('booking-com/res_modify_three_rooms.xml');
    await poll();
    const m = await reservationOf(db.current.pool, 'booking_com', '312637551');
    expect(m).toMatchObject({
      status: 'confirmed',
      channel_status: 'modified',
      confirmation_number: r!.confirmation_number,
      check_in: '2012-12-13',
      check_out: '2012-12-17',
      total: '581.00',
    }); // 276.00 + 150.00 + 155.00
    const dm = await reservationDetail(db.current.pool, 'booking_com', '312637551');
    expect(dm!.rooms.map((x: { ref: string; room_type: string; rate_plan: string }) => [x.ref, x.room_type, x.rate_plan])).toEqual([
      ['369', 'STD', 'BAR'],
      ['370', 'STE', 'NRF'],
    ]);
    expect(dm!.rooms[0]).toMatchObject({ id: d!.rooms[0].id, room_id: room.id }); // untouched: same row, same room assignment
    expect(dm!.rooms[1]).toMatchObject({ id: d!.rooms[1].id, room_id: null }); // another room type: the assignment no longer fits
    expect(m!.rooms.find((x: { room_type: string }) => x.room_type === 'STE').nights).toEqual([
      { date: '2012-12-15', amount: '150.00' },
      { date: '2012-12-16', amount: '155.00' },
    ]);
    const {
      rows: [free],
    } = await db.current.pool.query(`SELECT reservation.free_rooms(rt.property_id, rt.id, '2012-12-13') AS free, count(r.*)::int AS rooms
      FROM property_mgmt.room_types rt JOIN property_mgmt.rooms r ON r.room_type_id = rt.id WHERE rt.code = 'STD' GROUP BY rt.property_id, rt.id`);
    expect(free.free).toBe(free.rooms - 1); // 371 released its night of 12-13; 369 still holds one

    ota.queued.modify = fixture('booking-com/res_cancel_status.xml');
    await poll();
    expect(await reservationOf(db.current.pool, 'booking_com', '312637551')).toMatchObject({ status: 'cancelled', channel_status: 'cancelled' });
    // What the cancellation said beyond its status is kept (fees, penalties, the rooms as cancelled).
    const cancelled = await reservationDetail(db.current.pool, 'booking_com', '312637551');
    expect(cancelled!.attributes.ota_cancellation_details.rooms.map((x: { ref: string }) => x.ref)).toEqual(['369', '370']);
  });

  it('a reservation cancelled before its first acknowledgement may come on the NEW queue without rooms: a cancellation, kept until its booking', async () => {
    ota.queued.new = fixture('booking-com/res_new_cancelled_empty.xml');
    const [res] = await poll();
    expect(res).toMatchObject({ queue: 'new', received: 1, stored: 1, refused: 0, acknowledged: true });
    const { rows } = await db.current.pool.query(`SELECT status, reservation_id FROM channel.channel_reservations WHERE external_reservation_id = '312637555'`);
    expect(rows).toEqual([{ status: 'cancelled', reservation_id: null }]);
  });

  it('one poller per queue at a time, across processes: a queue another poller holds is skipped', async () => {
    ota.queued.new = fixture('booking-com/res_new_one_room.xml');
    const gets = ota.state.gets;
    const other = await db.current.pool.connect();
    try {
      // The queue's key: the connection's account and reservations host.
      const [queue] = queuesOf((await other.query<InboundConnection>(connectionsOfChannel('booking_com'))).rows);
      expect(queue!.connections.map((c) => c.hotelCode)).toEqual(['367456']);
      await other.query(`SELECT pg_advisory_lock(hashtextextended('booking-poll:' || $1, 0))`, [queue!.key]);
      expect(await poll()).toEqual([]);
      expect(ota.state.gets).toBe(gets);
      await other.query(`SELECT pg_advisory_unlock(hashtextextended('booking-poll:' || $1, 0))`, [queue!.key]);
    } finally {
      other.release();
      ota.queued.new = EMPTY.new;
    }
  });

  it('a Booking.com virtual card: "VCC" rate plan suffix maps to the same rate plan; activation date and chargeable amount kept, encrypted card, paid via the OTA', async () => {
    ota.queued.new = fixture('booking-com/res_new_vcc.xml');
    await poll();
    const r = await reservationOf(db.current.pool, 'booking_com', '312637552');
    expect(r).toMatchObject({ status: 'confirmed', check_in: '2012-12-20', check_out: '2012-12-22', total: '267.00' });
    expect(r!.rooms).toEqual([expect.objectContaining({ room_type: 'STD', rate_plan: 'BAR' })]);
    const d = await reservationDetail(db.current.pool, 'booking_com', '312637552');
    // EffectiveDate 2019-01-13 (activation); the card expires 01/22, so it is chargeable until 2022-01-31.
    expect(d!.cards).toEqual([
      {
        card_brand: 'mastercard',
        card_last4: '8164',
        expiry_month: 1,
        expiry_year: 2022,
        is_virtual: true,
        virtual_card_source: 'booking_com',
        activation: '2019-01-13',
        limit: '267.00',
        currency: 'EUR',
      },
    ]);
    expect(d!.paymentCollect).toBe('ota');
  });

  it('legal but unusual values are taken: Unicode names, a phone with words, an e-mail without "@" (kept as given, not refused)', async () => {
    ota.queued.new = fixture('booking-com/res_new_unusual_values.xml');
    const results = await poll();
    expect(results.find((x) => x.queue === 'new')).toMatchObject({ stored: 1, refused: 0, acknowledged: true });
    const r = await reservationOf(db.current.pool, 'booking_com', '312637553');
    expect(r).toMatchObject({ first_name: 'Zoë', last_name: 'Ångström-Łukasiewicz', email: null, phone: null, adults: 2 });
    const d = await reservationDetail(db.current.pool, 'booking_com', '312637553');
    expect(d!.attributes.ota_details.booker_as_given).toEqual({ email: 'zoe at example dot com', phone: '+31 20 715 00 00 (ask for Zoë)' });
    expect(d!.rooms[0].guest_name).toBe('Zoë Ångström-Łukasiewicz, 明海 李');
    expect(d!.guests).toEqual([
      { first_name: 'Zoë', last_name: 'Ångström-Łukasiewicz', is_primary: true },
      { first_name: '明海', last_name: '李', is_primary: false },
    ]);
  });

  it('a reservation we cannot take is reported as a failure (Error with RecordID, ShortText, Status) and stays queued; nothing is written', async () => {
    const unmapped = fixture('booking-com/res_new_vcc.xml')
      .replaceAll('312637552', '312637554')
      .replaceAll('RoomTypeCode="36745601"', 'RoomTypeCode="99999999"');
    ota.queued.new = unmapped;
    const before = await businessFingerprint(db.current.pool);
    const [res] = await poll();
    expect(res).toMatchObject({ queue: 'new', received: 1, stored: 0, refused: 1, acknowledged: false });
    expect(await businessFingerprint(db.current.pool)).toEqual(before);
    const ack = await acked(ota.acks.at(-1)!.body);
    expect(ack).toMatchObject({ root: 'OTA_HotelResNotifRS', success: false, ids: [] });
    expect(ack.errors).toEqual([expect.objectContaining({ RecordID: '312637554', Code: '402', Type: '3', Status: 'NotProcessed' })]);
    expect(ack.errors[0].ShortText).toContain('99999999');
    expect(ota.queued.new).toBe(unmapped); // not acknowledged with success: still queued at Booking.com
  });
});
