/**
 * The Booking.com sandbox over real HTTP, against Booking.com's published rules
 * (developers.booking.com/connectivity/docs/…): tokens, ARI applied per message with the v1.1 HTTP
 * model, reservations pulled and acknowledged, injected faults, the control API. Requests are
 * written here as literal XML and answers compared as literal XML: nothing from our client.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { BookingSandbox } from '../../connectors/booking-com/sandbox.ts';
import { EXPIRY_MS, type SandboxReservation } from '../../connectors/booking-com/sandbox-reservations.ts';
import { sandboxKey } from '../../connectors/outbound/types.ts';
import { schemaErrors } from '../helpers/xml.ts';
import { waitFor } from '../helpers/wait.ts';

const XSD_DIR = path.resolve(import.meta.dirname, '../../connectors/booking-com/xsd');
const T0 = new Date('2027-03-01T12:00:00Z'); // 13:00 in Amsterdam: "today" is 2027-03-01 in CET
const HOTEL = '1001'; // catalogue DBL, SUI × BAR, NRF, in EUR
const HOTEL_B = '1003'; // catalogue TWN × BAR
const OPEN_HOTEL = '1002'; // no catalogue: any id accepted
const FOREIGN = '2002'; // another account's, catalogue FOR × X
const PREFIX = '/sandbox/booking-com';

let now = T0;
const sandbox = new BookingSandbox({
  accounts: [
    { clientId: 'acme', clientSecret: 's3cret', hotels: [HOTEL, HOTEL_B] },
    { clientId: 'open', clientSecret: 'open-secret', hotels: [OPEN_HOTEL] },
    { clientId: 'other', clientSecret: 'other-secret', hotels: [FOREIGN] },
  ],
  products: {
    [HOTEL]: { rooms: ['DBL', 'SUI'], rates: ['BAR', 'NRF'], currency: 'EUR' },
    [HOTEL_B]: { rooms: ['TWN'], rates: ['BAR'] },
    [FOREIGN]: { rooms: ['FOR'], rates: ['X'] },
  },
  now: () => now,
});

async function startApp(s: BookingSandbox): Promise<{ app: FastifyInstance; base: string }> {
  const app = Fastify({ logger: false });
  await app.register(s.plugin, { prefix: PREFIX });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `${address}${PREFIX}` };
}

let app: FastifyInstance;
let base: string;
let jwt: string;

const exchange = (client_id = 'acme', client_secret = 's3cret', url = base) =>
  fetch(`${url}/token-based-authentication/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id, client_secret }),
  });
const tokenOf = async (client: string, secret: string) => ((await (await exchange(client, secret)).json()) as { jwt: string }).jwt;
const push = (kind: 'avail' | 'rate', xml: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
  fetch(`${base}/hotels/ota/${kind === 'avail' ? 'OTA_HotelAvailNotif' : 'OTA_HotelRateAmountNotif'}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'accept-version': '1.1', 'content-type': 'application/xml', ...headers },
    body: xml,
    ...init,
  });
const control = (p: string, body?: unknown) =>
  fetch(
    `${base}/_control/${p}`,
    body === undefined
      ? { method: p === 'reset' ? 'POST' : 'GET' }
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );

// ---- requests as Booking.com's examples write them (ota-hotelavailnotif: no HotelCode, LocatorID per message) ----
const NS = 'xmlns="http://www.opentravel.org/OTA/2003/05"';
const availRQ = (messages: string, listAttrs = '') =>
  `<?xml version="1.0" encoding="UTF-8"?><OTA_HotelAvailNotifRQ ${NS} TimeStamp="2027-03-01T11:00:00" Target="Production" Version="1.005"><AvailStatusMessages${listAttrs}>${messages}</AvailStatusMessages></OTA_HotelAvailNotifRQ>`;
const rateRQ = (messages: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><OTA_HotelRateAmountNotifRQ ${NS} TimeStamp="2027-03-01T11:00:00" Target="Production" Version="3.000"><RateAmountMessages>${messages}</RateAmountMessages></OTA_HotelRateAmountNotifRQ>`;
const limit = (loc: string | null, room: string, start: string, end: string, n: number | string, rate?: string) =>
  `<AvailStatusMessage BookingLimit="${n}"${loc ? ` LocatorID="${loc}"` : ''}><StatusApplicationControl Start="${start}" End="${end}" InvTypeCode="${room}"${rate ? ` RatePlanCode="${rate}"` : ''}/></AvailStatusMessage>`;
const restrict = (loc: string, room: string, rate: string | null, start: string, end: string, inner: string) =>
  `<AvailStatusMessage LocatorID="${loc}"><StatusApplicationControl Start="${start}" End="${end}" InvTypeCode="${room}"${rate ? ` RatePlanCode="${rate}"` : ''}/>${inner}</AvailStatusMessage>`;
const price = (loc: string, room: string, rate: string, start: string, end: string, amounts: string) =>
  `<RateAmountMessage LocatorID="${loc}"><StatusApplicationControl Start="${start}" End="${end}" InvTypeCode="${room}" RatePlanCode="${rate}"/><Rates><Rate><BaseByGuestAmts>${amounts}</BaseByGuestAmts></Rate></Rates></RateAmountMessage>`;

// ---- answers, written out: root attributes of api-reference/ota_hotelproductnotifrs, Warning/Error of api-reference/warning|error ----
const open = (root: string, version: string, stamp = '2027-03-01T12:00:00+00:00') =>
  `<?xml version="1.0" encoding="UTF-8"?><${root} ${NS} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.opentravel.org/OTA/2003/05 ${root}.xsd" TimeStamp="${stamp}" Target="Production" Version="${version}">`;
const AVAIL_RS = open('OTA_HotelAvailNotifRS', '3.000');
const RATE_RS = open('OTA_HotelRateAmountNotifRS', '3.000');
const warning = (code: string, type: string, text: string) => `<Warning Code="${code}" ShortText="${text}" Status="NotProcessed" Type="${type}"/>`;
const error = (type: string, code: string, record: string | null, text: string) =>
  `<Error Type="${type}" Code="${code}"${record ? ` RecordID="${record}"` : ''} Status="NotProcessed" ShortText="${text}"/>`;
const BAD_DATE = "Dates should be in YYYY-MM-DD format, not before '2027-02-28',and not be past '2030-03-01'. The data should also be valid";

/** The status and the body without its trailing `<!-- RUID: [base64] -->` (checked here). */
async function answer(res: Response): Promise<{ status: number; xml: string }> {
  const text = await res.text();
  expect(text).toMatch(/<!-- RUID: \[[A-Za-z0-9+/]+=*\] -->$/);
  return { status: res.status, xml: text.replace(/<!-- RUID: \[[A-Za-z0-9+/]+=*\] -->$/, '') };
}

beforeAll(async () => {
  ({ app, base } = await startApp(sandbox));
});
afterAll(async () => {
  await app?.close();
});
beforeEach(async () => {
  now = T0;
  sandbox.reset();
  jwt = await tokenOf('acme', 's3cret');
  sandbox.reset(); // issued tokens stay valid across a reset; the exchange is forgotten
});

describe('token exchange (token-based-authentication)', () => {
  it('gives {jwt, ruid} for good credentials and 401 for bad ones', async () => {
    const ok = await exchange();
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ jwt: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/), ruid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect((await exchange('acme', 'wrong')).status).toBe(401);
    expect((await exchange('nobody', 'x')).status).toBe(401);
    expect(sandbox.stats.tokenExchanges).toBe(1);
  });

  it('allows 30 tokens per hour per client_id, then refuses until the hour has passed', async () => {
    for (let i = 0; i < 30; i++) expect((await exchange()).status).toBe(200);
    const refused = await exchange();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBe(3600);
    expect((await exchange('other', 'other-secret')).status).toBe(200); // per client_id
    now = new Date(T0.getTime() + 3_600_001);
    expect((await exchange()).status).toBe(200);
    expect(sandbox.stats.tokenExchanges).toBe(32);
  });
});

describe('OTA_HotelAvailNotif / OTA_HotelRateAmountNotif', () => {
  it("Booking.com's own example (no HotelCode): 200 <Success/>, End inclusive, BookingLimit room-level", async () => {
    const res = await push(
      'avail',
      availRQ(
        limit('1', 'DBL', '2027-03-05', '2027-03-17', 25) +
          restrict(
            '2',
            'DBL',
            'BAR',
            '2027-03-05',
            '2027-03-17',
            '<LengthsOfStay><LengthOfStay Time="2" MinMaxMessageType="SetMinLOS"/><LengthOfStay Time="5" MinMaxMessageType="SetMaxLOS"/></LengthsOfStay><RestrictionStatus Status="Open"/>',
          ),
      ),
    );
    const { status, xml } = await answer(res);
    expect(status).toBe(200);
    expect(xml).toBe(`${AVAIL_RS}<Success/></OTA_HotelAvailNotifRS>`);
    expect(schemaErrors(path.join(XSD_DIR, 'OTA_HotelAvailNotifRS.xsd'), xml)).toBeNull();
    const cells = sandbox.cells(HOTEL);
    // "Set Minimum Stay Through … Set Maximum Stay Through" (the example's explanation).
    expect(cells.get(sandboxKey('DBL', 'BAR', '2027-03-17'))).toEqual({ availability: 25, minStayThrough: 2, maxStayThrough: 5, closed: false });
    expect(cells.get(sandboxKey('DBL', 'NRF', '2027-03-05'))).toEqual({ availability: 25 }); // "applies across all rates"
    expect(cells.has(sandboxKey('DBL', 'BAR', '2027-03-18'))).toBe(false);
    expect(sandbox.roomAvailability(HOTEL).size).toBe(13); // 5 … 17 November in the original: 13 nights
    // A BookingLimit sent with a RatePlanCode is still the room's.
    await push('avail', availRQ(limit('1', 'DBL', '2027-03-06', '2027-03-06', 3, 'NRF')));
    expect(['BAR', 'NRF'].map((r) => sandbox.cells(HOTEL).get(sandboxKey('DBL', r, '2027-03-06'))?.availability)).toEqual([3, 3]);
    expect(sandbox.stats).toMatchObject({ requests: 2, accepted: 3, rejected: 0, multiMonthRequests: 0 });
  });

  it('restrictions: Arrival/Departure per rate, Close without a rate closes the room type, Time="0" lifts a LOS', async () => {
    const res = await push(
      'avail',
      availRQ(
        restrict('1', 'DBL', 'BAR', '2027-03-10', '2027-03-10', '<RestrictionStatus Status="Close" Restriction="Arrival"/>') +
          restrict('2', 'DBL', 'BAR', '2027-03-10', '2027-03-10', '<RestrictionStatus Status="Close" Restriction="Departure"/>') +
          restrict(
            '3',
            'DBL',
            'BAR',
            '2027-03-10',
            '2027-03-10',
            '<LengthsOfStay><LengthOfStay Time="0" MinMaxMessageType="SetMaxLOS"/><LengthOfStay Time="0" MinMaxMessageType="SetMinLOS"/><LengthOfStay Time="0" MinMaxMessageType="SetForwardMaxStay"/><LengthOfStay Time="0" MinMaxMessageType="SetForwardMinStay"/></LengthsOfStay>',
          ) +
          restrict('4', 'SUI', null, '2027-03-11', '2027-03-11', '<RestrictionStatus Status="Close"/>'),
      ),
    );
    expect((await answer(res)).xml).toBe(`${AVAIL_RS}<Success/></OTA_HotelAvailNotifRS>`);
    const cells = sandbox.cells(HOTEL);
    expect(cells.get(sandboxKey('DBL', 'BAR', '2027-03-10'))).toEqual({
      closedToArrival: true,
      closedToDeparture: true,
      maxLos: null,
      minLos: 1,
      maxStayThrough: null,
      minStayThrough: null,
    });
    expect([cells.get(sandboxKey('SUI', 'BAR', '2027-03-11')), cells.get(sandboxKey('SUI', 'NRF', '2027-03-11'))]).toEqual([
      { closed: true },
      { closed: true },
    ]);
    expect(sandbox.roomStatus(HOTEL)).toEqual(new Map([['SUI|2027-03-11', 'Close']]));
  });

  it('rates: DecimalPlaces scales an amount without a point, one with a point is taken as written; the catalogue currency fills in', async () => {
    const res = await push(
      'rate',
      rateRQ(
        price('1', 'DBL', 'BAR', '2027-03-10', '2027-03-10', '<BaseByGuestAmt AmountAfterTax="4500" DecimalPlaces="2"/>') + // derived-pricing tutorial's form
          price('2', 'DBL', 'NRF', '2027-03-10', '2027-03-10', '<BaseByGuestAmt AmountAfterTax="13350" DecimalPlaces="2" CurrencyCode="EUR"/>') +
          price('3', 'SUI', 'BAR', '2027-03-10', '2027-03-10', '<BaseByGuestAmt AmountAfterTax="133.5" DecimalPlaces="2" CurrencyCode="EUR"/>') +
          price('4', 'SUI', 'NRF', '2027-03-10', '2027-03-10', '<BaseByGuestAmt AmountBeforeTax="129.00" CurrencyCode="EUR"/>'),
      ),
    );
    expect((await answer(res)).xml).toBe(`${RATE_RS}<Success/></OTA_HotelRateAmountNotifRS>`);
    const rate = (room: string, r: string) => sandbox.cells(HOTEL).get(sandboxKey(room, r, '2027-03-10'));
    expect(rate('DBL', 'BAR')).toEqual({ rate: '45.00', currency: 'EUR' });
    expect(rate('DBL', 'NRF')).toEqual({ rate: '133.50', currency: 'EUR' });
    expect(rate('SUI', 'BAR')).toEqual({ rate: '133.5', currency: 'EUR' });
    expect(rate('SUI', 'NRF')).toEqual({ rate: '129.00', currency: 'EUR' });
  });

  it('a Standard property: the room price is the rate, the single-use price (NumberOfGuests="1") kept beside it', async () => {
    // Standard: "a default price for the maximum number of adult guests" and "a price for a single
    // adult guest" (connect.booking.com/user_guide/site/en-US/pricing-models). Prices for more
    // guests are the OBP format: test/connectors/booking-com-revenue.test.ts.
    const res = await push(
      'rate',
      rateRQ(
        price(
          '1',
          'DBL',
          'BAR',
          '2027-03-10',
          '2027-03-10',
          '<BaseByGuestAmt AmountAfterTax="38.00" NumberOfGuests="1" CurrencyCode="EUR"/><BaseByGuestAmt AmountAfterTax="45.00" CurrencyCode="EUR"/>',
        ),
      ),
    );
    expect((await answer(res)).xml).toBe(`${RATE_RS}<Success/></OTA_HotelRateAmountNotifRS>`);
    expect(sandbox.cells(HOTEL).get(sandboxKey('DBL', 'BAR', '2027-03-10'))).toEqual({ rate: '45.00', currency: 'EUR', occupancyRates: { '1': '38.00' } });
    expect(sandbox.occupancyPrices(HOTEL)).toEqual(new Map([[sandboxKey('DBL', 'BAR', '2027-03-10'), { 1: '38.00' }]]));
  });

  it('partly refused: 200 <Success/> and a Warning per refused message naming it, no RecordID; the rest applied', async () => {
    const res = await push(
      'avail',
      availRQ(
        limit('1', 'DBL', '2027-02-26', '2027-03-02', 1) + // starts more than a day in the past (CET)
          limit('2', 'DBL', '2027-02-28', '2027-02-28', 2) + // yesterday is still accepted
          limit('3', 'XXX', '2027-03-05', '2027-03-05', 3) + // not a room of the catalogue
          restrict('4', 'SUI', 'ZZZ', '2027-03-05', '2027-03-05', '<RestrictionStatus Status="Close"/>') + // not a rate of it
          limit('5', 'SUI', '2027-03-07', '2027-03-06', 4) + // ends before it starts
          '<AvailStatusMessage BookingLimit="5" LocatorID="6"><StatusApplicationControl Start="2027-03-05" End="2027-03-05"/></AvailStatusMessage>' + // no room id
          limit('7', 'SUI', '2027-03-05', '2030-03-02', 5) + // past today + 3 years
          limit('8', 'SUI', '2027-03-05', '2027-03-05', 6),
      ),
    );
    const { status, xml } = await answer(res);
    expect(status).toBe(200);
    expect(xml).toBe(
      `${AVAIL_RS}<Success/><Warnings>${[
        warning('15', '3', BAD_DATE),
        warning('402', '3', "Room ID 'XXX' is not valid"),
        warning('249', '3', "Rate ID 'ZZZ' is not valid"),
        warning('15', '3', 'From date should be less than or equal To Date'),
        warning('321', '10', 'Room ID is missing'),
        warning('15', '3', BAD_DATE),
      ].join('')}</Warnings></OTA_HotelAvailNotifRS>`,
    );
    expect(sandbox.roomAvailability(HOTEL)).toEqual(
      new Map([
        ['DBL|2027-02-28', 2],
        ['SUI|2027-03-05', 6],
      ]),
    );
    expect(sandbox.stats).toMatchObject({ accepted: 2, rejected: 6 });
  });

  it('"CET": past the day boundary in Amsterdam, yesterday there is the earliest date, whatever UTC says', async () => {
    now = new Date('2027-02-28T23:30:00Z'); // 00:30 on 1 March in Amsterdam
    jwt = await tokenOf('acme', 's3cret');
    const { status, xml } = await answer(
      await push('avail', availRQ(limit('1', 'DBL', '2027-02-27', '2027-02-27', 1) + limit('2', 'DBL', '2027-02-28', '2027-02-28', 2))),
    );
    expect(status).toBe(200);
    expect(xml).toBe(
      `${open('OTA_HotelAvailNotifRS', '3.000', '2027-02-28T23:30:00+00:00')}<Success/><Warnings>${warning('15', '3', BAD_DATE)}</Warnings></OTA_HotelAvailNotifRS>`,
    );
  });

  it('all refused: 400 <Errors> with RecordID = the LocatorID (none without one); nothing applied', async () => {
    const res = await push(
      'rate',
      rateRQ(
        price('7', 'DBL', 'BAR', '2027-02-01', '2027-02-03', '<BaseByGuestAmt AmountAfterTax="10.00" CurrencyCode="EUR"/>') +
          price('9', 'DBL', 'XYZ', '2027-03-05', '2027-03-05', '<BaseByGuestAmt AmountAfterTax="10.00" CurrencyCode="EUR"/>') +
          price('X', 'DBL', 'BAR', '2027-03-05', '2027-03-05', '<BaseByGuestAmt AmountAfterTax="10.00" CurrencyCode="EUR"/>')
            .replace(' LocatorID="X"', '')
            .replace('InvTypeCode="DBL"', 'InvTypeCode="NOPE"'),
      ),
    );
    const { status, xml } = await answer(res);
    expect(status).toBe(400);
    expect(xml).toBe(
      `${RATE_RS}<Errors>${error('3', '15', '7', BAD_DATE)}${error('3', '249', '9', "Rate ID 'XYZ' is not valid")}${error('3', '402', null, "Room ID 'NOPE' is not valid")}</Errors></OTA_HotelRateAmountNotifRS>`,
    );
    expect(sandbox.cells(HOTEL).size).toBe(0);
  });

  it('403 when every message is for a hotel the token may not touch; one of several is a Warning', async () => {
    const all = await answer(
      await push(
        'avail',
        availRQ(limit('1', 'FOR', '2027-03-05', '2027-03-05', 1) + limit('2', 'DBL', '2027-03-05', '2027-03-05', 1), ` HotelCode="${FOREIGN}"`),
      ),
    );
    expect(all).toEqual({
      status: 403,
      xml: `${AVAIL_RS}<Errors>${error('6', '497', '1', 'You do not have access to hotel:2002')}${error('6', '497', '2', 'You do not have access to hotel:2002')}</Errors></OTA_HotelAvailNotifRS>`,
    });
    // Without HotelCode the room says whose it is.
    const some = await answer(
      await push('avail', availRQ(limit('1', 'FOR', '2027-03-05', '2027-03-05', 1) + limit('2', 'TWN', '2027-03-05', '2027-03-05', 7))),
    );
    expect(some).toEqual({
      status: 200,
      xml: `${AVAIL_RS}<Success/><Warnings>${warning('497', '6', 'You do not have access to hotel:2002')}</Warnings></OTA_HotelAvailNotifRS>`,
    });
    expect([sandbox.roomAvailability(FOREIGN).size, sandbox.roomAvailability(HOTEL_B).get('TWN|2027-03-05')]).toEqual([0, 7]);
    // A token whose only hotel has no catalogue owns any room id.
    jwt = await tokenOf('open', 'open-secret');
    expect((await push('avail', availRQ(limit('1', '36745603', '2027-03-05', '2027-03-05', 2)))).status).toBe(200);
    expect(sandbox.roomAvailability(OPEN_HOTEL)).toEqual(new Map([['36745603|2027-03-05', 2]]));
  });

  it('duplicate dates: the first occurrence applied, WARN_DUPLICATE_DATES once', async () => {
    const res = await push(
      'rate',
      rateRQ(
        price('1', 'DBL', 'BAR', '2027-03-10', '2027-03-12', '<BaseByGuestAmt AmountAfterTax="100.00" CurrencyCode="EUR"/>') +
          price('2', 'DBL', 'BAR', '2027-03-12', '2027-03-13', '<BaseByGuestAmt AmountAfterTax="200.00" CurrencyCode="EUR"/>'),
      ),
    );
    expect((await answer(res)).xml).toBe(
      `${RATE_RS}<Success/><Warnings>${warning('450', '11', 'Request contains duplicate dates, we have applied only the first occurrence.')}</Warnings></OTA_HotelRateAmountNotifRS>`,
    );
    expect(['2027-03-12', '2027-03-13'].map((d) => sandbox.cells(HOTEL).get(sandboxKey('DBL', 'BAR', d))?.rate)).toEqual(['100.00', '200.00']);
    expect(sandbox.stats.duplicateDateRequests).toBe(1);
  });

  it('"Monthly Batching": a request over two months is applied, counted and recorded', async () => {
    await push('avail', availRQ(limit('1', 'DBL', '2027-03-30', '2027-03-31', 1)));
    expect(sandbox.multiMonthRequests).toEqual([]);
    const res = await push('avail', availRQ(limit('1', 'DBL', '2027-03-31', '2027-04-01', 1) + limit('2', 'TWN', '2027-05-01', '2027-05-01', 1)));
    expect(res.status).toBe(200);
    expect(sandbox.multiMonthRequests).toEqual([{ kind: 'avail', months: ['2027-03', '2027-04', '2027-05'] }]);
    expect(sandbox.stats).toMatchObject({ multiMonthRequests: 1, multiHotelRequests: 1 }); // DBL and TWN: two hotels in one request
  });

  it('401 without a token, with an unknown one, and with an expired one; nothing applied', async () => {
    const msg = availRQ(limit('1', 'DBL', '2027-03-05', '2027-03-05', 1));
    const unauthorized = `${AVAIL_RS}<Errors>${error('4', '497', null, 'Invalid or expired JWT token')}</Errors></OTA_HotelAvailNotifRS>`;
    expect(await answer(await push('avail', msg, { authorization: '' }))).toEqual({ status: 401, xml: unauthorized });
    expect((await push('avail', msg, { authorization: 'Bearer not-a-token' })).status).toBe(401);
    now = new Date(T0.getTime() + 3_601_000);
    expect((await push('avail', msg)).status).toBe(401);
    expect(sandbox.roomAvailability(HOTEL).size).toBe(0);
  });

  it('400 for bodies that are not the protocol, whatever else they hold: nothing applied', async () => {
    const good = limit('1', 'DBL', '2027-03-05', '2027-03-05', 1);
    const refused = async (body: string, kind: 'avail' | 'rate', errorXml: string, headers: Record<string, string> = {}) => {
      const root = kind === 'avail' ? 'OTA_HotelAvailNotifRS' : 'OTA_HotelRateAmountNotifRS';
      expect(await answer(await push(kind, body, headers))).toEqual({ status: 400, xml: `${open(root, '3.000')}<Errors>${errorXml}</Errors></${root}>` });
    };
    await refused(
      availRQ(good + limit('2', 'DBL', '2027-03-05', '2027-03-05', 'abc')),
      'avail',
      error('3', '320', '2', 'Invalid value: AvailStatusMessage/@BookingLimit: must be a non-negative integer'),
    );
    await refused(availRQ(good + limit('2', 'DBL', '2027-03-05', '2027-02-30', 1)), 'avail', error('3', '15', '2', BAD_DATE));
    await refused(availRQ(''), 'avail', error('10', '321', null, 'Room is missing'));
    await refused('<OTA_HotelAvailNotifRQ', 'avail', error('7', '450', null, 'Request body is not well-formed XML'));
    await refused(
      `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>${availRQ(good).replace('<?xml version="1.0" encoding="UTF-8"?>', '')}`,
      'avail',
      error('7', '450', null, 'Request body declares a DTD or entities; they are not accepted'),
    );
    await refused(availRQ(good), 'rate', error('7', '450', null, 'Root element must be OTA_HotelRateAmountNotifRQ'));
    await refused(
      availRQ(good).replace(NS, ''),
      'avail',
      error('7', '450', null, 'OTA_HotelAvailNotifRQ must be in the namespace http://www.opentravel.org/OTA/2003/05'),
    );
    await refused(availRQ(good), 'avail', error('7', '450', null, 'Accept-Version: 1.1 is required'), { 'accept-version': '1.0' });
    expect((await push('avail', availRQ(good), { 'content-type': 'text/plain' })).status).toBe(415);
    expect(sandbox.roomAvailability(HOTEL).size).toBe(0);
    expect((await push('avail', availRQ(good), { 'content-type': 'text/xml; charset=utf-8' })).status).toBe(200);
  });
});

describe('faults', () => {
  const simple = () => availRQ(limit('1', 'DBL', '2027-03-05', '2027-03-05', 3));
  const setFaults = async (plan: unknown) => expect((await control('faults', plan)).status).toBe(200);
  const nothingChanged = () => {
    expect(sandbox.roomAvailability(HOTEL).size).toBe(0);
    expect(sandbox.stats.accepted).toBe(0);
  };

  it.each([
    ['http5xx', 503, /<html>/],
    ['tooMany', 429, /<html>/],
    ['malformed', 200, /^<html>oops$/],
    ['otaError', 500, /<Errors><Error Type="12" Code="448" Status="NotProcessed" ShortText="INTERNAL_SERVER_ERROR"\/><\/Errors>/],
  ] as const)('%s: HTTP %i, and nothing changes', async (kind, status, body) => {
    await setFaults({ rates: { [kind]: 1 }, retryAfterSeconds: 7 });
    const res = await push('avail', simple());
    expect(res.status).toBe(status);
    expect(await res.text()).toMatch(body);
    if (kind === 'tooMany') expect(res.headers.get('retry-after')).toBe('7');
    expect(sandbox.faults.injected[kind]).toBe(1);
    nothingChanged();
    // Token exchange draws too, and a faulted exchange issues nothing.
    expect((await exchange()).status).toBe(status);
    expect(sandbox.stats.tokenExchanges).toBe(0);
  });

  it('timeout: held for timeoutMs then 504; a client that gives up first gets nothing applied', async () => {
    await setFaults({ rates: { timeout: 1 }, timeoutMs: 200 });
    expect((await push('avail', simple())).status).toBe(504);
    await setFaults({ rates: { timeout: 1 }, timeoutMs: 60_000 });
    const aborter = new AbortController();
    const pending = push('avail', simple(), {}, { signal: aborter.signal });
    await waitFor(() => sandbox.faults.injected.timeout === 1, { what: 'the held request' });
    aborter.abort();
    await expect(pending).rejects.toThrow(/abort/i);
    nothingChanged();
  });

  it('timeout: closing the server releases a held request at once (tests never hang on close)', async () => {
    const own = new BookingSandbox({
      accounts: [{ clientId: 'acme', clientSecret: 's3cret', hotels: [HOTEL] }],
      faults: { rates: { timeout: 1 }, timeoutMs: 600_000 },
    });
    const started = await startApp(own);
    const pending = exchange('acme', 's3cret', started.base);
    await waitFor(() => own.faults.injected.timeout === 1, { what: 'the held request' });
    await started.app.close();
    expect((await pending).status).toBe(504);
  });

  it('slow: answered normally after slowMs, and applied', async () => {
    await setFaults({ rates: { slow: 1 }, slowMs: 20 });
    expect((await push('avail', simple())).status).toBe(200);
    expect(sandbox.roomAvailability(HOTEL).get('DBL|2027-03-05')).toBe(3);
  });

  it('authFailure: 401 on everything, the token exchange included', async () => {
    await setFaults({ authFailure: true });
    expect((await exchange()).status).toBe(401);
    expect(await answer(await push('avail', simple()))).toEqual({
      status: 401,
      xml: `${AVAIL_RS}<Errors>${error('4', '497', null, 'Invalid or expired JWT token')}</Errors></OTA_HotelAvailNotifRS>`,
    });
    nothingChanged();
  });
});

// ---- reservations ----
const pull = (queue: 'OTA_HotelResNotif' | 'OTA_HotelResModifyNotif', query = '', token = jwt) =>
  fetch(`${base}/hotels/ota/${queue}${query}`, { headers: { authorization: `Bearer ${token}` } });
const post = (queue: 'OTA_HotelResNotif' | 'OTA_HotelResModifyNotif', body: string) =>
  fetch(`${base}/hotels/ota/${queue}`, { method: 'POST', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/xml' }, body });
/** The acknowledgement acknowledging-new-reservations-ota describes (one HotelReservation per id). */
const ackOf = (queue: 'new' | 'modify', ids: string[]) => {
  const [root, list, item] =
    queue === 'new' ? ['OTA_HotelResNotifRS', 'HotelReservations', 'HotelReservation'] : ['OTA_HotelResModifyNotifRS', 'HotelResModifies', 'HotelResModify'];
  const items = ids
    .map((id) => `<${item}><ResGlobalInfo><HotelReservationIDs><HotelReservationID ResID_Value="${id}"/></HotelReservationIDs></ResGlobalInfo></${item}>`)
    .join('');
  return `<${root} ${NS} TimeStamp="2027-03-01T12:00:05+00:00" Target="Production" Version="2.001"><Success/><${list}>${items}</${list}></${root}>`;
};
const NEW_RQ = open('OTA_HotelResNotifRQ', '2.001');
const MODIFY_RQ = open('OTA_HotelResModifyNotifRQ', '2.001');
const WRONG_TYPE = (root: string, id: string) =>
  `${open(root, '2.001')}<Errors>${error('3', '450', id, 'Hotel reservation has transaction message of the wrong type')}</Errors></${root}>`;
const ACK_OK = (root: string) => `${open(root, '2.001')}<Success/></${root}>`;

/** A short booking: one room, two nights at 100.00 (sandbox defaults for the rest). */
const short = (id: string, over: Partial<SandboxReservation> = {}): SandboxReservation => ({
  id,
  hotel: HOTEL,
  createdAt: '2027-02-27T10:11:12',
  rooms: [
    {
      roomCode: 'DBL',
      rateCode: 'BAR',
      nights: [
        { date: '2027-03-10', amount: '100.00' },
        { date: '2027-03-11', amount: '100.00' },
      ],
    },
  ],
  ...over,
});

describe('reservations (OTA_HotelResNotif, OTA_HotelResModifyNotif)', () => {
  it('renders a reservation as the element reference shows it: RoomRates per night, integer amounts with DecimalPlaces, no TimeSpan, the card once', async () => {
    sandbox.reservations.add('new', {
      id: '4705950059',
      hotel: HOTEL,
      createdAt: '2027-02-27T10:11:12',
      currency: 'EUR',
      decimalPlaces: 2,
      comment: 'Quiet room, please',
      rooms: [
        {
          index: '369',
          roomCode: 'DBL',
          rateCode: 'BAR',
          name: 'Double Room',
          description: 'Room description text.',
          mealPlan: 'Breakfast included.',
          maxChildren: 1,
          amenities: ['Shower'],
          nights: [
            { date: '2027-03-10', amount: '133.5' },
            { date: '2027-03-11', amount: '120', rateCode: 'NRF' },
          ],
          commission: '38.03',
          guests: [{ firstName: 'Sam', lastName: 'Xu' }],
          comment: 'Late arrival',
          specialRequests: [{ name: 'smoking preference', text: 'Non-Smoking' }],
        },
        {
          index: '370',
          roomCode: 'SUI',
          rateCode: 'NRF',
          name: 'Suite',
          description: 'A suite.',
          mealPlan: 'No meals.',
          maxChildren: 0,
          nights: [{ date: '2027-03-12', amount: '200.00' }],
          adults: 1,
          guests: [{ firstName: 'Ana', lastName: 'Lima' }],
        },
      ],
      services: [{ code: '1', units: 18, unitPrice: '3', description: 'per person / per night', nights: 3, fee: '5', room: 2 }],
      booker: {
        firstName: 'Sam',
        lastName: 'Xu',
        email: 'sam@example.com',
        phone: '+31 20 715 00 00',
        address: { line: 'Herengracht 597', city: 'Amsterdam', postalCode: '1017 CE', country: 'NL', company: 'Booking.com' },
      },
      card: { code: 'MC', number: '5346330641608164', expire: '0130', holder: 'SAM XU' },
    });
    const { status, xml } = await answer(await pull('OTA_HotelResNotif'));
    expect(status).toBe(200);
    const description = (name: string, maxChildren: string, meal: string, text: string) =>
      `<RoomDescription Name="${name}"><MaxChildren>${maxChildren}</MaxChildren><MealPlan>${meal}</MealPlan><Text>${text}</Text></RoomDescription>`;
    const night = (date: string, rate: string, amount: string) =>
      `<RoomRate EffectiveDate="${date}" RatePlanCode="${rate}"><Rates><Rate><Total AmountAfterTax="${amount}" CurrencyCode="EUR" DecimalPlaces="2"/></Rate></Rates></RoomRate>`;
    const guest = (rph: string, given: string, surname: string) =>
      `<ResGuest ResGuestRPH="${rph}"><Profiles><ProfileInfo><Profile><Customer><PersonName><GivenName>${given}</GivenName><Surname>${surname}</Surname></PersonName></Customer></Profile></ProfileInfo></Profiles></ResGuest>`;
    expect(xml).toBe(
      NEW_RQ +
        '<HotelReservations><HotelReservation><RoomStays>' +
        '<RoomStay IndexNumber="369"><RoomTypes><RoomType RoomTypeCode="DBL">' +
        description('Double Room', '1', 'Breakfast included.', 'Room description text.') +
        '<Amenities><Amenity>Shower</Amenity></Amenities></RoomType></RoomTypes>' +
        '<RatePlans><RatePlan><Commission><CommissionPayableAmount Amount="3803" CurrencyCode="EUR" DecimalPlaces="2"/></Commission></RatePlan></RatePlans>' +
        `<RoomRates>${night('2027-03-10', 'BAR', '13350')}${night('2027-03-11', 'NRF', '12000')}</RoomRates>` +
        '<GuestCounts><GuestCount Count="2"/></GuestCounts><Total AmountAfterTax="25350" CurrencyCode="EUR" DecimalPlaces="2"/><BasicPropertyInfo HotelCode="1001"/>' +
        '<ResGuestRPHs><ResGuestRPH RPH="1"/></ResGuestRPHs><Comments><Comment><Text>Late arrival</Text></Comment></Comments>' +
        '<SpecialRequests><SpecialRequest Name="smoking preference"><Text>Non-Smoking</Text></SpecialRequest></SpecialRequests></RoomStay>' +
        '<RoomStay IndexNumber="370"><RoomTypes><RoomType RoomTypeCode="SUI">' +
        description('Suite', '0', 'No meals.', 'A suite.') +
        '<Amenities/></RoomType></RoomTypes><RatePlans/>' +
        `<RoomRates>${night('2027-03-12', 'NRF', '20000')}</RoomRates>` +
        '<GuestCounts><GuestCount Count="1"/></GuestCounts><Total AmountAfterTax="20000" CurrencyCode="EUR" DecimalPlaces="2"/><BasicPropertyInfo HotelCode="1001"/>' +
        '<ResGuestRPHs><ResGuestRPH RPH="2"/></ResGuestRPHs><SpecialRequests/><ServiceRPHs><ServiceRPH RPH="1"/></ServiceRPHs></RoomStay></RoomStays>' +
        '<Services><Service ServiceRPH="1" ServiceInventoryCode="1"><Price NumberOfUnits="18"><Total AmountAfterTax="54" CurrencyCode="EUR"/><Base AmountAfterTax="3" CurrencyCode="EUR"/>' +
        '<RateDescription><Text>per person / per night</Text></RateDescription></Price><ServiceDetails><TimeSpan Duration="3"/><Fees><Fee Amount="5"/></Fees></ServiceDetails></Service></Services>' +
        `<ResGuests>${guest('1', 'Sam', 'Xu')}${guest('2', 'Ana', 'Lima')}</ResGuests>` +
        '<ResGlobalInfo><Comments><Comment><Text>Quiet room, please</Text></Comment></Comments>' +
        '<Guarantee><GuaranteesAccepted><GuaranteeAccepted><PaymentCard CardCode="MC" CardNumber="5346330641608164" SeriesCode="" ExpireDate="0130"><CardHolderName>SAM XU</CardHolderName></PaymentCard></GuaranteeAccepted></GuaranteesAccepted></Guarantee>' +
        '<Total AmountAfterTax="45350" CurrencyCode="EUR" DecimalPlaces="2"/><HotelReservationIDs><HotelReservationID ResID_Value="4705950059" ResID_Date="2027-02-27T10:11:12"/></HotelReservationIDs>' +
        '<Profiles><ProfileInfo><Profile><Customer><PersonName><GivenName>Sam</GivenName><Surname>Xu</Surname></PersonName><Telephone PhoneNumber="+31 20 715 00 00"/><Email>sam@example.com</Email>' +
        '<Address><AddressLine>Herengracht 597</AddressLine><CityName>Amsterdam</CityName><PostalCode>1017 CE</PostalCode><CountryName Code="NL"/><CompanyName>Booking.com</CompanyName></Address></Customer></Profile></ProfileInfo></Profiles>' +
        '</ResGlobalInfo></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>',
    );
    // Not acknowledged: handed out again, without the card ("Will only be sent once and deleted afterwards").
    const again = (await answer(await pull('OTA_HotelResNotif'))).xml;
    expect(again).toContain('ResID_Value="4705950059"');
    expect(again).not.toContain('<Guarantee>');
    expect(await answer(await post('OTA_HotelResNotif', ackOf('new', ['4705950059'])))).toEqual({ status: 200, xml: ACK_OK('OTA_HotelResNotifRS') });
    expect((await answer(await pull('OTA_HotelResNotif'))).xml).toBe(`${NEW_RQ}<HotelReservations/></OTA_HotelResNotifRQ>`);
  });

  it('amounts: AmountBeforeTax, DecimalPlaces 0 and 3, the VCC suffix and activation date, children with ages', async () => {
    sandbox.reservations.add(
      'new',
      short('1', {
        amounts: 'BeforeTax',
        decimalPlaces: 0,
        rooms: [{ roomCode: 'DBL', rateCode: 'BAR', nights: [{ date: '2027-03-10', amount: '100' }], adults: 2, children: 1 }],
      }),
    );
    sandbox.reservations.add(
      'new',
      short('2', {
        decimalPlaces: 3,
        rooms: [{ roomCode: 'DBL', rateCode: 'BAR', nights: [{ date: '2027-03-10', amount: '99.5' }], childAges: [4, 11] }],
        card: { number: '4111111111111111', expire: '1230', holder: 'VIRTUAL CARD', virtual: { activation: '2027-03-11', ratePlanSuffix: true } },
      }),
    );
    const xml = (await answer(await pull('OTA_HotelResNotif'))).xml;
    expect(xml).toContain(
      '<RoomRate EffectiveDate="2027-03-10" RatePlanCode="BAR"><Rates><Rate><Total AmountBeforeTax="100" CurrencyCode="EUR" DecimalPlaces="0"/>',
    );
    expect(xml).toContain('<GuestCounts><GuestCount Count="3"/></GuestCounts>');
    expect(xml).toContain(
      '<RoomRate EffectiveDate="2027-03-10" RatePlanCode="BARVCC"><Rates><Rate><Total AmountAfterTax="99500" CurrencyCode="EUR" DecimalPlaces="3"/>',
    );
    expect(xml).toContain(
      '<GuestCounts><GuestCount Count="2"/><GuestCount Count="1" AgeQualifyingCode="8" Age="4"/><GuestCount Count="1" AgeQualifyingCode="8" Age="11"/></GuestCounts>',
    );
    expect(xml).toContain(
      '<PaymentCard CardCode="VI" CardNumber="4111111111111111" SeriesCode="" ExpireDate="1230" EffectiveDate="2027-03-11"><CardHolderName>VIRTUAL CARD</CardHolderName></PaymentCard>',
    );
    expect(() => sandbox.reservations.add('new', short('3', { decimalPlaces: 1 }))).toThrow(/more decimals than decimalPlaces 1/);
  });

  it('changed before the first acknowledgement: handed out as new with the latest content; acknowledging the older version is the wrong type', async () => {
    sandbox.reservations.add('new', short('11'));
    expect((await answer(await pull('OTA_HotelResNotif'))).xml).toContain('<GuestCount Count="2"/>');
    sandbox.reservations.add(
      'modify',
      short('11', { rooms: [{ roomCode: 'DBL', rateCode: 'BAR', adults: 3, nights: [{ date: '2027-03-10', amount: '100.00' }] }] }),
    );
    expect((await answer(await pull('OTA_HotelResModifyNotif'))).xml).toBe(`${MODIFY_RQ}<HotelResModifies/></OTA_HotelResModifyNotifRQ>`);
    expect(await answer(await post('OTA_HotelResNotif', ackOf('new', ['11'])))).toEqual({ status: 400, xml: WRONG_TYPE('OTA_HotelResNotifRS', '11') });
    const latest = (await answer(await pull('OTA_HotelResNotif'))).xml;
    expect(latest).toContain('<GuestCount Count="3"/>');
    expect(latest.match(/<RoomRate /g)).toHaveLength(1);
    expect((await post('OTA_HotelResNotif', ackOf('new', ['11']))).status).toBe(200);
    expect((await post('OTA_HotelResNotif', ackOf('new', ['11']))).status).toBe(200); // again: changes nothing
    expect(sandbox.reservations.summary(HOTEL)).toMatchObject({ pending: [], acked: [{ id: '11', kind: 'new', version: 2, deliveries: 2 }] });
  });

  it('after it: a HotelResModify carrying the whole reservation, ResGuests first, no card; acknowledged at its own endpoint only', async () => {
    sandbox.reservations.add('new', short('12', { card: { number: '4111111111111111', expire: '1230', holder: 'A B' } }));
    await pull('OTA_HotelResNotif');
    expect((await post('OTA_HotelResNotif', ackOf('new', ['12']))).status).toBe(200);
    sandbox.reservations.add('modify', short('12', { card: { number: '4111111111111111', expire: '1230', holder: 'A B' } }));
    const xml = (await answer(await pull('OTA_HotelResModifyNotif'))).xml;
    expect(xml.startsWith(`${MODIFY_RQ}<HotelResModifies><HotelResModify><ResGuests><ResGuest ResGuestRPH="1">`)).toBe(true);
    expect(xml).toContain('</ResGuests><RoomStays><RoomStay IndexNumber="1">');
    expect(xml).toContain('</RoomStays><Services/><ResGlobalInfo><Total AmountAfterTax="20000" CurrencyCode="EUR" DecimalPlaces="2"/>');
    expect(xml).not.toContain('Guarantee');
    // "acknowledging a modification via the new reservations endpoint" is the wrong type, whatever the root says.
    expect(await answer(await post('OTA_HotelResNotif', ackOf('new', ['12'])))).toEqual({ status: 400, xml: WRONG_TYPE('OTA_HotelResNotifRS', '12') });
    expect((await answer(await post('OTA_HotelResModifyNotif', ackOf('new', ['12'])))).xml).toBe(
      `${open('OTA_HotelResModifyNotifRS', '2.001')}<Errors>${error('3', '450', null, 'Hotel reservation has transaction message of the wrong type')}</Errors></OTA_HotelResModifyNotifRS>`,
    );
    expect(await answer(await post('OTA_HotelResModifyNotif', ackOf('modify', ['12'])))).toEqual({ status: 200, xml: ACK_OK('OTA_HotelResModifyNotifRS') });
  });

  it('cancellations, in the modify queue: ResStatus="Cancelled" with the content, or an empty <RoomStays/>', async () => {
    sandbox.reservations.add('cancel', short('21'));
    sandbox.reservations.add('cancel', short('22', { cancelStyle: 'empty' }));
    const xml = (await answer(await pull('OTA_HotelResModifyNotif'))).xml;
    expect(xml).toContain('<HotelResModify ResStatus="Cancelled"><ResGuests>');
    expect(xml).toContain('<RoomStays><RoomStay IndexNumber="1">');
    expect(xml).toContain(
      '<HotelResModify><ResGuests><ResGuest ResGuestRPH="1"><Profiles><ProfileInfo><Profile><Customer><PersonName><GivenName>Jan</GivenName><Surname>Jansen</Surname></PersonName></Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>' +
        '<RoomStays/><Services/><ResGlobalInfo><Total AmountAfterTax="0" CurrencyCode="EUR" DecimalPlaces="2"/><HotelReservationIDs><HotelReservationID ResID_Value="22" ResID_Date="2027-02-27T10:11:12"/></HotelReservationIDs>',
    );
    expect((await answer(await pull('OTA_HotelResNotif'))).xml).toBe(`${NEW_RQ}<HotelReservations/></OTA_HotelResNotifRQ>`);
    expect((await post('OTA_HotelResModifyNotif', ackOf('modify', ['21', '22']))).status).toBe(200); // several ids in one acknowledgement
    expect(sandbox.reservations.summary(HOTEL)).toMatchObject({
      pending: [],
      acked: [
        { id: '21', kind: 'cancel' },
        { id: '22', kind: 'cancel' },
      ],
    });
  });

  it('a cancellation before the first acknowledgement supersedes the new message: only the cancellation can be acknowledged', async () => {
    sandbox.reservations.add('new', short('23'));
    expect((await answer(await pull('OTA_HotelResNotif'))).xml).toContain('ResID_Value="23"');
    sandbox.reservations.add('cancel', short('23'));
    expect(await answer(await post('OTA_HotelResNotif', ackOf('new', ['23'])))).toEqual({ status: 400, xml: WRONG_TYPE('OTA_HotelResNotifRS', '23') });
    expect((await answer(await pull('OTA_HotelResNotif'))).xml).toBe(`${NEW_RQ}<HotelReservations/></OTA_HotelResNotifRQ>`);
    expect((await answer(await pull('OTA_HotelResModifyNotif'))).xml).toContain('<HotelResModify ResStatus="Cancelled">');
    expect((await post('OTA_HotelResModifyNotif', ackOf('modify', ['23']))).status).toBe(200);
    expect(sandbox.reservations.summary(HOTEL)).toMatchObject({ pending: [], acked: [{ id: '23', kind: 'cancel' }], superseded: [{ id: '23', kind: 'new' }] });
  });

  it('an acknowledgement with <Errors> keeps the message queued and records why; Success with Errors is refused', async () => {
    sandbox.reservations.add('new', short('31'));
    await pull('OTA_HotelResNotif');
    const nack = `<OTA_HotelResNotifRS ${NS} TimeStamp="2027-03-01T12:00:05+00:00" Target="Production" Version="2.001"><Errors><Error Type="3" Code="402" RecordID="31" ShortText="Unknown room DBL"/></Errors></OTA_HotelResNotifRS>`;
    expect(await answer(await post('OTA_HotelResNotif', nack))).toEqual({ status: 200, xml: ACK_OK('OTA_HotelResNotifRS') });
    expect(sandbox.reservations.summary(HOTEL).pending).toEqual([{ id: '31', kind: 'new', version: 1, deliveries: 1, failures: ['Unknown room DBL'] }]);
    const both = ackOf('new', ['31']).replace('<Success/>', '<Success/><Errors><Error Type="3" Code="402" RecordID="31"/></Errors>');
    expect((await post('OTA_HotelResNotif', both)).status).toBe(400);
    expect((await post('OTA_HotelResNotif', `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${ackOf('new', ['31'])}`)).status).toBe(400);
    expect(sandbox.reservations.summary(HOTEL).acked).toEqual([]);
  });

  it('a 503 on an acknowledgement keeps the message queued; 30 minutes unacknowledged and it leaves for e-mail', async () => {
    sandbox.reservations.add('new', short('41'));
    sandbox.reservations.add('new', short('42'));
    await pull('OTA_HotelResNotif');
    sandbox.failNextAcks = 1;
    expect((await post('OTA_HotelResNotif', ackOf('new', ['41']))).status).toBe(503);
    expect((await post('OTA_HotelResNotif', ackOf('new', ['41']))).status).toBe(200);
    now = new Date(T0.getTime() + EXPIRY_MS - 1);
    expect(sandbox.reservations.summary(HOTEL).pending.map((p) => p.id)).toEqual(['42']);
    now = new Date(T0.getTime() + EXPIRY_MS);
    expect(sandbox.reservations.summary(HOTEL)).toMatchObject({ pending: [], acked: [{ id: '41' }], expired: [{ id: '42' }] });
    jwt = await tokenOf('acme', 's3cret');
    expect((await answer(await pull('OTA_HotelResNotif'))).xml).toBe(
      `${open('OTA_HotelResNotifRQ', '2.001', '2027-03-01T12:30:00+00:00')}<HotelReservations/></OTA_HotelResNotifRQ>`,
    );
  });

  it("GET: Bearer token, hotel_ids, limit, id; 403 for a hotel not the token's, 404 for an unknown id", async () => {
    sandbox.reservations.add('new', short('51'));
    sandbox.reservations.add('new', short('52', { hotel: HOTEL_B }));
    sandbox.reservations.add('new', short('53', { hotel: FOREIGN }));
    const ids = async (query: string) => [...(await answer(await pull('OTA_HotelResNotif', query))).xml.matchAll(/ResID_Value="(\d+)"/g)].map((m) => m[1]);
    expect((await pull('OTA_HotelResNotif', '', 'nope')).status).toBe(401);
    expect(await ids('')).toEqual(['51', '52']);
    expect(await ids(`?hotel_ids=${HOTEL_B}`)).toEqual(['52']);
    expect(await ids('?limit=1')).toEqual(['51']);
    expect(await ids('?id=52')).toEqual(['52']);
    expect((await answer(await pull('OTA_HotelResNotif', `?hotel_ids=${HOTEL},${FOREIGN}`))).status).toBe(403);
    expect((await answer(await pull('OTA_HotelResNotif', '?id=99'))).status).toBe(404);
    expect((await post('OTA_HotelResNotif', ackOf('new', ['53']))).status).toBe(403);
  });

  it('control route: queues valid input (202), refuses the rest (400), reports the queue', async () => {
    const queued = await control('reservations', { kind: 'new', reservation: short('61') });
    expect([queued.status, await queued.json()]).toEqual([202, { queued: '61' }]);
    const bad = await control('reservations', { kind: 'new', reservation: { ...short('62'), modifiedAt: '2027-03-01T00:00:00' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/modifiedAt/);
    expect((await control('reservations', { kind: 'nope', reservation: short('63') })).status).toBe(400);
    expect(await (await control(`reservations?hotel=${HOTEL}`)).json()).toEqual({
      pending: [{ id: '61', kind: 'new', version: 1, deliveries: 0, failures: [] }],
      acked: [],
      expired: [],
      superseded: [],
    });
  });
});

describe('control API', () => {
  it('rejects a bad fault plan with 400 and keeps the old one', async () => {
    expect((await control('faults', { rates: { http5xx: 1 } })).status).toBe(200);
    for (const plan of [{ rates: { http5xx: 0.7, timeout: 0.7 } }, { rates: { http5xx: 2 } }, { bogus: true }]) {
      const res = await control('faults', plan);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/rates|bogus|Unrecognized/i);
    }
    expect(sandbox.faults.plan.rates.http5xx).toBe(1);
  });

  it('reports state and stats, and resets', async () => {
    await push(
      'avail',
      availRQ(
        limit('1', 'DBL', '2027-03-05', '2027-03-05', 4) + restrict('2', 'DBL', 'BAR', '2027-03-05', '2027-03-05', '<RestrictionStatus Status="Close"/>'),
      ),
    );
    const state = (await (await control(`state?hotel=${HOTEL}`)).json()) as { cells: Record<string, unknown>; rooms: Record<string, number> };
    expect(state.cells[sandboxKey('DBL', 'BAR', '2027-03-05')]).toEqual({ availability: 4, closed: true });
    expect(state.rooms).toEqual({ 'DBL|2027-03-05': 4 });
    expect((await control('state')).status).toBe(400);
    const stats = await (await control('stats')).json();
    expect(stats).toMatchObject({
      requests: 1,
      accepted: 2,
      rejected: 0,
      byPath: { '/hotels/ota/OTA_HotelAvailNotif': 1 },
      multiMonth: [],
      faults: { http5xx: 0 },
    });
    expect((await control('reset')).status).toBe(204);
    expect(sandbox.cells(HOTEL).size).toBe(0);
    expect(sandbox.stats.requests).toBe(0); // control routes are not counted, and draw no faults
  });
});
