/**
 * Holds: updates a guardrail kept back for approval (connectors/outbound/guard.ts, migration
 * V1.24.0). A held cell stays in channel.ari_dirty_cells with `held_by` set, which the claim skips;
 * approving sets `guard_approved` and clears `held_by`, so the next pass sends it unguarded. A new
 * change to the cell (the CDC's marking) releases it for a fresh judgement.
 */
import type { Part } from '../types.ts';
import type { HeldSample } from '../guard.ts';

export interface HoldRecord {
  kind: 'rate_change' | 'closing';
  reason: string;
  sample: HeldSample[];
  /** The held cells with the dirty_seq read after claiming: a cell re-marked since is not held. */
  cells: Array<{ cellId: string; dirtySeq: string; parts: Part[] }>;
}

/**
 * Stores a hold and holds its cells, in the finish transaction after finishClaim released them
 * (the cell rows are locked by then: lockClaim). Also opens (or counts up) the connection's `held`
 * sync error, so the channel list shows it as needing attention.
 */
export function storeHold(connectionId: string, propertyId: string, h: HoldRecord) {
  return {
    text: `
WITH h AS (
  INSERT INTO channel.ari_holds (connection_id, property_id, kind, reason, cells, sample)
  VALUES ($1, $2, $3, left($4, 2000), $5, $6) RETURNING id),
held AS (
  UPDATE channel.ari_dirty_cells d SET held_by = h.id, guard_approved = false, updated_at = now(), version = d.version + 1
  FROM h, jsonb_to_recordset($7::jsonb) AS x("cellId" uuid, "dirtySeq" bigint)
  WHERE d.id = x."cellId" AND d.dirty_seq = x."dirtySeq" AND d.claim_id IS NULL AND d.deleted_at IS NULL AND d.held_by IS NULL
  RETURNING d.id)
SELECT (SELECT id FROM h) AS id, (SELECT count(*) FROM held)::int AS held`,
    values: [connectionId, propertyId, h.kind, h.reason, h.cells.length, JSON.stringify(h.sample), JSON.stringify(h.cells)],
  };
}

/** The connection's mapped cells × nights of its CDC window (yesterday to sync_days ahead): what a closing share is of. */
export function windowCellCount(connectionId: string) {
  return {
    text: `SELECT count(*)::int * (COALESCE((c.settings ->> 'sync_days')::int, 500) + 1) AS cells
           FROM channel.channel_connections c JOIN channel.channel_mappings m ON m.connection_id = c.id AND m.active AND m.deleted_at IS NULL
           WHERE c.id = $1 GROUP BY c.settings`,
    values: [connectionId],
  };
}

/** The connection's holds, newest first: `waiting` counts the cells still held by each. */
export function listHolds(connectionId: string, limit = 50) {
  return {
    text: `SELECT h.id, h.kind, h.reason, h.cells, h.sample, h.created_at AS "createdAt", h.approved_at AS "approvedAt", u.full_name AS "approvedBy",
                  (SELECT count(*)::int FROM channel.ari_dirty_cells d WHERE d.held_by = h.id AND d.deleted_at IS NULL) AS waiting
           FROM channel.ari_holds h LEFT JOIN shared.users u ON u.id = h.approved_by
           WHERE h.connection_id = $1 AND h.deleted_at IS NULL ORDER BY h.created_at DESC LIMIT $2`,
    values: [connectionId, limit],
  };
}

/**
 * Approves a hold: its cells leave the hold with guard_approved set (sent on the next pass as they
 * are), the hold is stamped, and the `held` error resolves once no other hold of the connection
 * still holds cells (resolveHeldErrors). Cells in the table's lock order (the CDC's marking and the finish lock the same
 * rows: connectors/outbound/sql/sync.ts lockClaim). Returns the cells released (null: no such hold).
 */
export const approveHold = {
  lockCells: (holdId: string) => ({
    text: `SELECT id FROM channel.ari_dirty_cells WHERE held_by = $1 ORDER BY connection_id, room_type_id, rate_plan_id, stay_date FOR UPDATE`,
    values: [holdId],
  }),
  release: (holdId: string) => ({
    text: `UPDATE channel.ari_dirty_cells SET held_by = NULL, guard_approved = true, updated_at = now(), version = version + 1 WHERE held_by = $1`,
    values: [holdId],
  }),
  stamp: (connectionId: string, holdId: string) => ({
    text: `UPDATE channel.ari_holds SET approved_at = now(), approved_by = shared.current_actor()
           WHERE id = $2 AND connection_id = $1 AND deleted_at IS NULL RETURNING id, approved_at IS NOT NULL AS approved`,
    values: [connectionId, holdId],
  }),
};

/** The `held` error resolves once no cell of the connection is held (approved, or released by a new change). */
export function resolveHeldErrors(connectionId: string) {
  return {
    text: `UPDATE channel.sync_errors SET resolved_at = now()
           WHERE connection_id = $1 AND kind = 'held' AND resolved_at IS NULL AND deleted_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM channel.ari_dirty_cells d WHERE d.connection_id = $1 AND d.held_by IS NOT NULL AND d.deleted_at IS NULL)`,
    values: [connectionId],
  };
}
