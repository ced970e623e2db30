/**
 * Issue 20: the sync worker's finish, the CDC's marking upsert, the revenue team's "retry errors"
 * and (issue 18) the approval of a guardrail hold write the same rows (channel.ari_dirty_cells,
 * channel.ari_acknowledged, channel.sync_errors). Run side by side on overlapping cells, over and over, launched in every
 * order, with the finish settling its cells in the reverse of the key order, recording and
 * resolving the very error the retry resolves, and re-dirtying cells another worker took over,
 * PostgreSQL must never report a deadlock. And whatever commits first, nothing marked is lost:
 * every cell the marking or the retry covered is left dirty and unclaimed.
 *
 * The statements are the production code (finishPush is the worker's whole finish, markDirtyCells
 * the consumer's upsert, retryErrors the API action), run here without the reruns that would hide
 * a deadlock. The expected cells are recounted from the mappings in this file's own SQL; the
 * deadlock count is also read from PostgreSQL's own statistics (pg_stat_database.deadlocks).
 * The rerun wiring itself (an abort that still happens is run again, not counted against the
 * connection) is tested by injecting a deadlock error: here for the CDC's flush, in
 * sync-worker.test.ts for a worker's push.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { abortNextInsertAsDeadlock, useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';
import { createPool, rerunOnConflict, withTransaction, type PoolClient } from '../../core/db.ts';
import { registry } from '../../core/metrics.ts';
import { seedDemo } from '../helpers/demo.ts';
import { DirtyCellsConsumer } from '../../cdc/index.ts';
import { markDirtyCells, type CellRange } from '../../cdc/sql/dirty-cells.ts';
import { claimCells } from '../../connectors/outbound/sql/sync.ts';
import { finishPush } from '../../connectors/outbound/finish.ts';
import { recordAction, retryErrors } from '../../api/sql/actions.ts';
import { approveHold, resolveHeldErrors } from '../../connectors/outbound/sql/holds.ts';

const db = useTestDatabase();
const ROUNDS = 150;
const NIGHTS = 40;
let property: string;
let connection: string;
let roomType: string;
let ratePlan: string;

beforeAll(async () => {
  const { pool } = db.current;
  await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 60 });
  const {
    rows: [c],
  } = await pool.query(`SELECT c.id, c.property_id FROM channel.channel_connections c WHERE c.channel_code = 'booking_com'`);
  connection = c.id;
  property = c.property_id;
  // The room type with the most mapped rate plans: the most cells per night.
  const {
    rows: [m],
  } = await pool.query(
    `SELECT room_type_id, min(rate_plan_id::text) AS rate_plan_id FROM channel.channel_mappings
    WHERE connection_id = $1 AND active AND deleted_at IS NULL GROUP BY room_type_id ORDER BY count(*) DESC, room_type_id LIMIT 1`,
    [connection],
  );
  roomType = m.room_type_id;
  ratePlan = m.rate_plan_id;
});

function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** A change to the room type over nights [from, to) from today, as the consumer drains it. */
const range = (from: number, to: number, today: string): CellRange => ({
  connectionId: null,
  propertyId: property,
  roomTypeId: roomType,
  ratePlanId: null,
  from: addDays(today, from),
  to: addDays(today, to),
  lsn: '0/1',
});

async function client(name: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.current.url, application_name: name });
  await c.connect();
  return c;
}

const deadlocks = async () =>
  Number((await db.current.pool.query(`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`)).rows[0].deadlocks);
const today = async () =>
  (await db.current.pool.query(`SELECT (now() AT TIME ZONE p.timezone)::date::text AS d FROM property_mgmt.properties p WHERE p.id = $1`, [property])).rows[0]
    .d as string;
const reruns = async (what: string) =>
  (await registry.getSingleMetric('stayos_db_reruns_total')!.get()).values.filter((v) => v.labels.what === what).reduce((a, v) => a + v.value, 0);

/** Every permutation of four: the order in which the parties are sent. */
const ORDERS: number[][] = [];
for (const a of [0, 1, 2, 3])
  for (const b of [0, 1, 2, 3]) for (const c of [0, 1, 2, 3]) if (new Set([a, b, c]).size === 3) ORDERS.push([a, b, c, 6 - a - b - c]);

describe('the writers of the dirty cells, side by side', () => {
  it(`the worker's finish, the CDC's marking, "retry errors" and approving a hold never deadlock over ${ROUNDS} rounds, and nothing marked is lost`, async () => {
    const { pool } = db.current;
    const day = await today();
    const parties = {
      worker: await client('lock-order-worker'),
      cdc: await client('lock-order-cdc'),
      retry: await client('lock-order-retry'),
      approve: await client('lock-order-approve'),
    };
    const failures: string[] = [];
    const before = await deadlocks();
    const values = {
      availability: 1,
      rate: '100.00',
      currency: 'EUR',
      minLos: 1,
      maxLos: null,
      closedToArrival: false,
      closedToDeparture: false,
      closed: false,
    };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // The worker's claim: every waiting cell of the room type (committed, as the worker does).
        await pool.query(`DELETE FROM channel.ari_dirty_cells WHERE connection_id = $1`, [connection]);
        await pool.query(`DELETE FROM channel.sync_errors WHERE connection_id = $1`, [connection]);
        await pool.query(markDirtyCells(['booking_com'], [range(0, NIGHTS, day)]));
        // A guardrail hold waiting for approval on nights 20–24 of one rate plan (the claim skips them).
        const {
          rows: [hold],
        } = await pool.query<{ id: string }>(
          `INSERT INTO channel.ari_holds (connection_id, property_id, kind, reason, cells) VALUES ($1, $2, 'rate_change', 'lock-order hold', 5) RETURNING id`,
          [connection, property],
        );
        const { rows: preHeld } = await pool.query<{ id: string }>(
          `UPDATE channel.ari_dirty_cells SET held_by = $1, last_hold = $1, held_values = '{}' WHERE connection_id = $2 AND room_type_id = $3
             AND rate_plan_id = $4 AND stay_date BETWEEN $5::date + 20 AND $5::date + 24 RETURNING id`,
          [hold!.id, connection, roomType, ratePlan, day],
        );
        expect(preHeld).toHaveLength(5);
        const claimId = randomUUID();
        const { rows: claimed } = await pool.query<{ id: string; dirtySeq: string }>(claimCells(connection, claimId, 10_000, 0));
        // Settled in the reverse of the key order: an order a plan could take.
        const { rows: cells } = await pool.query<{ id: string; roomTypeId: string; ratePlanId: string; night: string }>(
          `
          SELECT id, room_type_id AS "roomTypeId", rate_plan_id AS "ratePlanId", stay_date AS night FROM channel.ari_dirty_cells WHERE claim_id = $1
          ORDER BY room_type_id DESC, rate_plan_id DESC, stay_date DESC`,
          [claimId],
        );
        expect(cells.length).toBeGreaterThan(NIGHTS);
        const seq = new Map(claimed.map((r) => [r.id, r.dirtySeq]));
        // Another worker took two cells over meanwhile (a stall past the lease): the finish makes them dirty again.
        const lostIds = [cells[3]!.id, cells[cells.length - 4]!.id];
        await pool.query(`UPDATE channel.ari_dirty_cells SET claim_id = $2 WHERE id = ANY ($1::uuid[])`, [lostIds, randomUUID()]);
        // An open refusal of one rate plan's nights 5–14, which the retry resolves and the finish both resolves and records again.
        const errorFrom = addDays(day, 5 + (round % 7));
        const errorTo = addDays(errorFrom, 9);
        await pool.query(
          `INSERT INTO channel.sync_errors (connection_id, property_id, severity, kind, error_code, ota_code, message, room_type_id, rate_plan_id, stay_from, stay_to)
          VALUES ($1, $2, 'error', 'rejected', 'ERR_OTA_REJECTED', '3020', 'lock-order refusal', $3, $4, $5, $6)`,
          [connection, property, roomType, ratePlan, errorFrom, errorTo],
        );
        const inError = cells.filter((c) => c.ratePlanId === ratePlan && c.night >= errorFrom && c.night <= errorTo);
        const push = cells.map((c) => ({
          cellId: c.id,
          roomTypeId: c.roomTypeId,
          ratePlanId: c.ratePlanId,
          roomCode: 'R',
          rateCode: 'P',
          night: c.night,
          values: values as never,
          parts: ['avail' as const],
        }));

        const newlyHeld = [cells[7]!, cells[cells.length - 8]!];
        const shift = (round % 5) - 2; // the marking's window shifts round by round
        const run = {
          worker: () =>
            finishPush(parties.worker as unknown as PoolClient, {
              connectionId: connection,
              propertyId: property,
              claimId,
              cellIds: cells.map((c) => c.id).reverse(),
              pushed: push,
              target: { endpoint: 'http://127.0.0.1:9', hotel: 'H' },
              acked:
                round % 3 === 0
                  ? []
                  : cells.filter((_, i) => i % 2 === 0).map((c) => ({ cellId: c.id, parts: ['avail'], values: values as never, room: 'R', rate: 'P' })),
              fresh: round % 2 === 0 ? cells.map((c) => c.id) : [], // forgetOthersAtTargets under the same contention
              uncertain: cells.filter((_, i) => i % 5 === 1).map((c) => ({ cellId: c.id, parts: ['avail'] })),
              refused: [],
              done: cells.filter((c) => !newlyHeld.includes(c)).map((c) => ({ cellId: c.id, dirtySeq: seq.get(c.id)! })),
              accepted: inError.slice(0, 3).map((c) => ({ roomTypeId: c.roomTypeId, ratePlanId: c.ratePlanId, stayDate: c.night })),
              errors: [
                {
                  severity: 'error',
                  kind: 'rejected',
                  errorCode: 'ERR_OTA_REJECTED',
                  otaCode: '3020',
                  message: 'again',
                  roomTypeId: roomType,
                  ratePlanId: ratePlan,
                  stayFrom: errorFrom,
                  stayTo: errorTo,
                },
              ],
              notOverbooked: [],
              // Two claimed cells held by this push (not done: the worker holds what it does not send).
              holds: [
                {
                  kind: 'closing',
                  reason: 'lock-order closing',
                  sample: [],
                  cells: newlyHeld.map((c) => ({ cellId: c.id, dirtySeq: seq.get(c.id)!, parts: ['avail'], values: { avail: { availability: 0 } } })),
                },
              ],
              unknownMappings: [],
            }),
          cdc: async () => {
            await parties.cdc.query('SET LOCAL enable_seqscan = off');
            await parties.cdc.query(markDirtyCells(['booking_com'], [range(shift, NIGHTS + shift, day)]));
          },
          retry: () => retryErrors(parties.retry as unknown as PoolClient, connection),
          // The API's approve action, statement by statement (api/routes/channels.ts).
          approve: async () => {
            const c = parties.approve;
            await c.query(approveHold.lockCells(hold!.id));
            await c.query(approveHold.stamp(connection, hold!.id));
            await c.query(approveHold.release(hold!.id));
            await c.query(resolveHeldErrors(connection));
            await c.query(recordAction(connection, 'approve_hold', { holdId: hold!.id }));
          },
        };
        const names = ['worker', 'cdc', 'retry', 'approve'] as const;
        for (const n of names) await parties[n].query('BEGIN');
        const sent = ORDERS[round % ORDERS.length]!.map((i) => names[i]!).map((n) => ({ n, p: run[n]().then(() => parties[n].query('COMMIT')) }));
        for (const { n, p } of sent) {
          const err = await p.then(
            () => null,
            (e: Error & { code?: string }) => e,
          );
          if (!err) continue;
          failures.push(`round ${round} ${n}: ${err.code} ${err.message}`);
          await parties[n].query('ROLLBACK');
        }
        if (failures.length) break;

        // Oracle: every mapped cell the marking covered (from yesterday, the window's first night)
        // and every cell of the error's nights is dirty and unclaimed now, whichever committed first.
        const {
          rows: [check],
        } = await pool.query(
          `
          WITH expected AS (
            SELECT m.rate_plan_id, d::date AS stay_date FROM channel.channel_mappings m
            CROSS JOIN generate_series(GREATEST($3::date + $4::int, $3::date - 1), $3::date + $5::int - 1, interval '1 day') d
            WHERE m.connection_id = $1 AND m.room_type_id = $2 AND m.active AND m.deleted_at IS NULL
            UNION
            SELECT $6::uuid, d::date FROM generate_series($7::date, $8::date, interval '1 day') d)
          SELECT count(*)::int AS expected,
                 count(c.id) FILTER (WHERE (c.claimed_at IS NULL OR c.id = ANY ($9::uuid[])) AND c.deleted_at IS NULL)::int AS dirty
          FROM expected e LEFT JOIN channel.ari_dirty_cells c ON c.connection_id = $1 AND c.room_type_id = $2
            AND c.rate_plan_id = e.rate_plan_id AND c.stay_date = e.stay_date`,
          [connection, roomType, day, shift, NIGHTS + shift, ratePlan, errorFrom, errorTo, lostIds],
        );
        expect(check.expected).toBeGreaterThan(NIGHTS);
        expect(check.dirty, `round ${round}`).toBe(check.expected);
        // The approved hold holds nothing now; only this push's own hold may (if the marking did not
        // change its cells meanwhile).
        const { rows: stillHeld } = await pool.query(`SELECT id FROM channel.ari_dirty_cells WHERE connection_id = $1 AND held_by IS NOT NULL`, [connection]);
        expect(
          stillHeld.every((r) => newlyHeld.some((c) => c.id === r.id)),
          `round ${round}`,
        ).toBe(true);
        // The cells the other worker holds are marked changed: its own finish keeps them dirty.
        const { rows: lost } = await pool.query(`SELECT id, dirty_seq::text AS seq FROM channel.ari_dirty_cells WHERE id = ANY ($1::uuid[])`, [lostIds]);
        expect(
          lost.map((l) => l.seq !== seq.get(l.id)),
          `round ${round}`,
        ).toEqual([true, true]);
      }
    } finally {
      for (const c of Object.values(parties)) await c.end();
    }
    expect(failures).toEqual([]);
    // PostgreSQL's own count (a backend reports its statistics when its connection closes).
    await waitFor(async () => (await pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'lock-order-%'`)).rowCount === 0, {
      what: 'the test connections closed',
    });
    expect(await deadlocks()).toBe(before);
  }, 180_000);

  it('a deadlock that still happens is run again after a short pause and goes through (rerunOnConflict)', async () => {
    // Its own pool, closed at the end: a backend reports its statistics when its connection closes.
    const pool = createPool(db.current.url, { max: 4, applicationName: 'lock-order-rerun' });
    await pool.query(`CREATE TABLE lock_probe (id int PRIMARY KEY, n int NOT NULL DEFAULT 0); INSERT INTO lock_probe VALUES (1), (2)`);
    const before = await deadlocks();
    const counted = await reruns('probe');
    // Two transactions that lock rows 1 and 2 in opposite orders, each taking its second row only
    // once both hold their first: PostgreSQL must abort one of them (the classic deadlock).
    let held = 0;
    let release!: () => void;
    const bothHold = new Promise<void>((r) => (release = r));
    const attempts = [0, 0];
    const side = (i: number, first: number, second: number) =>
      rerunOnConflict(
        () =>
          withTransaction(pool, async (c) => {
            attempts[i]!++;
            await c.query('UPDATE lock_probe SET n = n + 1 WHERE id = $1', [first]);
            if (attempts[i] === 1) {
              if (++held === 2) release();
              await bothHold;
            }
            await c.query('UPDATE lock_probe SET n = n + 1 WHERE id = $1', [second]);
          }),
        { what: 'probe' },
      );
    try {
      await Promise.all([side(0, 1, 2), side(1, 2, 1)]);
      // One side committed at once; the other was aborted and ran again, once: its pause lets the
      // winner (woken by the abort) take the row first, where a rerun at the very instant could take
      // it again and deadlock anew (a CI run saw three attempts in a row fail that way). Both
      // committed: each row counted once per committed transaction, the rerun counted.
      const [once, again] = [...attempts].sort((a, b) => a - b);
      expect(once).toBe(1);
      expect(again).toBe(2);
      expect((await pool.query('SELECT id, n FROM lock_probe ORDER BY id')).rows).toEqual([
        { id: 1, n: 2 },
        { id: 2, n: 2 },
      ]);
      expect(await reruns('probe')).toBe(counted + again! - 1);
    } finally {
      await pool.end();
    }
    // PostgreSQL did detect a deadlock (its statistics, once the pool's backends report them).
    await waitFor(async () => (await deadlocks()) >= before + 1, { what: 'the deadlock counted by PostgreSQL' });
  });

  it('the CDC flush that PostgreSQL aborts for a deadlock runs again with the same changes', async () => {
    const { pool } = db.current;
    const day = await today();
    await pool.query(`DELETE FROM channel.ari_dirty_cells WHERE connection_id = $1`, [connection]);
    const fault = await abortNextInsertAsDeadlock(pool, 'channel.ari_dirty_cells', 'flush_fault');
    const counted = await reruns('cdc marking');
    try {
      const rate = (
        await pool.query(`SELECT * FROM property_mgmt.daily_rates WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3::date + 3`, [
          roomType,
          ratePlan,
          day,
        ])
      ).rows[0];
      const consumer = new DirtyCellsConsumer(pool, ['booking_com']);
      await consumer.write({
        op: 'update',
        schema: 'property_mgmt',
        table: 'daily_rates',
        key: { id: rate.id },
        before: rate,
        after: rate,
        unchangedToast: [],
        lsn: '0/10',
        commitLsn: '0/10',
        index: 0,
        xid: 1,
        commitTime: new Date().toISOString(),
        propertyId: property,
      });
      await consumer.flush();
    } finally {
      await fault.remove();
    }
    expect(await fault.firings()).toBe(2); // failed once, then went through
    expect(await reruns('cdc marking')).toBe(counted + 1);
    const { rows } = await pool.query(
      `SELECT stay_date - $2::date AS day FROM channel.ari_dirty_cells WHERE connection_id = $1 AND room_type_id = $3 AND rate_plan_id = $4`,
      [connection, day, roomType, ratePlan],
    );
    expect(rows).toEqual([{ day: 3 }]);
  });
});
