/**
 * Issue 15, defect 2: a claim lives as long as its worker. A sync worker SIGKILLed in the middle
 * of a push used to leave its cells claimed for the whole lease (300 s): the OTA stayed stale for
 * five minutes. Now the next worker takes them over as soon as the dead worker's session (and its
 * connection lock) is gone: the OTA equals the PMS within 15 s of the kill, with the pipeline
 * loaded at the time. And a live worker, however slow, keeps its claim.
 *
 * Real `stayos start --only cdc|connectors` processes, a real SIGKILL; the OTA state is compared
 * with the PMS cell by cell.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { dropSlot, slotName } from '../helpers/cdc.ts';
import { runCli } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { mismatches, startSandboxServer, seedSandboxedDemo, testWorker } from '../helpers/outbound.ts';
import { ensureSlot } from '../../cdc/index.ts';
import { requestFullSync } from '../../connectors/index.ts';

const db = useTestDatabase();
const slot = slotName();
const DAYS = 60;
let server: Awaited<ReturnType<typeof startSandboxServer>>;
const ids: Record<string, string> = {};
let hotel: string;

beforeAll(async () => {
  const { pool } = db.current;
  server = await startSandboxServer();
  Object.assign(ids, await seedSandboxedDemo(pool, server.url, DAYS));
  hotel = (await pool.query(`SELECT ota_hotel_code FROM channel.channel_connections WHERE id = $1`, [ids.expedia])).rows[0].ota_hotel_code;
  await ensureSlot(pool, slot);
});
afterAll(async () => {
  await server?.close();
  await dropSlot(db.current.pool, slot);
});

const env = () => ({
  DATABASE_URL: db.current.url,
  STAYOS_ENCRYPTION_KEY: TEST_KEY,
  STAYOS_CDC_SLOT: slot,
  STAYOS_SEED_DEMO: 'false',
  STAYOS_LOG_LEVEL: 'warn',
  STAYOS_SANDBOX_URL: server.url, // where the sandboxes are: the only sandbox origin the connectors may call
  STAYOS_SYNC_POLL_MS: '20',
  STAYOS_SYNC_TIMEOUT_MS: '60000',
});
const claimed = async () =>
  (await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE connection_id = $1 AND claimed_at IS NOT NULL`, [ids.expedia]))
    .rows[0].n as number;

describe('a sync worker that dies mid-push (issue 15, defect 2)', () => {
  it('a live but slow worker keeps its claim: another worker leaves the connection alone', async () => {
    const { pool } = db.current;
    const worker = () => testWorker(pool, { only: [ids.expedia!], concurrency: 1, batchSize: 100, timeoutMs: 60_000 });
    const [slow, other] = [worker(), worker()];
    await requestFullSync(pool, ids.expedia!, DAYS);
    server.expedia.faults.set({ rates: { slow: 1 }, slowMs: 3_000 });
    const pass = slow.syncConnection(ids.expedia!);
    await waitFor(() => server.expedia.inFlight(hotel) === 1, { what: 'the slow push in flight' });
    const { rows: before } = await pool.query(`SELECT id, claim_id FROM channel.ari_dirty_cells WHERE claimed_at IS NOT NULL ORDER BY id`);
    expect(before.length).toBe(100);
    // The other worker does not get the connection's lock: it tries nothing (and says so: its poll keeps its place in line).
    expect(await other.syncConnection(ids.expedia!)).toEqual({ cells: 0, requests: 0, stopped: false, notLocked: true });
    expect((await pool.query(`SELECT id, claim_id FROM channel.ari_dirty_cells WHERE claimed_at IS NOT NULL ORDER BY id`)).rows).toEqual(before);
    server.expedia.faults.set({});
    await pass;
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    await Promise.all([slow.stop(), other.stop()]);
  });

  it('SIGKILLed while its request hangs at the OTA, under load that goes on: taken over, and the OTA equals the PMS within 15 s of the kill', async () => {
    const { pool } = db.current;
    const cdc = runCli(['start', '--only', 'cdc'], env());
    let connectors = runCli(['start', '--only', 'connectors'], env());
    await requestFullSync(pool, ids.expedia!, DAYS);
    // Load: a night's rates edited every 10 ms (about 900 changed rows a second, the benchmarks'
    // 1,000 changes/s) while the workers push, through the CDC.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const next = performance.now() + 10;
        await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE stay_date = current_date + $1::int`, [i % DAYS]);
        await waitFor(() => performance.now() >= next || !writing, { what: 'the writer pacing', intervalMs: 2 });
      }
    })();
    // The OTA hangs on the next request: the worker is mid-push when it dies.
    await waitFor(async () => (await claimed()) > 0 && server.expedia.stats.requests > 0, { what: 'the worker pushing', timeoutMs: 30_000 });
    server.expedia.faults.set({ rates: { slow: 1 }, slowMs: 20_000 }); // longer than the 15 s the takeover may take
    await waitFor(() => server.expedia.inFlight(hotel) > 0, { what: 'a request hanging at the OTA', timeoutMs: 30_000 });
    expect(await claimed()).toBeGreaterThan(0);
    const { rows: dead } = await pool.query(`SELECT DISTINCT claim_id FROM channel.ari_dirty_cells WHERE connection_id = $1 AND claimed_at IS NOT NULL`, [
      ids.expedia,
    ]);
    connectors.child.kill('SIGKILL');
    const killedAt = performance.now();
    await connectors.exited;
    server.expedia.faults.set({});
    connectors = runCli(['start', '--only', 'connectors'], env());
    // The load goes on after the kill: the new worker keeps pushing fresh changes of the same
    // connection, and the dead claim must still be taken over (its clock runs from the death, not
    // from the connection's last activity).
    await waitFor(
      async () =>
        (await pool.query(`SELECT 1 FROM channel.ari_dirty_cells WHERE claim_id = ANY ($1::uuid[]) LIMIT 1`, [dead.map((d) => d.claim_id)])).rowCount === 0,
      { what: `the dead claim taken over while the connection stays busy (${connectors.output().slice(-1500)})`, timeoutMs: 15_000, intervalMs: 50 },
    );
    const takenOver = (performance.now() - killedAt) / 1000;
    writing = false;
    await writer;
    await waitFor(
      async () =>
        (await pool.query(`SELECT 1 FROM channel.ari_dirty_cells WHERE connection_id = $1 LIMIT 1`, [ids.expedia])).rowCount === 0 &&
        (await mismatches(pool, ids.expedia!, server, DAYS)).length === 0,
      { what: `the OTA equal to the PMS (${connectors.output().slice(-1500)})`, timeoutMs: 60_000, intervalMs: 100 },
    );
    const seconds = (performance.now() - killedAt) / 1000;
    console.log(`dead claim taken over ${takenOver.toFixed(1)} s and OTA equal to the PMS ${seconds.toFixed(1)} s after the worker was SIGKILLed mid-push`);
    expect(seconds).toBeLessThanOrEqual(15);
    cdc.child.kill('SIGTERM');
    connectors.child.kill('SIGTERM');
    expect((await cdc.exited).code).toBe(0);
    expect((await connectors.exited).code).toBe(0);
  }, 120_000);
});
