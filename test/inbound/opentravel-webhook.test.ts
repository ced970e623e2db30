/**
 * The OpenTravel webhook over real HTTP: the AlpineBits reservation push sample is taken; answers
 * validate against OpenTravel 2015A; HTTP Basic credentials are checked per connection; a message
 * with several reservations takes the good ones and warns about the others.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { schemaErrors } from '../helpers/xml.ts';
import { addConnection, businessFingerprint, fixture, post, reservationOf, startInboundApp } from '../helpers/inbound.ts';
import { seedDemo } from '../helpers/demo.ts';

const RS_XSD = path.resolve(import.meta.dirname, '../../connectors/booking-com/xsd/OTA_HotelResNotifRS.xsd');
const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startInboundApp>>;
let url: string;
const auth = (user = 'alpine-sender', pass = 'alpine-secret-1') => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });

beforeAll(async () => {
  await seedDemo(db.current.pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 5 });
  const id = await addConnection(db.current.pool, {
    channel: 'opentravel',
    hotelCode: '123',
    credentials: { username: 'alpine-sender', password: 'alpine-secret-1' },
    mappings: [
      { room: 'bigsuite', rate: '123456-xyz', roomType: 'STE', ratePlan: 'BB' },
      { room: 'double', rate: 'bar', roomType: 'STD', ratePlan: 'BAR' },
    ],
  });
  server = await startInboundApp(db.current.pool);
  url = `${server.url}/webhooks/ota/${id}`;
});
afterAll(async () => server?.close());

describe('OpenTravel / AlpineBits reservation push', () => {
  it('takes the AlpineBits sample: stay, total spread over the nights, guest, card; the RS validates against 2015A', async () => {
    const res = await post(url, fixture('opentravel/alpinebits-reservation-push.xml'), auth());
    expect(res.status).toBe(200);
    expect(schemaErrors(RS_XSD, res.body)).toBeNull();
    const r = await reservationOf(db.current.pool, 'opentravel', '6b34fe24ac2ff810');
    expect(res.body).toContain(`ResID_Value="${r!.confirmation_number}"`);
    expect(r).toMatchObject({
      status: 'confirmed',
      check_in: '2012-01-01',
      check_out: '2012-01-12',
      total: '299.00',
      currency: 'EUR',
      adults: 2,
      children: 2,
      first_name: 'Otto',
      last_name: 'Mustermann',
      email: 'otto.mustermann@example.com',
      source_channel: 'opentravel',
    });
    const nights = r!.rooms[0].nights as Array<{ amount: string }>;
    expect(nights).toHaveLength(11);
    expect(nights.reduce((s, n) => s + Math.round(Number(n.amount) * 100), 0)).toBe(29900); // the total, to the cent
    expect(r!.rooms[0]).toMatchObject({ room_type: 'STE', rate_plan: 'BB' });
    expect(r!.cards).toEqual([expect.objectContaining({ card_brand: 'visa', card_last4: '1111', is_virtual: false, number: '4444333322221111' })]);
  });

  it('OpenTravel 2015A dates and amounts: ExpireDate inclusive unless ExpireDateExclusiveInd="true", amounts scaled by DecimalPlaces', async () => {
    const res = await post(url, fixture('opentravel/ota_2015a_inclusive_expire.xml'), auth());
    expect(res.status).toBe(200);
    const r = await reservationOf(db.current.pool, 'opentravel', 'OT-2015A-1');
    // 05-01..05-02 inclusive: two nights at 11000/100; 05-03..05-05 exclusive: two nights at 9550/100.
    expect(r).toMatchObject({ check_in: '2027-05-01', check_out: '2027-05-05', total: '411.00', adults: 2, children: 1 });
    expect(r!.rooms[0].nights).toEqual([
      { date: '2027-05-01', amount: '110.00' },
      { date: '2027-05-02', amount: '110.00' },
      { date: '2027-05-03', amount: '95.50' },
      { date: '2027-05-04', amount: '95.50' },
    ]);
    // The same message read as "ExpireDate exclusive" would price 05-01 only and leave 05-02 unpriced: refused, not guessed.
    const exclusiveReading = fixture('opentravel/ota_2015a_inclusive_expire.xml')
      .replace('OT-2015A-1', 'OT-2015A-2')
      .replace('ExpireDate="2027-05-02" RateTimeUnit', 'ExpireDate="2027-05-02" ExpireDateExclusiveInd="true" RateTimeUnit');
    const refused = await post(url, exclusiveReading, auth());
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('2027-05-02');
    expect(await reservationOf(db.current.pool, 'opentravel', 'OT-2015A-2')).toBeUndefined();
  });

  it('Modify and Cancel by ResStatus; a modification older than the one held is acknowledged and ignored', async () => {
    const base = fixture('opentravel/alpinebits-reservation-push.xml');
    const modify = base
      .replace('ResStatus="Reserved"', 'ResStatus="Modify" LastModifyDateTime="2012-03-22T10:00:00+01:00"')
      .replace('<TimeSpan Start="2012-01-01" End="2012-01-12"/>', '<TimeSpan Start="2012-01-02" End="2012-01-05"/>');
    expect((await post(url, modify, auth())).status).toBe(200);
    expect(await reservationOf(db.current.pool, 'opentravel', '6b34fe24ac2ff810')).toMatchObject({
      check_in: '2012-01-02',
      check_out: '2012-01-05',
      channel_status: 'modified',
    });
    const older = base
      .replace('ResStatus="Reserved"', 'ResStatus="Modify" LastModifyDateTime="2012-03-21T16:00:00+01:00"')
      .replace('<TimeSpan Start="2012-01-01" End="2012-01-12"/>', '<TimeSpan Start="2012-01-03" End="2012-01-04"/>');
    const before = await businessFingerprint(db.current.pool);
    expect((await post(url, older, auth())).status).toBe(200);
    expect(await businessFingerprint(db.current.pool)).toEqual(before);
    const cancel = base.replace('ResStatus="Reserved"', 'ResStatus="Cancelled" LastModifyDateTime="2012-03-23T10:00:00+01:00"');
    const res = await post(url, cancel, auth());
    expect(res.status).toBe(200);
    expect(schemaErrors(RS_XSD, res.body)).toBeNull();
    expect(await reservationOf(db.current.pool, 'opentravel', '6b34fe24ac2ff810')).toMatchObject({ status: 'cancelled' });
  });

  it('two different versions stamped with the same time apply in arrival order (the later is the latest change)', async () => {
    const at = (start: string, end: string) =>
      fixture('opentravel/alpinebits-reservation-push.xml')
        .replace('6b34fe24ac2ff810', 'same-time')
        .replace('ResStatus="Reserved"', 'ResStatus="Modify" LastModifyDateTime="2012-03-25T10:00:00+01:00"')
        .replace('<TimeSpan Start="2012-01-01" End="2012-01-12"/>', `<TimeSpan Start="${start}" End="${end}"/>`);
    expect((await post(url, at('2012-02-01', '2012-02-03'), auth())).status).toBe(200);
    expect((await post(url, at('2012-02-05', '2012-02-06'), auth())).status).toBe(200);
    expect(await reservationOf(db.current.pool, 'opentravel', 'same-time')).toMatchObject({ check_in: '2012-02-05', check_out: '2012-02-06' });
  });

  it('several reservations in one message: the good ones are taken, the bad one is a Warning naming it', async () => {
    const one = (id: string, room: string) =>
      fixture('opentravel/alpinebits-reservation-push.xml')
        .replace('6b34fe24ac2ff810', id)
        .replace('RoomTypeCode="bigsuite"', `RoomTypeCode="${room}"`)
        .replace(/^[\s\S]*<HotelReservations>/, '')
        .replace(/<\/HotelReservations>[\s\S]*$/, '');
    const body = `<?xml version="1.0" encoding="UTF-8"?><OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.000"><HotelReservations>${one(
      'multi-1',
      'bigsuite',
    )}${one('multi-2', 'nosuchroom')}${one('multi-3', 'bigsuite')}</HotelReservations></OTA_HotelResNotifRQ>`;
    const res = await post(url, body, auth());
    expect(res.status).toBe(200);
    expect(schemaErrors(RS_XSD, res.body)).toBeNull();
    expect(res.body).toMatch(/<Warning Type="3" Code="402" RecordID="multi-2">/);
    expect(await reservationOf(db.current.pool, 'opentravel', 'multi-1')).toBeDefined();
    expect(await reservationOf(db.current.pool, 'opentravel', 'multi-2')).toBeUndefined();
    expect(await reservationOf(db.current.pool, 'opentravel', 'multi-3')).toBeDefined();
  });

  it("reservation ids are the sender's own (issue 16): another sender using the same id makes its own booking, never touches the first", async () => {
    const { pool } = db.current;
    const first = await reservationOf(pool, 'opentravel', '6b34fe24ac2ff810'); // taken above from the first sender
    expect(first).toBeDefined();
    const other = await addConnection(pool, {
      channel: 'opentravel',
      hotelCode: '124',
      credentials: { username: 'second-sender', password: 'second-secret-1' },
      mappings: [{ room: 'bigsuite', rate: '123456-xyz', roomType: 'STE', ratePlan: 'BB' }],
    });
    const sample = fixture('opentravel/alpinebits-reservation-push.xml').replace('HotelCode="123"', 'HotelCode="124"'); // its own hotel, the same id
    for (let i = 0; i < 2; i++) expect((await post(`${server.url}/webhooks/ota/${other}`, sample, auth('second-sender', 'second-secret-1'))).status).toBe(200);
    const { rows } = await pool.query(`SELECT cr.connection_id, cr.reservation_id, r.confirmation_number FROM channel.channel_reservations cr
      JOIN reservation.reservations r ON r.id = cr.reservation_id WHERE cr.channel_code = 'opentravel' AND cr.external_reservation_id = '6b34fe24ac2ff810' ORDER BY cr.created_at`);
    expect(rows).toHaveLength(2); // one per sender, the second delivery of the second sender a duplicate
    expect(rows[1].connection_id).toBe(other);
    expect(rows[1].reservation_id).not.toBe(rows[0].reservation_id);
    expect(rows[0].confirmation_number).toBe(first!.confirmation_number); // the first booking is untouched
    expect(
      (await pool.query(`SELECT outcome FROM channel.inbound_messages WHERE connection_id = $1 ORDER BY created_at`, [other])).rows.map((r) => r.outcome),
    ).toEqual(['created', 'duplicate']);
  });

  it('refuses wrong or missing credentials, and an unknown connection alike, with 401 and nothing written', async () => {
    const before = await businessFingerprint(db.current.pool);
    const body = fixture('opentravel/alpinebits-reservation-push.xml').replace('6b34fe24ac2ff810', 'auth-test');
    for (const [target, headers] of [
      [url, auth('alpine-sender', 'wrong')],
      [url, auth('someone', 'alpine-secret-1')],
      [url, {}],
      [url, { authorization: 'Bearer x' }],
      [url.replace(/[0-9a-f]{12}$/, '000000000000'), auth()],
      [`${server.url}/webhooks/ota/not-a-uuid`, auth()],
    ] as const) {
      const res = await post(target, body, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
      expect(res.body).toMatch(/<Error Type="4" Code="497">/);
      expect(schemaErrors(RS_XSD, res.body)).toBeNull();
    }
    expect(await businessFingerprint(db.current.pool)).toEqual(before);
  });

  it('rate-limits per connection: over the budget, 429 with Retry-After and nothing applied', async () => {
    const limited = await startInboundApp(db.current.pool, { ratePerMinute: 2 });
    try {
      const target = url.replace(server.url, limited.url);
      const body = (id: string) => fixture('opentravel/alpinebits-reservation-push.xml').replace('6b34fe24ac2ff810', id);
      expect((await post(target, body('rl-1'), auth())).status).toBe(200);
      expect((await post(target, body('rl-2'), auth())).status).toBe(200);
      const third = await post(target, body('rl-3'), auth());
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await reservationOf(db.current.pool, 'opentravel', 'rl-3')).toBeUndefined();
    } finally {
      await limited.close();
    }
  });
});
