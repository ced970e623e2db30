/**
 * Issue 18 on Expedia (EQC AR): occupancy-based prices (`Rate/PerOccupancy`), the room type's own
 * close (`RoomType@closed`), and which minimum/maximum stay `minLOS`/`maxLOS` carry (the
 * property's arrival or stay-through setting). Expected values come from the publisher — the
 * vendored XSD, Expedia's samples ar_10/ar_13/ar_14, and the EQC AR guides
 * (https://expediaconnectivity.com/apis/availability-rates-restrictions-booking-notification-retrieval-and-confirmation/expedia-quickconnect-avail-rates-api/guides.html):
 * "Counting how many updates are included in a message", "Arrival VS stay-through", 3090's and
 * 7009's texts, "The AR API currently doesn't support removal of occupancies" — never from our
 * builders.
 */
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { parseStringPromise } from 'xml2js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expediaAdapter } from '../../connectors/expedia/adapter.ts';
import { arUpdateCount, buildAvailRateUpdateRQ, type ArUpdate } from '../../connectors/expedia/ar-message.ts';
import { expediaConnector, plan } from '../../connectors/expedia/client.ts';
import { ExpediaSandbox } from '../../connectors/expedia/sandbox.ts';
import { readWarnings } from '../../connectors/expedia/warnings.ts';
import type { PushCell } from '../../connectors/outbound/connector.ts';
import { checkSettings } from '../../connectors/outbound/settings.ts';
import type { AriValues } from '../../connectors/outbound/sql/ari.ts';
import { sandboxKey } from '../../connectors/outbound/types.ts';
import { schemaErrors as validate } from '../helpers/xml.ts';

const XSD = path.resolve(import.meta.dirname, '../../connectors/expedia/xsd/AvailRateUpdateRQ.xsd');
const SAMPLES = path.resolve(import.meta.dirname, '../../../shared/ota/expedia-samples');
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/expedia');
const schemaErrors = (xml: string) => validate(XSD, xml);
const NOW = new Date('2027-03-10T09:30:00Z');
const H1 = '7654321';
const ACCOUNT = { username: 'stayosdemo', password: 'demo-pass-expedia', hotels: [H1] };
const auth = { username: ACCOUNT.username, password: ACCOUNT.password, hotelId: H1 };
const REF = '683b1aa6-c1b5-11e0-8047-ef7899c6c51b';

/** A published sample, from ../shared (the fixtures' copies carry a source comment). */
const sampleText = (n: number) => {
  const prefix = `ar_${String(n).padStart(2, '0')}_`;
  const dir = fs.existsSync(SAMPLES) ? SAMPLES : FIXTURES;
  return fs.readFileSync(
    path.join(
      dir,
      fs.readdirSync(dir).find((f) => f.startsWith(prefix))!,
    ),
    'utf8',
  );
};
// Samples are from 2012: shifted by whole weeks (so the sun…sat flags keep their meaning) into the window, with our account and hotel.
const WEEK = 7 * 86_400_000;
const SHIFT = Math.ceil((Date.parse('2027-03-17') - Date.parse('2012-08-01')) / WEEK) * WEEK;
const d = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + SHIFT).toISOString().slice(0, 10);
const shifted = (xml: string) =>
  xml
    .replace(/(from|to)="(\d{4}-\d\d-\d\d)"/g, (_, k: string, v: string) => `${k}="${d(v)}"`)
    .replace(/<Authentication [^>]*\/>/, `<Authentication username="${ACCOUNT.username}" password="${ACCOUNT.password}"/>`)
    .replace(/<Hotel id="\d+"\/>/, `<Hotel id="${H1}"/>`);
const sample = (n: number) => shifted(sampleText(n));
const parsed = async (xml: string) => (await parseStringPromise(xml)).AvailRateUpdateRQ as any;

describe('AvailRateUpdateRQ: PerOccupancy and RoomType@closed', () => {
  it("writes occupancy prices as sample ar_10 does (PerOccupancy per number of guests, no PerDay), valid against Expedia's schema", async () => {
    // ar_10's one update, as our updates: inventory + room type open, then the rate plan (occupancies given out of order).
    const updates: ArUpdate[] = [
      { from: '2012-08-01', to: '2012-08-31', roomTypeId: '9989', availability: 10, roomClosed: false },
      {
        from: '2012-08-01',
        to: '2012-08-31',
        roomTypeId: '9989',
        ratePlan: {
          id: '556895',
          closed: false,
          rate: { amount: '60.00', currency: 'EUR', occupancyRates: { 3: '135.00', 1: '60.00', 4: '160.00', 2: '100.00' } },
          restrictions: { minLos: 2, maxLos: 14, closedToArrival: false, closedToDeparture: true },
        },
      },
    ];
    const xml = buildAvailRateUpdateRQ({ ...auth, hotelId: '35499' }, updates);
    expect(schemaErrors(xml)).toBeNull();
    const ours = (await parsed(xml)).AvailRateUpdate[0];
    const theirs = (await parsed(sampleText(10))).AvailRateUpdate[0];
    // The sample also has day-of-week flags on its DateRange; the RoomType is the same element.
    expect(ours.RoomType).toEqual(theirs.RoomType);
    expect(ours.RoomType[0].RatePlan[0].Rate[0].PerDay).toBeUndefined();
  });

  it('closes a room type as sample ar_14 does and a rate plan as ar_13 does', async () => {
    const room = buildAvailRateUpdateRQ({ ...auth, hotelId: '3546' }, [{ from: '2012-08-01', to: '2012-08-31', roomTypeId: '558875', roomClosed: true }]);
    const rate = buildAvailRateUpdateRQ({ ...auth, hotelId: '3546' }, [
      { from: '2012-08-01', to: '2012-08-31', roomTypeId: '558875', ratePlan: { id: '556895', closed: true } },
    ]);
    for (const xml of [room, rate]) expect(schemaErrors(xml)).toBeNull();
    expect((await parsed(room)).AvailRateUpdate).toEqual((await parsed(sampleText(14))).AvailRateUpdate);
    expect((await parsed(rate)).AvailRateUpdate).toEqual((await parsed(sampleText(13))).AvailRateUpdate);
  });

  it("the schema's bounds hold: 20 occupancies pass, occupancy 21 or 0 fails (why normalize drops them)", async () => {
    const rates = (n: number[]) => Object.fromEntries(n.map((k) => [String(k), `${100 + k}.00`]));
    const msg = (occupancyRates: Record<string, string>) =>
      buildAvailRateUpdateRQ(auth, [
        { from: '2027-03-10', to: '2027-03-10', roomTypeId: '200101', ratePlan: { id: '300101', rate: { amount: '1', currency: 'EUR', occupancyRates } } },
      ]);
    expect(schemaErrors(msg(rates(Array.from({ length: 20 }, (_, i) => i + 1))))).toBeNull();
    expect(schemaErrors(msg(rates([21])))).toMatch(/occupancy/);
    expect(schemaErrors(msg(rates([0])))).toMatch(/occupancy/);
  });

  it("counts updates as the EQC guides do: per stay date, each rate (each occupancy's), restriction and status", () => {
    // The guides' excerpts: inventory + a PerDay rate + a CTD over one date "contains 3 updates";
    // "1098 updates: number of rooms, a rate and a CTD for 366 days" (their range, 2012-08-01 to
    // 2013-07-31, holds 365 nights: the rule, 3 per night, is checked over 366).
    const excerpt = (to: string): ArUpdate[] => [
      { from: '2012-08-01', to, roomTypeId: '9989', availability: 50 },
      {
        from: '2012-08-01',
        to,
        roomTypeId: '9989',
        ratePlan: { id: '556895', rate: { amount: '55.00', currency: 'EUR' }, restrictions: { closedToDeparture: true } },
      },
    ];
    const count = (us: ArUpdate[]) => us.reduce((n, u) => n + arUpdateCount(u), 0);
    expect(count(excerpt('2012-08-01'))).toBe(3);
    expect(count(excerpt('2013-08-01'))).toBe(1098);
    // A room type's close is a status change; each PerOccupancy an individual rate: ar_10's night is
    // inventory + room closed + plan closed + 4 occupancies + 4 restrictions = 11.
    const ar10night: ArUpdate[] = [
      { from: '2012-08-03', to: '2012-08-03', roomTypeId: '9989', availability: 10, roomClosed: false },
      {
        from: '2012-08-03',
        to: '2012-08-03',
        roomTypeId: '9989',
        ratePlan: {
          id: '556895',
          closed: false,
          rate: { amount: '60.00', currency: 'EUR', occupancyRates: { 1: '60.00', 2: '100.00', 3: '135.00', 4: '160.00' } },
          restrictions: { minLos: 2, maxLos: 14, closedToArrival: false, closedToDeparture: true },
        },
      },
    ];
    expect(count(ar10night)).toBe(11);
  });
});

// ---- the sandbox ---------------------------------------------------------------------------

const sandbox = new ExpediaSandbox({ accounts: [ACCOUNT], now: () => NOW, ref: () => REF, maxOccupancy: { [H1]: { 9989: 3 } } });
const catalogue = new ExpediaSandbox({
  accounts: [ACCOUNT],
  now: () => NOW,
  products: {
    [H1]: { rooms: ['200101'], rates: ['300101', '300102'], currency: 'EUR', pricingModels: { 300101: 'PerDayPricing', 300102: 'OccupancyBasedPricing' } },
  },
});
let app: FastifyInstance;
let base: string;
beforeAll(async () => {
  app = Fastify();
  await app.register(sandbox.plugin, { prefix: '/sandbox/expedia' });
  await app.register(catalogue.plugin, { prefix: '/sandbox/expedia-catalogue' });
  base = `${await app.listen({ port: 0, host: '127.0.0.1' })}/sandbox`;
});
afterAll(async () => {
  await app.close();
});
beforeEach(() => {
  sandbox.reset();
  catalogue.reset();
});

type Issue = { code: number; message: string };
async function ar(xml: string, to = 'expedia'): Promise<{ kind: 'success'; warnings: Issue[] } | { kind: 'error'; errors: Issue[] }> {
  const res = await fetch(`${base}/${to}/eqc/ar`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: xml });
  expect(res.status).toBe(200);
  const rs = (await parseStringPromise(await res.text())).AvailRateUpdateRS as any;
  const issue = (e: { _?: string; $: { code: string } }) => ({ code: Number(e.$.code), message: e._ ?? '' });
  return rs.Success ? { kind: 'success', warnings: (rs.Success[0].Warning ?? []).map(issue) } : { kind: 'error', errors: rs.Error.map(issue) };
}
const rq = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><AvailRateUpdateRQ xmlns="http://www.expediaconnect.com/EQC/AR/2011/06"><Authentication username="${ACCOUNT.username}" password="${ACCOUNT.password}"/><Hotel id="${H1}"/>${body}</AvailRateUpdateRQ>`;
const OK = { kind: 'success', warnings: [] };

describe('sandbox: occupancy prices, 7009, 3090, the room type closed', () => {
  it('stores a PerOccupancy price per occupancy; a later update of one occupancy keeps the others (no removal of occupancies)', async () => {
    const one = (date: string, body: string) =>
      rq(`<AvailRateUpdate><DateRange from="${date}" to="${date}"/><RoomType id="558025">${body}</RoomType></AvailRateUpdate>`);
    // Sample ar_05: occupancies 1–4 over August 2012.
    expect(await ar(sample(5))).toEqual(OK);
    const key = sandboxKey('558025', '556895', d('2012-08-31'));
    expect(sandbox.cells(H1).get(key)?.occupancyRates).toEqual({ 1: '60.00', 2: '100.00', 3: '135.00', 4: '160.00' });
    // The guides' own example update: occupancy 4 to 160.00 — here 170.00, alone.
    expect(await ar(one(d('2012-08-31'), '<RatePlan id="556895"><Rate currency="EUR"><PerOccupancy rate="170.00" occupancy="4"/></Rate></RatePlan>'))).toEqual(
      OK,
    );
    expect(sandbox.cells(H1).get(key)?.occupancyRates).toEqual({ 1: '60.00', 2: '100.00', 3: '135.00', 4: '170.00' });
  });

  it('7009 for each price above the room type’s maximum occupancy: not applied; the other occupancies and values are', async () => {
    // Sample ar_10 (13 weekend nights, occupancies 1–4) on a room type whose maximum occupancy at Expedia is 3.
    const rs = await ar(sample(10));
    const nights = ['03', '04', '05', '10', '11', '12', '17', '18', '19', '24', '25', '26', '31'].map((n) => d(`2012-08-${n}`));
    expect(rs).toEqual({
      kind: 'success',
      warnings: nights.map((night, i) => ({
        code: 7009,
        // [EQC guides] 7009 "Occupancy exceeds maximum allowed value", in the guides' warning layout.
        message: `Warning ${i + 1} out of 13 for this cause. Inventory date ${night}; Room Type ID 9989; Rate Plan ID 556895; Occupancy 4; Occupancy exceeds maximum allowed value. Ref=[${REF}]`,
      })),
    });
    expect(sandbox.cells(H1).get(sandboxKey('9989', '556895', nights[0]!))).toEqual({
      availability: 10,
      roomClosed: false,
      closed: false,
      rate: '60.00',
      currency: 'EUR',
      occupancyRates: { 1: '60.00', 2: '100.00', 3: '135.00' },
      minLos: 2,
      maxLos: 14,
      closedToArrival: false,
      closedToDeparture: true,
    });
    // Our client reads 7009 as about the rate (EQC guides' table: "update an occupancy level"): that cell's rate part is not acknowledged.
    const range = {
      series: 'rp|9989|556895',
      from: nights[0]!,
      to: nights[0]!,
      value: { from: nights[0]!, to: nights[0]!, roomTypeId: '9989', ratePlan: { id: '556895' } },
      covers: [
        { cellId: 'c1', part: 'rate' as const },
        { cellId: 'c1', part: 'restr' as const },
      ],
    };
    const { refused } = readWarnings([rs.kind === 'success' ? rs.warnings[0]! : { code: 0, message: '' }], [range], () => nights[0]);
    expect(refused.map((r) => r.covers)).toEqual([[{ cellId: 'c1', part: 'rate' }]]);
  });

  it('3090 for PerDay to an occupancy-based plan and PerOccupancy to a per-day plan (our builder’s messages); each fitting model is accepted', async () => {
    const update = (plan: string, occupancyRates?: Record<string, string>) =>
      buildAvailRateUpdateRQ(auth, [
        {
          from: '2027-03-10',
          to: '2027-03-10',
          roomTypeId: '200101',
          ratePlan: { id: plan, rate: { amount: '100.00', currency: 'EUR', ...(occupancyRates ? { occupancyRates } : {}) } },
        },
      ]);
    // [EQC guides] 3090: "Pricing models mismatch: you tried to update a price for <name of pricing model>, but your property is configured to use <name of other pricing model>."
    expect(await ar(update('300102'), 'expedia-catalogue')).toEqual({
      kind: 'error',
      errors: [
        {
          code: 3090,
          message: 'Pricing models mismatch: you tried to update a price for PerDayPricing, but your property is configured to use OccupancyBasedPricing.',
        },
      ],
    });
    expect(await ar(update('300101', { 1: '80.00', 2: '100.00' }), 'expedia-catalogue')).toEqual({
      kind: 'error',
      errors: [
        {
          code: 3090,
          message: 'Pricing models mismatch: you tried to update a price for OccupancyBasedPricing, but your property is configured to use PerDayPricing.',
        },
      ],
    });
    expect(catalogue.cells(H1).size).toBe(0);
    expect(await ar(update('300102', { 1: '80.00', 2: '100.00' }), 'expedia-catalogue')).toEqual(OK);
    expect(await ar(update('300101'), 'expedia-catalogue')).toEqual(OK);
    expect(catalogue.cells(H1).get(sandboxKey('200101', '300102', '2027-03-10'))?.occupancyRates).toEqual({ 1: '80.00', 2: '100.00' });
    expect(catalogue.cells(H1).get(sandboxKey('200101', '300101', '2027-03-10'))?.occupancyRates).toBeUndefined();
  });

  it("shows the room type's close on each of its rates, apart from the rate plan's own (ar_13, ar_14), and reopens it", async () => {
    const key = sandboxKey('558875', '556895', d('2012-08-15'));
    expect(await ar(sample(13))).toEqual(OK); // the rate plan closed
    expect(sandbox.cells(H1).get(key)).toEqual({ closed: true });
    expect(await ar(sample(14))).toEqual(OK); // the room type closed too
    expect(sandbox.cells(H1).get(key)).toEqual({ closed: true, roomClosed: true });
    // XSD RoomType/@closed: "If false, the room type is reopened if previously closed".
    expect(await ar(sample(14).replace('closed="true"', 'closed="false"'))).toEqual(OK);
    expect(sandbox.cells(H1).get(key)).toEqual({ closed: true, roomClosed: false });
  });
});

// ---- normalize and the push plan -------------------------------------------------------------

const ari = (o: Partial<AriValues> = {}): AriValues => ({
  connectionId: 'conn',
  roomTypeId: 'room',
  ratePlanId: 'plan',
  stayDate: '2027-03-10',
  availability: 4,
  overbooked: false,
  rate: '120.00',
  currency: 'EUR',
  minLos: 2,
  maxLos: 10,
  closedToArrival: false,
  closedToDeparture: false,
  closed: false,
  pricingModel: 'per_day',
  otaPricingModel: 'per_day',
  occupancyRates: null,
  minStayThrough: 3,
  maxStayThrough: 14,
  minAdvanceDays: 7,
  maxAdvanceDays: 90,
  roomClosed: false,
  pmsAvailability: 4,
  pmsRate: '120.00',
  ...o,
});
const normalize = (v: AriValues, settings: Record<string, unknown> = {}) => expediaConnector.normalize(v, settings);

describe('normalize: the property’s LOS basis, occupancy prices, the room close', () => {
  it('los_basis says which minimum/maximum stay minLOS/maxLOS carry (a hotel-level setting in Expedia system); the other kind and advance days are not carried', () => {
    for (const settings of [{}, { los_basis: 'arrival' }]) {
      expect(normalize(ari(), settings)).toMatchObject({
        minLos: 2,
        maxLos: 10,
        closed: false,
        minStayThrough: null,
        maxStayThrough: null,
        minAdvanceDays: null,
        maxAdvanceDays: null,
      });
    }
    const through = { los_basis: 'stay_through' };
    expect(normalize(ari(), through)).toMatchObject({ minLos: 3, maxLos: 14, closed: false, minStayThrough: null, maxStayThrough: null, minAdvanceDays: null });
    // The XSD's 1–28 and its default "no maximum" (28) apply to either kind; a minimum above 28 closes.
    expect(normalize(ari({ minStayThrough: null, maxStayThrough: null }), through)).toMatchObject({ minLos: 1, maxLos: 28, closed: false });
    expect(normalize(ari({ minStayThrough: 30, maxStayThrough: 40 }), through)).toMatchObject({ minLos: 28, maxLos: 28, closed: true });
    expect(normalize(ari({ minStayThrough: 30 }))).toMatchObject({ minLos: 2, closed: false }); // arrival-based: the stay-through minimum is not Expedia's
    expect(normalize(ari({ minLos: 30 }), through)).toMatchObject({ minLos: 3, closed: false });
  });

  it('los_basis is a checked connection setting', () => {
    expect(() => checkSettings(expediaAdapter, { los_basis: 'stay_through', pricing_model: 'per_occupancy' })).not.toThrow();
    expect(() => checkSettings(expediaAdapter, { los_basis: 'through' })).toThrow(/los_basis.*'arrival' or 'stay_through'/);
  });

  it('per_occupancy: every occupancy price converted like the rate (net of commission), 1–20 only; none → no rate and closed', () => {
    const net = { pricing_model: 'per_occupancy', rate_acquisition_type: 'NetRate', commission_percent: 20 };
    const v = ari({ pricingModel: 'per_occupancy', occupancyRates: { 1: '100.00', 2: '150.00', 21: '300.00', 0: '10.00' } });
    expect(normalize(v, net)).toMatchObject({ rate: '96.00', occupancyRates: { 1: '80.00', 2: '120.00' }, closed: false });
    expect(normalize(ari({ pricingModel: 'per_occupancy', occupancyRates: null }), net)).toMatchObject({ rate: null, occupancyRates: null, closed: true });
    // A per-day connection sends no occupancy prices, whatever the plan holds.
    expect(normalize(v, {})).toMatchObject({ rate: '120.00', occupancyRates: null, closed: false });
    expect(normalize(ari({ roomClosed: true }))).toMatchObject({ roomClosed: true, closed: false });
  });

  it('the push plan: the room-level update carries inventory and RoomType@closed, the rate plan its PerOccupancy prices; Expedia shows what normalize said', async () => {
    const settings = { pricing_model: 'per_occupancy', los_basis: 'stay_through' };
    const cell = (n: number, o: Partial<AriValues>): PushCell => ({
      cellId: `c${n}`,
      roomTypeId: 'room',
      ratePlanId: 'plan',
      roomCode: '200101',
      rateCode: '300102',
      night: `2027-03-${10 + n}`,
      values: normalize(ari({ stayDate: `2027-03-${10 + n}`, pricingModel: 'per_occupancy', ...o }), settings),
      parts: ['avail', 'rate', 'restr'],
    });
    const cells = [cell(0, { occupancyRates: { 1: '90.00', 2: '120.00' } }), cell(1, { occupancyRates: { 1: '90.00', 2: '120.00' }, roomClosed: true })];
    const ranges = plan(cells);
    const xml = buildAvailRateUpdateRQ(
      auth,
      ranges.map((r) => r.value),
    );
    expect(schemaErrors(xml)).toBeNull();
    expect(await ar(xml, 'expedia-catalogue')).toEqual(OK);
    for (const c of cells) {
      const shown = catalogue.cells(H1).get(sandboxKey(c.roomCode, c.rateCode, c.night))!;
      const v = c.values;
      expect(shown).toEqual({
        availability: v.availability,
        roomClosed: v.roomClosed,
        closed: v.closed,
        rate: v.occupancyRates!['1'],
        currency: v.currency,
        occupancyRates: v.occupancyRates,
        minLos: v.minLos,
        maxLos: v.maxLos,
        closedToArrival: v.closedToArrival,
        closedToDeparture: v.closedToDeparture,
      });
    }
    expect(catalogue.cells(H1).get(sandboxKey('200101', '300102', '2027-03-11'))).toMatchObject({ roomClosed: true, minLos: 3, maxLos: 14 });
    expect(catalogue.stats.updates).toBe(ranges.reduce((n, r) => n + arUpdateCount(r.value), 0));
  });
});
