/**
 * Expedia Booking Notification through the real HTTP webhook: every published request sample is
 * taken and becomes the right reservation; answers validate against Expedia's schemas; a resend
 * gets the same answer; credentials are checked; what we cannot take now is a SOAP Fault.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase, useTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { schemaErrors } from '../helpers/xml.ts';
import { addConnection, businessFingerprint, fixture, post, reservationDetail, reservationOf, startInboundApp } from '../helpers/inbound.ts';
import { seedDemo } from '../helpers/demo.ts';
import { createPool } from '../../core/db.ts';
import { createProperty } from '../helpers/fixtures.ts';
import { bookingHistory, replayMessage } from '../../inbound/replay.ts';
import { adapterOf } from '../../connectors/registry.ts';

const XSD = path.resolve(import.meta.dirname, '../../connectors/expedia/xsd');
const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startInboundApp>>;

async function setUp(database: TestDatabase) {
  await seedDemo(database.pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 5 });
  await addConnection(database.pool, {
    channel: 'expedia',
    hotelCode: '1154286',
    credentials: { username: 'Expedia', password: 'Password' },
    // bn_06 is Hotel Collect: its rate plan id 113702A is the AR id 113702 with Expedia's "A" suffix (BN enumerations).
    mappings: [
      { room: '50292', rate: '113712', roomType: 'STD', ratePlan: 'BAR' },
      { room: '50287', rate: '113702', roomType: 'DLX', ratePlan: 'NRF' },
    ],
  });
  await addConnection(database.pool, {
    channel: 'expedia',
    hotelCode: '12696123',
    credentials: { username: 'EQCUser1', password: 'Pass1' },
    mappings: [{ room: '201379456', rate: '206807911', roomType: 'STE', ratePlan: 'BB' }],
  });
}

/** The OTA payload of a SOAP answer, for schema validation. */
function payload(soap: string): string {
  const m = /<soap-env:Body>(.*)<\/soap-env:Body>/s.exec(soap);
  if (!m) throw new Error(`no SOAP body in ${soap.slice(0, 200)}`);
  return `<?xml version="1.0" encoding="UTF-8"?>${m[1]}`;
}
const ourConfirmation = (soap: string) => /ResID_Type="3" ResID_Value="([^"]+)"/.exec(soap)?.[1];

/**
 * The oracle for nightly prices, from the raw message by Expedia's published rule (EQC BN
 * reference, RoomRate/Rates/Rate): a night costs its Base plus every AdditionalGuestAmount plus
 * every exclusive (per-day) Fee; per-stay fees and taxes only appear in Total.
 */
function publishedNights(xml: string): Array<{ date: string; amount: string }> {
  return [...xml.matchAll(/<RoomRate EffectiveDate="([^"]+)"[\s\S]*?<\/RoomRate>/g)].map(([block, date]) => {
    const cents = [
      ...block.matchAll(/<Base AmountBeforeTax="([\d.]+)"/g),
      ...block.matchAll(/<Amount AmountBeforeTax="([\d.]+)"/g),
      ...block.matchAll(/<Fee [^>]*Type="Exclusive"[^>]*Amount="([\d.]+)"/g),
    ].reduce((sum, m) => sum + Math.round(Number(m[1]) * 100), 0);
    return { date: date!, amount: (cents / 100).toFixed(2) };
  });
}
const centsOf = (a: string) => Math.round(Number(a) * 100);

beforeAll(async () => {
  await setUp(db.current);
  server = await startInboundApp(db.current.pool);
});
afterAll(async () => server?.close());

describe('Expedia Booking Notification samples', () => {
  it('bn_00 (new, virtual card): the reservation, its nights, guest and encrypted card; the RS validates', async () => {
    const res = await post(`${server.url}/webhooks/expedia`, fixture('expedia/bn_00_New_reservation_Request.xml'));
    expect(res.status).toBe(200);
    expect(schemaErrors(path.join(XSD, 'OTA_HotelResNotifRS.xsd'), payload(res.body))).toBeNull();
    const r = await reservationOf(db.current.pool, 'expedia', '13357395');
    expect(ourConfirmation(res.body)).toBe(r!.confirmation_number);
    expect(res.body).toContain('ResID_Type="8" ResID_Value="13357395"');
    expect(r).toMatchObject({
      status: 'confirmed',
      check_in: '2016-05-31',
      check_out: '2016-06-04',
      total: '951.61',
      currency: 'CAD',
      adults: 2,
      children: 3,
      first_name: 'Etienne',
      last_name: 'Beaulne-Dury',
      email: 'customer@email.com',
      phone: '+1 321 3331112',
      source_channel: 'expedia',
      channel_status: 'new',
    });
    expect(r!.special_requests).toContain('1 king bed');
    const nights = publishedNights(fixture('expedia/bn_00_New_reservation_Request.xml'));
    // 178.64 + 10.00 + 5.00 + 5.00 (three extra guests) on three nights, 187.60 + 20.00 on the last.
    expect(nights.map((n) => n.amount)).toEqual(['198.64', '198.64', '198.64', '207.60']);
    expect(r!.rooms).toEqual([
      expect.objectContaining({
        room_type: 'STD',
        rate_plan: 'BAR',
        arrival: '2016-05-31',
        departure: '2016-06-04',
        status: 'confirmed',
        total: '951.61',
        nights,
      }),
    ]);
    // The publisher's own arithmetic holds on what we stored: nights + Taxes (148.09) = Total (951.61).
    const d = await reservationDetail(db.current.pool, 'expedia', '13357395');
    expect(nights.reduce((s, n) => s + centsOf(n.amount), 0) + centsOf(d!.attributes.ota_details.rooms[0].taxes.amount)).toBe(centsOf('951.61'));
    expect(d!.attributes.ota_details.rooms[0]).toMatchObject({ extra_guest_amounts: '80.00', taxes: { amount: '148.09', currency: 'CAD' } });
    expect(r!.cards).toEqual([{ card_brand: 'mastercard', card_last4: '1111', is_virtual: true, number: '5191111111111111' }]);
    // The virtual card's limit is RoomStay/Payment/@Amount (807.60), not the booking total (951.61).
    expect(d!.cards).toEqual([
      expect.objectContaining({ is_virtual: true, virtual_card_source: 'expedia', limit: '807.60', currency: 'CAD', activation: '2016-05-31' }),
    ]);
    expect(d!.paymentCollect).toBe('ota');
    expect(d!.attributes).toMatchObject({ base_rate_type: 'Sell', point_of_sale: 'Expedia' });
    // The card number is nowhere in clear: not in the message log, the audit log or the events.
    const {
      rows: [leak],
    } = await db.current.pool.query(`SELECT
      (SELECT count(*) FROM channel.inbound_messages m WHERE m::text LIKE '%5191111111111111%'
         OR position(convert_to('5191111111111111', 'UTF8') IN m.body_encrypted) > 0)::int
      + (SELECT count(*) FROM billing.payment_methods p WHERE position(convert_to('5191111111111111', 'UTF8') IN p.card_number_encrypted) > 0)::int
      + (SELECT count(*) FROM audit.audit_log a WHERE a::text LIKE '%5191111111111111%')::int
      + (SELECT count(*) FROM compliance.domain_events e WHERE e::text LIKE '%5191111111111111%')::int AS n`);
    expect(leak.n).toBe(0);
  });

  it('a resend (RetryIndicator="true") gets the very same answer and changes nothing', async () => {
    const first = await post(`${server.url}/webhooks/expedia`, fixture('expedia/bn_00_New_reservation_Request.xml'));
    const before = await businessFingerprint(db.current.pool);
    const resend = await post(
      `${server.url}/webhooks/expedia`,
      fixture('expedia/bn_00_New_reservation_Request.xml').replace('RetryIndicator="false"', 'RetryIndicator="true"'),
    );
    expect(resend.status).toBe(200);
    expect(resend.body.replace(/TimeStamp="[^"]+"/, '')).toBe(first.body.replace(/TimeStamp="[^"]+"/, ''));
    expect(await businessFingerprint(db.current.pool)).toEqual(before);
    const { rows } = await db.current.pool.query(
      `SELECT outcome FROM channel.inbound_messages WHERE external_reservation_id = '13357395' ORDER BY created_at, id`,
    );
    expect(rows.map((x) => x.outcome)).toEqual(['created', 'duplicate', 'duplicate']);
  });

  it('bn_02 (modify, one night less): the stay moves, the dropped night is freed, the confirmation number stays', async () => {
    const before = await reservationOf(db.current.pool, 'expedia', '13357395');
    const res = await post(`${server.url}/webhooks/expedia`, fixture('expedia/bn_02_Modification_Request_removing_1_night_Request.xml'));
    expect(res.status).toBe(200);
    expect(schemaErrors(path.join(XSD, 'OTA_HotelResModifyNotifRS.xsd'), payload(res.body))).toBeNull();
    expect(ourConfirmation(res.body)).toBe(before!.confirmation_number);
    const r = await reservationOf(db.current.pool, 'expedia', '13357395');
    expect(r).toMatchObject({ status: 'confirmed', check_in: '2016-06-01', check_out: '2016-06-04', total: '762.45', channel_status: 'modified' });
    expect(r!.rooms).toEqual([
      expect.objectContaining({
        room_type: 'STD',
        arrival: '2016-06-01',
        departure: '2016-06-04',
        nights: publishedNights(fixture('expedia/bn_02_Modification_Request_removing_1_night_Request.xml')),
      }),
    ]);
    const {
      rows: [n],
    } = await db.current.pool.query(`SELECT reservation.free_rooms(rt.property_id, rt.id, '2016-05-31') AS free, count(r.*)::int AS rooms
      FROM property_mgmt.room_types rt JOIN property_mgmt.rooms r ON r.room_type_id = rt.id WHERE rt.code = 'STD' GROUP BY rt.property_id, rt.id`);
    expect(n.free).toBe(n.rooms); // the night of 05-31 is free again
    expect(r!.cards).toHaveLength(1); // the same card again is not stored twice
  });

  it('bn_04 (cancel): the reservation and its rooms are cancelled; the CancelRS validates', async () => {
    const res = await post(`${server.url}/webhooks/expedia`, fixture('expedia/bn_04_Cancelling_the_reservation_Request.xml'));
    expect(res.status).toBe(200);
    expect(schemaErrors(path.join(XSD, 'OTA_CancelRS.xsd'), payload(res.body))).toBeNull();
    const r = await reservationOf(db.current.pool, 'expedia', '13357395');
    expect(r).toMatchObject({ status: 'cancelled', channel_status: 'cancelled' });
    expect(r!.rooms.map((x: { status: string }) => x.status)).toEqual(['cancelled']);
    expect(res.body).toContain(`ID="${r!.confirmation_number}"`);
    // The booking sent again after its cancellation is stale: acknowledged, nothing revived.
    const late = await post(`${server.url}/webhooks/expedia`, fixture('expedia/bn_02_Modification_Request_removing_1_night_Request.xml'));
    expect(late.status).toBe(200);
    expect((await reservationOf(db.current.pool, 'expedia', '13357395'))!.status).toBe('cancelled');
  });

  it('bn_06 then bn_08 (hotel collect, then cancelled), bn_11 (another hotel, KRW, e-mail alias)', async () => {
    expect((await post(`${server.url}/webhooks/expedia`, fixture('expedia/bn_06_New_Reservation_Request.xml'))).status).toBe(200);
    const booked = await reservationOf(db.current.pool, 'expedia', '13357309');
    expect(booked).toMatchObject({
      status: 'confirmed',
      check_in: '2016-05-29',
      check_out: '2016-06-03',
      total: '955.49',
      adults: 2,
      children: 2,
      last_name: 'Tester',
    });
    expect(booked!.rooms[0]).toMatchObject({ room_type: 'DLX', rate_plan: 'NRF' });
    expect(booked!.rooms[0].nights).toEqual(publishedNights(fixture('expedia/bn_06_New_Reservation_Request.xml')));
    expect(booked!.cards).toEqual([expect.objectContaining({ card_brand: 'visa', is_virtual: false })]);
    expect((await reservationDetail(db.current.pool, 'expedia', '13357309'))!.paymentCollect).toBe('hotel'); // "A-Expedia": Hotel Collect
    expect((await post(`${server.url}/webhooks/expedia`, fixture('expedia/bn_08_Cancelling_the_Reservation_Request.xml'))).status).toBe(200);
    expect((await reservationOf(db.current.pool, 'expedia', '13357309'))!.status).toBe('cancelled');

    const other = await post(`${server.url}/webhooks/expedia`, fixture('expedia/bn_11_Sample_No_Credit_Card_Booking_Sample_Booking_with_Email_Alias.xml'));
    expect(other.status).toBe(200);
    expect(await reservationOf(db.current.pool, 'expedia', '1165515678')).toMatchObject({
      check_in: '2018-12-21',
      check_out: '2018-12-22',
      total: '93357.00',
      currency: 'KRW',
      first_name: 'Anna',
      last_name: 'Lin',
      cards: [],
    });
  });

  it('bn_10 (no credit card) and bn_12 (Unicode names) in databases of their own (they reuse ids of bn_06 and bn_00)', async () => {
    for (const [file, id, expected] of [
      ['expedia/bn_10_Response_Sample_No_Credit_Card_Booking.xml', '13357309', { last_name: 'Tester', cards: [] }],
      ['expedia/bn_12_Sample_Booking_with_Email_Alias_Sample_Booking_with_Unicode_Characters.xml', '13357395', { first_name: '明海', last_name: '李' }],
    ] as const) {
      const own = await createTestDatabase();
      try {
        await setUp(own);
        const app = await startInboundApp(own.pool);
        try {
          const res = await post(`${app.url}/webhooks/expedia`, fixture(file));
          expect(res.status).toBe(200);
          expect(await reservationOf(own.pool, 'expedia', id)).toMatchObject({ status: 'confirmed', ...expected });
          if (id === '13357395') {
            // bn_12 carries the guest's own words (RequestCode 4); bn_02 modifies 13357395 without them:
            // "the free-form text special request … in a reservation modification is sent only if a new
            // special request is entered" (BN reference): the earlier one stays.
            expect((await reservationOf(own.pool, 'expedia', id))!.special_requests).toContain('需要接机，谢谢！');
            expect((await post(`${app.url}/webhooks/expedia`, fixture('expedia/bn_02_Modification_Request_removing_1_night_Request.xml'))).status).toBe(200);
            const modified = await reservationOf(own.pool, 'expedia', id);
            expect(modified).toMatchObject({ channel_status: 'modified', check_in: '2016-06-01' });
            expect(modified!.special_requests).toContain('需要接机，谢谢！');
            expect((await reservationDetail(own.pool, 'expedia', id))!.attributes.ota_free_text).toBe('需要接机，谢谢！');
          }
        } finally {
          await app.close();
        }
      } finally {
        await dropTestDatabase(own);
      }
    }
  });
});

describe('Expedia reservation ids across hotels', () => {
  it("a cancellation another property's hotel sent first does not stop the real booking; a booking of another property cannot be touched", async () => {
    await createProperty(db.current.pool, { code: 'OTHERP' });
    await addConnection(db.current.pool, {
      channel: 'expedia',
      hotelCode: '7770001',
      credentials: { username: 'OtherUser', password: 'OtherPass1' },
      mappings: [],
      propertyCode: 'OTHERP',
    });
    const cancel = fixture('expedia/bn_08_Cancelling_the_Reservation_Request.xml')
      .replaceAll('13357309', '99990020')
      .replaceAll('1154286', '7770001')
      .replace('Username="Expedia" Password="Password"', 'Username="OtherUser" Password="OtherPass1"');
    expect((await post(`${server.url}/webhooks/expedia`, cancel)).status).toBe(200);
    const booking = fixture('expedia/bn_06_New_Reservation_Request.xml').replaceAll('13357309', '99990020');
    expect((await post(`${server.url}/webhooks/expedia`, booking)).status).toBe(200);
    expect(await reservationOf(db.current.pool, 'expedia', '99990020')).toMatchObject({ status: 'confirmed' });
    // Now the other hotel's cancel is refused: the booking is not its own.
    const again = await post(
      `${server.url}/webhooks/expedia`,
      cancel.replace('TimeStamp="2016-05-17T12:03:00-07:00"', 'TimeStamp="2016-05-18T12:03:00-07:00"'),
    );
    expect(again.body).toMatch(/ShortText="3202"/);
    expect(await reservationOf(db.current.pool, 'expedia', '99990020')).toMatchObject({ status: 'confirmed' });
  });
});

describe('Expedia credentials and failures', () => {
  it("a wrong password is a SOAP Fault Nack with HTTP 500 (the publisher's negative acknowledgement), and nothing is written or recorded", async () => {
    const before = await businessFingerprint(db.current.pool);
    const {
      rows: [{ n: messages }],
    } = await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.inbound_messages`);
    for (const body of [
      fixture('expedia/bn_06_New_Reservation_Request.xml').replace('Password="Password"', 'Password="Passwore"').replace('13357309', '99990001'),
      fixture('expedia/bn_06_New_Reservation_Request.xml')
        .replace(/<Authentication[^>]*\/>/, '')
        .replace('13357309', '99990002'),
    ]) {
      const res = await post(`${server.url}/webhooks/expedia`, body);
      expect(res.status).toBe(500);
      expect(res.body).toContain('<faultcode>soap-env:Client.2001</faultcode>');
      expect(
        schemaErrors(
          path.join(XSD, 'SOAP_fault.xsd'),
          payload(res.body)
            .replace('<soap-env:Fault>', '<Fault xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">')
            .replace('</soap-env:Fault>', '</Fault>'),
        ),
      ).toBeNull();
    }
    expect(await businessFingerprint(db.current.pool)).toEqual(before);
    expect((await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.inbound_messages`)).rows[0].n).toBe(messages);
  });

  it('contact values our checks would refuse are kept as given, and the paid booking is taken (a refusal is final at Expedia)', async () => {
    const body = fixture('expedia/bn_06_New_Reservation_Request.xml')
      .replaceAll('13357309', '99990030')
      .replace('PhoneNumber="3331111"', 'PhoneNumber="333 CALL ME"')
      .replace(/<Email>[^<]*<\/Email>/, '<Email>guest(at)example</Email>');
    expect(body).toContain('guest(at)example');
    const res = await post(`${server.url}/webhooks/expedia`, body);
    expect(res.status).toBe(200);
    expect(ourConfirmation(res.body)).toBeDefined();
    expect(await reservationOf(db.current.pool, 'expedia', '99990030')).toMatchObject({ status: 'confirmed', last_name: 'Tester', phone: null, email: null });
    expect((await reservationDetail(db.current.pool, 'expedia', '99990030'))!.attributes.ota_details.booker_as_given).toEqual({
      phone: '+1 321 333 CALL ME',
      email: 'guest(at)example',
    });
  });

  it('an unmapped room type is Expedia error 3203, recorded as a mapping problem', async () => {
    const body = fixture('expedia/bn_06_New_Reservation_Request.xml').replaceAll('50287', '59999').replace('13357309', '99990003');
    const res = await post(`${server.url}/webhooks/expedia`, body);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/ShortText="3203"/);
    expect(schemaErrors(path.join(XSD, 'OTA_HotelResNotifRS.xsd'), payload(res.body))).toBeNull();
    const { rows } = await db.current.pool.query(`SELECT kind, ota_room_code FROM channel.mapping_problems WHERE ota_room_code = '59999'`);
    expect(rows).toEqual([{ kind: 'unknown_ota_room', ota_room_code: '59999' }]);
    const {
      rows: [m],
    } = await db.current.pool.query(`SELECT outcome, ota_error_code, answer FROM channel.inbound_messages WHERE external_reservation_id = '99990003'`);
    expect(m).toMatchObject({ outcome: 'refused', ota_error_code: '3203' });
    expect(m.answer).toBe(res.body);
  });

  it('the refused booking is replayed from the message log once the room is mapped, and its history reads in order', async () => {
    const { pool } = db.current;
    const {
      rows: [msg],
    } = await pool.query(`SELECT id FROM channel.inbound_messages WHERE external_reservation_id = '99990003'`);
    await pool.query(`INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code)
      SELECT c.id, c.property_id, rt.id, rp.id, '59999', '113702A' FROM channel.channel_connections c
      JOIN property_mgmt.room_types rt ON rt.property_id = c.property_id AND rt.code = 'STE' JOIN property_mgmt.rate_plans rp ON rp.property_id = c.property_id AND rp.code = 'BB'
      WHERE c.ota_hotel_code = '1154286'`);
    expect(await replayMessage(pool, msg.id, (channel) => adapterOf(channel)?.inbound)).toEqual([{ externalId: '99990003', outcome: 'created' }]);
    expect(await replayMessage(pool, msg.id, (channel) => adapterOf(channel)?.inbound)).toEqual([{ externalId: '99990003', outcome: 'duplicate' }]);
    expect(await reservationOf(pool, 'expedia', '99990003')).toMatchObject({ status: 'confirmed', rooms: [expect.objectContaining({ room_type: 'STE' })] });
    expect((await bookingHistory(pool, 'expedia', '99990003')).map((h) => [h.source, h.outcome])).toEqual([
      ['expedia_webhook', 'refused'],
      ['replay', 'created'],
      ['replay', 'duplicate'],
    ]);
  });

  it("over the connection's rate, a SOAP Fault Nack (HTTP 500) with Retry-After: Expedia resends, nothing is applied", async () => {
    const limited = await startInboundApp(db.current.pool, { ratePerMinute: 1 });
    try {
      const body = (id: string) => fixture('expedia/bn_06_New_Reservation_Request.xml').replaceAll('13357309', id);
      expect((await post(`${limited.url}/webhooks/expedia`, body('99990010'))).status).toBe(200);
      const second = await post(`${limited.url}/webhooks/expedia`, body('99990011'));
      expect(second.status).toBe(500);
      expect(second.body).toContain('<faultcode>soap-env:Server.4000</faultcode>');
      expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await reservationOf(db.current.pool, 'expedia', '99990011')).toBeUndefined();
    } finally {
      await limited.close();
    }
  });

  it('a database that cannot take the booking now answers a SOAP Fault with HTTP 500 (Expedia resends), then takes the resend', async () => {
    // A pool whose server is gone: every query fails as in an outage.
    const down = createPool('postgres://nobody@127.0.0.1:1/none', { max: 1 });
    const app = await startInboundApp(down);
    const body = fixture('expedia/bn_06_New_Reservation_Request.xml').replace('13357309', '99990004');
    try {
      const res = await post(`${app.url}/webhooks/expedia`, body);
      expect(res.status).toBe(500);
      expect(res.body).toContain('<faultcode>soap-env:Server.5000</faultcode>');
    } finally {
      await app.close();
      await down.end();
    }
    const again = await post(`${server.url}/webhooks/expedia`, body.replace('RetryIndicator="false"', 'RetryIndicator="true"'));
    expect(again.status).toBe(200);
    expect(await reservationOf(db.current.pool, 'expedia', '99990004')).toMatchObject({ status: 'confirmed' });
  });
});
