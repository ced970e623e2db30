/**
 * Holds: updates a guardrail kept back for approval (connectors/outbound/guard.ts, migration
 * V1.24.0). A held cell stays in channel.ari_dirty_cells with `held_by` set, which the claim skips;
 * approving sets `guard_approved` and clears `held_by`, so the next pass sends it. A new change to
 * the cell (the CDC's marking) clears `held_by`; `last_hold` and `held_values` stay, so that the
 * next pass can tell a changed value (judged afresh) from the same one (back to its hold).
 */
import type { Part } from '../types.ts';
import type { HeldSample } from '../guard.ts';

export interface HoldRecord {
  kind: 'rate_change' | 'closing';
  reason: string;
  sample: HeldSample[];
  /** The held cells with the dirty_seq read after claiming (a cell re-marked since is not held) and the values held. */
  cells: Array<{ cellId: string; dirtySeq: string; parts: Part[]; values: Record<string, unknown> }>;
  /** Back in an earlier hold (its id): no new hold row. */
  existing?: string;
}

/**
 * Stores a hold and holds its cells (or puts cells back in their earlier hold), in the finish
 * transaction after finishClaim released them (the cell rows are locked by then: lockClaim).
 */
export function storeHold(connectionId: string, propertyId: string, h: HoldRecord) {
  const cells = JSON.stringify(h.cells);
  if (h.existing)
    return {
      // Back in its hold, unless a person approved that hold meanwhile (then it goes out next pass).
      text: `
WITH held AS (
  UPDATE channel.ari_dirty_cells d SET held_by = $1, guard_approved = false, updated_at = now(), version = d.version + 1
  FROM jsonb_to_recordset($2::jsonb) AS x("cellId" uuid, "dirtySeq" bigint)
  WHERE d.id = x."cellId" AND d.dirty_seq = x."dirtySeq" AND d.claim_id IS NULL AND d.deleted_at IS NULL AND d.held_by IS NULL
    AND EXISTS (SELECT 1 FROM channel.ari_holds o WHERE o.id = $1 AND o.approved_at IS NULL)
  RETURNING d.id)
SELECT $1::uuid AS id, (SELECT count(*) FROM held)::int AS held`,
      values: [h.existing, cells],
    };
  return {
    text: `
WITH k AS (SELECT shared.new_id() AS id),
held AS (
  UPDATE channel.ari_dirty_cells d SET held_by = k.id, last_hold = k.id, held_values = x."values", guard_approved = false,
         updated_at = now(), version = d.version + 1
  FROM k, jsonb_to_recordset($6::jsonb) AS x("cellId" uuid, "dirtySeq" bigint, "values" jsonb)
  WHERE d.id = x."cellId" AND d.dirty_seq = x."dirtySeq" AND d.claim_id IS NULL AND d.deleted_at IS NULL AND d.held_by IS NULL
  RETURNING d.id),
-- No row for a hold whose every cell changed meanwhile (the cells' foreign keys are checked at the
-- end of the statement, when the hold row exists).
h AS (
  INSERT INTO channel.ari_holds (id, connection_id, property_id, kind, reason, cells, sample)
  SELECT k.id, $1, $2, $3, left($4, 2000), (SELECT count(*) FROM held), $5 FROM k WHERE EXISTS (SELECT 1 FROM held) RETURNING id)
SELECT (SELECT id FROM h) AS id, (SELECT count(*) FROM held)::int AS held`,
    values: [connectionId, propertyId, h.kind, h.reason, JSON.stringify(h.sample), cells],
  };
}

/**
 * What a closing share is of: the connection's mapped cells × nights of its CDC window (yesterday
 * to sync_days ahead); and the closings it sent in the last `minutes` (guard.ts).
 */
export function closingBasis(connectionId: string, minutes: number) {
  return {
    text: `SELECT (SELECT count(*) FROM channel.channel_mappings m WHERE m.connection_id = c.id AND m.active AND m.deleted_at IS NULL)::int
                    * (COALESCE((c.settings ->> 'sync_days')::int, 500) + 1) AS cells,
                  COALESCE((SELECT s.closings_sent FROM channel.connection_sync_state s
                            WHERE s.connection_id = c.id AND s.closings_since > now() - make_interval(mins => $2)), 0) AS recent
           FROM channel.channel_connections c WHERE c.id = $1`,
    values: [connectionId, minutes],
  };
}

/** Counts closings sent towards the window of `minutes` (a new window starts when the last one is over). */
export function countClosingsSent(connectionId: string, propertyId: string, sent: number, minutes: number) {
  return {
    text: `INSERT INTO channel.connection_sync_state AS s (connection_id, property_id, closings_since, closings_sent) VALUES ($1, $2, now(), $3)
           ON CONFLICT (connection_id) DO UPDATE SET
             closings_sent = CASE WHEN s.closings_since > now() - make_interval(mins => $4) THEN s.closings_sent + $3 ELSE $3 END,
             closings_since = CASE WHEN s.closings_since > now() - make_interval(mins => $4) THEN s.closings_since ELSE now() END`,
    values: [connectionId, propertyId, sent, minutes],
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

/**
 * Held cells no pass would ever judge again: their night has passed (before yesterday in the
 * property's time zone) or their mapping is gone or inactive — the CDC marks neither again. They
 * are released (the next pass finds nothing to send and clears them), and `held` errors with no
 * held cell left resolve. Run hourly with the window's horizon (control.ts). Rows are locked in
 * the table's order (sql/sync.ts lockClaim).
 */
export function releaseStaleHolds() {
  return {
    text: `
WITH stale AS (
  SELECT d.id FROM channel.ari_dirty_cells d JOIN property_mgmt.properties p ON p.id = d.property_id
  WHERE d.held_by IS NOT NULL AND d.deleted_at IS NULL
    AND (d.stay_date < (now() AT TIME ZONE p.timezone)::date - 1
         OR NOT EXISTS (SELECT 1 FROM channel.channel_mappings m WHERE m.connection_id = d.connection_id AND m.room_type_id = d.room_type_id
                          AND m.rate_plan_id = d.rate_plan_id AND m.active AND m.deleted_at IS NULL))
  ORDER BY d.connection_id, d.room_type_id, d.rate_plan_id, d.stay_date
  FOR UPDATE OF d),
released AS (
  UPDATE channel.ari_dirty_cells d SET held_by = NULL, updated_at = now(), version = d.version + 1 FROM stale WHERE d.id = stale.id RETURNING d.id)
SELECT count(*)::int AS released FROM released`,
    values: [],
  };
}
