/** Expedia AR parsers: Expedia's published responses and requests (test/fixtures/expedia), error families, and the builder's round trip. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StayosError } from '../../core/errors.ts';
import { buildAvailRateUpdateRQ, type ArUpdate } from '../../connectors/expedia/ar-message.ts';
import { arErrorFamily, parseAvailRateUpdateRQ, parseAvailRateUpdateRS } from '../../connectors/expedia/parser.ts';

const DIR = path.resolve(import.meta.dirname, '../fixtures/expedia');
const samples = fs
  .readdirSync(DIR)
  .filter((f) => /^ar_\d\d_.*\.xml$/.test(f))
  .sort();
const sample = (n: number) =>
  fs.readFileSync(
    path.join(
      DIR,
      samples.find((f) => f.startsWith(`ar_${String(n).padStart(2, '0')}_`))!,
    ),
    'utf8',
  );
// ar_19 is titled "Response Success with warning" but its body is a request (Expedia's own slip).
const REQUESTS = [...Array.from({ length: 18 }, (_, i) => i), 19];

async function rejection(p: Promise<unknown>): Promise<StayosError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StayosError);
  return err as StayosError;
}

describe('parseAvailRateUpdateRS', () => {
  it('reads Success (ar_18), Success with warnings (ar_20) and Errors (ar_21)', async () => {
    expect(samples).toHaveLength(22);
    expect(await parseAvailRateUpdateRS(sample(18))).toEqual({ kind: 'success', warnings: [] });
    const warned = await parseAvailRateUpdateRS(sample(20));
    expect(warned.kind).toBe('success');
    if (warned.kind !== 'success') return;
    expect(warned.warnings).toHaveLength(10);
    expect(warned.warnings.every((w) => w.code === 7013)).toBe(true);
    expect(warned.warnings[0]!.message).toBe(
      '[Room Type ID 32241; Rate Plan ID 23123; Stay Date 2012-08-01] One or more costs provided are out of threshold for an identified room type.',
    );
    expect(await parseAvailRateUpdateRS(sample(21))).toEqual({
      kind: 'error',
      errors: [
        { code: 3203, message: 'The following RoomTypeIDs do not belong to the given hotel: 432432.' },
        { code: 3204, message: 'The following RatePlanIDs do not belong to the given hotel: 234543.' },
      ],
    });
  });

  it('refuses what is not the protocol, ar_19 (a request) included, as ERR_OTA_INVALID_RESPONSE', async () => {
    const NS = 'xmlns="http://www.expediaconnect.com/EQC/AR/2007/02"';
    const bad = [
      sample(19), // an RQ, not an RS
      '<html><body>502 Bad Gateway</body></html>',
      '<AvailRateUpdateRS xmlns="http://www.expediaconnect.com/EQC/AR/2007/02"><Succ', // cut off
      '',
      'not xml',
      `<AvailRateUpdateRS ${NS}/>`, // neither Success nor Error
      `<AvailRateUpdateRS ${NS}><Success/><Error code="4000">x</Error></AvailRateUpdateRS>`, // both
      `<AvailRateUpdateRS ${NS}><Error>no code</Error></AvailRateUpdateRS>`,
      `<AvailRateUpdateRS ${NS}><Error code="42">too small</Error></AvailRateUpdateRS>`,
      `<AvailRateUpdateRS ${NS}><Success/><Success/></AvailRateUpdateRS>`,
      '<AvailRateUpdateRS xmlns="http://www.expediaconnect.com/EQC/AR/2011/06"><Success/></AvailRateUpdateRS>', // the RQ namespace
    ];
    for (const xml of bad) {
      const err = await rejection(parseAvailRateUpdateRS(xml));
      expect(err.code, xml).toBe('ERR_OTA_INVALID_RESPONSE');
      expect(err.details).toEqual({ ota: 'expedia' });
      expect(err.cause).toBeDefined();
    }
    // A warning without text is still a warning.
    expect(await parseAvailRateUpdateRS(`<AvailRateUpdateRS ${NS}><Success><Warning code="7009"/></Success></AvailRateUpdateRS>`)).toEqual({
      kind: 'success',
      warnings: [{ code: 7009, message: '' }],
    });
  });
});

describe('arErrorFamily', () => {
  it('sorts codes as ../shared/ota/README.md says, unknown for the rest', () => {
    const table: Array<[number, string]> = [
      [1000, 'auth'],
      [1001, 'auth'],
      [1999, 'auth'],
      [2002, 'bug'],
      [2010, 'bug'],
      [2500, 'bug'],
      [3010, 'bug'],
      [3202, 'mapping'],
      [3203, 'mapping'],
      [3204, 'mapping'],
      [4000, 'retry'],
      [4001, 'retry'],
      [4206, 'retry'],
      [5000, 'retry'],
      [3020, 'unknown'],
      [3107, 'unknown'],
      [3210, 'unknown'],
      [3405, 'unknown'],
      [4002, 'unknown'],
      [7013, 'unknown'],
      [999, 'unknown'],
    ];
    for (const [code, family] of table) expect(arErrorFamily(code), String(code)).toBe(family);
  });
});

describe('parseAvailRateUpdateRQ', () => {
  it('accepts every published request sample', async () => {
    for (const n of REQUESTS) {
      const rq = await parseAvailRateUpdateRQ(sample(n));
      expect(rq.updates.length, `ar_${n}`).toBeGreaterThan(0);
      expect(rq.hotelId).toMatch(/^\d+$/);
    }
  });

  it('keeps what each kind of sample says', async () => {
    expect((await parseAvailRateUpdateRQ(sample(0))).updates).toEqual([{ from: '2012-08-01', to: '2012-08-31', roomTypeId: '558945', flexibleAllocation: 10 }]);
    // Credentials are kept byte for byte (Expedia's are case- and space-sensitive).
    expect(await parseAvailRateUpdateRQ(sample(4))).toMatchObject({ username: ' testuser ', password: ' testpass ', hotelId: '526101', availRateUpdates: 1 });
    expect((await parseAvailRateUpdateRQ(sample(4))).updates.map((u) => [u.roomTypeId, u.availability])).toEqual([
      ['16818', 3],
      ['43223', 4],
      ['65223', 2],
    ]);
    // PerOccupancy: the first value stands for the cell, all values are kept.
    const [occ] = (await parseAvailRateUpdateRQ(sample(5))).updates;
    expect(occ!.ratePlan).toEqual({ id: '556895', closed: false, rate: { amount: '60.00', currency: 'EUR' } });
    expect(occ!.rateDetail![0]!.values).toEqual([
      { amount: '60.00', occupancy: 1 },
      { amount: '100.00', occupancy: 2 },
      { amount: '135.00', occupancy: 3 },
      { amount: '160.00', occupancy: 4 },
    ]);
    expect((await parseAvailRateUpdateRQ(sample(6))).updates.map((u) => u.from)).toEqual([
      '2012-08-01',
      '2012-08-03',
      '2012-08-12',
      '2012-08-18',
      '2012-08-22',
    ]);
    expect((await parseAvailRateUpdateRQ(sample(8))).updates.map((u) => `${u.roomTypeId}/${u.ratePlan!.id}`)).toEqual([
      '9989/556895',
      '9989/434534',
      '87655/543334',
      '87655/224454',
    ]);
    expect((await parseAvailRateUpdateRQ(sample(9))).updates[0]!.ratePlan!.id).toBe('556895'); // sent as "556895 "
    const [weekend] = (await parseAvailRateUpdateRQ(sample(11))).updates;
    expect(weekend).toMatchObject({
      availability: 50,
      weekdays: { sun: true, mon: false, tue: false, wed: false, thu: false, fri: true, sat: true },
      roomClosed: false,
      ratePlan: {
        id: '556895',
        closed: false,
        rate: { amount: '55.00', currency: 'EUR' },
        restrictions: { minLos: 2, maxLos: 14, closedToArrival: false, closedToDeparture: false },
      },
    });
    expect(weekend!.rateDetail).toBeUndefined(); // a plain PerDay rate is all in ratePlan.rate
    expect((await parseAvailRateUpdateRQ(sample(12))).updates[0]!.rateDetail).toEqual([
      { kind: 'PerDay', currency: 'EUR', rateChangeIndicator: true, values: [{ amount: '75.00' }] },
    ]);
    expect((await parseAvailRateUpdateRQ(sample(13))).updates[0]!.ratePlan).toEqual({ id: '556895', closed: true });
    expect((await parseAvailRateUpdateRQ(sample(14))).updates).toEqual([{ from: '2012-08-01', to: '2012-08-31', roomTypeId: '558875', roomClosed: true }]);
    const ar15 = await parseAvailRateUpdateRQ(sample(15));
    expect(ar15.availRateUpdates).toBe(4);
    expect(ar15.updates).toHaveLength(1 + 1 + 3 + 2); // the third update has 3 date ranges, the fourth 2 rate plans
    // Length-of-stay pricing: the 1-night price stands for the cell.
    const [los] = (await parseAvailRateUpdateRQ(sample(16))).updates;
    expect(los!.ratePlan!.rate).toEqual({ amount: '100.00', currency: 'EUR' });
    expect(los!.rateDetail!.map((r) => r.lengthOfStay)).toEqual(Array.from({ length: 28 }, (_, i) => i + 1));
  });

  it('accepts the 2007/02-compatible form (one bare DateRange and RoomTypes)', async () => {
    const rq =
      await parseAvailRateUpdateRQ(`<AvailRateUpdateRQ xmlns="http://www.expediaconnect.com/EQC/AR/2011/06"><Authentication username="user" password="secret"/><Hotel id="12"/>
      <DateRange from="2027-03-01" to="2027-03-02"/><RoomType id="3"><Inventory totalInventoryAvailable="5"/></RoomType></AvailRateUpdateRQ>`);
    expect(rq.availRateUpdates).toBe(1);
    expect(rq.updates).toEqual([{ from: '2027-03-01', to: '2027-03-02', roomTypeId: '3', availability: 5 }]);
  });

  it('rejects malformed input with ERR_VALIDATION naming what is wrong', async () => {
    const base = sample(11);
    const cases: Array<[string, RegExp, 'xml' | 'schema']> = [
      ['<AvailRateUpdateRQ', /well-formed/, 'xml'],
      ['', /empty/, 'xml'],
      [base.replace('username="testuser"', 'username="abc"'), /Authentication\[0\]\/@username: Too small/, 'schema'],
      [base.replace('password="testpass"', 'password="short"'), /Authentication\[0\]\/@password/, 'schema'],
      [base.replace('<Hotel id="35499"/>', '<Hotel id="DEMO"/>'), /Hotel\[0\]\/@id: must be an integer/, 'schema'],
      [base.replace('<RoomType id="9989"', '<RoomType id="DBL"'), /RoomType\[0\]\/@id: must be a numeric Expedia id/, 'schema'],
      [base.replace('from="2012-08-01"', 'from="2012-02-30"'), /@from: is not a calendar date/, 'schema'],
      [base.replace('from="2012-08-01" to="2012-08-31"', 'from="2012-08-31" to="2012-08-01"'), /from is after to/, 'schema'],
      [base.replace('totalInventoryAvailable="50"', 'totalInventoryAvailable="5000"'), /@totalInventoryAvailable/, 'schema'],
      [base.replace('rate="55.00"', 'rate="-1"'), /@rate: must be a decimal/, 'schema'],
      [base.replace('rate="55.00"', 'rate="55.0001"'), /fraction digits/, 'schema'],
      [base.replace('<Rate currency="EUR">', '<Rate>'), /needs @currency/, 'schema'],
      [base.replace('minLOS="2"', 'minLOS="0"'), /@minLOS/, 'schema'],
      [base.replace('closedToArrival="false"', 'closedToArrival="no"'), /@closedToArrival/, 'schema'],
      [base.replace('<Inventory', '<Bogus/><Inventory'), /Unrecognized key.*Bogus/, 'schema'],
      [base.replace(' xmlns="http://www.expediaconnect.com/EQC/AR/2011/06"', ''), /xmlns/, 'schema'],
      [base.replace('<PerDay rate="55.00"/>', '<PerDay rate="55.00"/><PerPerson rate="1"/>'), /one of PerDay, PerOccupancy or PerPerson/, 'schema'],
      [sample(17).replace('lengthOfStay="3"', 'lengthOfStay="5"'), /without gaps/, 'schema'],
      [base.replace(/<AvailRateUpdate>[\s\S]*<\/AvailRateUpdate>/, ''), /needs AvailRateUpdate/, 'schema'],
    ];
    for (const [xml, message, reason] of cases) {
      const err = await rejection(parseAvailRateUpdateRQ(xml));
      expect(err.code).toBe('ERR_VALIDATION');
      expect(err.message).toMatch(message);
      expect(err.details).toEqual({ reason });
    }
  });

  it("round-trips the builder's messages exactly", async () => {
    const auth = { username: 'stayosdemo', password: 'demo-pass-expedia', hotelId: '7654321' };
    const updates: ArUpdate[] = [
      { from: '2027-03-01', to: '2027-03-10', roomTypeId: '200101', availability: 4 },
      {
        from: '2027-03-01',
        to: '2027-03-04',
        roomTypeId: '200101',
        ratePlan: {
          id: '300101',
          closed: false,
          rate: { amount: '129.50', currency: 'EUR' },
          restrictions: { minLos: 2, maxLos: 14, closedToArrival: true, closedToDeparture: false },
        },
      },
      { from: '2027-03-05', to: '2027-03-05', roomTypeId: '200102', availability: 0, ratePlan: { id: '300102', closed: true } },
      { from: '2027-03-06', to: '2027-03-06', roomTypeId: '200102', ratePlan: { id: '300102', restrictions: { minLos: 1 } } },
    ];
    const rq = await parseAvailRateUpdateRQ(buildAvailRateUpdateRQ(auth, updates));
    expect(rq).toEqual({ ...auth, availRateUpdates: updates.length, updates });
    // Escaped credentials come back as given.
    expect((await parseAvailRateUpdateRQ(buildAvailRateUpdateRQ({ ...auth, password: 'p<&>"ss' }, updates))).password).toBe('p<&>"ss');
  });
});
