/**
 * What an OTA's answer says about each item, read as the publishers document it:
 *  - the answers themselves (test/fixtures/booking-com/ari_rs_*.xml, test/fixtures/expedia/ar_20 and
 *    ar_w0): which updates a Booking.com Warning or Error names, which items an Expedia warning names;
 *  - end to end against the sandboxes (written from the same pages, not from our client): an update
 *    the OTA did not apply is not acknowledged, is recorded on its cell, is not sent again while the
 *    PMS value stays the same, and is sent again when it changes or on a full sync;
 *  - Expedia's rate acquisition type and tax-inclusive settings change what AR sends.
 */
import Fastify from 'fastify';
import { parseStringPromise } from 'xml2js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { addConnection, fixture } from '../helpers/inbound.ts';
import { connectionIds, mismatches, startSandboxServer } from '../helpers/outbound.ts';
import { DEMO_CONNECTIONS, seedDemo } from '../helpers/demo.ts';
import { createLogger } from '../../core/logger.ts';
import { CONNECTORS, requestFullSync, sandboxKey, SyncWorker } from '../../connectors/index.ts';
import { parseBookingResponse } from '../../connectors/booking-com/parser.ts';
import { namedUpdates } from '../../connectors/booking-com/issues.ts';
import { parseAvailRateUpdateRS } from '../../connectors/expedia/parser.ts';
import { readWarnings } from '../../connectors/expedia/warnings.ts';
import { ariOracle, cellId, mappedCells } from '../helpers/ari-oracle.ts';

const range = <V>(from: string, to: string, value: V, covers: Array<{ cellId: string; part: 'avail' | 'rate' | 'restr' }>) => ({
  series: '',
  from,
  to,
  value,
  covers,
});

describe('answers, item by item', () => {
  const batch = [
    range('2027-03-01', '2027-03-05', { roomCode: '36745601', rateCode: '1278608', from: '2027-03-01', to: '2027-03-05' }, []),
    range('2027-03-01', '2027-03-31', { roomCode: '36745602', rateCode: '1278608', from: '2027-03-01', to: '2027-03-31' }, []),
    range('2027-03-10', '2027-03-12', { roomCode: '36745602', from: '2027-03-10', to: '2027-03-12' }, []),
  ];
  const issuesOf = async (file: string) => {
    const r = await parseBookingResponse(fixture(`booking-com/${file}`));
    return r.kind === 'success' ? r.warnings : r.errors;
  };

  it('Booking.com: a Warning names its room in ShortText; an Error its message by RecordID; the published hotel warning names no update', async () => {
    expect(await parseBookingResponse(fixture('booking-com/ari_rs_success.xml'))).toEqual({ kind: 'success', warnings: [] });
    const [room] = await issuesOf('ari_rs_warning_room.xml');
    expect(room).toMatchObject({ code: '402', type: '3', status: 'NotProcessed', shortText: "Room ID '36745602' is not valid" });
    expect(namedUpdates(room!, batch)).toEqual([1, 2]); // both updates of room 36745602
    const [dates] = await issuesOf('ari_rs_errors_recordid.xml'); // RUID comment after the root: ignored
    expect(namedUpdates(dates!, batch)).toEqual([1]); // RecordID="2": the second message's LocatorID
    // Without RecordID, its dates name the updates outside the window it states ("not before '2027-03-09'").
    expect(namedUpdates({ ...dates!, rph: undefined }, batch)).toEqual([0, 1]);
    const [hotel] = await issuesOf('ari_rs_warning_hotel.xml');
    expect(namedUpdates(hotel!, batch)).toEqual([]);
  });

  it('Expedia: ar_20 names rate plan and stay date in brackets; the EQC layout names them after "Inventory date", and a truncated cause leaves the rest unknown', async () => {
    const night = (id: string) => id.split('|')[1];
    const cells = (room: string, rate: string, from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => ({ cellId: `${room}/${rate}|2012-08-0${from + i}`, part: 'rate' as const }));
    const ar20 = await parseAvailRateUpdateRS(fixture('expedia/ar_20_AR_Response_Success_with_warning.xml'));
    if (ar20.kind !== 'success') throw new Error('ar_20 is a success');
    const plans = ['23123', '52333', '77777'].map((rp) =>
      range(
        '2012-08-01',
        '2012-08-05',
        { from: '2012-08-01', to: '2012-08-05', roomTypeId: '32241', ratePlan: { id: rp, rate: { amount: '0.00', currency: 'EUR' } } },
        cells('32241', rp, 1, 5),
      ),
    );
    const out = readWarnings(ar20.warnings, plans, night);
    // "One or more costs … out of threshold": the rate of each named plan and date, nothing of plan 77777.
    expect(out.refused.flatMap((r) => r.covers.map((c) => c.cellId)).sort()).toEqual(
      [...cells('32241', '23123', 1, 5), ...cells('32241', '52333', 1, 5)].map((c) => c.cellId).sort(),
    );
    expect(out.refused.every((r) => r.value && r.error.otaCode === '7013' && r.error.stayFrom === r.error.stayTo)).toBe(true);

    const w0 = await parseAvailRateUpdateRS(fixture('expedia/ar_w0_rate_threshold_warnings_eqc_layout.xml'));
    if (w0.kind !== 'success') throw new Error('ar_w0 is a success');
    const march = Array.from({ length: 22 }, (_, i) => ({ cellId: `c|2027-03-${String(10 + i).padStart(2, '0')}`, part: 'rate' as const }));
    const rp = range(
      '2027-03-10',
      '2027-03-31',
      { from: '2027-03-10', to: '2027-03-31', roomTypeId: '200101', ratePlan: { id: '300101', rate: { amount: '9.00', currency: 'EUR' } } },
      march,
    );
    const inv = range(
      '2027-03-10',
      '2027-03-31',
      { from: '2027-03-10', to: '2027-03-31', roomTypeId: '200101', availability: 4 },
      march.map((c) => ({ ...c, part: 'avail' as const })),
    );
    const got = readWarnings(w0.warnings, [rp, inv], night);
    const named = got.refused.filter((r) => r.value).flatMap((r) => r.covers.map((c) => night(c.cellId)));
    expect(named).toEqual(['2027-03-10', '2027-03-11', '2027-03-29']);
    // "Remaining 2 warnings will not be returned": every rate of the request's rate plans is unconfirmed, not remembered as refused.
    const unknown = got.refused.filter((r) => !r.value);
    expect(unknown.flatMap((r) => r.covers).every((c) => c.part === 'rate')).toBe(true);
    expect(unknown.flatMap((r) => r.covers)).toHaveLength(22);
    expect(got.general).toEqual([]);
  });

  it('Expedia: a warning about restrictions (7023, linked rate plans) refuses the restrictions it names, not the rate beside them', () => {
    const covers = [
      { cellId: 'c|2027-04-02', part: 'rate' as const },
      { cellId: 'c|2027-04-02', part: 'restr' as const },
    ];
    const rp = range(
      '2027-04-01',
      '2027-04-03',
      {
        from: '2027-04-01',
        to: '2027-04-03',
        roomTypeId: '200101',
        ratePlan: { id: '300101', rate: { amount: '99.00', currency: 'EUR' }, restrictions: { minLos: 2 } },
      },
      covers,
    );
    const text =
      'Warning 1 out of 1 for this cause. Inventory date 2027-04-02; Room Type ID 200101; Rate Plan ID 300101; Restrictions were not updated due to a rate plan linkage rule. Ref=[x]';
    const out = readWarnings([{ code: 7023, message: text }], [rp], (id) => id.split('|')[1]);
    expect(out.refused.flatMap((r) => r.covers)).toEqual([{ cellId: 'c|2027-04-02', part: 'restr' }]);
  });
});

const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startSandboxServer>>;
let worker: SyncWorker;
const ids: Record<string, string> = {};
const BOOKING = DEMO_CONNECTIONS.find((c) => c.channel === 'booking_com')!;
const EXPEDIA = DEMO_CONNECTIONS.find((c) => c.channel === 'expedia')!;

const mark = (connection: string, room: string, plan: string, day: number) =>
  db.current.pool.query(
    `
  INSERT INTO channel.ari_dirty_cells (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
  SELECT m.connection_id, m.property_id, m.room_type_id, m.rate_plan_id, (now() AT TIME ZONE p.timezone)::date + $4::int
  FROM channel.channel_mappings m JOIN property_mgmt.room_types rt ON rt.id = m.room_type_id JOIN property_mgmt.rate_plans rp ON rp.id = m.rate_plan_id
  JOIN property_mgmt.properties p ON p.id = m.property_id
  WHERE m.connection_id = $1 AND rt.code = $2 AND rp.code = $3 ON CONFLICT DO NOTHING`,
    [connection, room, plan, day],
  );
const setRate = (room: string, plan: string, day: number, amount: string) =>
  db.current.pool.query(
    `
  UPDATE property_mgmt.daily_rates dr SET amount = $4 FROM property_mgmt.room_types rt, property_mgmt.rate_plans rp, property_mgmt.properties p
  WHERE rt.id = dr.room_type_id AND rp.id = dr.rate_plan_id AND p.id = dr.property_id AND rt.code = $1 AND rp.code = $2
    AND dr.stay_date = (now() AT TIME ZONE p.timezone)::date + $3::int`,
    [room, plan, day, amount],
  );
const requests = async (connection: string) =>
  (await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.sync_log WHERE connection_id = $1 AND message_kind <> 'token'`, [connection])).rows[0].n;
const cellAck = async (connection: string, room: string, plan: string, day: number) =>
  (
    await db.current.pool.query(
      `
  SELECT a.rate_acked_at IS NOT NULL AS rate, a.avail_acked_at IS NOT NULL AS avail, a.restr_acked_at IS NOT NULL AS restr, a.refused
  FROM channel.ari_acknowledged a JOIN property_mgmt.room_types rt ON rt.id = a.room_type_id JOIN property_mgmt.rate_plans rp ON rp.id = a.rate_plan_id
  JOIN property_mgmt.properties p ON p.id = a.property_id
  WHERE a.connection_id = $1 AND rt.code = $2 AND rp.code = $3 AND a.stay_date = (now() AT TIME ZONE p.timezone)::date + $4::int`,
      [connection, room, plan, day],
    )
  ).rows[0];
const openRefusals = async (connection: string) =>
  (
    await db.current.pool.query(
      `
  SELECT e.ota_code, rt.code AS room, rp.code AS plan, e.stay_from::text, e.message FROM channel.sync_errors e
  LEFT JOIN property_mgmt.room_types rt ON rt.id = e.room_type_id LEFT JOIN property_mgmt.rate_plans rp ON rp.id = e.rate_plan_id
  WHERE e.connection_id = $1 AND e.kind = 'rejected' AND e.resolved_at IS NULL ORDER BY e.stay_from, rt.code, rp.code`,
      [connection],
    )
  ).rows;
const dayOf = async (n: number) =>
  (await db.current.pool.query(`SELECT ((now() AT TIME ZONE timezone)::date + $1::int)::text AS d FROM property_mgmt.properties WHERE code = 'DEMO'`, [n]))
    .rows[0].d as string;

beforeAll(async () => {
  server = await startSandboxServer({
    // Booking.com does not know the demo's third room (STE): ROOM_ID_INVALID for its updates.
    // The demo's FAM is an occupancy-based room-rate there (its own pricing type: OBP).
    bookingProducts: {
      [BOOKING.hotelCode]: {
        rooms: [BOOKING.roomCodes.STD!, BOOKING.roomCodes.DLX!],
        rates: Object.values(BOOKING.rateCodes),
        ratePricing: { [BOOKING.rateCodes.FAM!]: 'obp' },
      },
    },
    // Expedia checks DLX rates against a threshold of 20–500 (a SellLAR property: warning 7021).
    expediaHotels: {
      thresholds: { [EXPEDIA.hotelCode]: { [EXPEDIA.roomCodes.DLX!]: { min: 20, max: 500 } } },
      rateAcquisition: { [EXPEDIA.hotelCode]: 'SellLAR' },
    },
  });
  await seedDemo(db.current.pool, { sandboxBaseUrl: server.url, days: 60 });
  Object.assign(ids, await connectionIds(db.current.pool));
  worker = new SyncWorker({
    pool: db.current.pool,
    log: createLogger('silent'),
    connectors: CONNECTORS,
    pollMs: 20,
    concurrency: 2,
    batchSize: 5000,
    timeoutMs: 2000,
    maxAttempts: 3,
    defaultRatePerMinute: 100_000,
  });
});
afterAll(async () => {
  await worker?.stop();
  await server?.close();
});

describe('updates an OTA did not apply', () => {
  it('Booking.com: the updates of a room it does not know are refused and recorded; the rest of each request applied and acknowledged', async () => {
    await requestFullSync(db.current.pool, ids.booking_com!, 365);
    await worker.syncConnection(ids.booking_com!);
    const wrong = await mismatches(db.current.pool, ids.booking_com!, server, 60);
    expect(wrong.length).toBeGreaterThan(0);
    expect(wrong.every((m) => m.cell.startsWith(`${BOOKING.roomCodes.STE}/`))).toBe(true); // only STE differs
    const { rows: acks } = await db.current.pool.query(
      `SELECT rt.code, bool_and(a.avail_acked_at IS NOT NULL AND a.rate_acked_at IS NOT NULL) AS all_acked,
        bool_or(a.avail_acked_at IS NOT NULL OR a.rate_acked_at IS NOT NULL OR a.restr_acked_at IS NOT NULL) AS any_acked
      FROM channel.ari_acknowledged a JOIN property_mgmt.room_types rt ON rt.id = a.room_type_id
      WHERE a.connection_id = $1 AND a.stay_date < (SELECT (now() AT TIME ZONE timezone)::date + 60 FROM property_mgmt.properties WHERE code = 'DEMO') GROUP BY 1 ORDER BY 1`,
      [ids.booking_com],
    );
    expect(acks).toEqual([
      { code: 'DLX', all_acked: true, any_acked: true },
      { code: 'STD', all_acked: true, any_acked: true },
    ]);
    const refusals = await openRefusals(ids.booking_com!);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((r) => r.room === 'STE' && r.ota_code === '402' && r.message.includes(`Room ID '${BOOKING.roomCodes.STE}' is not valid`))).toBe(true);
    expect((await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE connection_id = $1`, [ids.booking_com])).rows[0].n).toBe(
      0,
    );
  });

  it('Expedia: a rate its threshold refuses (7021) is not acknowledged, is recorded on the cell, is not resent while the PMS says the same, and is resent when it changes or on a full sync', async () => {
    const expedia = ids.expedia!;
    // BB: a plan no other derives from, so the refused rate is this one cell's (NRF follows BAR).
    await setRate('DLX', 'BB', 10, '9.00');
    await requestFullSync(db.current.pool, expedia, 30);
    await worker.syncConnection(expedia);
    const day10 = await dayOf(10);
    const key = sandboxKey(EXPEDIA.roomCodes.DLX!, EXPEDIA.rateCodes.BB!, day10);
    expect(server.expedia.cells(EXPEDIA.hotelCode).get(key)?.rate).not.toBe('9.00'); // not applied at Expedia
    expect(await cellAck(expedia, 'DLX', 'BB', 10)).toEqual({
      rate: false,
      avail: true,
      restr: true,
      refused: { rate: { rate: '9.00', currency: 'EUR', occupancyRates: null } },
    });
    expect(await openRefusals(expedia)).toEqual([expect.objectContaining({ ota_code: '7021', room: 'DLX', plan: 'BB', stay_from: day10 })]);
    expect((await openRefusals(expedia))[0].message).toContain(
      `Inventory date ${day10}; Room Type ID ${EXPEDIA.roomCodes.DLX}; Rate Plan ID ${EXPEDIA.rateCodes.BB}`,
    );

    // The cell is marked again with the same PMS values (another change touched it): nothing to send.
    const before = await requests(expedia);
    await mark(expedia, 'DLX', 'BB', 10);
    await worker.syncConnection(expedia);
    expect(await requests(expedia)).toBe(before);

    // The revenue manager fixes the rate: sent, accepted, acknowledged; the refusal resolves.
    await setRate('DLX', 'BB', 10, '25.00');
    await mark(expedia, 'DLX', 'BB', 10);
    await worker.syncConnection(expedia);
    expect(await requests(expedia)).toBe(before + 1);
    expect(server.expedia.cells(EXPEDIA.hotelCode).get(key)?.rate).toBe('25.00');
    expect(await cellAck(expedia, 'DLX', 'BB', 10)).toEqual({ rate: true, avail: true, restr: true, refused: null });
    expect(await openRefusals(expedia)).toEqual([]);

    // Back to 9.00: refused again, then remembered; a full sync sends it once more all the same.
    await setRate('DLX', 'BB', 10, '9.00');
    await mark(expedia, 'DLX', 'BB', 10);
    await worker.syncConnection(expedia);
    const refusedAgain = await requests(expedia);
    expect(refusedAgain).toBe(before + 2);
    await mark(expedia, 'DLX', 'BB', 10);
    await worker.syncConnection(expedia);
    expect(await requests(expedia)).toBe(refusedAgain);
    const warnings = server.expedia.stats.warnings;
    await requestFullSync(db.current.pool, expedia, 30);
    await worker.syncConnection(expedia);
    expect(await requests(expedia)).toBeGreaterThan(refusedAgain);
    expect(server.expedia.stats.warnings).toBe(warnings + 1);
    expect(await cellAck(expedia, 'DLX', 'BB', 10)).toMatchObject({ rate: false, refused: { rate: { rate: '9.00' } } });
  });
});

describe("what Expedia is sent: the property's rate acquisition type and tax setting", () => {
  it('NetRate with 18 % commission on a tax-inclusive Expedia property, from tax-exclusive PMS rates (10 %): rate × 1.10 × 0.82, to the cent', async () => {
    await setRate('DLX', 'BAR', 10, '120.00');
    await db.current.pool.query(`UPDATE channel.channel_connections SET settings = settings || $2::jsonb WHERE id = $1`, [
      ids.expedia,
      JSON.stringify({ rate_acquisition_type: 'NetRate', commission_percent: 18, tax_inclusive: true, pms_rates_include_tax: false, tax_percent: 10 }),
    ]);
    await requestFullSync(db.current.pool, ids.expedia!, 5);
    await worker.syncConnection(ids.expedia!);
    // The PMS rates before the connection's pricing, NRF's derived from BAR: from the independent oracle.
    const keys = await mappedCells(db.current.pool, ids.expedia!, 5);
    const truth = await ariOracle(db.current.pool, keys);
    const { rows: codes } = await db.current.pool.query(
      `SELECT rt.id AS rt, rp.id AS rp, rt.code AS room, rp.code AS plan FROM property_mgmt.room_types rt JOIN property_mgmt.rate_plans rp ON rp.property_id = rt.property_id`,
    );
    const code = new Map(codes.map((c) => [`${c.rt}|${c.rp}`, c]));
    const rows = keys.map((k) => ({
      ...code.get(`${k.roomTypeId}|${k.ratePlanId}`)!,
      night: k.stayDate,
      amount: truth.get(cellId(k))!.pmsRate!,
      occupancy: truth.get(cellId(k))!.occupancyRates,
    }));
    expect(rows.length).toBe(3 * 4 * 5); // 3 room types × 4 plans × 5 nights
    expect(rows.every((r) => r.amount !== null)).toBe(true);
    expect(rows.filter((r) => r.occupancy !== null).length).toBe(3 * 5); // FAM, priced per guest
    const cells = server.expedia.cells(EXPEDIA.hotelCode);
    // Exact in hundredths of a cent: cents × 110 × 82 / 10,000, half up.
    const converted = (amount: string) => {
      const want = (BigInt(Math.round(Number(amount) * 100)) * 110n * 82n + 5_000n) / 10_000n;
      return `${want / 100n}.${String(want % 100n).padStart(2, '0')}`;
    };
    for (const r of rows) {
      const cell = cells.get(sandboxKey(EXPEDIA.roomCodes[r.room]!, EXPEDIA.rateCodes[r.plan]!, r.night));
      if (r.occupancy === null) expect(cell?.rate, `${r.room}/${r.plan}/${r.night}`).toBe(converted(r.amount));
      // A per-occupancy rate: each number of guests' price converted alike.
      else
        expect(cell?.occupancyRates, `${r.room}/${r.plan}/${r.night}`).toEqual(
          Object.fromEntries(Object.entries(r.occupancy as Record<string, string>).map(([g, a]) => [g, converted(a)])),
        );
    }
  });
});

/** Booking.com as a fixture file says it answers: token, ARI endpoints; each answer taken from `answers` (default: success), each request kept. */
async function fixtureBooking() {
  const app = Fastify({ bodyLimit: 16 * 1024 * 1024 });
  const requests: Array<{ kind: 'avail' | 'rate'; body: string }> = [];
  const answers: Array<{ kind: 'avail' | 'rate'; status: number; file: string }> = [];
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string' }, (_r, body, done) => done(null, body));
  app.post('/token-based-authentication/exchange', async () => ({ jwt: 'header.claims.signature', ruid: 'r' }));
  for (const [kind, path] of [
    ['avail', '/hotels/ota/OTA_HotelAvailNotif'],
    ['rate', '/hotels/ota/OTA_HotelRateAmountNotif'],
  ] as const) {
    app.post(path, async (req, reply) => {
      requests.push({ kind, body: String(req.body) });
      const i = answers.findIndex((a) => a.kind === kind);
      const a = i >= 0 ? answers.splice(i, 1)[0]! : { status: 200, file: 'ari_rs_success.xml' };
      const body = fixture(`booking-com/${a.file}`).replace(
        /OTA_HotelAvailNotifRS/g,
        kind === 'avail' ? 'OTA_HotelAvailNotifRS' : 'OTA_HotelRateAmountNotifRS',
      );
      return reply
        .code(a.status)
        .type('application/xml')
        .send(kind === 'avail' ? body.replace(/OTA_HotelRateAmountNotifRS/g, 'OTA_HotelAvailNotifRS') : body);
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, requests, answers, close: () => app.close() };
}

describe("Booking.com requests and answers, against the publisher's answer files", () => {
  let fake: Awaited<ReturnType<typeof fixtureBooking>>;
  let id: string;
  beforeAll(async () => {
    fake = await fixtureBooking();
    id = await addConnection(db.current.pool, {
      channel: 'booking_com',
      hotelCode: '7770777',
      credentials: { client_id: 'fixture', client_secret: 'fixture' },
      endpointUrl: fake.url,
      settings: { auth_url: fake.url },
      mappings: [
        { room: 'R1', rate: 'P1', roomType: 'STD', ratePlan: 'BAR' },
        { room: 'R2', rate: 'P1', roomType: 'DLX', ratePlan: 'BAR' },
        { room: 'R1', rate: 'P2', roomType: 'STD', ratePlan: 'NRF' },
      ],
    });
  });
  afterAll(async () => fake?.close());

  it("a 200 with Errors: the update its RecordID names is refused and recorded, every other one applied; no request repeats a room-rate's dates", async () => {
    fake.answers.push({ kind: 'rate', status: 200, file: 'ari_rs_partial_errors.xml' });
    await requestFullSync(db.current.pool, id, 365);
    await worker.syncConnection(id);
    const first = fake.requests.find((r) => r.kind === 'rate')!;
    const msg = (await parseStringPromise(first.body)).OTA_HotelRateAmountNotifRQ.RateAmountMessages[0].RateAmountMessage.find(
      (m: { $: { LocatorID: string } }) => m.$.LocatorID === '2',
    ).StatusApplicationControl[0].$;
    const { rows } = await db.current.pool.query(
      `SELECT m.ota_room_code AS room, m.ota_rate_code AS rate, a.stay_date::text AS night, a.rate_acked_at IS NOT NULL AS rate_acked
      FROM channel.ari_acknowledged a JOIN channel.channel_mappings m ON m.connection_id = a.connection_id AND m.room_type_id = a.room_type_id AND m.rate_plan_id = a.rate_plan_id
      JOIN property_mgmt.daily_rates dr ON dr.room_type_id = a.room_type_id AND dr.rate_plan_id = a.rate_plan_id AND dr.stay_date = a.stay_date
      WHERE a.connection_id = $1`,
      [id],
    );
    const named = (r: { room: string; rate: string; night: string }) =>
      r.room === msg.InvTypeCode && r.rate === msg.RatePlanCode && r.night >= msg.Start && r.night <= msg.End;
    expect(rows.filter(named).length).toBeGreaterThan(0);
    expect(rows.filter(named).every((r) => !r.rate_acked)).toBe(true);
    expect(rows.filter((r) => !named(r)).every((r) => r.rate_acked)).toBe(true);
    expect(await openRefusals(id)).toEqual([expect.objectContaining({ ota_code: '249', stay_from: msg.Start })]);
    // Each request one calendar month, and never the same room-rate and dates twice (WARN_DUPLICATE_DATES).
    for (const r of fake.requests) {
      const doc = await parseStringPromise(r.body);
      const items =
        r.kind === 'avail'
          ? doc.OTA_HotelAvailNotifRQ.AvailStatusMessages[0].AvailStatusMessage
          : doc.OTA_HotelRateAmountNotifRQ.RateAmountMessages[0].RateAmountMessage;
      const spans = items.map((m: { StatusApplicationControl: Array<{ $: Record<string, string> }> }) => m.StatusApplicationControl[0]!.$);
      expect(new Set(spans.map((x: Record<string, string>) => x.Start!.slice(0, 7))).size).toBe(1);
      const keys = spans.map((x: Record<string, string>) => `${x.InvTypeCode}|${x.RatePlanCode ?? ''}|${x.Start}|${x.End}`);
      expect(new Set(keys).size, `a request repeats a room-rate's dates: ${r.body.slice(0, 300)}`).toBe(keys.length);
    }
  });
});
