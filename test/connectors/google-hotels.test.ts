/**
 * The Google Hotels adapter (issue 17), against a sandbox written from Google's pages:
 *  - the sandbox takes messages built from Google's syntax blocks (test/fixtures/google-hotels: the
 *    structure Google's, the values ours, each file citing its pages and marking what is guessed)
 *    and applies them as Google says: inventory as an overlay per room, day flags, End inclusive,
 *    restrictions per type, the two-guest amount as the base rate; our parser reads the answer
 *    fixtures (the success form is Google's, the error's attributes guessed from OpenTravel);
 *  - a full sync brings the sandbox to exactly what the PMS says for every mapped cell (the truth
 *    recomputed from the raw tables: helpers/outbound.ts pmsTruth), stop-sell, no rate, closed to
 *    arrival and departure, stay limits and "no maximum" among them;
 *  - a package Google does not know: its message is split per series, then halved until the refused
 *    update stands alone, that one is recorded, everything else applied;
 *  - a hotel Google's account does not hold: every series refused alike, the connection down after
 *    a few requests (not one per update), its cells kept;
 *  - an address Google does not allow (HTTP 403): an authentication stop, the connection down.
 */
import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGoogleAnswer } from '../../connectors/google-hotels/parser.ts';
import { GoogleHotelsSandbox } from '../../connectors/google-hotels/sandbox.ts';
import { pendingCellCount, requestFullSync, sandboxKey, type SyncWorker } from '../../connectors/index.ts';
import type { Pool } from '../../core/db.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { mismatches, seedSandboxedDemo, startSandboxServer, testWorker } from '../helpers/outbound.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/google-hotels');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const DAYS = 30;

describe("the Google Hotels sandbox, with the publisher's examples", () => {
  const sandbox = new GoogleHotelsSandbox({ accounts: [{ hotels: ['HOTEL_123'] }] });
  const app = Fastify({ logger: false });
  let url = '';
  beforeAll(async () => {
    await app.register(sandbox.plugin);
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());
  const push = async (p: string, body: string, type = 'application/xml') =>
    fetch(`${url}/travel/hotels/uploads/ota/${p}`, { method: 'POST', headers: { 'content-type': type }, body }).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));

  it('applies the examples as the pages say, and answers <Success/>', async () => {
    for (const [p, f] of [
      ['hotel_inv_count_notif', 'OTA_HotelInvCountNotifRQ.xml'],
      ['hotel_avail_notif', 'OTA_HotelAvailNotifRQ.xml'],
      ['hotel_rate_amount_notif', 'OTA_HotelRateAmountNotifRQ.xml'],
    ]) {
      const r = await push(p!, fixture(f!));
      expect(r.status).toBe(200);
      expect(r.body).toMatch(/<Success\s*\/>/);
    }
    const rooms = sandbox.roomAvailability('HOTEL_123');
    // InvCount: DBL 5 for every night of March (End inclusive); TWN 0 on Fridays and Saturdays only.
    expect(rooms.get('DBL|2027-03-01')).toBe(5);
    expect(rooms.get('DBL|2027-03-31')).toBe(5);
    expect(rooms.get('TWN|2027-03-05')).toBe(0); // a Friday
    expect(rooms.get('TWN|2027-03-06')).toBe(0); // a Saturday
    expect(rooms.has('TWN|2027-03-08')).toBe(false); // a Monday: not flagged
    const cells = sandbox.cells('HOTEL_123');
    const cell = (night: string) => cells.get(sandboxKey('DBL', 'BAR', night));
    // Master opened for March, closed again on the 14th (a later message of the same restriction replaces it).
    expect(cell('2027-03-13')?.closed).toBe(false);
    expect(cell('2027-03-14')?.closed).toBe(true);
    // Arrival closed on Saturdays only; Departure closed on the 20th; LOS 2..14 for every arrival of the range.
    expect(cell('2027-03-06')?.closedToArrival).toBe(true);
    expect(cell('2027-03-07')?.closedToArrival).toBeUndefined();
    expect(cell('2027-03-20')?.closedToDeparture).toBe(true);
    expect(cell('2027-03-02')).toMatchObject({ minLos: 2, maxLos: 14 });
    // The two-guest amount (after tax) is the base rate; the one-guest amount is not.
    expect(cell('2027-03-02')).toMatchObject({ rate: '110.00', currency: 'EUR' });
  });

  it('refuses what the pages rule out, whole, and applies nothing of it', async () => {
    const before = sandbox.roomAvailability('HOTEL_123').get('DBL|2027-03-01');
    const other = fixture('OTA_HotelInvCountNotifRQ.xml').replace(/Count="5"/, 'Count="9"');
    const cases = [
      [other.replace('HotelCode="HOTEL_123"', 'HotelCode="NOT_OURS"'), /HotelCode NOT_OURS/],
      [other.replace(/EchoToken="[^"]*"/, 'EchoToken="has space"'), /EchoToken/],
      [other.replace(/ TimeStamp="[^"]*"/, ''), /TimeStamp/],
      [other.replace('Count="0"', 'Count="-1"'), /Count/], // the second item bad: the first (DBL 9) is not applied either
    ] as const;
    for (const [body, why] of cases) {
      const r = await push('hotel_inv_count_notif', body);
      expect(r.body).toMatch(/<Errors>/);
      expect(r.body).toMatch(why);
    }
    expect((await push('hotel_avail_notif', other)).body).toMatch(/takes &lt;OTA_HotelAvailNotifRQ>/);
    expect((await push('hotel_inv_count_notif', other, 'text/plain')).body).toMatch(/application\/xml/);
    expect(sandbox.roomAvailability('HOTEL_123').get('DBL|2027-03-01')).toBe(before);
  });

  it("our parser reads the publisher's answer samples", async () => {
    expect(await parseGoogleAnswer(fixture('OTA_HotelAvailNotifRS-success.xml'), 'OTA_HotelAvailNotifRS')).toEqual({ kind: 'success', warnings: [] });
    const errors = await parseGoogleAnswer(fixture('OTA_HotelRateAmountNotifRS-error.xml'), 'OTA_HotelRateAmountNotifRS');
    expect(errors).toEqual({ kind: 'errors', errors: [{ type: '12', code: '999', text: 'placeholder: description returned by Google' }] });
    await expect(parseGoogleAnswer(fixture('OTA_HotelAvailNotifRS-success.xml'), 'OTA_HotelRateAmountNotifRS')).rejects.toThrow(
      /not an <OTA_HotelRateAmountNotifRS>/,
    );
    await expect(parseGoogleAnswer('<html>no</html>', 'OTA_HotelAvailNotifRS')).rejects.toThrow(/ERR_OTA_INVALID_RESPONSE|not an/);
  });
});

/**
 * A database of its own, the demo's Google connection calling a sandbox started with `options`
 * (after `before` set the PMS values the test needs), and a worker pushing it.
 */
function pushing(options: Parameters<typeof startSandboxServer>[0], before?: (pool: Pool) => Promise<void>) {
  const db = useTestDatabase();
  const state: { server?: Awaited<ReturnType<typeof startSandboxServer>>; worker?: SyncWorker; id?: string } = {};
  beforeAll(async () => {
    const { pool } = db.current;
    state.server = await startSandboxServer(options);
    const ids = await seedSandboxedDemo(pool, state.server.url, DAYS, ['google_hotels']);
    state.id = ids.google_hotels!;
    await before?.(pool);
    await requestFullSync(pool, state.id, DAYS);
    state.worker = testWorker(pool, { only: [state.id] });
    state.worker.start();
  });
  afterAll(async () => {
    await state.worker?.stop();
    await state.server?.close();
  });
  return {
    get pool() {
      return db.current.pool;
    },
    get id() {
      return state.id!;
    },
    get server() {
      return state.server!;
    },
  };
}

// PMS values every message kind must carry (the demo's own are all open, with a rate and no stay limits):
// a stop-sell night, a night without a rate, closed to arrival and to departure, a minimum and a
// maximum stay, and (the demo's default) no maximum.
const NIGHT = (n: number) => `(now() AT TIME ZONE 'Europe/Amsterdam')::date + ${n}`;
async function restrict(pool: Pool): Promise<void> {
  const product = `room_type_id = (SELECT id FROM property_mgmt.room_types WHERE code = 'STD') AND rate_plan_id = (SELECT id FROM property_mgmt.rate_plans WHERE code = 'BAR')`;
  await pool.query(`UPDATE property_mgmt.restrictions SET stop_sell = true WHERE ${product} AND stay_date = ${NIGHT(3)}`);
  await pool.query(`UPDATE property_mgmt.restrictions SET min_los = NULL, max_los = NULL WHERE ${product} AND stay_date = ${NIGHT(2)}`);
  await pool.query(`UPDATE property_mgmt.restrictions SET closed_to_arrival = true, closed_to_departure = true WHERE ${product} AND stay_date = ${NIGHT(5)}`);
  await pool.query(`UPDATE property_mgmt.restrictions SET min_los = 3, max_los = 7 WHERE ${product} AND stay_date BETWEEN ${NIGHT(8)} AND ${NIGHT(10)}`);
  await pool.query(`UPDATE property_mgmt.daily_rates SET deleted_at = now() WHERE ${product} AND stay_date = ${NIGHT(12)}`);
}

describe('pushing to Google Hotels: a full sync', () => {
  const t = pushing({}, restrict);
  it('brings Google to what the PMS says, in the three messages', async () => {
    const { pool, id } = t;
    await waitFor(async () => (await pendingCellCount(pool, id)) === 0, { what: 'every cell acknowledged', timeoutMs: 30_000 });
    expect(await mismatches(pool, id, t.server, DAYS)).toEqual([]);
    const { rows } = await pool.query<{ kind: string; n: number }>(
      `SELECT message_kind AS kind, count(*)::int AS n FROM channel.sync_log WHERE connection_id = $1 AND status = 'success' GROUP BY 1 ORDER BY 1`,
      [id],
    );
    expect(rows.map((r) => r.kind)).toEqual(['avail', 'inv', 'rate']);
    expect(t.server.google.stats.rejected).toBe(0);
    // What Google holds for the product, read from the sandbox, against the values set above.
    const { rows: nights } = await pool.query<{ n: number; d: string }>(`SELECT n, (${NIGHT(0)} + n)::text AS d FROM unnest(ARRAY[2, 3, 5, 8, 12]) n`);
    const at = (n: number) => t.server.google.cells('stayos-demo-amsterdam').get(sandboxKey('STD', 'BAR', nights.find((x) => x.n === n)!.d));
    expect(at(3)).toMatchObject({ closed: true });
    expect(at(12)).toMatchObject({ closed: true }); // no rate: closed
    expect(at(5)).toMatchObject({ closed: false, closedToArrival: true, closedToDeparture: true });
    expect(at(8)).toMatchObject({ minLos: 3, maxLos: 7 });
    expect(at(2)).toMatchObject({ closed: false, closedToArrival: false, minLos: 1, maxLos: 365 }); // no maximum: 365 nights
  });
});

/** Waits until the connection is down; its open errors then. */
async function downWith(pool: Pool, id: string): Promise<Array<{ kind: string; message: string }>> {
  await waitFor(async () => (await pool.query(`SELECT status FROM channel.channel_connections WHERE id = $1`, [id])).rows[0].status === 'down', {
    what: 'the connection down',
  });
  return (await pool.query(`SELECT kind, message FROM channel.sync_errors WHERE connection_id = $1 AND resolved_at IS NULL`, [id])).rows;
}

describe('pushing to Google Hotels for a hotel its account does not hold', () => {
  const t = pushing({ googleHotels: ['another-hotel'] });
  it('every room and package refused alike: the connection goes down after a few requests, its cells kept', async () => {
    const { pool, id } = t;
    const [e] = await downWith(pool, id);
    expect(e).toMatchObject({ kind: 'rejected' });
    expect(e!.message).toMatch(/HotelCode stayos-demo-amsterdam is not a hotel of this account.*every room and package refused alike/);
    // The first message and one per room type: not one request per update.
    expect(t.server.google.stats.requests).toBeLessThanOrEqual(1 + 3);
    expect(await pendingCellCount(pool, id)).toBeGreaterThan(0);
  });
});

describe('pushing to Google Hotels: a package Google does not know', () => {
  // The hotel's property data (Transaction) defines BAR and BB, not NRF.
  const t = pushing({ googleProducts: { 'stayos-demo-amsterdam': { rooms: ['STD', 'DLX', 'STE'], rates: ['BAR', 'BB', 'FAM'] } } });
  it('is halved until it stands alone and recorded; everything else applied', async () => {
    const { pool, id } = t;
    await waitFor(async () => (await pendingCellCount(pool, id)) === 0, { what: 'every cell acknowledged or refused', timeoutMs: 30_000 });
    const wrong = await mismatches(pool, id, t.server, DAYS);
    // Only NRF's own values are missing at Google (its rooms' counts are room-level, sent apart: applied).
    expect(wrong.length).toBeGreaterThan(0);
    expect(wrong.filter((m) => !m.cell.includes('/NRF/'))).toEqual([]);
    expect(wrong.every((m) => m.field !== 'availability')).toBe(true);
    const { rows: errors } = await pool.query<{ kind: string; message: string }>(
      `SELECT kind, message FROM channel.sync_errors WHERE connection_id = $1 AND resolved_at IS NULL`,
      [id],
    );
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.kind === 'rejected' && /RatePlanCode NRF/.test(e.message) && /package NRF/.test(e.message))).toBe(true);
  });
});

describe('pushing to Google Hotels from an address it does not allow', () => {
  const t = pushing({ faults: { authFailure: true } });
  it('HTTP 403 is an authentication stop: the connection down, nothing acknowledged', async () => {
    const { pool, id } = t;
    const [e] = await downWith(pool, id);
    expect(e).toMatchObject({ kind: 'auth' });
    expect(e!.message).toMatch(/HTTP 403.*address/);
    expect(await pendingCellCount(pool, id)).toBeGreaterThan(0);
  });
});
