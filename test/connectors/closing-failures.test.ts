/**
 * Closing a connection at the OTA when the OTA does not take the closure (issue 15, defect 6):
 * never reported as closed. Refused credentials keep the connection "closing" and the closures
 * retrying (a resume after the fix sends them at once); closures the OTA never confirmed leave the
 * connection disabled — not deleted, even if a delete was asked — with a reason saying the OTA may
 * still sell, and an open alert. What the OTA shows is read from the sandbox (written from
 * Expedia's pages), not from our records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { mismatches, startSandboxServer, seedSandboxedDemo, testWorker } from '../helpers/outbound.ts';
import { withTransaction } from '../../core/db.ts';
import { closeConnection, requestFullSync, SyncWorker } from '../../connectors/index.ts';
import { CLOSURE_MAX_ATTEMPTS } from '../../connectors/outbound/sql/closures.ts';
import { setPaused } from '../../connectors/outbound/sql/connections.ts';

const db = useTestDatabase();
const DAYS = 10;
let server: Awaited<ReturnType<typeof startSandboxServer>>;
let worker: SyncWorker;
const ids: Record<string, string> = {};

beforeAll(async () => {
  const { pool } = db.current;
  server = await startSandboxServer();
  Object.assign(ids, await seedSandboxedDemo(pool, server.url, DAYS));
  worker = testWorker(pool, { only: [ids.expedia!] });
  await requestFullSync(pool, ids.expedia!, DAYS);
  await worker.syncConnection(ids.expedia!);
  expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
});
afterAll(async () => {
  await worker?.stop();
  await server?.close();
});

const state = async () =>
  (
    await db.current.pool.query(
      `SELECT c.status, c.status_reason, c.closing_for, c.deleted_at IS NOT NULL AS deleted, c.ota_hotel_code AS hotel
  FROM channel.channel_connections c WHERE c.id = $1`,
      [ids.expedia],
    )
  ).rows[0];
/** Cells the Expedia sandbox still sells for the hotel (its own state, not our acknowledgements). */
const selling = (hotel: string) => [...server.expedia.cells(hotel).values()].filter((v) => (v as { closed?: boolean }).closed !== true).length;
const openErrors = async (kind: string) =>
  (await db.current.pool.query(`SELECT severity FROM channel.sync_errors WHERE connection_id = $1 AND kind = $2 AND resolved_at IS NULL`, [ids.expedia, kind]))
    .rows;

describe('closing a connection the OTA does not take', () => {
  it('refused credentials: it stays closing and retries; fixed and resumed, the OTA is closed and then it is disabled', async () => {
    const { pool } = db.current;
    const { hotel } = await state();
    expect(selling(hotel)).toBeGreaterThan(0);
    server.expedia.faults.set({ authFailure: true });
    try {
      expect((await withTransaction(pool, (c) => closeConnection(c, ids.expedia!, 'disable', true))).finished).toBe(false);
      await worker.syncConnection(ids.expedia!);
      await worker.syncConnection(ids.expedia!);
    } finally {
      server.expedia.faults.set({});
    }
    expect(await state()).toMatchObject({ closing_for: 'disable', deleted: false });
    expect((await state()).status).not.toBe('disabled');
    expect(selling(hotel)).toBeGreaterThan(0);
    const { rows: waiting } = await pool.query(
      `SELECT outcome, attempts, retry_at > now() AS backing_off FROM channel.ota_closures WHERE connection_id = $1 AND reason = 'connection_closing'`,
      [ids.expedia],
    );
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.every((w) => w.outcome === null)).toBe(true); // none given up
    // The operator fixes the credentials and resumes: the closures go at once.
    await pool.query(setPaused(ids.expedia!, false));
    await worker.syncConnection(ids.expedia!);
    await worker.syncConnection(ids.expedia!);
    expect(selling(hotel)).toBe(0);
    expect(await state()).toMatchObject({
      status: 'disabled',
      closing_for: null,
      status_reason: 'disabled by a user; its inventory was closed at the OTA first',
    });
    expect(await openErrors('closing_failed')).toEqual([]);
  });

  it('closures the OTA never confirmed: a delete leaves the connection disabled, not deleted, saying the OTA may still sell, with an open alert', async () => {
    const { pool } = db.current;
    // Enabled again and fully synced: it sells every night.
    await pool.query(`UPDATE channel.channel_connections SET status = 'active', status_reason = NULL WHERE id = $1`, [ids.expedia]);
    await requestFullSync(pool, ids.expedia!, DAYS);
    await worker.syncConnection(ids.expedia!);
    const { hotel } = await state();
    expect(selling(hotel)).toBeGreaterThan(0);
    expect((await withTransaction(pool, (c) => closeConnection(c, ids.expedia!, 'delete', true))).finished).toBe(false);
    // An outage that outlasts the attempts: the last one fails.
    await pool.query(`UPDATE channel.ota_closures SET attempts = $2 - 1 WHERE connection_id = $1 AND finished_at IS NULL`, [ids.expedia, CLOSURE_MAX_ATTEMPTS]);
    server.expedia.faults.set({ rates: { http5xx: 1 } });
    try {
      for (let i = 0; i < 20 && (await state()).closing_for; i++) {
        await pool.query(`UPDATE channel.ota_closures SET retry_at = NULL WHERE connection_id = $1 AND finished_at IS NULL`, [ids.expedia]);
        await worker.syncConnection(ids.expedia!);
      }
    } finally {
      server.expedia.faults.set({});
    }
    expect(selling(hotel)).toBeGreaterThan(0); // the OTA still sells
    const s = await state();
    expect(s).toMatchObject({ status: 'disabled', deleted: false, closing_for: null });
    expect(s.status_reason).toMatch(/not deleted.*could not be closed at the OTA.*may still sell/);
    expect((await openErrors('closing_failed')).map((e) => e.severity)).toContain('alert');
  });
});
