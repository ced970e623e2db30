/**
 * No change lost, ever: the CDC worker runs as a child process (`stayos start --only cdc`) and is
 * killed with SIGKILL a dozen times while a workload of more than 20,000 row changes runs across
 * every published table. After the final restart, every cell any change touched must be dirty.
 * Duplicates are allowed; a missing cell is a lost change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { runCli, type CliProcess } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { confirmedFlush, currentWal, dropSlot, slotName } from '../helpers/cdc.ts';
import { seedDemo } from '../helpers/demo.ts';
import { ensureSlot } from '../../cdc/index.ts';
import type { Pool } from '../../core/db.ts';

const db = useTestDatabase();
const slot = slotName();

/**
 * Expected dirty cells: `property|rt|rp|date` (rp '*' = every mapped plan; date '*' = the whole
 * window). The workload is laid out so that a lost transaction cannot hide behind another one:
 * nights [0, 400) of the demo hotel are each touched by exactly one transaction (one cell's rate
 * and restriction), bulk edits, bookings and blocks stay in nights [400, 420), and the changes
 * that dirty whole windows (rooms out of service, mapping and connection settings) happen at a
 * second hotel.
 */
const expected = new Set<string>();
let changes = 0;
let seed = 42;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const day = (o: number) => new Date(Date.now() + o * 86400_000).toISOString().slice(0, 10);

interface Hotel {
  property: string;
  types: string[];
  plans: string[];
  /** The plans with rate rows of their own (edited below); a derived plan follows its parent. */
  own: string[];
  /** Per plan, itself and the plans derived from it: the cells an edit of it must dirty. */
  follows: Record<string, string[]>;
  conns: string[];
}
let demo: Hotel;
let second: Hotel;
const uniqueCells: Array<[string, string, number]> = [];

async function oneTransaction(pool: Pool): Promise<void> {
  const kind = rnd(20);
  const rt = demo.types[rnd(demo.types.length)]!;
  const rp = demo.own[rnd(demo.own.length)]!;
  if (kind < 8 && uniqueCells.length) {
    const [t, p, d] = uniqueCells.pop()!;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, [
        t,
        p,
        day(d),
      ]);
      await client.query(
        `UPDATE property_mgmt.restrictions SET closed_to_arrival = NOT closed_to_arrival WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`,
        [t, p, day(d)],
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    changes += 2;
    for (const f of demo.follows[p]!) expected.add(`${demo.property}|${t}|${f}|${day(d)}`);
  } else if (kind < 15) {
    // A revenue manager's bulk edit.
    const r = await pool.query(
      `UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date >= $3 AND stay_date < $4`,
      [rt, rp, day(400), day(420)],
    );
    const s = await pool.query(
      `UPDATE property_mgmt.restrictions SET min_los = 1 + (min_los % 3) WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date >= $3 AND stay_date < $4`,
      [rt, rp, day(400), day(420)],
    );
    for (let i = 400; i < 420; i++) for (const f of demo.follows[rp]!) expected.add(`${demo.property}|${rt}|${f}|${day(i)}`);
    changes += (r.rowCount ?? 0) + (s.rowCount ?? 0);
  } else if (kind < 18) {
    // A booking, then moved or cancelled.
    const a = 400 + rnd(15);
    const nights = 1 + rnd(4);
    const client = await pool.connect();
    let roomId: string;
    let resId: string;
    try {
      await client.query('BEGIN');
      const {
        rows: [res],
      } = await client.query(
        `INSERT INTO reservation.reservations (property_id, check_in_date, check_out_date, currency) VALUES ($1, $2, $3, 'EUR') RETURNING id`,
        [demo.property, day(a), day(a + nights)],
      );
      const {
        rows: [room],
      } = await client.query(
        `INSERT INTO reservation.reservation_rooms (reservation_id, property_id, room_type_id, arrival_date, departure_date, currency) VALUES ($1, $2, $3, $4, $5, 'EUR') RETURNING id`,
        [res.id, demo.property, rt, day(a), day(a + nights)],
      );
      await client.query('COMMIT');
      roomId = room.id;
      resId = res.id;
    } finally {
      client.release();
    }
    changes += 2;
    for (let i = a; i < a + nights; i++) expected.add(`${demo.property}|${rt}|*|${day(i)}`);
    if (rnd(2) === 0) {
      const b = 400 + rnd(15);
      await pool.query(`UPDATE reservation.reservation_rooms SET arrival_date = $2, departure_date = $3 WHERE id = $1`, [roomId, day(b), day(b + nights)]);
      for (let i = b; i < b + nights; i++) expected.add(`${demo.property}|${rt}|*|${day(i)}`);
    } else {
      await pool.query(`UPDATE reservation.reservations SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, [resId]);
    }
    changes += 1;
  } else if (kind === 18) {
    const a = 400 + rnd(15);
    await pool.query(
      `INSERT INTO property_mgmt.inventory_blocks (property_id, room_type_id, start_date, end_date, rooms, reason) VALUES ($1, $2, $3, $4, 1, 'crash test')`,
      [demo.property, rt, day(a), day(a + 3)],
    );
    changes += 1;
    for (let i = a; i < a + 3; i++) expected.add(`${demo.property}|${rt}|*|${day(i)}`);
  } else {
    // Whole-window changes, at the second hotel: a room out of service and back, a mapping's or the connection's settings.
    const t = second.types[0]!;
    const which = rnd(3);
    const r =
      which === 0
        ? await pool.query(
            `UPDATE property_mgmt.rooms SET status = CASE WHEN status = 'out_of_service' THEN 'available' ELSE 'out_of_service' END WHERE room_type_id = $1`,
            [t],
          )
        : which === 1
          ? await pool.query(`UPDATE channel.channel_mappings SET settings = jsonb_build_object('markup_pct', $2::int) WHERE room_type_id = $1`, [t, rnd(10)])
          : await pool.query(`UPDATE channel.channel_connections SET settings = settings || jsonb_build_object('round', $2::int) WHERE property_id = $1`, [
              second.property,
              rnd(1000),
            ]);
    changes += r.rowCount ?? 0;
    expected.add(`${second.property}|*|*|*`);
  }
}

async function hotel(pool: Pool, property: string): Promise<Hotel> {
  const plans = (await pool.query(`SELECT id, parent_rate_plan_id AS parent FROM property_mgmt.rate_plans WHERE property_id = $1 ORDER BY code`, [property]))
    .rows;
  return {
    property,
    types: (await pool.query(`SELECT id FROM property_mgmt.room_types WHERE property_id = $1 ORDER BY code`, [property])).rows.map((r) => r.id),
    plans: plans.map((r) => r.id),
    own: plans.filter((r) => !r.parent).map((r) => r.id),
    follows: Object.fromEntries(plans.map((r) => [r.id, [r.id, ...plans.filter((c) => c.parent === r.id).map((c) => c.id)]])),
    conns: (await pool.query(`SELECT id FROM channel.channel_connections WHERE property_id = $1 ORDER BY channel_code`, [property])).rows.map((r) => r.id),
  };
}

function startWorker(): CliProcess {
  return runCli(['start', '--only', 'cdc'], {
    DATABASE_URL: db.current.url,
    STAYOS_ENCRYPTION_KEY: TEST_KEY,
    STAYOS_CDC_SLOT: slot,
    STAYOS_SEED_DEMO: 'false',
    STAYOS_LOG_LEVEL: 'warn',
  });
}

async function slotActive(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
  return rows[0]?.active === true;
}

beforeAll(async () => {
  const { pool } = db.current;
  await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 420 });
  demo = await hotel(pool, (await pool.query(`SELECT id FROM property_mgmt.properties WHERE code = 'DEMO'`)).rows[0].id);
  const {
    rows: [p2],
  } = await pool.query(`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('SECOND', 'Second hotel', 'EUR') RETURNING id`);
  const {
    rows: [t2],
  } = await pool.query(`INSERT INTO property_mgmt.room_types (property_id, code, name, max_occupancy) VALUES ($1, 'DBL', 'Double', 2) RETURNING id`, [p2.id]);
  await pool.query(`INSERT INTO property_mgmt.rooms (property_id, room_type_id, number) VALUES ($1, $2, '1'), ($1, $2, '2')`, [p2.id, t2.id]);
  const {
    rows: [r2],
  } = await pool.query(`INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency) VALUES ($1, 'BAR', 'BAR', 'EUR') RETURNING id`, [p2.id]);
  const {
    rows: [c2],
  } = await pool.query(
    `INSERT INTO channel.channel_connections (property_id, channel_code, ota_hotel_code, endpoint_url) VALUES ($1, 'booking_com', '999001', 'http://127.0.0.1:9') RETURNING id`,
    [p2.id],
  );
  await pool.query(
    `INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code) VALUES ($1, $2, $3, $4, '99900101', '1')`,
    [c2.id, p2.id, t2.id, r2.id],
  );
  second = await hotel(pool, p2.id);
  for (const t of demo.types) for (const p of demo.own) for (let d = 0; d < 400; d++) uniqueCells.push([t, p, d]);
  uniqueCells.sort(() => rnd(3) - 1);
  await ensureSlot(pool, slot);
});
afterAll(async () => {
  await dropSlot(db.current.pool, slot);
});

describe('CDC crash safety', () => {
  it('loses nothing across 12 SIGKILLs during 20,000+ changes on every published table', async () => {
    const { pool } = db.current;
    const rounds = 12;
    let kills = 0;
    for (let round = 0; round < rounds; round++) {
      const worker = startWorker();
      const startLsn = await confirmedFlush(pool, slot);
      let done = false;
      const chunk = (async () => {
        const target = changes + 1800;
        // Four writers at once: bursts the worker must catch up with.
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            while (changes < target) await oneTransaction(pool);
          }),
        );
        done = true;
      })();
      // Kill at a moment that varies with the round: before streaming, or after some progress.
      if (round % 4 !== 0) {
        // Mid catch-up: it has acknowledged something but is still behind the WAL, so it holds
        // received-but-unstored changes: the moment an early acknowledgement would lose them.
        await waitFor(
          async () => {
            if (done) return true;
            const confirmed = await confirmedFlush(pool, slot);
            return (await slotActive(pool)) && confirmed > startLsn && confirmed < (await currentWal(pool));
          },
          { timeoutMs: 60_000, intervalMs: 5, what: `worker progress in round ${round} (${worker.output()})` },
        );
      } else {
        await waitFor(() => worker.output().length > 0 || done || worker.child.pid !== undefined, { what: 'worker spawned' });
      }
      worker.child.kill('SIGKILL');
      await worker.exited;
      kills++;
      await chunk;
    }
    expect(kills).toBeGreaterThanOrEqual(10);
    expect(changes).toBeGreaterThanOrEqual(20_000);

    // Final restart: it must catch up with everything, then every touched cell must be dirty.
    const final = startWorker();
    const end = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, slot)) >= end, { timeoutMs: 120_000, what: `final catch-up (${final.output()})` });
    final.child.kill('SIGTERM');
    expect((await final.exited).code).toBe(0);

    const { rows } = await pool.query(
      `SELECT connection_id || '|' || room_type_id || '|' || rate_plan_id || '|' || stay_date::text AS k FROM channel.ari_dirty_cells`,
    );
    const dirty = new Set(rows.map((r) => r.k as string));
    const windowDays = Array.from({ length: 501 }, (_, i) => day(i - 1));
    const missing: string[] = [];
    for (const e of expected) {
      const [property, rt, rp, d] = e.split('|') as [string, string, string, string];
      const h = property === demo.property ? demo : second;
      for (const conn of h.conns) {
        for (const t of rt === '*' ? h.types : [rt]) {
          for (const p of rp === '*' ? h.plans : [rp]) {
            for (const dd of d === '*' ? windowDays : [d]) {
              if (!dirty.has(`${conn}|${t}|${p}|${dd}`)) missing.push(`${conn}|${t}|${p}|${dd}`);
            }
          }
        }
      }
    }
    expect(missing.slice(0, 5)).toEqual([]);
    expect(expected.size).toBeGreaterThan(500); // hundreds of single-cell transactions, each its own witness
  });
});
