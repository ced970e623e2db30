/**
 * The one ARI statement (connectors/outbound/sql/ari.ts `currentAri`) over 5,000 mapped cells of the
 * demo hotel: 2 warm-up runs, then 10 timed; min, median and max. `--per-day` leaves out the
 * per-occupancy plan (FAM), for a comparison with checkouts before it existed. A figure to compare
 * checkouts with on one machine (bench/RESULTS.md), not a target.
 *
 *   npm run bench:ari [-- --per-day]
 */
import { benchDatabase, machine } from './common.ts';
import { seedDemo } from '../core/demo/seed-demo.ts';
import { demoConnections } from '../connectors/demo.ts';
import { currentAri } from '../connectors/outbound/sql/ari.ts';

const perDay = process.argv.includes('--per-day');
const db = await benchDatabase('bench_ari');
try {
  const url = 'http://127.0.0.1:9';
  await seedDemo(db.pool, { sandboxBaseUrl: url, connections: demoConnections(url, ['booking_com', 'expedia']) });
  const { rows: cells } = await db.pool.query(
    `SELECT m.connection_id AS "connectionId", m.room_type_id AS "roomTypeId", m.rate_plan_id AS "ratePlanId", d::date::text AS "stayDate"
     FROM channel.channel_mappings m JOIN property_mgmt.rate_plans rp ON rp.id = m.rate_plan_id
     CROSS JOIN generate_series(current_date, current_date + 499, interval '1 day') d
     WHERE NOT $1 OR rp.pricing_model = 'per_day'
     ORDER BY 4, 1, 2, 3 LIMIT 5000`,
    [perDay],
  );
  const times: number[] = [];
  for (let i = 0; i < 12; i++) {
    const t = performance.now();
    await db.pool.query(currentAri(cells));
    if (i >= 2) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  console.log(`machine: ${machine()}`);
  console.log(
    `ARI statement, ${cells.length} cells${perDay ? ' (per-day plans only)' : ''}: median ${ms(times[5]!)} (min ${ms(times[0]!)}, max ${ms(times.at(-1)!)})`,
  );
} finally {
  await db.close();
}
