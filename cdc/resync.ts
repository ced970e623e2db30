/**
 * Resynchronises every syncing connection of the given channels (cdc/sql/resync.ts), one
 * statement per connection: what the CDC could not see (a lost slot, a TRUNCATE) is covered by
 * pushing the whole window again.
 */
import type { Pool } from '../core/db.ts';
import { rerunOnConflict } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import { resyncConnection, resyncTargets } from './sql/resync.ts';

export interface ResyncOptions {
  reason: string;
  severity: 'warning' | 'alert';
  /** Forget what the OTAs acknowledged: their state is in doubt too (a lost slot), not only ours. */
  forgetAcknowledged: boolean;
  log?: Logger;
}

export async function resyncChannels(pool: Pool, channels: readonly string[], o: ResyncOptions): Promise<{ connections: number; cells: number }> {
  const { rows } = await pool.query<{ id: string }>(resyncTargets(channels));
  let cells = 0;
  for (const { id } of rows) {
    cells += (await rerunOnConflict(() => pool.query<{ marked: number }>(resyncConnection(id, o)), { what: 'resync', log: o.log })).rows[0]!.marked;
  }
  o.log?.warn({ connections: rows.length, cells, reason: o.reason }, 'cdc: connections resynchronised (their whole window is pushed again)');
  return { connections: rows.length, cells };
}
