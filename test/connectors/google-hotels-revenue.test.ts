/**
 * Issue 18 at Google Hotels: occupancy prices and the new restrictions in Google's vocabulary.
 * Expected values come from Google's pages, never from our builders:
 *  - ari-avail syntax (developers.google.com/hotels/hotel-prices/xml-reference/ari-avail):
 *    `LengthOfStay Time="integer" TimeUnit="[Day]" MinMaxMessageType="[SetMaxLOS|SetMinLOS|
 *    SetForwardMaxStay|SetForwardMinStay]"` and `RestrictionStatus Status="[Close|Open]"
 *    Restriction="[Arrival|Departure|Master]" MaxAdvancedBookingOffset="integer_or_duration"
 *    MinAdvancedBookingOffset="integer_or_duration"`;
 *  - dev-guide/ari-availability-message: minimum and maximum length of stay "Restricts length of stay
 *    for itineraries which have this arrival date"; forward stay ("stay-through") "… which contain
 *    this stay date"; booking offset "Requires that the itinerary be purchased at least or at most a
 *    certain number of days before arrival";
 *  - dev-guide/ari-rate-message: occupancy-based pricing, one `BaseByGuestAmt@NumberOfGuests` per
 *    occupancy; "Requests for occupancies above those defined are considered not possible";
 *  - xml-reference/ari-property: a room's `<Capacity>max_number_of_occupants</Capacity>`.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStringPromise } from 'xml2js';
import { googleHotelsConnector } from '../../connectors/google-hotels/client.ts';
import { buildAvailNotifRQ, buildRateAmountNotifRQ } from '../../connectors/google-hotels/messages.ts';
import { GoogleHotelsSandbox } from '../../connectors/google-hotels/sandbox.ts';
import { pendingCellCount, requestFullSync, sandboxKey, type SyncWorker } from '../../connectors/index.ts';
import type { AriValues } from '../../connectors/outbound/sql/ari.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { mismatches, seedSandboxedDemo, startSandboxServer, testWorker } from '../helpers/outbound.ts';
import { waitFor } from '../helpers/wait.ts';

type Attrs = Record<string, string>;
type Node = { $?: Attrs } & Record<string, unknown>;
const kids = (n: unknown, name: string): Node[] => ((n as Record<string, Node[]> | undefined)?.[name] ?? []) as Node[];

/** The AvailStatusMessages of a built message: their LengthOfStay and RestrictionStatus attributes. */
async function availItems(xml: string) {
  const doc = await parseStringPromise(xml);
  const msgs = kids(kids(doc.OTA_HotelAvailNotifRQ, 'AvailStatusMessages')[0], 'AvailStatusMessage');
  return {
    los: msgs.flatMap((m) => kids(kids(m, 'LengthsOfStay')[0], 'LengthOfStay').map((l) => l.$!)),
    statuses: msgs.flatMap((m) => kids(m, 'RestrictionStatus').map((r) => r.$!)),
  };
}

const restriction = {
  roomCode: 'DBL',
  rateCode: 'BAR',
  from: '2027-03-01',
  to: '2027-03-03',
  closed: false,
  closedToArrival: false,
  closedToDeparture: false,
  minLos: 2,
  maxLos: 14,
};

describe('Google Hotels builders: the new restrictions and occupancy prices in the syntax of the pages', () => {
  it('writes the four length-of-stay types, each as its own MinMaxMessageType in days', async () => {
    const { los } = await availItems(buildAvailNotifRQ('HOTEL_123', [{ ...restriction, minStayThrough: 3, maxStayThrough: 10 }]));
    expect(los).toEqual(
      expect.arrayContaining([
        { Time: '2', TimeUnit: 'Day', MinMaxMessageType: 'SetMinLOS' },
        { Time: '14', TimeUnit: 'Day', MinMaxMessageType: 'SetMaxLOS' },
        { Time: '3', TimeUnit: 'Day', MinMaxMessageType: 'SetForwardMinStay' },
        { Time: '10', TimeUnit: 'Day', MinMaxMessageType: 'SetForwardMaxStay' },
      ]),
    );
    expect(los).toHaveLength(4);
  });

  it('writes the booking offsets on a RestrictionStatus, as whole days', async () => {
    const { statuses } = await availItems(buildAvailNotifRQ('HOTEL_123', [{ ...restriction, minAdvanceDays: 7, maxAdvanceDays: 90 }]));
    const withOffsets = statuses.filter((s) => s.MinAdvancedBookingOffset !== undefined || s.MaxAdvancedBookingOffset !== undefined);
    expect(withOffsets).toHaveLength(1);
    expect(withOffsets[0]).toMatchObject({ MinAdvancedBookingOffset: '7', MaxAdvancedBookingOffset: '90' });
    expect(['Arrival', 'Departure', 'Master']).toContain(withOffsets[0]!.Restriction);
    expect(['Open', 'Close']).toContain(withOffsets[0]!.Status);
    // On the product's Master status of the range, with the night's own status (never opening a closed night).
    const closedNight = await availItems(buildAvailNotifRQ('HOTEL_123', [{ ...restriction, closed: true, minAdvanceDays: 7 }]));
    expect(closedNight.statuses.find((s) => s.MinAdvancedBookingOffset === '7')).toMatchObject({ Restriction: 'Master', Status: 'Close' });
  });

  it('writes only the restrictions it is given (no stay-through, no offsets: none written)', async () => {
    const { los, statuses } = await availItems(buildAvailNotifRQ('HOTEL_123', [restriction]));
    expect(los.map((l) => l.MinMaxMessageType).sort()).toEqual(['SetMaxLOS', 'SetMinLOS']);
    expect(statuses.some((s) => 'MinAdvancedBookingOffset' in s || 'MaxAdvancedBookingOffset' in s)).toBe(false);
  });

  it('writes one BaseByGuestAmt per occupancy with its NumberOfGuests; a per-day price for two guests', async () => {
    const rate = { roomCode: 'DBL', rateCode: 'BAR', from: '2027-03-01', to: '2027-03-01', amount: '109.00', currency: 'EUR' };
    const amounts = async (xml: string) => {
      const doc = await parseStringPromise(xml);
      const msg = kids(kids(doc.OTA_HotelRateAmountNotifRQ, 'RateAmountMessages')[0], 'RateAmountMessage')[0];
      return kids(kids(kids(kids(msg, 'Rates')[0], 'Rate')[0], 'BaseByGuestAmts')[0], 'BaseByGuestAmt').map((a) => a.$!);
    };
    const occupancy: Array<[number, string]> = [
      [1, '89.00'],
      [2, '109.00'],
      [3, '129.00'],
    ];
    expect(await amounts(buildRateAmountNotifRQ('HOTEL_123', [{ ...rate, occupancy }]))).toEqual([
      { AmountAfterTax: '89.00', CurrencyCode: 'EUR', NumberOfGuests: '1' },
      { AmountAfterTax: '109.00', CurrencyCode: 'EUR', NumberOfGuests: '2' },
      { AmountAfterTax: '129.00', CurrencyCode: 'EUR', NumberOfGuests: '3' },
    ]);
    expect(await amounts(buildRateAmountNotifRQ('HOTEL_123', [rate], { amounts: 'before_tax' }))).toEqual([
      { AmountBeforeTax: '109.00', CurrencyCode: 'EUR', NumberOfGuests: '2' },
    ]);
  });
});

describe('Google Hotels normalize: what the connection is priced by, and the room close', () => {
  const base: AriValues = {
    connectionId: 'c',
    roomTypeId: 'r',
    ratePlanId: 'p',
    stayDate: '2027-03-01',
    availability: 3,
    overbooked: false,
    rate: '109.00',
    currency: 'EUR',
    minLos: null,
    maxLos: null,
    closedToArrival: false,
    closedToDeparture: false,
    closed: false,
    pricingModel: 'per_occupancy',
    otaPricingModel: 'per_occupancy',
    occupancyRates: { '1': '89.00', '2': '109.00' },
    minStayThrough: 3,
    maxStayThrough: 10,
    minAdvanceDays: 7,
    maxAdvanceDays: 90,
    roomClosed: false,
    pmsAvailability: 3,
    pmsRate: '109.00',
  };
  it('carries occupancy prices on a per-occupancy connection only; none there closes the night', () => {
    expect(googleHotelsConnector.normalize(base, { pricing_model: 'per_occupancy' })).toMatchObject({
      occupancyRates: { '1': '89.00', '2': '109.00' },
      rate: '109.00',
      closed: false,
    });
    expect(googleHotelsConnector.normalize(base, {})).toMatchObject({ occupancyRates: null, rate: '109.00' });
    expect(googleHotelsConnector.normalize({ ...base, occupancyRates: null }, { pricing_model: 'per_occupancy' })).toMatchObject({
      occupancyRates: null,
      rate: null,
      closed: true,
    });
  });
  it('carries stay-through and advance booking; the room close closes the package', () => {
    expect(googleHotelsConnector.normalize({ ...base, roomClosed: true }, {})).toMatchObject({
      minStayThrough: 3,
      maxStayThrough: 10,
      minAdvanceDays: 7,
      maxAdvanceDays: 90,
      closed: true,
      roomClosed: false,
    });
  });
});

describe('the Google Hotels sandbox: occupancy prices and the new restrictions', () => {
  const sandbox = new GoogleHotelsSandbox({
    accounts: [{ hotels: ['HOTEL_123'] }],
    // The Transaction's Capacity: DBL holds 2, TRP 3.
    products: { HOTEL_123: { rooms: ['DBL', 'TRP'], rates: ['BAR'], maxOccupancy: { DBL: 2, TRP: 3 } } },
  });
  const app = Fastify({ logger: false });
  let url = '';
  beforeAll(async () => {
    await app.register(sandbox.plugin);
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());
  const push = (p: string, body: string) =>
    fetch(`${url}/travel/hotels/uploads/ota/${p}`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body }).then((r) => r.text());
  const cell = (room: string, night: string) => sandbox.cells('HOTEL_123').get(sandboxKey(room, 'BAR', night));

  // Hand-written from the ari-avail syntax block (the values ours).
  const avail = (sac: string, body: string) => `<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelAvailNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="t1" TimeStamp="2026-12-02T19:08:00Z" Version="3.0">
  <AvailStatusMessages HotelCode="HOTEL_123">
    <AvailStatusMessage><StatusApplicationControl ${sac} InvTypeCode="DBL" RatePlanCode="BAR"/>${body}</AvailStatusMessage>
  </AvailStatusMessages>
</OTA_HotelAvailNotifRQ>`;

  it('keeps arrival and stay-through stays apart: setting one never replaces the other', async () => {
    const range = 'Start="2027-04-01" End="2027-04-03"';
    const los = (type: string, time: number) =>
      avail(range, `<LengthsOfStay><LengthOfStay Time="${time}" TimeUnit="Day" MinMaxMessageType="${type}"/></LengthsOfStay>`);
    for (const [type, time] of [
      ['SetMinLOS', 2],
      ['SetMaxLOS', 14],
      ['SetForwardMinStay', 3],
      ['SetForwardMaxStay', 10],
    ] as const) {
      expect(await push('hotel_avail_notif', los(type, time))).toMatch(/<Success\s*\/>/);
    }
    expect(cell('DBL', '2027-04-02')).toMatchObject({ minLos: 2, maxLos: 14, minStayThrough: 3, maxStayThrough: 10 });
    // A later SetMaxLOS leaves SetForwardMaxStay as it was, and the other way round.
    await push('hotel_avail_notif', los('SetMaxLOS', 7));
    expect(cell('DBL', '2027-04-02')).toMatchObject({ maxLos: 7, maxStayThrough: 10 });
    await push('hotel_avail_notif', los('SetForwardMaxStay', 5));
    expect(cell('DBL', '2027-04-02')).toMatchObject({ maxLos: 7, maxStayThrough: 5 });
  });

  it('stores the booking offsets per night (integer or duration), apart from Master open/close', async () => {
    const sac = 'Start="2027-04-10" End="2027-04-10"';
    const r1 = await push(
      'hotel_avail_notif',
      avail(sac, '<RestrictionStatus Status="Open" Restriction="Master" MinAdvancedBookingOffset="7" MaxAdvancedBookingOffset="P13W"/>'),
    );
    expect(r1).toMatch(/<Success\s*\/>/);
    expect(cell('DBL', '2027-04-10')).toMatchObject({ closed: false, minAdvanceDays: 7, maxAdvanceDays: 91 });
    const r2 = await push('hotel_avail_notif', avail(sac, '<RestrictionStatus Status="Open" Restriction="Master" MinAdvancedBookingOffset="soon"/>'));
    expect(r2).toMatch(/<Errors>/);
    expect(r2).toMatch(/MinAdvancedBookingOffset/);
  });

  it('our builders’ messages land field by field', async () => {
    await push(
      'hotel_avail_notif',
      buildAvailNotifRQ('HOTEL_123', [
        { ...restriction, from: '2027-05-01', to: '2027-05-02', minStayThrough: 2, maxStayThrough: 9, minAdvanceDays: 1, maxAdvanceDays: 60 },
      ]),
    );
    expect(cell('DBL', '2027-05-02')).toMatchObject({
      closed: false,
      minLos: 2,
      maxLos: 14,
      minStayThrough: 2,
      maxStayThrough: 9,
      minAdvanceDays: 1,
      maxAdvanceDays: 60,
    });
    const occupancy: Array<[number, string]> = [
      [1, '89.00'],
      [2, '109.00'],
      [3, '129.00'],
    ];
    const rate = { rateCode: 'BAR', from: '2027-05-01', to: '2027-05-01', amount: '109.00', currency: 'EUR', occupancy };
    const answer = await push('hotel_rate_amount_notif', buildRateAmountNotifRQ('HOTEL_123', [{ ...rate, roomCode: 'TRP' }]));
    expect(answer).toMatch(/<Success\s*\/>/);
    // Kept per occupancy; the two-guest amount stays the base rate.
    expect(cell('TRP', '2027-05-01')).toMatchObject({ rate: '109.00', currency: 'EUR', occupancyRates: { '1': '89.00', '2': '109.00', '3': '129.00' } });
  });

  it('an amount for more guests than the room holds is not possible: kept out, the message accepted (Google documents no error)', async () => {
    const occupancy: Array<[number, string]> = [
      [1, '89.00'],
      [2, '109.00'],
      [3, '129.00'],
    ];
    const rate = { roomCode: 'DBL', rateCode: 'BAR', from: '2027-05-03', to: '2027-05-03', amount: '109.00', currency: 'EUR', occupancy };
    const answer = await push('hotel_rate_amount_notif', buildRateAmountNotifRQ('HOTEL_123', [rate]));
    expect(answer).toMatch(/<Success\s*\/>/);
    expect(answer).not.toMatch(/<Errors>|<Warnings>/);
    expect(cell('DBL', '2027-05-03')?.occupancyRates).toEqual({ '1': '89.00', '2': '109.00' });
  });
});

// A full sync of the demo's Google connection with the new restrictions and a room closed.
const NIGHT = (n: number) => `(now() AT TIME ZONE 'Europe/Amsterdam')::date + ${n}`;
const DAYS = 20;
describe('pushing to Google Hotels: stay-through, advance booking and a closed room', () => {
  const db = useTestDatabase();
  const state: { server?: Awaited<ReturnType<typeof startSandboxServer>>; worker?: SyncWorker; id?: string } = {};
  beforeAll(async () => {
    const { pool } = db.current;
    state.server = await startSandboxServer({});
    state.id = (await seedSandboxedDemo(pool, state.server.url, DAYS, ['google_hotels'])).google_hotels!;
    const std = `(SELECT id FROM property_mgmt.room_types WHERE code = 'STD')`;
    const product = `room_type_id = ${std} AND rate_plan_id = (SELECT id FROM property_mgmt.rate_plans WHERE code = 'BAR')`;
    await pool.query(
      `UPDATE property_mgmt.restrictions SET min_stay_through = 2, max_stay_through = 6, min_advance_days = 1, max_advance_days = 120
       WHERE ${product} AND stay_date BETWEEN ${NIGHT(4)} AND ${NIGHT(6)}`,
    );
    await pool.query(
      `INSERT INTO property_mgmt.room_type_closures (property_id, room_type_id, stay_date)
       SELECT property_id, id, ${NIGHT(9)} FROM property_mgmt.room_types WHERE code = 'STD'`,
    );
    await requestFullSync(pool, state.id, DAYS);
    state.worker = testWorker(pool, { only: [state.id] });
    state.worker.start();
  });
  afterAll(async () => {
    await state.worker?.stop();
    await state.server?.close();
  });

  it('brings Google to what the PMS says, the room close on every package of the room', async () => {
    const { pool } = db.current;
    const id = state.id!;
    await waitFor(async () => (await pendingCellCount(pool, id)) === 0, { what: 'every cell acknowledged', timeoutMs: 30_000 });
    expect(await mismatches(pool, id, state.server!, DAYS)).toEqual([]);
    const { rows } = await pool.query<{ n: number; d: string }>(`SELECT n, (${NIGHT(0)} + n)::text AS d FROM unnest(ARRAY[3, 5, 9]) n`);
    const night = (n: number) => rows.find((x) => x.n === n)!.d;
    const cells = state.server!.google.cells('stayos-demo-amsterdam');
    expect(cells.get(sandboxKey('STD', 'BAR', night(5)))).toMatchObject({ minStayThrough: 2, maxStayThrough: 6, minAdvanceDays: 1, maxAdvanceDays: 120 });
    // No stay-through restriction: 1 night and no maximum (365, as SetMaxLOS); no minimum advance: 0 days.
    expect(cells.get(sandboxKey('STD', 'BAR', night(3)))).toMatchObject({ minStayThrough: 1, maxStayThrough: 365, minAdvanceDays: 0 });
    for (const rate of ['BAR', 'NRF', 'BB']) expect(cells.get(sandboxKey('STD', rate, night(9)))).toMatchObject({ closed: true });
    expect(cells.get(sandboxKey('DLX', 'BAR', night(9)))).toMatchObject({ closed: false });
  });
});
