/**
 * Issue 18 at Booking.com: occupancy-based pricing (OBP) and the four length-of-stay restrictions,
 * in Booking.com's vocabulary. Expected values come from the publisher's pages and the vendored
 * OpenTravel 2015A schema, never from our builders:
 *
 * - OBP: a `BaseByGuestAmt` per `NumberOfGuests` (OTA 2015A `BaseByGuestAmt@NumberOfGuests`, "The
 *   number of guests associated with this base charge"); a Standard property answers
 *   OBP_PRICING_PASSED_FOR_DEFAULT_RATE "OBP format sent for Standard room-rate"
 *   (developers.booking.com/connectivity/docs/b_xml-availability-troubleshooting);
 * - stay-through: `SetMinLOS`/`SetMaxLOS`, "Set Minimum Stay Through … Set Maximum Stay Through"
 *   (connect.booking.com/user_guide/site/en-US/ota-hotelavailnotif); arrival-based:
 *   `SetForwardMinStay`/`SetForwardMaxStay`, the other pair of the 2015A `MinMaxMessageType`
 *   enumeration (OUR INFERENCE: Booking.com's page names only the first pair);
 * - advance booking is not per date (api-reference/bookingrule: OTA_HotelProductNotif), and no
 *   room-level close is documented for room-rate updates: both are not carried.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { parseStringPromise } from 'xml2js';
import { bookingConnector, planBookingPush } from '../../connectors/booking-com/client.ts';
import {
  availStatusMessageCount,
  buildAvailNotifRQ,
  buildRateAmountNotifRQ,
  type BookingAvailUpdate,
  type BookingRateUpdate,
} from '../../connectors/booking-com/messages.ts';
import { BookingSandbox } from '../../connectors/booking-com/sandbox.ts';
import { bookingComAdapter } from '../../connectors/booking-com/adapter.ts';
import { checkSettings } from '../../connectors/outbound/settings.ts';
import type { PushCell } from '../../connectors/outbound/connector.ts';
import type { AriValues } from '../../connectors/outbound/sql/ari.ts';
import { sandboxKey, type OtaValues, type Part } from '../../connectors/outbound/types.ts';
import { schemaErrors } from '../helpers/xml.ts';

const XSD_DIR = path.resolve(import.meta.dirname, '../../connectors/booking-com/xsd');
const availErrors = (xml: string) => schemaErrors(path.join(XSD_DIR, 'OTA_HotelAvailNotifRQ.xsd'), xml);
const rateErrors = (xml: string) => schemaErrors(path.join(XSD_DIR, 'OTA_HotelRateAmountNotifRQ.xsd'), xml);
const opts = { timeStamp: '2027-03-01T10:00:00Z' };

/** The values the 2015A schema allows for LengthOfStay/@MinMaxMessageType, read from the schema itself. */
function minMaxMessageTypes(): string[] {
  const xsd = fs.readFileSync(path.join(XSD_DIR, 'OTA_HotelCommonTypes.xsd'), 'utf8');
  const at = xsd.indexOf('name="MinMaxMessageType"');
  const block = xsd.slice(at, xsd.indexOf('</xs:restriction>', at));
  return [...block.matchAll(/<xs:enumeration value="([^"]+)"/g)].map((m) => m[1]!);
}

const losOf = async (xml: string) =>
  ((await parseStringPromise(xml)).OTA_HotelAvailNotifRQ.AvailStatusMessages[0].AvailStatusMessage as Array<Record<string, any>>).map((m) =>
    (m.LengthsOfStay?.[0].LengthOfStay ?? []).map((l: any) => l.$),
  );
const amountsOf = async (xml: string) =>
  ((await parseStringPromise(xml)).OTA_HotelRateAmountNotifRQ.RateAmountMessages[0].RateAmountMessage as Array<Record<string, any>>).map((m) =>
    m.Rates[0].Rate[0].BaseByGuestAmts[0].BaseByGuestAmt.map((a: any) => a.$),
  );

describe('OTA_HotelRateAmountNotifRQ: occupancy-based prices', () => {
  it('one BaseByGuestAmt per occupancy with NumberOfGuests, AmountAfterTax and CurrencyCode, fewest guests first; valid 2015A', async () => {
    const updates: BookingRateUpdate[] = [
      {
        roomCode: 'DBL',
        rateCode: 'BAR',
        from: '2027-03-02',
        to: '2027-03-04',
        amount: '90.00',
        currency: 'EUR',
        occupancyRates: { '3': '90.00', '1': '60.00', '2': '80.00' },
      },
      { roomCode: 'SGL', rateCode: 'BAR', from: '2027-03-02', to: '2027-03-02', amount: '55.50', currency: 'EUR' }, // per day: as before
    ];
    const xml = buildRateAmountNotifRQ('1234567', updates, opts);
    expect(rateErrors(xml)).toBeNull();
    expect(await amountsOf(xml)).toEqual([
      [
        { AmountAfterTax: '60.00', CurrencyCode: 'EUR', NumberOfGuests: '1' },
        { AmountAfterTax: '80.00', CurrencyCode: 'EUR', NumberOfGuests: '2' },
        { AmountAfterTax: '90.00', CurrencyCode: 'EUR', NumberOfGuests: '3' },
      ],
      [{ AmountAfterTax: '55.50', CurrencyCode: 'EUR' }],
    ]);
  });

  it('refuses occupancies the schema refuses (NumberOfGuests is Numeric1to999) and bad amounts, before sending', () => {
    const u = (occupancyRates: Record<string, string>): BookingRateUpdate => ({
      roomCode: 'DBL',
      rateCode: 'BAR',
      from: '2027-03-02',
      to: '2027-03-02',
      amount: '1.00',
      currency: 'EUR',
      occupancyRates,
    });
    expect(() => buildRateAmountNotifRQ('1', [u({})])).toThrow(/occupancyRates is empty/);
    expect(() => buildRateAmountNotifRQ('1', [u({ '0': '10.00' })])).toThrow(/numbers of guests 1–999/);
    expect(() => buildRateAmountNotifRQ('1', [u({ '1000': '10.00' })])).toThrow(/numbers of guests 1–999/);
    expect(() => buildRateAmountNotifRQ('1', [u({ '2': '-1' })])).toThrow(/non-negative decimal/);
  });
});

describe('OTA_HotelAvailNotifRQ: arrival-based and stay-through lengths of stay', () => {
  it('up to four LengthOfStay in one LengthsOfStay, each a MinMaxMessageType of the 2015A enumeration; valid', async () => {
    const u: BookingAvailUpdate = {
      roomCode: 'DBL',
      rateCode: 'BAR',
      from: '2027-03-02',
      to: '2027-03-08',
      minLos: 2,
      maxLos: 10,
      minStayThrough: 3,
      maxStayThrough: 7,
      closed: false,
    };
    const xml = buildAvailNotifRQ('1234567', [u], opts);
    expect(availErrors(xml)).toBeNull();
    const [los] = await losOf(xml);
    expect(los).toEqual([
      { MinMaxMessageType: 'SetMinLOS', Time: '3' }, // "Set Minimum Stay Through"
      { MinMaxMessageType: 'SetMaxLOS', Time: '7' }, // "Set Maximum Stay Through"
      { MinMaxMessageType: 'SetForwardMinStay', Time: '2' }, // arrival-based (inference)
      { MinMaxMessageType: 'SetForwardMaxStay', Time: '10' },
    ]);
    const allowed = minMaxMessageTypes();
    expect(allowed).toEqual(expect.arrayContaining(['SetMinLOS', 'SetMaxLOS', 'SetForwardMinStay', 'SetForwardMaxStay']));
    for (const l of los) expect(allowed).toContain(l.MinMaxMessageType);
    expect(availStatusMessageCount(u)).toBe(1);
  });

  it('no stay-through restriction is sent as SetMinLOS Time="1" and SetMaxLOS Time="0", so a push removes an earlier one', async () => {
    const xml = buildAvailNotifRQ(
      '1',
      [{ roomCode: 'DBL', rateCode: 'BAR', from: '2027-03-02', to: '2027-03-02', minStayThrough: null, maxStayThrough: null }],
      opts,
    );
    expect(availErrors(xml)).toBeNull();
    expect(await losOf(xml)).toEqual([
      [
        { MinMaxMessageType: 'SetMinLOS', Time: '1' },
        { MinMaxMessageType: 'SetMaxLOS', Time: '0' },
      ],
    ]);
    expect(() => buildAvailNotifRQ('1', [{ roomCode: 'DBL', rateCode: 'BAR', from: '2027-03-02', to: '2027-03-02', maxStayThrough: 1.5 }])).toThrow(
      /maxStayThrough must be a non-negative integer or null/,
    );
  });
});

// ---- normalize: every OtaValues field ----
const ari = (over: Partial<AriValues> = {}): AriValues => ({
  connectionId: 'c',
  roomTypeId: 'rt',
  ratePlanId: 'rp',
  stayDate: '2027-03-02',
  availability: 4,
  overbooked: false,
  rate: '100.00',
  currency: 'EUR',
  minLos: null,
  maxLos: null,
  closedToArrival: false,
  closedToDeparture: false,
  closed: false,
  pricingModel: 'per_day',
  otaPricingModel: 'per_day',
  occupancyRates: null,
  minStayThrough: null,
  maxStayThrough: null,
  minAdvanceDays: null,
  maxAdvanceDays: null,
  roomClosed: false,
  pmsAvailability: 4,
  pmsRate: '100.00',
  ...over,
});
const OBP = { pricing_model: 'per_occupancy' };

describe('bookingConnector.normalize', () => {
  it('per day: one price, no occupancy prices; every issue-18 field present', () => {
    expect(bookingConnector.normalize(ari(), {})).toEqual({
      availability: 4,
      rate: '100.00',
      currency: 'EUR',
      minLos: 1,
      maxLos: null,
      closedToArrival: false,
      closedToDeparture: false,
      closed: false,
      occupancyRates: null,
      minStayThrough: null,
      maxStayThrough: null,
      minAdvanceDays: null,
      maxAdvanceDays: null,
      roomClosed: false,
    } satisfies OtaValues);
  });

  it('per occupancy: the occupancy prices travel (rate stays the headline); none at all closes the night', () => {
    const rates = { '1': '80.00', '2': '100.00' };
    const obp = bookingConnector.normalize(ari({ pricingModel: 'per_occupancy', otaPricingModel: 'per_occupancy', occupancyRates: rates }), OBP);
    expect(obp).toMatchObject({ rate: '100.00', occupancyRates: rates, closed: false });
    const none = bookingConnector.normalize(ari({ pricingModel: 'per_occupancy', otaPricingModel: 'per_occupancy', occupancyRates: null, closed: true }), OBP);
    expect(none).toMatchObject({ rate: null, occupancyRates: null, closed: true });
    // A per-day connection never carries occupancy prices.
    expect(bookingConnector.normalize(ari({ occupancyRates: rates }), { pricing_model: 'per_day' }).occupancyRates).toBeNull();
  });

  it('stay-through kept apart from arrival; advance booking not carried; a closed room type closes the rate', () => {
    const v = bookingConnector.normalize(
      ari({ minLos: 2, maxLos: 9, minStayThrough: 3, maxStayThrough: 6, minAdvanceDays: 2, maxAdvanceDays: 300, roomClosed: true }),
      {},
    );
    expect(v).toMatchObject({
      minLos: 2,
      maxLos: 9,
      minStayThrough: 3,
      maxStayThrough: 6,
      minAdvanceDays: null,
      maxAdvanceDays: null,
      closed: true,
      roomClosed: false,
    });
    // A minimum of one night restricts nothing: one spelling, null.
    expect(bookingConnector.normalize(ari({ minStayThrough: 1 }), {}).minStayThrough).toBeNull();
  });

  it("los_messages 'arrival': SetMinLOS/SetMaxLOS carry the arrival-based stay, the Forward pair the stay-through one", async () => {
    const v = bookingConnector.normalize(ari({ minLos: 2, maxLos: 9, minStayThrough: 3, maxStayThrough: 6 }), { los_messages: 'arrival' });
    // Fields are named by the messages that carry them: minStayThrough/maxStayThrough → SetMinLOS/SetMaxLOS.
    expect(v).toMatchObject({ minStayThrough: 2, maxStayThrough: 9, minLos: 3, maxLos: 6 });
    const xml = buildAvailNotifRQ('1234567', [{ roomCode: 'DBL', rateCode: 'BAR', from: '2027-01-01', to: '2027-01-01', ...v }]);
    const los = [...xml.matchAll(/<LengthOfStay MinMaxMessageType="(\w+)" Time="(\d+)"/g)].map((m) => `${m[1]}=${m[2]}`).sort();
    expect(los).toEqual(['SetForwardMaxStay=6', 'SetForwardMinStay=3', 'SetMaxLOS=9', 'SetMinLOS=2']);
    // The setting is validated with the connection's others.
    expect(() => checkSettings(bookingComAdapter, { los_messages: 'arrival_based' })).toThrow(/los_messages/);
  });
});

// ---- planning: what travels in which range ----
const cell = (night: string, values: Partial<OtaValues>, parts: Part[], rate = 'BAR'): PushCell => ({
  cellId: `${rate}-${night}`,
  roomTypeId: 'rt',
  ratePlanId: rate,
  roomCode: 'DBL',
  rateCode: rate,
  night,
  values: { ...bookingConnector.normalize(ari(), {}), ...values },
  parts,
});

describe('planBookingPush', () => {
  it('nights with other occupancy prices are other ranges; equal ones merge whatever the key order', async () => {
    const a = { '1': '80.00', '2': '100.00' };
    const { queue } = planBookingPush([
      cell('2027-03-02', { occupancyRates: a }, ['rate']),
      cell('2027-03-03', { occupancyRates: { '2': '100.00', '1': '80.00' } }, ['rate']),
      cell('2027-03-04', { occupancyRates: { '1': '85.00', '2': '100.00' } }, ['rate']),
    ]);
    const rates = queue.filter((b) => b.kind === 'rate').flatMap((b) => b.updates);
    expect(rates.map((r) => [r.from, r.to])).toEqual([
      ['2027-03-02', '2027-03-03'],
      ['2027-03-04', '2027-03-04'],
    ]);
    const xml = buildRateAmountNotifRQ(
      '1',
      rates.map((r) => r.value as BookingRateUpdate),
      opts,
    );
    expect(rateErrors(xml)).toBeNull();
    expect((await amountsOf(xml))[1]).toEqual([
      { AmountAfterTax: '85.00', CurrencyCode: 'EUR', NumberOfGuests: '1' },
      { AmountAfterTax: '100.00', CurrencyCode: 'EUR', NumberOfGuests: '2' },
    ]);
  });

  it('stay-through values split restriction ranges and ride in the first layer with the arrival ones', () => {
    const { queue, layers } = planBookingPush([
      cell('2027-03-02', { minLos: 2, minStayThrough: 3 }, ['restr']),
      cell('2027-03-03', { minLos: 2, minStayThrough: 3 }, ['restr']),
      cell('2027-03-04', { minLos: 2, minStayThrough: null }, ['restr']),
    ]);
    expect(layers[0]!.map((r) => [r.from, r.to, (r.value as BookingAvailUpdate).minStayThrough])).toEqual([
      ['2027-03-02', '2027-03-03', 3],
      ['2027-03-04', '2027-03-04', null],
    ]);
    const avail = queue.find((b) => b.kind === 'avail')!;
    expect(
      availErrors(
        buildAvailNotifRQ(
          '1',
          avail.updates.map((r) => r.value as BookingAvailUpdate),
          opts,
        ),
      ),
    ).toBeNull();
  });
});

// ---- the sandbox answers as Booking.com would ----
const T0 = new Date('2027-03-01T12:00:00Z');
const STD = '3001'; // Standard (the default pricing type)
const OBP_HOTEL = '3002'; // OBP; DBL takes at most 3 adults
const PREFIX = '/sandbox/booking-com';
const sandbox = new BookingSandbox({
  accounts: [{ clientId: 'rev', clientSecret: 'rev-secret', hotels: [STD, OBP_HOTEL] }],
  products: {
    [STD]: { rooms: ['SDBL'], rates: ['BAR', 'NRF'], currency: 'EUR' },
    [OBP_HOTEL]: { rooms: ['DBL'], rates: ['BAR', 'NRF'], currency: 'EUR', pricing: 'obp', maxOccupancy: { DBL: 3 } },
  },
  now: () => T0,
});
let app: FastifyInstance;
let base: string;
let jwt: string;

const NS = 'xmlns="http://www.opentravel.org/OTA/2003/05"';
const rateRQ = (messages: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><OTA_HotelRateAmountNotifRQ ${NS} TimeStamp="2027-03-01T11:00:00" Target="Production" Version="3.000"><RateAmountMessages>${messages}</RateAmountMessages></OTA_HotelRateAmountNotifRQ>`;
const availRQ = (messages: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><OTA_HotelAvailNotifRQ ${NS} TimeStamp="2027-03-01T11:00:00" Target="Production" Version="1.005"><AvailStatusMessages>${messages}</AvailStatusMessages></OTA_HotelAvailNotifRQ>`;
const price = (loc: string, room: string, rate: string, start: string, end: string, amounts: string) =>
  `<RateAmountMessage LocatorID="${loc}"><StatusApplicationControl Start="${start}" End="${end}" InvTypeCode="${room}" RatePlanCode="${rate}"/><Rates><Rate><BaseByGuestAmts>${amounts}</BaseByGuestAmts></Rate></Rates></RateAmountMessage>`;
const guests = (n: number, amount: string) => `<BaseByGuestAmt AmountAfterTax="${amount}" CurrencyCode="EUR" NumberOfGuests="${n}"/>`;
const los = (loc: string, room: string, rate: string, night: string, items: Array<[string, number]>) =>
  `<AvailStatusMessage LocatorID="${loc}"><StatusApplicationControl Start="${night}" End="${night}" InvTypeCode="${room}" RatePlanCode="${rate}"/><LengthsOfStay>${items
    .map(([type, time]) => `<LengthOfStay Time="${time}" MinMaxMessageType="${type}"/>`)
    .join('')}</LengthsOfStay></AvailStatusMessage>`;
const push = (kind: 'avail' | 'rate', xml: string) =>
  fetch(`${base}/hotels/ota/${kind === 'avail' ? 'OTA_HotelAvailNotif' : 'OTA_HotelRateAmountNotif'}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'accept-version': '1.1', 'content-type': 'application/xml' },
    body: xml,
  });
const RATE_RS = `<?xml version="1.0" encoding="UTF-8"?><OTA_HotelRateAmountNotifRS ${NS} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.opentravel.org/OTA/2003/05 OTA_HotelRateAmountNotifRS.xsd" TimeStamp="2027-03-01T12:00:00+00:00" Target="Production" Version="3.000">`;
const OBP_FOR_STANDARD = 'OBP format sent for Standard room-rate'; // OBP_PRICING_PASSED_FOR_DEFAULT_RATE's message
async function answer(res: Response): Promise<{ status: number; xml: string }> {
  return { status: res.status, xml: (await res.text()).replace(/<!-- RUID: \[[A-Za-z0-9+/]+=*\] -->$/, '') };
}

beforeAll(async () => {
  app = Fastify({ logger: false });
  await app.register(sandbox.plugin, { prefix: PREFIX });
  base = `${await app.listen({ port: 0, host: '127.0.0.1' })}${PREFIX}`;
});
afterAll(async () => {
  await app?.close();
});
beforeEach(async () => {
  sandbox.reset();
  const res = await fetch(`${base}/token-based-authentication/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'rev', client_secret: 'rev-secret' }),
  });
  jwt = ((await res.json()) as { jwt: string }).jwt;
});

describe('Booking.com sandbox: occupancy-based pricing', () => {
  it('an OBP property stores a price per NumberOfGuests, shown as occupancyRates "1", "2", …', async () => {
    const res = await push('rate', rateRQ(price('1', 'DBL', 'BAR', '2027-03-10', '2027-03-11', guests(2, '80.00') + guests(3, '90.00') + guests(1, '60.00'))));
    expect(await answer(res)).toEqual({ status: 200, xml: `${RATE_RS}<Success/></OTA_HotelRateAmountNotifRS>` });
    for (const night of ['2027-03-10', '2027-03-11'])
      expect(sandbox.cells(OBP_HOTEL).get(sandboxKey('DBL', 'BAR', night))).toMatchObject({
        occupancyRates: { '1': '60.00', '2': '80.00', '3': '90.00' },
        currency: 'EUR',
      });
    // A later update of one occupancy changes that occupancy only.
    await push('rate', rateRQ(price('1', 'DBL', 'BAR', '2027-03-10', '2027-03-10', guests(1, '65.00'))));
    expect(sandbox.cells(OBP_HOTEL).get(sandboxKey('DBL', 'BAR', '2027-03-10'))?.occupancyRates).toEqual({ '1': '65.00', '2': '80.00', '3': '90.00' });
  });

  it('OBP prices to a Standard property: OBP_PRICING_PASSED_FOR_DEFAULT_RATE, nothing of that message applied', async () => {
    // Alone: every update failed → HTTP 400, the Error names the message by RecordID.
    const alone = await answer(await push('rate', rateRQ(price('1', 'SDBL', 'BAR', '2027-03-10', '2027-03-10', guests(1, '60.00') + guests(2, '80.00')))));
    expect(alone).toEqual({
      status: 400,
      xml: `${RATE_RS}<Errors><Error Type="3" Code="320" RecordID="1" Status="NotProcessed" ShortText="${OBP_FOR_STANDARD}"/></Errors></OTA_HotelRateAmountNotifRS>`,
    });
    expect(sandbox.cells(STD).size).toBe(0);
    // Beside a per-day price: HTTP 200, the per-day price applied, a Warning for the OBP one.
    const mixed = await answer(
      await push(
        'rate',
        rateRQ(
          price('1', 'SDBL', 'BAR', '2027-03-10', '2027-03-10', '<BaseByGuestAmt AmountAfterTax="70.00" CurrencyCode="EUR"/>') +
            price('2', 'SDBL', 'NRF', '2027-03-10', '2027-03-10', guests(2, '80.00')),
        ),
      ),
    );
    expect(mixed).toEqual({
      status: 200,
      xml: `${RATE_RS}<Success/><Warnings><Warning Code="320" ShortText="${OBP_FOR_STANDARD}" Status="NotProcessed" Type="3"/></Warnings></OTA_HotelRateAmountNotifRS>`,
    });
    expect(sandbox.cells(STD).get(sandboxKey('SDBL', 'BAR', '2027-03-10'))).toEqual({ rate: '70.00', currency: 'EUR' });
    expect(sandbox.cells(STD).has(sandboxKey('SDBL', 'NRF', '2027-03-10'))).toBe(false);
  });

  it('a price for more guests than the room takes is refused (our inference: no published error), the whole message', async () => {
    const res = await answer(await push('rate', rateRQ(price('7', 'DBL', 'NRF', '2027-03-10', '2027-03-10', guests(3, '90.00') + guests(4, '99.00')))));
    expect(res.status).toBe(400);
    expect(res.xml).toContain(`RecordID="7"`);
    expect(res.xml).toContain("NumberOfGuests '4' is above the maximum occupancy (3) of Room ID 'DBL', Rate ID 'NRF'");
    expect(sandbox.cells(OBP_HOTEL).size).toBe(0);
  });
});

describe('Booking.com sandbox: arrival-based and stay-through lengths of stay', () => {
  it('SetForwardMinStay/SetForwardMaxStay are minLos/maxLos, SetMinLOS/SetMaxLOS minStayThrough/maxStayThrough; Time="0" removes', async () => {
    const key = sandboxKey('DBL', 'BAR', '2027-03-10');
    await push(
      'avail',
      availRQ(
        los('1', 'DBL', 'BAR', '2027-03-10', [
          ['SetMinLOS', 3],
          ['SetMaxLOS', 7],
          ['SetForwardMinStay', 2],
          ['SetForwardMaxStay', 10],
        ]),
      ),
    );
    expect(sandbox.cells(OBP_HOTEL).get(key)).toEqual({ minStayThrough: 3, maxStayThrough: 7, minLos: 2, maxLos: 10 });
    // Only the stay-through pair changes: the arrival pair stays as it was, and back.
    await push(
      'avail',
      availRQ(
        los('1', 'DBL', 'BAR', '2027-03-10', [
          ['SetMinLOS', 1],
          ['SetMaxLOS', 0],
        ]),
      ),
    );
    expect(sandbox.cells(OBP_HOTEL).get(key)).toEqual({ minStayThrough: null, maxStayThrough: null, minLos: 2, maxLos: 10 });
    await push(
      'avail',
      availRQ(
        los('1', 'DBL', 'BAR', '2027-03-10', [
          ['SetForwardMinStay', 0],
          ['SetForwardMaxStay', 0],
        ]),
      ),
    );
    expect(sandbox.cells(OBP_HOTEL).get(key)).toEqual({ minStayThrough: null, maxStayThrough: null, minLos: 1, maxLos: null });
  });
});

describe('our messages, applied by the sandbox, show what normalize() says', () => {
  it('an OBP connection: occupancy prices and the four stays reach the sandbox as OtaValues', async () => {
    const values = (n: number) =>
      bookingConnector.normalize(
        ari({
          pricingModel: 'per_occupancy',
          otaPricingModel: 'per_occupancy',
          occupancyRates: { '1': `${60 + n}.00`, '3': '95.50', '2': '80.00' },
          minLos: 2,
          maxStayThrough: 5,
        }),
        OBP,
      );
    const cells = ['2027-03-10', '2027-03-11', '2027-03-12'].map((night, n) => ({
      ...cell(night, values(n >> 1), ['rate', 'restr']),
      cellId: night,
    }));
    for (const b of planBookingPush(cells).queue) {
      const updates = b.updates.map((r) => r.value);
      const xml =
        b.kind === 'rate' ? buildRateAmountNotifRQ(OBP_HOTEL, updates as BookingRateUpdate[]) : buildAvailNotifRQ(OBP_HOTEL, updates as BookingAvailUpdate[]);
      expect((await push(b.kind as 'avail' | 'rate', xml)).status).toBe(200);
    }
    cells.forEach((c, n) => {
      const got = sandbox.cells(OBP_HOTEL).get(sandboxKey('DBL', 'BAR', c.night))!;
      const want = values(n >> 1);
      expect(got).toMatchObject({
        occupancyRates: want.occupancyRates,
        minLos: want.minLos,
        maxLos: want.maxLos,
        minStayThrough: want.minStayThrough,
        maxStayThrough: want.maxStayThrough,
        closed: want.closed,
      });
    });
  });
});
