/**
 * The Expedia AR sandbox over real HTTP, against Expedia's published documentation (not our
 * client): the published requests change its state; each error family answers with Expedia's
 * code and applies nothing; warnings follow their code's rule (7019/7021 not applied, 7013 raised
 * to the base allocation, 7018 capped, 20 per cause); concurrent requests for one hotel are
 * accepted and recorded; faults change nothing; every answer validates against
 * AvailRateUpdateRS.xsd. Expected values are written out from the publisher's rules and texts
 * (sources: /work/notes/expedia.md §1 and the pages cited in connectors/expedia/sandbox*.ts).
 * Answers are read here with xml2js, not with our client's parser.
 */
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { parseStringPromise } from 'xml2js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildAvailRateUpdateRQ, type ArUpdate } from '../../connectors/expedia/ar-message.ts';
import { ExpediaSandbox } from '../../connectors/expedia/sandbox.ts';
import { sandboxKey } from '../../connectors/outbound/types.ts';
import { waitFor } from '../helpers/wait.ts';
import { schemaErrors } from '../helpers/xml.ts';

const RS_XSD = path.resolve(import.meta.dirname, '../../connectors/expedia/xsd/AvailRateUpdateRS.xsd');
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/expedia');
const NS_2011 = 'http://www.expediaconnect.com/EQC/AR/2011/06';
const NS_2007 = 'http://www.expediaconnect.com/EQC/AR/2007/02';
const NOW = new Date('2027-03-10T09:30:00Z'); // today 2027-03-10: window 2027-03-09 … 2029-03-11 (today + 2 years + 1 day)
const H1 = '7654321';
const H2 = '7654322';
const ACCOUNT = { username: 'stayosdemo', password: 'demo-pass-expedia', hotels: [H1, H2] };
const REF = '683b1aa6-c1b5-11e0-8047-ef7899c6c51b'; // the Ref of the EQC guides' example

const sandbox = new ExpediaSandbox({ accounts: [ACCOUNT], now: () => NOW });
const catalogue = new ExpediaSandbox({
  accounts: [ACCOUNT],
  now: () => NOW,
  products: {
    [H1]: {
      rooms: ['200101', '200102'],
      rates: ['300101', '300102', '300103', '300104', '208502996A'],
      currency: 'EUR',
      pricingModels: { 300101: 'PerDayPricing', 300102: 'OccupancyBasedPricing', 300103: 'PerDayPricingByLengthOfStay', 300104: 'PerDayPricingByDayOfArrival' },
    },
  },
});
// Expedia-side settings: H1 loads net rates (the default), H2 sell/LAR rates.
const verified = new ExpediaSandbox({
  accounts: [ACCOUNT],
  now: () => NOW,
  ref: () => REF,
  thresholds: { [H1]: { 200101: { min: 20, max: 500 }, 32241: { min: 20, max: 500 } }, [H2]: { 200101: { min: '50.00', max: '300' } } },
  rateAcquisition: { [H2]: 'SellLAR' },
  baseAllocation: { [H1]: { 200102: 12 } },
});
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  app = Fastify();
  await app.register(sandbox.plugin, { prefix: '/sandbox/expedia' });
  await app.register(catalogue.plugin, { prefix: '/sandbox/expedia-catalogue' });
  await app.register(verified.plugin, { prefix: '/sandbox/expedia-verified' });
  base = `${await app.listen({ port: 0, host: '127.0.0.1' })}/sandbox`;
});
afterAll(async () => {
  await app.close();
});
beforeEach(() => {
  for (const sb of [sandbox, catalogue, verified]) sb.reset();
});

type Issue = { code: number; message: string };
type RS = { kind: 'success'; warnings: Issue[] } | { kind: 'error'; errors: Issue[] };

/** POSTs an AR message as is. */
async function post(xml: string, init: { signal?: AbortSignal; to?: string; type?: string } = {}) {
  const res = await fetch(`${base}/${init.to ?? 'expedia'}/eqc/ar`, {
    method: 'POST',
    headers: { 'content-type': init.type ?? 'text/xml; charset=utf-8' },
    body: xml,
    signal: init.signal ?? null,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
/** Reads an AvailRateUpdateRS: HTTP 200, valid against Expedia's RS schema, namespace …/AR/2007/02. */
async function readRS(text: string): Promise<RS> {
  expect(schemaErrors(RS_XSD, text)).toBeNull();
  const rs = (await parseStringPromise(text)).AvailRateUpdateRS as any;
  expect(rs.$.xmlns).toBe(NS_2007);
  const issue = (e: { _?: string; $: { code: string } }) => ({ code: Number(e.$.code), message: e._ ?? '' });
  return rs.Success ? { kind: 'success', warnings: (rs.Success[0].Warning ?? []).map(issue) } : { kind: 'error', errors: rs.Error.map(issue) };
}
async function ar(xml: string, init: Parameters<typeof post>[1] = {}): Promise<RS> {
  const res = await post(xml, init);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/xml; charset=utf-8');
  return readRS(res.text);
}
const codes = (rs: RS) => (rs.kind === 'error' ? rs.errors.map((e) => e.code) : []);
const OK: RS = { kind: 'success', warnings: [] };
const control = async (what: string, body?: unknown) => {
  const res = await fetch(
    `${base}/expedia/_control/${what}`,
    body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  return { status: res.status, body: (res.status === 204 ? null : await res.json()) as any };
};

/** An AvailRateUpdateRQ around `body` (AvailRateUpdate elements, or the 2007/02 single group). */
const rq = (body: string, o: { hotel?: string; username?: string; password?: string; ns?: string } = {}) =>
  `<?xml version="1.0" encoding="UTF-8"?><AvailRateUpdateRQ xmlns="${o.ns ?? NS_2011}"><Authentication username="${o.username ?? ACCOUNT.username}" password="${o.password ?? ACCOUNT.password}"/><Hotel id="${o.hotel ?? H1}"/>${body}</AvailRateUpdateRQ>`;
const upd = (from: string, to: string, rooms: string, days = '') => `<AvailRateUpdate><DateRange from="${from}" to="${to}"${days}/>${rooms}</AvailRateUpdate>`;
/** Room type 200101 with one rate plan's PerDay rate (and `extra` after the Rate). */
const perDay = (plan: string, amount: string, extra = '') =>
  `<RoomType id="200101"><RatePlan id="${plan}"><Rate currency="EUR"><PerDay rate="${amount}"/></Rate>${extra}</RatePlan></RoomType>`;
const untouched = (sb = sandbox, hotel = H1) => {
  expect(sb.cells(hotel).size).toBe(0);
  expect(sb.roomAvailability(hotel).size).toBe(0);
};

// Expedia's samples are from 2012: shift them by whole weeks (so sun…sat flags keep their meaning)
// into the accepted window, and give them our account and hotel.
const WEEK = 7 * 86_400_000;
const SHIFT = Math.ceil((Date.parse('2027-03-17') - Date.parse('2012-08-01')) / WEEK) * WEEK;
const d = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + SHIFT).toISOString().slice(0, 10);
const shifted = (xml: string) =>
  xml
    .replace(/(from|to)="(\d{4}-\d\d-\d\d)"/g, (_, k: string, v: string) => `${k}="${d(v)}"`)
    .replace(/<Authentication [^>]*\/>/, `<Authentication username="${ACCOUNT.username}" password="${ACCOUNT.password}"/>`)
    .replace(/<Hotel id="\d+"\/>/, `<Hotel id="${H1}"/>`);
const sampleFile = (n: number) =>
  fs.readFileSync(
    path.join(
      FIXTURES,
      fs.readdirSync(FIXTURES).find((f) => f.startsWith(`ar_${String(n).padStart(2, '0')}_`))!,
    ),
    'utf8',
  );
const sample = (n: number) => shifted(sampleFile(n));

describe('published requests', () => {
  const cell = (room: string, rate: string, night: string) => sandbox.cells(H1).get(sandboxKey(room, rate, d(night)));
  const avail = (room: string, night: string) => sandbox.roomAvailability(H1).get(`${room}|${d(night)}`);
  // One telling check per sample (ar_19 is a request despite its title), and its update count by
  // the EQC guides' rule (one per value, item and stay date). 2012-08-01 was a Wednesday.
  const expectations: Record<number, [number, () => void]> = {
    0: [31, () => expect(avail('558945', '2012-08-31')).toBe(10)], // flexibleAllocation without base allocation: the total
    1: [31, () => expect([avail('558945', '2012-08-15'), avail('558945', '2012-08-16')]).toEqual([10, 20])],
    2: [1, () => expect(avail('16818', '2012-09-26')).toBe(3)],
    3: [3, () => expect([avail('16818', '2012-09-27'), avail('16818', '2012-09-28')]).toEqual([2, 1])],
    4: [3, () => expect([avail('43223', '2012-09-26'), avail('65223', '2012-09-26')]).toEqual([4, 2])],
    // PerOccupancy: 31 nights × (closed + 4 occupancies); the cell shows the lowest occupancy's rate and every occupancy's.
    5: [
      155,
      () => {
        expect(cell('558025', '556895', '2012-08-31')).toEqual({
          closed: false,
          rate: '60.00',
          currency: 'EUR',
          occupancyRates: { 1: '60.00', 2: '100.00', 3: '135.00', 4: '160.00' },
        });
        expect(sandbox.prices(H1).get(sandboxKey('558025', '556895', d('2012-08-31')))).toEqual({
          model: 'PerOccupancy',
          currency: 'EUR',
          values: { 1: '60.00', 2: '100.00', 3: '135.00', 4: '160.00' },
        });
      },
    ],
    6: [25, () => expect([cell('558025', '556895', '2012-08-03')?.rate, cell('558025', '556895', '2012-08-02')]).toEqual(['60.00', undefined])],
    7: [93, () => expect(cell('558945', '556887', '2012-08-01')).toEqual({ closed: false, minLos: 2, maxLos: 14 })],
    8: [4, () => expect(cell('87655', '224454', '2012-12-31')).toEqual({ closedToDeparture: true })],
    // `RatePlan id="556895 "` (trailing space, as published) is rate plan 556895.
    9: [
      2,
      () =>
        expect([cell('558945', '556895', '2012-12-25'), cell('558945', '556895', '2012-12-26')]).toEqual([
          { closedToArrival: true },
          { closedToArrival: false },
        ]),
    ],
    // Fridays, Saturdays and Sundays of August 2012: 13 nights × (inventory, room closed, plan closed, 4 occupancies, 4 restrictions).
    10: [
      143,
      () => {
        expect(cell('9989', '556895', '2012-08-03')).toEqual({
          availability: 10,
          roomClosed: false,
          closed: false,
          rate: '60.00',
          currency: 'EUR',
          occupancyRates: { 1: '60.00', 2: '100.00', 3: '135.00', 4: '160.00' },
          minLos: 2,
          maxLos: 14,
          closedToArrival: false,
          closedToDeparture: true,
        });
        expect(cell('9989', '556895', '2012-08-06')).toBeUndefined(); // a Monday: mon="false"
      },
    ],
    11: [
      2 * 13 * 8,
      () =>
        expect(cell('87655', '543334', '2012-08-04')).toEqual({
          availability: 40,
          roomClosed: false,
          closed: false,
          rate: '59.00',
          currency: 'EUR',
          minLos: 2,
          maxLos: 7,
          closedToArrival: true,
          closedToDeparture: false,
        }),
    ],
    12: [
      10,
      () => {
        expect([cell('32241', '52333', '2012-08-08')?.rate, cell('32241', '23123', '2012-08-02')?.rate]).toEqual(['61.00', '75.00']);
        expect(sandbox.prices(H1).get(sandboxKey('32241', '23123', d('2012-08-02')))).toEqual({
          model: 'PerDay',
          currency: 'EUR',
          values: { 0: '75.00' },
          rateChangeIndicator: true,
        });
      },
    ],
    13: [31, () => expect(cell('558875', '556895', '2012-08-15')).toEqual({ closed: true })],
    // The room type closed (room-level): its rates show it, apart from their own open/closed state.
    14: [31, () => expect(cell('558875', '556895', '2012-08-15')).toEqual({ closed: false, roomClosed: true })],
    // 4×1 inventory + 5×4 occupancies + 5×4 restrictions + 20×(room closed + 2 plans closed)
    15: [
      4 + 20 + 20 + 60,
      () => {
        expect(cell('558875', '556895', '2012-08-05')).toEqual({
          roomClosed: false,
          closed: false,
          rate: '80.50',
          currency: 'EUR',
          occupancyRates: { 1: '80.50', 2: '101.50', 3: '140', 4: '160' },
        });
        expect(cell('558875', '556895', '2012-08-15')).toEqual({
          roomClosed: false,
          closed: false,
          minLos: 2,
          maxLos: 7,
          closedToArrival: false,
          closedToDeparture: false,
        });
        expect(cell('558875', '644891', '2012-08-02')).toEqual({ availability: 10, roomClosed: false, closed: false });
      },
    ],
    // Per-day length-of-stay: the cell shows the 1-night rate; every LOS is kept.
    16: [
      5 * 30,
      () => {
        expect(cell('32241', '23123', '2012-08-05')).toEqual({ rate: '100.00', currency: 'EUR', closedToArrival: false, closedToDeparture: true });
        expect(Object.keys(sandbox.prices(H1).get(sandboxKey('32241', '23123', d('2012-08-05')))!.values)).toHaveLength(28);
      },
    ],
    17: [20, () => expect(cell('32241', '23123', '2012-08-01')?.rate).toBe('111.00')],
    19: [5 * 6 + 10 * 2, () => expect([cell('32241', '52333', '2012-08-01')?.rate, cell('32241', '52333', '2012-08-15')?.rate]).toEqual(['0.00', '61.00'])],
  };

  it('accepts every published AR request, shows what it said and counts its updates', async () => {
    for (const [n, [updates, check]] of Object.entries(expectations)) {
      sandbox.reset();
      // ar_14 closes a room type: open one of its rates first so the closure has something to show on.
      if (n === '14') expect(await ar(sample(13).replace('closed="true"', 'closed="false"'))).toEqual(OK);
      const before = sandbox.stats.updates;
      expect(await ar(sample(Number(n))), `ar_${n}`).toEqual(OK);
      expect(sandbox.stats.updates - before, `ar_${n} updates`).toBe(updates);
      check();
    }
    expect(sandbox.overlaps).toEqual([]);
  });

  it('counts updates as the EQC guides do: one per value, item and stay date', async () => {
    // The guides' two excerpts, verbatim but for the dates: "contains 3 updates", then a year of it.
    const excerpt = (to: string) =>
      `<AvailRateUpdate><DateRange from="2012-08-01" to="${to}"/><RoomType id="9989"><Inventory totalInventoryAvailable="50"/>` +
      '<RatePlan id="556895"><Rate currency="EUR"><PerDay rate="55.00"/></Rate><Restrictions closedToDeparture="true"/></RatePlan></RoomType></AvailRateUpdate>';
    expect(await ar(shifted(rq(excerpt('2012-08-01'))))).toEqual(OK);
    expect(sandbox.stats.updates).toBe(3);
    // The guides call this one "1098 updates … for 366 days", but 2012-08-01 … 2013-07-31 holds 365
    // nights (2013 is no leap year): 3 × 365.
    expect(await ar(shifted(rq(excerpt('2013-07-31'))))).toEqual(OK);
    expect(sandbox.stats.updates).toBe(3 + 1095);
  });

  it('reads both namespaces: 2007/02 as the single group only, 2011/06 in either form', async () => {
    const group = '<DateRange from="2027-03-10" to="2027-03-11"/><RoomType id="200101"><Inventory totalInventoryAvailable="3"/></RoomType>';
    expect(await ar(rq(group, { ns: NS_2007 }))).toEqual(OK);
    expect(await ar(rq(group, { ns: NS_2011 }).replace('2027-03-11', '2027-03-12'))).toEqual(OK);
    expect(sandbox.roomAvailability(H1)).toEqual(
      new Map([
        ['200101|2027-03-10', 3],
        ['200101|2027-03-11', 3],
        ['200101|2027-03-12', 3],
      ]),
    );
    expect(codes(await ar(rq(`<AvailRateUpdate>${group}</AvailRateUpdate>`, { ns: NS_2007 })))).toEqual([3010]);
    // [EQC guides] 2010 "The namespace specified is invalid."
    expect(await ar(rq(group, { ns: 'http://www.expediaconnect.com/EQC/AR/2009/01' }))).toEqual({
      kind: 'error',
      errors: [{ code: 2010, message: 'The namespace specified is invalid.' }],
    });
    expect(codes(await ar(rq(group).replace(` xmlns="${NS_2011}"`, '')))).toEqual([2010]);
  });

  it('day-of-week flags: none given is every day; once one is given, only the days set true (EQC reference and guides)', async () => {
    // 2027-03-10 is a Wednesday; 03-13 a Saturday.
    expect(await ar(rq(upd('2027-03-10', '2027-03-16', '<RoomType id="200101"><Inventory totalInventoryAvailable="5"/></RoomType>', ' sat="true"')))).toEqual(
      OK,
    );
    expect(sandbox.roomAvailability(H1)).toEqual(new Map([['200101|2027-03-13', 5]]));
    // Only mon="false": no day is set true, so nothing is updated (the XSD's reading would update six days).
    const rs = await ar(rq(upd('2027-03-10', '2027-03-16', '<RoomType id="200101"><Inventory totalInventoryAvailable="6"/></RoomType>', ' mon="false"')));
    expect(rs).toEqual({ kind: 'error', errors: [{ code: 3015, message: 'Business validation error: No updates provided in ICPRUpdateMessage.' }] });
  });

  it("our builder's messages: accepted when each value is sent once; conflicting duplicates are 3108", async () => {
    const auth = { username: ACCOUNT.username, password: ACCOUNT.password, hotelId: H1 };
    const updates: ArUpdate[] = [
      { from: '2027-03-10', to: '2027-03-14', roomTypeId: '200101', availability: 4 },
      {
        from: '2027-03-10',
        to: '2027-03-14',
        roomTypeId: '200101',
        ratePlan: {
          id: '300101',
          closed: false,
          rate: { amount: '129.50', currency: 'EUR' },
          restrictions: { minLos: 2, maxLos: 14, closedToArrival: true, closedToDeparture: false },
        },
      },
      { from: '2027-03-15', to: '2027-03-15', roomTypeId: '200101', availability: 0, ratePlan: { id: '300102', closed: true } },
    ];
    expect(await ar(buildAvailRateUpdateRQ(auth, updates), { type: 'application/xml' })).toEqual(OK);
    expect(sandbox.cells(H1).get(sandboxKey('200101', '300101', '2027-03-12'))).toEqual({
      availability: 4,
      rate: '129.50',
      currency: 'EUR',
      closed: false,
      minLos: 2,
      maxLos: 14,
      closedToArrival: true,
      closedToDeparture: false,
    });
    expect(sandbox.cells(H1).get(sandboxKey('200101', '300102', '2027-03-15'))).toEqual({ availability: 0, closed: true });
    expect(sandbox.stats).toMatchObject({ requests: 1, accepted: 1, rejected: 0, updates: 5 + 5 * 6 + 2 });
    const state = await control(`state?hotel=${H1}`);
    expect(state.body.cells[sandboxKey('200101', '300101', '2027-03-10')]).toMatchObject({ rate: '129.50', availability: 4 });
    expect(state.body.rooms['200101|2027-03-15']).toBe(0);

    // Availability 4 over 03-10…03-20 and 0 on 03-15 in one message: the same product and date twice, conflicting.
    sandbox.reset();
    const rs = await ar(
      buildAvailRateUpdateRQ(auth, [
        { from: '2027-03-10', to: '2027-03-20', roomTypeId: '200101', availability: 4 },
        { from: '2027-03-15', to: '2027-03-15', roomTypeId: '200101', availability: 0 },
      ]),
    );
    expect(rs).toEqual({
      kind: 'error',
      errors: [{ code: 3108, message: 'Duplicate Updates in the same message - inventory for Room Type ID 200101; Inventory date 2027-03-15' }],
    });
    untouched();
    // The same value twice is no conflict.
    expect(
      await ar(
        buildAvailRateUpdateRQ(auth, [
          { from: '2027-03-10', to: '2027-03-20', roomTypeId: '200101', availability: 4 },
          { from: '2027-03-15', to: '2027-03-15', roomTypeId: '200101', availability: 4 },
        ]),
      ),
    ).toEqual(OK);
  });
});

describe("warnings: each code's rule for the item it names", () => {
  const to = 'expedia-verified';
  const rate = (night: string, hotel = H1) => verified.cells(hotel).get(sandboxKey('200101', '300101', night));
  const threshold = (night: string, name: string, amount: string, extra = '') =>
    `Inventory date ${night}; Room Type ID 200101; Rate Plan ID 300101; ${extra}${name} ${amount} must be within rate verification threshold: [<minRateThreshold>20.0000, <maxRateThreshold>500.0000], currencyCode:EUR. Ref=[${REF}]`;

  it('7019 (net rate outside the verification threshold): that rate is not applied, everything else is; bounds are inside', async () => {
    expect(await ar(rq(upd('2027-03-10', '2027-03-14', perDay('300101', '99.00'))), { to })).toEqual(OK);
    const rs = await ar(
      rq(
        upd('2027-03-12', '2027-03-12', perDay('300101', '10.5', '<Restrictions closedToArrival="true"/>')) +
          upd('2027-03-13', '2027-03-13', perDay('300101', '20')) +
          upd('2027-03-14', '2027-03-14', perDay('300101', '500.000')),
      ),
      { to },
    );
    expect(rs).toEqual({
      kind: 'success',
      warnings: [{ code: 7019, message: `Warning 1 out of 1 for this cause. ${threshold('2027-03-12', 'Net rate', '10.5000')}` }],
    });
    expect(rate('2027-03-12')).toEqual({ rate: '99.00', currency: 'EUR', closedToArrival: true }); // the old rate stays; the restriction went in
    expect([rate('2027-03-13')?.rate, rate('2027-03-14')?.rate]).toEqual(['20', '500.000']);
    expect(verified.stats).toMatchObject({ accepted: 2, warnings: 1 });
  });

  it('a PerOccupancy warning names its occupancy; the other occupancies are applied', async () => {
    const rs = await ar(
      rq(
        upd(
          '2027-03-10',
          '2027-03-10',
          '<RoomType id="200101"><RatePlan id="300101"><Rate currency="EUR"><PerOccupancy rate="15.00" occupancy="1"/><PerOccupancy rate="120.00" occupancy="2"/></Rate></RatePlan></RoomType>',
        ),
      ),
      { to },
    );
    expect(rs).toEqual({
      kind: 'success',
      warnings: [{ code: 7019, message: `Warning 1 out of 1 for this cause. ${threshold('2027-03-10', 'Net rate', '15.0000', 'Occupancy 1; ')}` }],
    });
    expect(verified.prices(H1).get(sandboxKey('200101', '300101', '2027-03-10'))).toEqual({ model: 'PerOccupancy', currency: 'EUR', values: { 2: '120.00' } });
  });

  it('7021 on a property loading sell/LAR rates', async () => {
    const rs = await ar(rq(upd('2027-03-10', '2027-03-10', perDay('300101', '301.000')), { hotel: H2 }), { to });
    expect(rs).toEqual({
      kind: 'success',
      warnings: [
        {
          code: 7021,
          message: `Warning 1 out of 1 for this cause. Inventory date 2027-03-10; Room Type ID 200101; Rate Plan ID 300101; Sell/LAR rate 301.0000 must be within rate verification threshold: [<minRateThreshold>50.0000, <maxRateThreshold>300.0000], currencyCode:EUR. Ref=[${REF}]`,
        },
      ],
    });
    expect(rate('2027-03-10', H2)).toEqual({});
  });

  it('at most 20 warnings per cause, the 20th saying how many more were not returned; none of the 25 rates applied', async () => {
    // 2027-03-10 … 2027-04-03 is 25 nights.
    const rs = await ar(rq(upd('2027-03-10', '2027-04-03', perDay('300101', '5.00', '<Restrictions minLOS="2"/>'))), { to });
    const nights = [
      '2027-03-10',
      '2027-03-11',
      '2027-03-12',
      '2027-03-13',
      '2027-03-14',
      '2027-03-15',
      '2027-03-16',
      '2027-03-17',
      '2027-03-18',
      '2027-03-19',
      '2027-03-20',
      '2027-03-21',
      '2027-03-22',
      '2027-03-23',
      '2027-03-24',
      '2027-03-25',
      '2027-03-26',
      '2027-03-27',
      '2027-03-28',
      '2027-03-29',
    ];
    expect(rs).toEqual({
      kind: 'success',
      warnings: nights.map((night, i) => ({
        code: 7019,
        message: `Warning ${i + 1} out of 25 for this cause. ${i === 19 ? 'Remaining 5 warnings will not be returned, we recommend that you address this problem and resubmit this request afterwards. ' : ''}${threshold(night, 'Net rate', '5.0000')}`,
      })),
    });
    // The 20th, written out in full.
    expect(rs.kind === 'success' && rs.warnings[19]!.message).toBe(
      `Warning 20 out of 25 for this cause. Remaining 5 warnings will not be returned, we recommend that you address this problem and resubmit this request afterwards. Inventory date 2027-03-29; Room Type ID 200101; Rate Plan ID 300101; Net rate 5.0000 must be within rate verification threshold: [<minRateThreshold>20.0000, <maxRateThreshold>500.0000], currencyCode:EUR. Ref=[${REF}]`,
    );
    expect(rate('2027-04-03')).toEqual({ minLos: 2 }); // the 25th rate, unreported, is not applied either
    expect([...verified.cells(H1).values()].filter((c) => c.rate !== undefined)).toEqual([]);
    expect(verified.stats.warnings).toBe(25);
  });

  it("ar_19 against a threshold warns on the items Expedia's ar_20 names (there with code 7013; the guides' table says 7019)", async () => {
    const rs = await ar(sample(19), { to });
    const items = (list: Issue[], re: RegExp) => list.map((w) => re.exec(w.message)!.slice(1));
    const ours =
      rs.kind === 'success'
        ? items(rs.warnings, /Inventory date (\S+); Room Type ID (\d+); Rate Plan ID (\d+);/).map(([night, room, plan]) => [room, plan, night])
        : [];
    const ar20 = await readRS(sampleFile(20));
    const published = items(ar20.kind === 'success' ? ar20.warnings : [], /\[Room Type ID (\d+); Rate Plan ID (\d+); Stay Date (\S+)\]/).map(
      ([room, plan, night]) => [room, plan, d(night!)],
    );
    expect(published).toHaveLength(10);
    expect(ours).toEqual(published);
    expect(rs.kind === 'success' && rs.warnings.map((w) => w.code)).toEqual(Array(10).fill(7019));
    expect(verified.cells(H1).get(sandboxKey('32241', '23123', d('2012-08-01')))).toEqual({ closedToArrival: false, closedToDeparture: true });
    expect(verified.cells(H1).get(sandboxKey('32241', '23123', d('2012-08-06')))?.rate).toBe('71.00');
  });

  it('7013: a total below the base allocation is applied, raised to it', async () => {
    const rs = await ar(rq(upd('2027-03-10', '2027-03-11', '<RoomType id="200102"><Inventory totalInventoryAvailable="5"/></RoomType>')), { to });
    const text = (night: string) =>
      `Inventory date ${night}; Room Type ID 200102; Unable to set total inventory below the current base allocation value (12). Update will be modified to cap reduction to base allocation level. Ref=[${REF}]`;
    expect(rs).toEqual({
      kind: 'success',
      warnings: [
        { code: 7013, message: `Warning 1 out of 2 for this cause. ${text('2027-03-10')}` },
        { code: 7013, message: `Warning 2 out of 2 for this cause. ${text('2027-03-11')}` },
      ],
    });
    expect(verified.roomAvailability(H1)).toEqual(
      new Map([
        ['200102|2027-03-10', 12],
        ['200102|2027-03-11', 12],
      ]),
    );
    expect(await ar(rq(upd('2027-03-10', '2027-03-10', '<RoomType id="200102"><Inventory totalInventoryAvailable="15"/></RoomType>')), { to })).toEqual(OK);
    expect(verified.roomAvailability(H1).get('200102|2027-03-10')).toBe(15);
  });

  it('7018: base + flexible allocation above 4999 is applied, capped at 4999; flexible is on top of the base', async () => {
    const rs = await ar(rq(upd('2027-03-10', '2027-03-10', '<RoomType id="200102"><Inventory flexibleAllocation="4990"/></RoomType>')), { to });
    expect(rs).toEqual({
      kind: 'success',
      warnings: [
        {
          code: 7018,
          message: `Warning 1 out of 1 for this cause. Inventory date 2027-03-10; Room Type ID 200102; Base Availability request adjusted to prevent total availability from exceeding the system maximum. Ref=[${REF}]`,
        },
      ],
    });
    expect(verified.roomAvailability(H1).get('200102|2027-03-10')).toBe(4999);
    expect(
      await ar(
        rq(
          upd(
            '2027-03-11',
            '2027-03-11',
            '<RoomType id="200102"><Inventory flexibleAllocation="10"/></RoomType><RoomType id="200101"><Inventory flexibleAllocation="10"/></RoomType>',
          ),
        ),
        { to },
      ),
    ).toEqual(OK);
    expect([verified.roomAvailability(H1).get('200102|2027-03-11'), verified.roomAvailability(H1).get('200101|2027-03-11')]).toEqual([22, 10]);
  });

  it('7010: a room type with base allocation left is not closed', async () => {
    const rs = await ar(rq(upd('2027-03-10', '2027-03-10', '<RoomType id="200102" closed="true"/>')), { to });
    expect(rs).toEqual({
      kind: 'success',
      warnings: [
        {
          code: 7010,
          message: `Warning 1 out of 1 for this cause. Inventory date 2027-03-10; Room Type ID 200102; Room type cannot be closed because there is base allocation remaining on the room. Ref=[${REF}]`,
        },
      ],
    });
    expect(verified.cells(H1).size).toBe(0);
  });

  it('7016: a MinLOS above the stored MaxLOS is not applied; causes are numbered apart, in order of first appearance', async () => {
    expect(
      await ar(rq(upd('2027-03-10', '2027-03-10', '<RoomType id="200101"><RatePlan id="300101"><Restrictions maxLOS="5"/></RatePlan></RoomType>')), { to }),
    ).toEqual(OK);
    const rs = await ar(
      rq(
        upd(
          '2027-03-10',
          '2027-03-10',
          '<RoomType id="200102"><Inventory totalInventoryAvailable="1"/></RoomType><RoomType id="200101"><RatePlan id="300101"><Restrictions minLOS="7"/></RatePlan></RoomType>',
        ),
      ),
      { to },
    );
    expect(rs).toEqual({
      kind: 'success',
      warnings: [
        {
          code: 7013,
          message: `Warning 1 out of 1 for this cause. Inventory date 2027-03-10; Room Type ID 200102; Unable to set total inventory below the current base allocation value (12). Update will be modified to cap reduction to base allocation level. Ref=[${REF}]`,
        },
        {
          code: 7016,
          message: `Warning 1 out of 1 for this cause. Inventory date 2027-03-10; Room Type ID 200101; Rate Plan ID 300101; MaxLOS value (5) smaller than the MinLOS value (7). Ref=[${REF}]`,
        },
      ],
    });
    expect(rate('2027-03-10')).toEqual({ maxLos: 5 });
  });
});

describe('errors: nothing applied', () => {
  it('wrong credentials → 1001; a hotel the account is not linked to → 3202', async () => {
    const group = upd('2027-03-10', '2027-03-10', '<RoomType id="200101"><Inventory totalInventoryAvailable="1"/></RoomType>');
    const auth = { kind: 'error', errors: [{ code: 1001, message: 'Authentication error: invalid username or password.' }] };
    expect(await ar(rq(group, { password: 'wrong-password' }))).toEqual(auth);
    expect(await ar(rq(group, { username: 'someoneelse' }))).toEqual(auth);
    expect(await ar(rq(group, { username: ACCOUNT.username.toUpperCase() }))).toEqual(auth); // case sensitive
    expect(await ar(rq(group, { hotel: '1111111' }))).toEqual({
      kind: 'error',
      errors: [{ code: 3202, message: 'Hotel ID not found. You either specified an invalid hotel ID or your account is not linked to this hotel.' }],
    });
    untouched();
    untouched(sandbox, '1111111');
    expect(sandbox.stats).toMatchObject({ requests: 4, accepted: 0, rejected: 4 });
  });

  it('more than 5,000 updates → 3107 (5,000 pass), counted per value and stay date', async () => {
    // 10 nights × 100 rate plans × (closed + 4 restrictions) = 5,000 updates in ~13 KB.
    const plans = Array.from(
      { length: 100 },
      (_, i) =>
        `<RatePlan id="${300001 + i}" closed="false"><Restrictions minLOS="1" maxLOS="28" closedToArrival="false" closedToDeparture="false"/></RatePlan>`,
    ).join('');
    const full = upd('2027-03-10', '2027-03-19', `<RoomType id="200101">${plans}</RoomType>`);
    const one = upd('2027-03-10', '2027-03-10', '<RoomType id="200102" closed="false"/>');
    expect(await ar(rq(full + one))).toEqual({
      kind: 'error',
      errors: [{ code: 3107, message: 'Update exceeds allowable size - Maximum allowable size is 5000 updates' }],
    });
    untouched();
    expect(await ar(rq(full))).toEqual(OK);
    expect(sandbox.stats.updates).toBe(5_000);
  });

  it('more than 100 KB → 3405 (102,400 bytes pass)', async () => {
    const small = rq(upd('2027-03-10', '2027-03-10', '<RoomType id="200101"><Inventory totalInventoryAvailable="2"/></RoomType>'));
    const padded = (bytes: number) => small.replace('?>', `?><!--${'x'.repeat(bytes - Buffer.byteLength(small) - 7)}-->`);
    expect(Buffer.byteLength(padded(102_401))).toBe(102_401);
    expect(await ar(padded(102_401))).toEqual({ kind: 'error', errors: [{ code: 3405, message: 'Message size limit exceeded.' }] });
    untouched();
    expect(await ar(padded(102_400))).toEqual(OK);
  });

  it('dates: from yesterday (3020) to today + 2 years + 1 day (3022), from ≤ to (3021), one Error per code in code order', async () => {
    const on = (from: string, to = from) => upd(from, to, '<RoomType id="200101"><Inventory totalInventoryAvailable="2"/></RoomType>');
    expect(await ar(rq(on('2029-03-12') + on('2027-03-12', '2027-03-11') + on('2027-03-08')))).toEqual({
      kind: 'error',
      errors: [
        { code: 3020, message: 'Validation error: start date must not be before yesterday.' },
        { code: 3021, message: 'Validation error: end date must not be before start date.' },
        { code: 3022, message: 'Validation error: end date must be within 2 years range.' },
      ],
    });
    untouched();
    expect(await ar(rq(on('2027-03-09') + on('2029-03-11')))).toEqual(OK);
    expect(sandbox.roomAvailability(H1)).toEqual(
      new Map([
        ['200101|2027-03-09', 2],
        ['200101|2029-03-11', 2],
      ]),
    );
  });

  it('business rules: 3015 (MaxLOS < MinLOS, no update, rates without currency), 3026 (both allocations)', async () => {
    const room = (inner: string) => rq(upd('2027-03-10', '2027-03-10', `<RoomType id="200101">${inner}</RoomType>`));
    const business = (what: string) => ({ kind: 'error', errors: [{ code: 3015, message: `Business validation error: ${what}.` }] });
    expect(await ar(room('<RatePlan id="300101"><Restrictions minLOS="5" maxLOS="3"/></RatePlan>'))).toEqual(
      business('MaxLOS value (3) smaller than the MinLOS value (5)'),
    );
    // The same contradiction spread over two AvailRateUpdates of one request.
    expect(
      codes(
        await ar(
          rq(
            upd('2027-03-10', '2027-03-10', '<RoomType id="200101"><RatePlan id="300101"><Restrictions minLOS="5"/></RatePlan></RoomType>') +
              upd('2027-03-10', '2027-03-10', '<RoomType id="200101"><RatePlan id="300101"><Restrictions maxLOS="3"/></RatePlan></RoomType>'),
          ),
        ),
      ),
    ).toEqual([3015]);
    expect(await ar(room('<RatePlan id="300101"/>'))).toEqual(business('No updates provided in ICPRUpdateMessage'));
    expect(await ar(room('<RatePlan id="300101"><Rate><PerDay rate="100"/></Rate></RatePlan>'))).toEqual(
      business('Rate for Rate Plan ID 300101 has rates but no currency'),
    );
    expect(await ar(room('<Inventory flexibleAllocation="1" totalInventoryAvailable="2"/>'))).toEqual({
      kind: 'error',
      errors: [{ code: 3026, message: 'Flexible and total allocation cannot be sent together for roomType.' }],
    });
    untouched();
  });

  it('not well-formed → 2002; against the schema → 3010 naming what failed', async () => {
    const rs = await ar('<AvailRateUpdateRQ><oops');
    expect(codes(rs)).toEqual([2002]);
    expect(rs.kind === 'error' && rs.errors[0]!.message).toMatch(/^Parsing error: /);
    const room = (inner: string, o: Parameters<typeof rq>[1] = {}) => rq(upd('2027-03-10', '2027-03-10', `<RoomType id="200101">${inner}</RoomType>`), o);
    const schema = async (xml: string, what: RegExp) => {
      const r = await ar(xml);
      expect(codes(r)).toEqual([3010]);
      expect(r.kind === 'error' && r.errors[0]!.message).toMatch(what);
    };
    await schema(
      room('<Inventory totalInventoryAvailable="1"/>', { password: 'short' }),
      /^Validation against schema failed: Authentication\[0\]\/@password: /,
    );
    await schema(room('<Inventory totalInventoryAvailable="5000"/>'), /AvailRateUpdate\[0\]\/RoomType\[0\]\/Inventory\[0\]\/@totalInventoryAvailable/);
    await schema(
      room('<RatePlan id="300101" closed="true"/><Inventory totalInventoryAvailable="1"/>'),
      /RoomType\[0\]: content \(RatePlan, Inventory\) does not match the schema's \(Inventory\?, RatePlan\*\)/,
    );
    await schema(room('<Inventory totalInventoryAvailable="1"/><Extra/>'), /content \(Inventory, Extra\)/);
    await schema(room('<RatePlan id="300101"><Rate currency="EUR"><PerDay rate="1.0005"/></Rate></RatePlan>'), /@rate: has more than 3 fraction digits/);
    await schema(room('<Inventory totalInventoryAvailable="1" rooms="3"/>'), /Inventory\[0\]/);
    await schema(room(`<RatePlan id="${'1'.repeat(51)}" closed="true"/>`), /RatePlan\[0\]\/@id/);
    untouched();
  });

  it("with a catalogue: 3202 (hotel), 3203/3204 in sample ar_21's wording, ids are strings of 1–50 characters", async () => {
    const to = 'expedia-catalogue';
    const group = (room: string, plan: string) => upd('2027-03-10', '2027-03-10', `<RoomType id="${room}"><RatePlan id="${plan}" closed="true"/></RoomType>`);
    expect(codes(await ar(rq(group('200101', '300101'), { hotel: H2 }), { to }))).toEqual([3202]);
    expect(await ar(rq(group('200101', '300101') + group('999', '888') + group('DBL', '777')), { to })).toEqual({
      kind: 'error',
      errors: [
        { code: 3203, message: 'The following RoomTypeIDs do not belong to the given hotel: 999, DBL.' },
        { code: 3204, message: 'The following RatePlanIDs do not belong to the given hotel: 888, 777.' },
      ],
    });
    untouched(catalogue);
    // A Hotel Collect rate plan id ("A" suffix) is an id like any other.
    expect(await ar(rq(group('200101', '208502996A')), { to })).toEqual(OK);
    expect(await ar(rq(upd('2027-03-10', '2027-03-10', '<RoomType id="200101"><Inventory totalInventoryAvailable="4"/></RoomType>')), { to })).toEqual(OK);
    // Availability shows on every catalogue rate of the room.
    expect(catalogue.cells(H1).get(sandboxKey('200101', '300102', '2027-03-10'))).toEqual({ availability: 4 });
  });

  it("with a catalogue: currency (3103) and the rate plan's pricing model (3090, 3123, 3124, 3125)", async () => {
    const to = 'expedia-catalogue';
    const plan = (id: string, rate: string) => rq(upd('2027-03-10', '2027-03-10', `<RoomType id="200101"><RatePlan id="${id}">${rate}</RatePlan></RoomType>`));
    const fails = (code: number, message: string) => ({ kind: 'error', errors: [{ code, message }] });
    expect(await ar(plan('300101', '<Rate currency="USD"><PerDay rate="100"/></Rate>'), { to })).toEqual(fails(3103, 'Currency code mismatch.'));
    expect(await ar(plan('300101', '<Rate currency="EUR"><PerOccupancy rate="100" occupancy="2"/></Rate>'), { to })).toEqual(
      fails(3090, 'Pricing models mismatch: you tried to update a price for OccupancyBasedPricing, but your property is configured to use PerDayPricing.'),
    );
    expect(await ar(plan('300102', '<Rate currency="EUR"><PerDay rate="100"/></Rate>'), { to })).toEqual(
      fails(3090, 'Pricing models mismatch: you tried to update a price for PerDayPricing, but your property is configured to use OccupancyBasedPricing.'),
    );
    expect(await ar(plan('300103', '<Rate currency="EUR"><PerDay rate="100"/></Rate>'), { to })).toEqual(
      fails(3123, 'Length of stay has to be provided for the Rate Plans with LOS enabled'),
    );
    expect(await ar(plan('300101', '<Rate currency="EUR" lengthOfStay="1"><PerDay rate="100"/></Rate>'), { to })).toEqual(
      fails(3124, 'Length of stay attribute can only be set on Rate Plans with LOS enabled'),
    );
    expect(await ar(plan('300101', '<Rate currency="EUR" rateChangeIndicator="true"><PerDay rate="100"/></Rate>'), { to })).toEqual(
      fails(3125, 'Field not accessible for edit for this hotel and source - rateChangeIndicator'),
    );
    untouched(catalogue);
    // What fits is accepted: length-of-stay rates (a partial set, as the EQC guides allow), day-of-arrival indicator, occupancy rates.
    expect(
      await ar(
        plan('300103', '<Rate currency="EUR" lengthOfStay="7"><PerDay rate="90"/></Rate><Rate currency="EUR" lengthOfStay="8"><PerDay rate="85"/></Rate>'),
        { to },
      ),
    ).toEqual(OK);
    expect(await ar(plan('300104', '<Rate rateChangeIndicator="true"/>'), { to })).toEqual(OK);
    expect(await ar(plan('300102', '<Rate currency="EUR"><PerOccupancy rate="100" occupancy="2"/></Rate>'), { to })).toEqual(OK);
    expect(catalogue.prices(H1).get(sandboxKey('200101', '300103', '2027-03-10'))).toEqual({
      model: 'PerDayLengthOfStay',
      currency: 'EUR',
      values: { 7: '90', 8: '85' },
    });
    expect(catalogue.prices(H1).get(sandboxKey('200101', '300104', '2027-03-10'))).toEqual({ values: {}, rateChangeIndicator: true });
  });
});

describe('concurrency: accepted, and recorded', () => {
  const slow = async (slowMs: number) => expect((await control('faults', { rates: { slow: 1 }, slowMs })).status).toBe(200);
  const avail = (n: number) => rq(upd('2027-03-10', '2027-03-10', `<RoomType id="200101"><Inventory totalInventoryAvailable="${n}"/></RoomType>`));

  it('a request overlapping another for the same hotel is accepted (EG, Dec 1, 2020) and recorded; they apply as they finish', async () => {
    await slow(800);
    const first = ar(avail(4));
    await waitFor(() => sandbox.inFlight(H1) === 1, { what: 'the first request in flight' });
    const second = ar(avail(9));
    await waitFor(() => sandbox.inFlight(H1) === 2, { what: 'both in flight' });
    expect(await Promise.all([first, second])).toEqual([OK, OK]);
    expect(sandbox.overlaps).toEqual([{ hotel: H1, at: expect.any(String) }]);
    expect(sandbox.roomAvailability(H1).get('200101|2027-03-10')).toBe(9); // the second finished last
    expect(sandbox.inFlight(H1)).toBe(0);
    expect((await control('stats')).body).toMatchObject({ overlaps: [{ hotel: H1 }], accepted: 2, rejected: 0 });
  });

  it('requests for two hotels in parallel do not overlap', async () => {
    await slow(800);
    const both = Promise.all([
      ar(avail(4)),
      ar(rq(upd('2027-03-10', '2027-03-10', '<RoomType id="200101"><Inventory totalInventoryAvailable="4"/></RoomType>'), { hotel: H2 })),
    ]);
    await waitFor(() => sandbox.inFlight(H1) === 1 && sandbox.inFlight(H2) === 1, { what: 'both in flight at once' });
    expect(await both).toEqual([OK, OK]);
    expect(sandbox.overlaps).toEqual([]);
    expect(sandbox.roomAvailability(H2).size).toBe(1);
  });

  it('a client that gives up ends its slot; its update is not applied', async () => {
    await slow(60_000);
    const abort = new AbortController();
    const gaveUp = post(avail(9), { signal: abort.signal });
    await waitFor(() => sandbox.inFlight(H1) === 1, { what: 'the request in flight' });
    abort.abort();
    await expect(gaveUp).rejects.toThrow(/abort/i);
    await waitFor(() => sandbox.inFlight(H1) === 0, { what: 'the slot released' });
    await control('faults', {});
    expect(await ar(avail(4))).toEqual(OK);
    expect(sandbox.overlaps).toEqual([]);
    expect(sandbox.roomAvailability(H1).get('200101|2027-03-10')).toBe(4);
  });
});

describe('faults', () => {
  const message = rq(upd('2027-03-10', '2027-03-10', '<RoomType id="200101"><Inventory totalInventoryAvailable="4"/></RoomType>'));

  it('each fault kind answers as planned and changes nothing', async () => {
    type Res = Awaited<ReturnType<typeof post>>;
    const cases = [
      { kind: 'http5xx', check: (r: Res) => expect([r.status, r.headers.get('content-type')]).toEqual([503, 'text/html']) },
      { kind: 'tooMany', check: (r: Res) => expect([r.status, r.headers.get('retry-after')]).toEqual([429, '7']) },
      { kind: 'timeout', check: (r: Res) => expect(r.status).toBe(504) },
      {
        kind: 'malformed',
        check: async (r: Res) => {
          expect(r.status).toBe(200);
          expect(schemaErrors(RS_XSD, r.text)).not.toBeNull();
          await expect(parseStringPromise(r.text)).rejects.toThrow();
        },
      },
      {
        kind: 'otaError',
        check: async (r: Res) =>
          expect(await readRS(r.text)).toEqual({
            kind: 'error',
            errors: [{ code: 4000, message: 'Internal system error, please try again in a few minutes.' }],
          }),
      },
    ];
    for (const { kind, check } of cases) {
      expect((await control('faults', { rates: { [kind]: 1 }, retryAfterSeconds: 7, timeoutMs: 30 })).status).toBe(200);
      await check(await post(message));
      untouched();
      expect(sandbox.faults.injected[kind as keyof typeof sandbox.faults.injected]).toBe(1);
    }
    await control('faults', { authFailure: true });
    expect(codes(await ar(message))).toEqual([1001]);
    untouched();
    expect(sandbox.stats.accepted).toBe(0);
  });

  it('the control API refuses a bad plan, resets, and needs a hotel for state', async () => {
    const bad = await control('faults', { rates: { http5xx: 0.7, tooMany: 0.7 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/add up to at most 1/);
    expect((await control('state')).status).toBe(400);
    expect(await ar(message)).toEqual(OK);
    expect((await control('reset', {})).status).toBe(204);
    untouched();
    expect((await control('stats')).body).toMatchObject({ requests: 0, accepted: 0, warnings: 0, overlaps: [], inFlight: {} });
  });

  it('closing the server ends a held request at once (no hanging app.close)', async () => {
    const held = new ExpediaSandbox({ accounts: [ACCOUNT], now: () => NOW, faults: { rates: { timeout: 1 }, timeoutMs: 600_000 } });
    const other = Fastify();
    await other.register(held.plugin, { prefix: '/x' });
    const url = await other.listen({ port: 0, host: '127.0.0.1' });
    const pending = fetch(`${url}/x/eqc/ar`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: message });
    await waitFor(() => held.inFlight(H1) === 1, { what: 'the held request' });
    await other.close();
    expect((await pending).status).toBe(504);
    expect(held.inFlight(H1)).toBe(0);
    untouched(held);
  }, 10_000);
});
