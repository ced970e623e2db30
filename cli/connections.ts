/**
 * `stayos full-sync` and `stayos connection pause|resume`. The full sync marks the window dirty,
 * then (unless --no-wait) runs a sync worker for that connection in this process and shows the
 * progress until every cell is pushed; a running `stayos start` pushes alongside (the connection
 * lock lets one push at a time), so the count only goes down.
 */
import { SingleBar, Presets } from 'cli-progress';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { openDatabase } from '../core/runtime.ts';
import { migrate } from '../core/migrator.ts';
import { StayosError } from '../core/errors.ts';
import { pendingCellCount, requestFullSync, setConnectionPaused, SyncWorker, workerOptions } from '../connectors/index.ts';

export async function runFullSync(config: Config, log: Logger, opts: { connection: string; days: number; wait: boolean }): Promise<void> {
  const db = await openDatabase(config, log, { poolSize: 4 });
  try {
    await migrate(db.pool);
    const req = await requestFullSync(db.pool, opts.connection, opts.days);
    console.log(`full sync of ${req.channel} connection ${req.connectionId}: ${req.cells} cells (${req.days} days) marked`);
    if (!opts.wait) return;
    const total = await pendingCellCount(db.pool, req.connectionId);
    const bar = new SingleBar({ format: 'pushing {bar} {percentage}% | {value}/{total} cells | {status}', hideCursor: true }, Presets.shades_classic);
    bar.start(total, 0, { status: 'starting' });
    const worker = new SyncWorker(workerOptions(config, { pool: db.pool, encryptionKey: db.encryptionKey, log }, { only: [req.connectionId], pollMs: 50, concurrency: 1 }));
    worker.start();
    try {
      for (;;) {
        const pending = await pendingCellCount(db.pool, req.connectionId);
        const { rows: [c] } = await db.pool.query<{ status: string; status_reason: string | null }>(
          `SELECT status, status_reason FROM channel.channel_connections WHERE id = $1`, [req.connectionId]);
        bar.update(Math.max(total - pending, 0), { status: c!.status });
        if (pending === 0) break;
        if (c!.status === 'down' || c!.status === 'paused' || c!.status === 'disabled') {
          bar.stop();
          throw new StayosError('ERR_OTA_UNAVAILABLE', `connection is ${c!.status}${c!.status_reason ? ` (${c!.status_reason})` : ''}: ${pending} cells still wait; they go out when it recovers`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250)); // progress refresh, not a correctness wait
      }
      bar.stop();
      console.log('full sync done: the OTA acknowledged every cell');
    } finally {
      await worker.stop();
    }
  } finally {
    await db.close();
  }
}

export async function runPause(config: Config, log: Logger, connectionId: string, paused: boolean): Promise<void> {
  const db = await openDatabase(config, log, { poolSize: 2 });
  try {
    const r = await setConnectionPaused(db.pool, connectionId, paused);
    console.log(`connection ${connectionId} is ${r.status}`);
  } finally {
    await db.close();
  }
}
