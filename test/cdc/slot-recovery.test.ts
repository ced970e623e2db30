/**
 * Issue 15, defect 3: a lost, dropped or failed-over replication slot must not stop the sync
 * forever, nor skip silently what happened meanwhile. The CDC (startCdc, as `stayos start` runs
 * it) detects each case, says so — health and readiness 503 naming the slot while it is not
 * healed, an incident in GET /api/v1/cdc, a metric, an 'alert' error row per connection — makes a
 * new slot (a failover slot on PostgreSQL 17+) and resynchronises every connection once, with the
 * reason recorded. A change made while the slot was gone reaches the dirty cells through that
 * resync, which nothing else could have delivered.
 *
 * On a PostgreSQL server of this file's own with max_slot_wal_keep_size = 1MB, so that the slot
 * can really be invalidated (wal_status 'lost') by switching WAL segments past it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TEST_KEY } from '../helpers/db.ts';
import { invalidateLaggingSlots, useDedicatedDatabase } from '../helpers/dedicated-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { seedDemo } from '../helpers/demo.ts';
import { loadConfig } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import { registry } from '../../core/metrics.ts';
import { startCdc, type CdcPart } from '../../cdc/index.ts';
import { OUTBOUND_CHANNELS } from '../../connectors/registry.ts';
import { buildApp } from '../../api/index.ts';
import { createApiKey } from '../../api/keys.ts';

const db = useDedicatedDatabase({ max_slot_wal_keep_size: '1MB' });
const SLOT = 'stayos_cdc_recovery';
let app: FastifyInstance;
let key: string;
let cdc: CdcPart | undefined;

beforeAll(async () => {
  const { pool } = db.current;
  await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 30 });
  await pool.query(`UPDATE channel.channel_connections SET settings = settings || '{"sync_days": 30}'`);
  app = await buildApp({ pool, logLevel: 'silent', metricsToken: 'slot-recovery-metrics-token-0000' });
  key = (await createApiKey(pool, { email: 'ops@demo.example', role: 'viewer', properties: ['DEMO'] })).key;
}, 120_000);
afterAll(async () => {
  await cdc?.stop();
  await app?.close();
});
// Each test starts the CDC it needs and leaves none running (the leak check: test/setup/leaks.ts).
afterEach(() => stop());

const config = () => loadConfig({ DATABASE_URL: db.current.url, STAYOS_ENCRYPTION_KEY: TEST_KEY, STAYOS_CDC_SLOT: SLOT });
const start = async () =>
  (cdc = await startCdc({
    config: config(),
    url: db.current.url,
    pool: db.current.pool,
    channels: OUTBOUND_CHANNELS,
    log: createLogger(process.env.SLOT_TEST_LOG ? 'warn' : 'silent'),
  }));
const stop = async () => {
  await cdc?.stop();
  cdc = undefined;
};
const slot = async () => (await db.current.pool.query(`SELECT wal_status, failover, active FROM pg_replication_slots WHERE slot_name = $1`, [SLOT])).rows[0];
const incidents = async () =>
  (
    await db.current.pool.query(`SELECT kind, detail, resync_at IS NOT NULL AS resynced FROM channel.cdc_incidents WHERE slot_name = $1 ORDER BY created_at`, [
      SLOT,
    ])
  ).rows;
const counted = async (kind: string) =>
  (await registry.getSingleMetric('stayos_cdc_incidents_total')!.get()).values.filter((v) => v.labels.kind === kind).reduce((a, v) => a + v.value, 0);
/** Every mapped cell of each connection's window (from yesterday), as this test counts them. */
const windowCells = async () =>
  Number(
    (
      await db.current.pool.query(`SELECT sum(n * ((c.settings ->> 'sync_days')::int + 1)) AS n FROM channel.channel_connections c
  JOIN (SELECT connection_id, count(*) AS n FROM channel.channel_mappings WHERE active AND deleted_at IS NULL GROUP BY 1) m ON m.connection_id = c.id`)
    ).rows[0].n,
  );
const dirtyCells = async () => (await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells`)).rows[0].n as number;
const health = async () => await app.inject({ method: 'GET', url: '/healthz' });
/** A rate change while no slot sees it, and the cell it must make dirty. */
async function unseenChange(day: number) {
  const { pool } = db.current;
  await pool.query(
    `UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE stay_date = current_date + $1::int
    AND room_type_id = (SELECT id FROM property_mgmt.room_types WHERE code = 'DLX') AND rate_plan_id = (SELECT id FROM property_mgmt.rate_plans WHERE code = 'NRF')`,
    [day],
  );
  /** Whether every connection mapping that cell has it dirty. */
  return async () => {
    const {
      rows: [r],
    } = await pool.query(
      `SELECT
      (SELECT count(*) FROM channel.ari_dirty_cells d JOIN property_mgmt.room_types t ON t.id = d.room_type_id JOIN property_mgmt.rate_plans p ON p.id = d.rate_plan_id
        WHERE t.code = 'DLX' AND p.code = 'NRF' AND d.stay_date = current_date + $1::int)::int AS dirty,
      (SELECT count(*) FROM channel.channel_mappings m JOIN property_mgmt.room_types t ON t.id = m.room_type_id JOIN property_mgmt.rate_plans p ON p.id = m.rate_plan_id
        WHERE t.code = 'DLX' AND p.code = 'NRF' AND m.active AND m.deleted_at IS NULL)::int AS mapped`,
      [day],
    );
    return r.mapped > 0 && r.dirty === r.mapped;
  };
}

describe('a replication slot lost, dropped or failed over (issue 15, defect 3)', () => {
  it('first start: the slot is made, as a failover slot where the server supports it; health is ok', async () => {
    await start();
    await waitFor(async () => (await slot())?.active, { what: 'the CDC streaming' });
    const {
      rows: [v],
    } = await db.current.pool.query(`SELECT current_setting('server_version_num')::int >= 170000 AS failover`);
    expect((await slot()).failover).toBe(v.failover);
    expect(await incidents()).toEqual([]);
    expect((await health()).statusCode).toBe(200);
  });

  it('lost (wal_status lost): health fails naming it; the CDC remakes it and resynchronises every connection, once', async () => {
    const { pool } = db.current;
    await stop();
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    const seen = await unseenChange(7);
    await invalidateLaggingSlots(pool);
    expect((await slot()).wal_status).toBe('lost');
    const sick = await health();
    expect(sick.statusCode).toBe(503);
    expect(sick.json().cdc).toEqual([`replication slot ${SLOT}: lost`]);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    const before = await counted('slot_lost');

    await start();
    // The resync runs once the new slot exists, beside its streaming: wait for both, as the other cases do.
    await waitFor(async () => (await incidents()).some((i) => i.kind === 'slot_lost' && i.resynced), { what: 'the loss healed', timeoutMs: 30_000 });
    await waitFor(async () => (await slot())?.active && (await slot()).wal_status !== 'lost', { what: 'a new slot streaming', timeoutMs: 30_000 });
    expect(await incidents()).toEqual([expect.objectContaining({ kind: 'slot_lost', resynced: true })]);
    expect((await incidents())[0].detail).toContain('invalidated (wal_status lost');
    expect(await counted('slot_lost')).toBe(before + 1);
    expect(await seen()).toBe(true); // the change no slot saw is marked, by the resync
    expect(await dirtyCells()).toBe(await windowCells());
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.ari_acknowledged`)).rows[0].n).toBe(0); // the OTAs get everything again
    const { rows: errs } = await pool.query(`SELECT severity, message FROM channel.sync_errors WHERE kind = 'resync' AND resolved_at IS NULL`);
    expect(errs).toHaveLength(2);
    expect(errs.every((e) => e.severity === 'alert' && e.message.includes('invalidated'))).toBe(true);
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.connection_actions WHERE action = 'resync'`)).rows[0].n).toBe(2);
    expect((await health()).statusCode).toBe(200);
    const shown = (await app.inject({ method: 'GET', url: '/api/v1/cdc', headers: { authorization: `Bearer ${key}` } })).json();
    expect(shown.incidents[0]).toMatchObject({ kind: 'slot_lost', slot: SLOT, resolvedAt: null });
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer slot-recovery-metrics-token-0000' } })).body).toMatch(
      /stayos_cdc_open_incidents\{kind="slot_lost"\} 1/,
    );
    // Once: a restart does not resynchronise again.
    await stop();
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    await start();
    await waitFor(async () => (await slot())?.active, { what: 'the CDC streaming again' });
    expect(await dirtyCells()).toBe(0);
    expect(await incidents()).toHaveLength(1);
    // The resync drains (the workers' part, done here by hand): the incident resolves.
    await pool.query(`UPDATE channel.sync_errors SET resolved_at = now() WHERE kind = 'resync'`);
    await waitFor(async () => (await pool.query(`SELECT resolved_at FROM channel.cdc_incidents WHERE slot_name = $1`, [SLOT])).rows[0].resolved_at, {
      what: 'the incident resolved',
      timeoutMs: 30_000,
    });
  });

  it('dropped while streaming: detected at the reconnection, remade, resynchronised', async () => {
    const { pool } = db.current;
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    await start();
    await waitFor(async () => (await slot())?.active, { what: 'the CDC streaming' });
    // An operator drops the slot: its sender is ended first, as PostgreSQL requires.
    for (;;) {
      await pool.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, [SLOT]);
      try {
        await pool.query(`SELECT pg_drop_replication_slot($1)`, [SLOT]);
        break;
      } catch (err) {
        if (!['55006', '42704'].includes((err as { code: string }).code)) throw err;
        if ((err as { code: string }).code === '42704') break;
      }
    }
    await waitFor(async () => (await incidents()).some((i) => i.kind === 'slot_dropped' && i.resynced), { what: 'the drop healed', timeoutMs: 30_000 });
    await waitFor(async () => (await slot())?.active, { what: 'a new slot streaming' });
    expect(await dirtyCells()).toBe(await windowCells());
    expect((await health()).statusCode).toBe(200);
  });

  it('missing after a failover (made on another timeline): recorded as a failover, remade, resynchronised', async () => {
    const { pool } = db.current;
    await stop();
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    await pool.query(`SELECT pg_drop_replication_slot($1)`, [SLOT]);
    // As if the slot had been made on the old primary's timeline: this server is a promoted standby without it.
    await pool.query(`UPDATE channel.cdc_slots SET timeline = timeline - 1 WHERE slot_name = $1`, [SLOT]);
    const sick = await health();
    expect(sick.statusCode).toBe(503);
    expect(sick.json().cdc).toEqual([`replication slot ${SLOT}: missing`]);
    const seen = await unseenChange(9);
    await start();
    await waitFor(async () => (await incidents()).some((i) => i.kind === 'failover' && i.resynced), { what: 'the failover healed', timeoutMs: 30_000 });
    expect((await incidents()).find((i) => i.kind === 'failover')!.detail).toMatch(/missing on this server .* timeline/);
    expect(await seen()).toBe(true);
    expect((await health()).statusCode).toBe(200);
  });

  it('kept through a failover (a failover slot on the promoted standby): the slot stays, every connection is resynchronised with acknowledgements forgotten', async () => {
    const { pool } = db.current;
    await stop();
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    const before = (await pool.query(`SELECT count(*)::int AS n FROM channel.connection_actions WHERE action = 'resync'`)).rows[0].n as number;
    // As if recorded on the old primary's timeline: this server was promoted with the slot synchronised.
    await pool.query(`UPDATE channel.cdc_slots SET timeline = timeline - 1 WHERE slot_name = $1`, [SLOT]);
    await start();
    await waitFor(async () => (await incidents()).some((i) => i.kind === 'failover' && /kept its position/.test(i.detail) && i.resynced), {
      what: 'the failover resynchronised',
      timeoutMs: 30_000,
    });
    const { rows: actions } = await pool.query(`SELECT detail FROM channel.connection_actions WHERE action = 'resync' ORDER BY created_at DESC`);
    const connections = (await pool.query(`SELECT count(*)::int AS n FROM channel.channel_connections WHERE deleted_at IS NULL AND status <> 'disabled'`))
      .rows[0].n as number;
    expect(actions.length - before).toBe(connections);
    expect(actions.slice(0, connections).every((a) => a.detail.forgotAcknowledged === true)).toBe(true);
    expect(await dirtyCells()).toBe(await windowCells());
    expect((await health()).statusCode).toBe(200);
  });

  it('the record of a slot no longer in use (STAYOS_CDC_SLOT renamed, the old slot dropped) is retired at the next start: health speaks of the slot in use', async () => {
    const { pool } = db.current;
    await stop();
    await pool.query(
      `INSERT INTO channel.cdc_slots (slot_name, system_identifier, timeline) SELECT $1, system_identifier, timeline FROM channel.cdc_slots WHERE slot_name = $2`,
      [`${SLOT}_old`, SLOT],
    );
    const sick = await health();
    expect(sick.statusCode).toBe(503);
    expect(sick.json().cdc).toEqual([`replication slot ${SLOT}_old: missing`]);
    await start();
    await waitFor(async () => (await health()).statusCode === 200, { what: 'health back once the old record is retired' });
    expect((await pool.query(`SELECT deleted_at IS NOT NULL AS retired FROM channel.cdc_slots WHERE slot_name = $1`, [`${SLOT}_old`])).rows[0].retired).toBe(
      true,
    );
  });
});
