/**
 * Resynchronises every syncing connection of the given channels (cdc/sql/resync.ts), one
 * statement per connection: what the CDC could not see (a lost slot, a TRUNCATE) is covered by
 * pushing the whole window again.
 */
import type { Pool } from '../core/db.ts';
import { isInputError, rerunOnConflict } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import { resyncConnection, resyncTargets } from './sql/resync.ts';

export interface ResyncOptions {
  reason: string;
  severity: 'warning' | 'alert';
  /** Forget what the OTAs acknowledged: their state is in doubt too (a lost slot), not only ours. */
  forgetAcknowledged: boolean;
  log?: Logger;
}

/** Returns how many connections were resynchronised, their cells, and those that could not be (their settings unreadable, say: named with the error). */
export async function resyncChannels(
  pool: Pool,
  channels: readonly string[],
  o: ResyncOptions,
): Promise<{ connections: number; cells: number; failed: Array<{ connectionId: string; error: string }> }> {
  const { rows } = await pool.query<{ id: string }>(resyncTargets(channels));
  let cells = 0;
  const failed: Array<{ connectionId: string; error: string }> = [];
  for (const { id } of rows) {
    try {
      cells += (await rerunOnConflict(() => pool.query<{ marked: number }>(resyncConnection(id, o)), { what: 'resync', log: o.log })).rows[0]!.marked;
    } catch (err) {
      // One connection's bad input must not keep the others from their resync.
      if (!isInputError(err)) throw err;
      failed.push({ connectionId: id, error: (err as Error).message });
      o.log?.error({ connection: id, err: (err as Error).message }, 'cdc: this connection could not be resynchronised');
    }
  }
  o.log?.warn(
    { connections: rows.length - failed.length, cells, failed: failed.length, reason: o.reason },
    'cdc: connections resynchronised (their whole window is pushed again)',
  );
  return { connections: rows.length - failed.length, cells, failed };
}
