/**
 * What operators and the API do to a connection: full sync, pause, resume. Each validates its
 * input and answers with a registry error naming what is wrong.
 */
import { z } from 'zod';
import { StayosError } from '../../core/errors.ts';
import type { Pool, PoolClient } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import { addDays } from '../../core/dates.ts';
import { fullSyncScope, markFullSync, markWindowHorizon, pendingCells, resolvePoisonOf, setPaused } from './sql/connections.ts';
import { releaseStaleHolds } from './sql/holds.ts';
import { startClosing } from './sql/closures.ts';
import { registeredOta } from './registered.ts';

/** Default window: 500 days, as channel-manager certifications demand. */
export const FULL_SYNC_DEFAULT_DAYS = 500;

// Per OTA, its adapter's bounds (Booking.com wants at least 12 months in sync; Expedia takes at
// most 2 years ahead).
const uuid = z.uuid({ message: 'must be a connection id (UUID)' });

async function connectionOf(pool: Pool, connectionId: string): Promise<{ id: string; channel: string; status: string }> {
  const id = uuid.safeParse(connectionId);
  if (!id.success) throw new StayosError('ERR_VALIDATION', `connection ${JSON.stringify(connectionId)}: ${id.error.issues[0]!.message}`);
  const {
    rows: [c],
  } = await pool.query<{ id: string; channel: string; status: string }>(
    `SELECT id, channel_code AS channel, status FROM channel.channel_connections WHERE id = $1 AND deleted_at IS NULL`,
    [connectionId],
  );
  if (!c) throw new StayosError('ERR_NOT_FOUND', `no connection ${connectionId}`);
  return c;
}

export interface FullSyncRequest {
  connectionId: string;
  channel: string;
  days: number;
  /** Mapped cells of the window (all will be pushed whole). */
  cells: number;
}

/** Cells per marking statement: each commits on its own, so the workers push the first nights
 * while later ones are still being marked (a 500-day window of 60 mappings is 30,000 cells). */
const FULL_SYNC_CHUNK_CELLS = 5000;

/** Marks every mapped cell of [today, today + days) dirty and forgets what the OTA acknowledged;
 * the workers push it all. Returns once the cells are marked, before they are pushed. `chunkCells`
 * (tests) sets how many cells each marking statement takes. */
export async function requestFullSync(
  pool: Pool,
  connectionId: string,
  days = FULL_SYNC_DEFAULT_DAYS,
  options: { chunkCells?: number } = {},
): Promise<FullSyncRequest> {
  const c = await connectionOf(pool, connectionId);
  const bounds = registeredOta(c.channel)?.outbound?.days;
  if (!bounds) throw new StayosError('ERR_VALIDATION', `connection ${connectionId} is a ${c.channel} connection: no outbound ARI to sync`);
  if (!Number.isInteger(days) || days < bounds.min || days > bounds.max) {
    throw new StayosError('ERR_VALIDATION', `days must be a whole number from ${bounds.min} to ${bounds.max} for ${c.channel} (got ${days}): ${bounds.why}`);
  }
  const {
    rows: [scope],
  } = await pool.query<{ today: string; windowDays: number; mappings: number }>(fullSyncScope(connectionId));
  if (!scope) throw new StayosError('ERR_NOT_FOUND', `no connection ${connectionId}`);
  if (days > scope.windowDays) {
    throw new StayosError(
      'ERR_VALIDATION',
      `days ${days} is beyond the connection's sync window (settings.sync_days = ${scope.windowDays}): the CDC keeps only that window current; raise sync_days first`,
    );
  }
  // Nearest nights first: they sell first, and the workers claim the cells marked first first.
  // Chunks of equal size: a last chunk of a few nights would be too small to be known as a backlog
  // by the workers (worker.ts BACKLOG_CELLS), and taken for a single change it held the other
  // backlogs to their share for 30 s (issue 19: two full syncs ran one after the other).
  const most = Math.max(1, Math.floor((options.chunkCells ?? FULL_SYNC_CHUNK_CELLS) / Math.max(1, scope.mappings)));
  const chunks = Math.ceil(days / most);
  let cells = 0;
  for (let i = 0; i < chunks; i++) {
    const from = Math.round((i * days) / chunks);
    const to = Math.round(((i + 1) * days) / chunks);
    const chunk = { from: addDays(scope.today, from), to: addDays(scope.today, to), first: from === 0, last: to === days };
    cells += (await pool.query<{ cells: number }>(markFullSync(connectionId, chunk))).rows[0]!.cells;
  }
  if (days >= scope.windowDays) await pool.query(resolvePoisonOf(connectionId));
  return { connectionId, channel: c.channel, days, cells };
}

export async function pendingCellCount(pool: Pool, connectionId: string): Promise<number> {
  return (await pool.query<{ n: number }>(pendingCells(connectionId))).rows[0]!.n;
}

/** Pause (workers skip it; changes keep accumulating as dirty cells) or resume (breaker reset). */
export async function setConnectionPaused(pool: Pool, connectionId: string, paused: boolean): Promise<{ status: string }> {
  const c = await connectionOf(pool, connectionId);
  if (c.status === 'disabled') throw new StayosError('ERR_CONFLICT', `connection ${connectionId} is disabled; enable it before pausing or resuming`);
  const {
    rows: [r],
  } = await pool.query<{ status: string }>(setPaused(connectionId, paused));
  return { status: r!.status };
}

/** Marks the nights entering every connection's window, now and hourly (and releases held cells no pass would judge again); returns a stop function. */
export function scheduleHorizon(pool: Pool, log: Logger): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const run = () => {
    running = pool
      .query(markWindowHorizon())
      .then(() => pool.query(releaseStaleHolds()))
      .catch((err) => log.error({ err }, 'sync window horizon: marking failed; retried next hour'));
  };
  run();
  const timer = setInterval(run, 3600_000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

export interface CloseResult {
  /** The connection is disabled or deleted now (nothing to close, or the operator kept the OTA open). */
  finished: boolean;
  /** OTA targets queued for closing; the connection is disabled or deleted once the OTA confirmed them. */
  closures: number;
}

/**
 * Disables or deletes a connection, closing its inventory at the OTA first unless `closeAtOta` is
 * false: every target it feeds gets availability 0 and its rates closed, and only once the OTA
 * confirmed that does the connection become disabled (or deleted). Until then it is "closing": its
 * sync worker sends the closures and nothing else. Runs in the caller's transaction (the API's as
 * the tenant, the CLI's as the service).
 */
export async function closeConnection(client: PoolClient, connectionId: string, then: 'disable' | 'delete', closeAtOta: boolean): Promise<CloseResult> {
  const {
    rows: [r],
  } = await client.query<{ found: number; closures: number; finished: boolean }>(startClosing(connectionId, then, closeAtOta));
  if (!r?.found) {
    const {
      rows: [c],
    } = await client.query<{ closing_for: string | null; status: string }>(
      `SELECT closing_for, status FROM channel.channel_connections WHERE id = $1 AND deleted_at IS NULL`,
      [connectionId],
    );
    if (!c) throw new StayosError('ERR_NOT_FOUND', `no connection ${connectionId}`);
    if (c.closing_for)
      throw new StayosError(
        'ERR_CONFLICT',
        `connection ${connectionId} is being closed at the OTA before it is ${c.closing_for === 'disable' ? 'disabled' : 'deleted'}; wait for it to finish`,
      );
    return { finished: true, closures: 0 }; // disabling a disabled connection: nothing to do
  }
  return { finished: r.finished, closures: r.closures };
}
