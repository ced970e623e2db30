/** Helpers for CDC tests: a per-test slot, an in-test pipeline, and reading the dirty cells. */
import { randomBytes } from 'node:crypto';
import type { Pool } from '../../core/db.ts';
import { createLogger } from '../../core/logger.ts';
import { CdcMetrics, DirtyCellsConsumer, ensureSlot, InProcessTransport, PUBLICATIONS, ReplicationStream } from '../../cdc/index.ts';
import { OUTBOUND_CHANNELS } from '../../connectors/registry.ts';
import type { ChangeSink } from '../../cdc/types.ts';

export function slotName(): string {
  return `t_${randomBytes(5).toString('hex')}`;
}

export async function dropSlot(pool: Pool, slot: string): Promise<void> {
  // The walsender may still be exiting; drop when it has.
  for (let i = 0; i < 100; i++) {
    try {
      await pool.query(`SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
      // Forgotten on purpose: the slot's record would otherwise make health report it missing.
      await pool.query(`DELETE FROM channel.cdc_slots WHERE slot_name = $1`, [slot]).catch(() => undefined);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== '55006') throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export interface TestPipeline {
  slot: string;
  stream: ReplicationStream;
  metrics: CdcMetrics;
  stop(): Promise<void>;
}

/** Starts the real pipeline (in-process transport, both OTA consumers) on a new slot. */
export async function startPipeline(pool: Pool, url: string, options: { sinks?: ChangeSink[]; heartbeatMs?: number } = {}): Promise<TestPipeline> {
  const slot = slotName();
  await ensureSlot(pool, slot);
  const metrics = new CdcMetrics();
  const sinks = options.sinks ?? [new DirtyCellsConsumer(pool, OUTBOUND_CHANNELS, { source: slot })];
  const stream = new ReplicationStream({
    connectionString: url,
    slot,
    publications: [PUBLICATIONS.ari, PUBLICATIONS.domainEvents],
    sink: new InProcessTransport(sinks),
    log: createLogger('silent'),
    metrics,
    heartbeatMs: options.heartbeatMs ?? 200,
    minBackoffMs: 50,
    maxBackoffMs: 500,
  });
  stream.start();
  return {
    slot,
    stream,
    metrics,
    async stop() {
      await stream.stop();
      await dropSlot(pool, slot);
    },
  };
}

/** The slot's confirmed position and the server's WAL position, as comparable bigints. */
export { confirmedFlushLsn as confirmedFlush, currentWalLsn as currentWal } from '../../cdc/index.ts';

export async function dirtySeq(pool: Pool, where: string, params: unknown[]): Promise<Map<string, number>> {
  const { rows } = await pool.query(
    `SELECT c.channel_code || ':' || d.room_type_id || ':' || d.rate_plan_id || ':' || d.stay_date AS k, d.dirty_seq
     FROM channel.ari_dirty_cells d JOIN channel.channel_connections c ON c.id = d.connection_id WHERE ${where}`,
    params,
  );
  return new Map(rows.map((r) => [r.k, Number(r.dirty_seq)]));
}
