/**
 * Queries of the sync workers: claiming dirty cells, finishing a push, the request log and the
 * error table. The claim protocol (agreed with the CDC consumer's upsert, cdc/sql/dirty-cells.ts):
 *  0. a worker pushes a connection only while it holds the connection's session advisory lock
 *     (channel.sync_lock_key): one push at a time per connection, whichever machine;
 *  1. claim: set claimed_at/claim_id in a committed statement, *before* reading the values;
 *  2. read the values and the acknowledged ones; push the parts that differ;
 *  3. finish, in one transaction: store what the OTA acknowledged, forget the acknowledgements of
 *     the parts whose outcome is unknown, delete each cell whose dirty_seq is still the one read
 *     (a change during the push bumped it: the cell stays dirty), release the rest.
 * A worker that dies between 1 and 3 leaves its cells claimed, and its lock is freed with its
 * session: the next worker to get the lock takes those cells over at once and, not knowing what
 * reached the OTA, sends every part of them again.
 */
import type { OtaValues, Part } from '../types.ts';

/**
 * Claims up to `limit` cells of a connection, oldest first, for a caller holding the connection's
 * sync lock. Claims the caller finds when it claims are not its own (it claims, pushes and
 * finishes in turn): their worker held the lock while it pushed, so it is gone. They are taken
 * over too (`takenOver`) once `graceSeconds` have passed since a lock holder first saw them
 * (connection_sync_state.orphans_seen_at, stamped here): a request the dead worker sent just
 * before dying may still be in flight at the OTA (Expedia takes one request per hotel at a time).
 * The clock runs per dead claim — from after the death, whatever the live workers do meanwhile;
 * a claim made after the stamp waits for a stamp of its own. SKIP LOCKED: a dead worker's
 * transaction PostgreSQL has not yet ended keeps its rows until it has.
 */
export function claimCells(connectionId: string, claimId: string, limit: number, graceSeconds: number) {
  return {
    text: `
WITH orphans AS (
  SELECT min(claimed_at) AS oldest FROM channel.ari_dirty_cells WHERE connection_id = $1 AND claimed_at IS NOT NULL AND deleted_at IS NULL),
before AS (SELECT (SELECT orphans_seen_at FROM channel.connection_sync_state WHERE connection_id = $1) AS seen),
clock AS (
  SELECT CASE WHEN o.oldest IS NULL THEN NULL -- none left: the clock stops
              WHEN b.seen IS NULL OR o.oldest >= b.seen THEN now() -- claims nobody saw yet: their clock starts now
              ELSE b.seen END AS seen
  FROM orphans o, before b),
stamped AS (
  INSERT INTO channel.connection_sync_state AS s (connection_id, property_id, orphans_seen_at)
  SELECT c.id, c.property_id, k.seen FROM channel.channel_connections c, clock k, before b
  WHERE c.id = $1 AND k.seen IS DISTINCT FROM b.seen
  ON CONFLICT (connection_id) DO UPDATE SET orphans_seen_at = EXCLUDED.orphans_seen_at),
picked AS (
  SELECT id, claimed_at IS NOT NULL AS taken_over FROM channel.ari_dirty_cells
  WHERE connection_id = $1 AND deleted_at IS NULL AND held_by IS NULL -- held for approval (sql/holds.ts): not sent until approved or changed
    AND (claimed_at IS NULL OR (claimed_at < (SELECT seen FROM clock) AND (SELECT seen FROM clock) <= now() - make_interval(secs => $4)))
  ORDER BY first_dirty_at LIMIT $3
  FOR UPDATE SKIP LOCKED)
UPDATE channel.ari_dirty_cells d SET claimed_at = clock_timestamp(), claim_id = $2
FROM picked WHERE d.id = picked.id
RETURNING d.id, d.dirty_seq::text AS "dirtySeq", picked.taken_over AS "takenOver", d.guard_approved AS "guardApproved",
          d.held_values AS "heldValues", d.last_hold AS "lastHold"`,
    values: [connectionId, claimId, limit, graceSeconds],
  };
}

/** In an upsert of channel.ari_acknowledged: the stored row was acknowledged at the target being recorded now. */
const SAME = `a.ota_target IS NOT DISTINCT FROM EXCLUDED.ota_target`;

/** A cell's parts as the flag columns the acknowledgement statements read (`rate` is a type name in SQL). */
const partFlags = (parts: Part[]) => ({ avail: parts.includes('avail'), rate_p: parts.includes('rate'), restr: parts.includes('restr') });

export interface AckedCell {
  cellId: string;
  parts: Part[];
  values: OtaValues;
  /** The OTA room and rate codes it was sent to. */
  room: string;
  rate: string;
}

/** Where a push went: the connection's endpoint and OTA hotel at the time (with each cell's room and rate, channel.ota_target). */
export interface PushTarget {
  endpoint: string;
  hotel: string;
}

/**
 * Records what the OTA acknowledged: per cell, the parts it accepted, at the target they were sent
 * to (other parts keep their previous acknowledged value — unless that was acknowledged at another
 * target: then they are no longer acknowledged anywhere that counts). Only for cells this claim
 * still holds: a cell taken over by another worker is that worker's to record.
 */
export function storeAcknowledged(claimId: string, target: PushTarget, acked: AckedCell[]) {
  const rows = acked.map((a) => ({
    id: a.cellId,
    ...partFlags(a.parts),
    room: a.room,
    rate_code: a.rate,
    availability: a.values.availability,
    rate: a.values.rate,
    currency: a.values.currency,
    min_los: a.values.minLos,
    max_los: a.values.maxLos,
    cta: a.values.closedToArrival,
    ctd: a.values.closedToDeparture,
    closed: a.values.closed,
    occ: a.values.occupancyRates,
    min_st: a.values.minStayThrough,
    max_st: a.values.maxStayThrough,
    min_adv: a.values.minAdvanceDays,
    max_adv: a.values.maxAdvanceDays,
    room_closed: a.values.roomClosed,
  }));
  return {
    text: `
INSERT INTO channel.ari_acknowledged AS a (connection_id, property_id, room_type_id, rate_plan_id, stay_date, ota_target,
  availability, avail_acked_at, rate, currency, rate_acked_at, min_los, max_los, closed_to_arrival, closed_to_departure, closed, restr_acked_at,
  occupancy_rates, min_stay_through, max_stay_through, min_advance_days, max_advance_days, room_closed)
SELECT d.connection_id, d.property_id, d.room_type_id, d.rate_plan_id, d.stay_date, channel.ota_target($3, $4, r.room, r.rate_code),
       CASE WHEN r.avail THEN r.availability END, CASE WHEN r.avail THEN now() END,
       CASE WHEN r.rate_p THEN r.rate END, CASE WHEN r.rate_p THEN r.currency END, CASE WHEN r.rate_p THEN now() END,
       CASE WHEN r.restr THEN r.min_los END, CASE WHEN r.restr THEN r.max_los END, CASE WHEN r.restr THEN r.cta END,
       CASE WHEN r.restr THEN r.ctd END, CASE WHEN r.restr THEN r.closed END, CASE WHEN r.restr THEN now() END,
       CASE WHEN r.rate_p THEN r.occ END, CASE WHEN r.restr THEN r.min_st END, CASE WHEN r.restr THEN r.max_st END,
       CASE WHEN r.restr THEN r.min_adv END, CASE WHEN r.restr THEN r.max_adv END, CASE WHEN r.avail THEN r.room_closed END
FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, avail boolean, rate_p boolean, restr boolean, availability int, rate numeric,
                                        currency text, min_los int, max_los int, cta boolean, ctd boolean, closed boolean, room text, rate_code text,
                                        occ jsonb, min_st int, max_st int, min_adv int, max_adv int, room_closed boolean)
JOIN channel.ari_dirty_cells d ON d.id = r.id AND d.claim_id = $1
ON CONFLICT (connection_id, room_type_id, rate_plan_id, stay_date) DO UPDATE SET
  ota_target = EXCLUDED.ota_target,
  availability = CASE WHEN EXCLUDED.avail_acked_at IS NOT NULL THEN EXCLUDED.availability WHEN ${SAME} THEN a.availability END,
  room_closed = CASE WHEN EXCLUDED.avail_acked_at IS NOT NULL THEN EXCLUDED.room_closed WHEN ${SAME} THEN a.room_closed END,
  avail_acked_at = COALESCE(EXCLUDED.avail_acked_at, CASE WHEN ${SAME} THEN a.avail_acked_at END),
  rate = CASE WHEN EXCLUDED.rate_acked_at IS NOT NULL THEN EXCLUDED.rate WHEN ${SAME} THEN a.rate END,
  currency = CASE WHEN EXCLUDED.rate_acked_at IS NOT NULL THEN EXCLUDED.currency WHEN ${SAME} THEN a.currency END,
  occupancy_rates = CASE WHEN EXCLUDED.rate_acked_at IS NOT NULL THEN EXCLUDED.occupancy_rates WHEN ${SAME} THEN a.occupancy_rates END,
  rate_acked_at = COALESCE(EXCLUDED.rate_acked_at, CASE WHEN ${SAME} THEN a.rate_acked_at END),
  min_los = CASE WHEN EXCLUDED.restr_acked_at IS NOT NULL THEN EXCLUDED.min_los WHEN ${SAME} THEN a.min_los END,
  max_los = CASE WHEN EXCLUDED.restr_acked_at IS NOT NULL THEN EXCLUDED.max_los WHEN ${SAME} THEN a.max_los END,
  closed_to_arrival = CASE WHEN EXCLUDED.restr_acked_at IS NOT NULL THEN EXCLUDED.closed_to_arrival WHEN ${SAME} THEN a.closed_to_arrival END,
  closed_to_departure = CASE WHEN EXCLUDED.restr_acked_at IS NOT NULL THEN EXCLUDED.closed_to_departure WHEN ${SAME} THEN a.closed_to_departure END,
  closed = CASE WHEN EXCLUDED.restr_acked_at IS NOT NULL THEN EXCLUDED.closed WHEN ${SAME} THEN a.closed END,
  min_stay_through = CASE WHEN EXCLUDED.restr_acked_at IS NOT NULL THEN EXCLUDED.min_stay_through WHEN ${SAME} THEN a.min_stay_through END,
  max_stay_through = CASE WHEN EXCLUDED.restr_acked_at IS NOT NULL THEN EXCLUDED.max_stay_through WHEN ${SAME} THEN a.max_stay_through END,
  min_advance_days = CASE WHEN EXCLUDED.restr_acked_at IS NOT NULL THEN EXCLUDED.min_advance_days WHEN ${SAME} THEN a.min_advance_days END,
  max_advance_days = CASE WHEN EXCLUDED.restr_acked_at IS NOT NULL THEN EXCLUDED.max_advance_days WHEN ${SAME} THEN a.max_advance_days END,
  restr_acked_at = COALESCE(EXCLUDED.restr_acked_at, CASE WHEN ${SAME} THEN a.restr_acked_at END),
  -- A part the OTA has now accepted is no longer refused (nor is anything another target refused).
  refused = CASE WHEN ${SAME} THEN NULLIF(a.refused - array_remove(ARRAY[CASE WHEN EXCLUDED.avail_acked_at IS NOT NULL THEN 'avail' END,
                     CASE WHEN EXCLUDED.rate_acked_at IS NOT NULL THEN 'rate' END, CASE WHEN EXCLUDED.restr_acked_at IS NOT NULL THEN 'restr' END], NULL), '{}') END,
  updated_at = now(), version = a.version + 1`,
    values: [claimId, JSON.stringify(rows), target.endpoint, target.hotel],
  };
}

/**
 * Before a push's acknowledgements are stored: the cells pushed to a target they had nothing
 * acknowledged at (a remap, a new mapping, a full sync) now own what the OTA shows there, so what
 * any *other* cell of the connection had acknowledged at that target on those nights is forgotten
 * — and, as availability belongs to the OTA room, what another room type had acknowledged at any
 * rate of that room. Without it a cell that fed the target before, then left, then came back
 * would compare equal to its old acknowledgement and be cleared without a request, while the OTA
 * shows what the other cell sent. Rows of the claim's own cells are left to storeAcknowledged.
 */
export function forgetOthersAtTargets(claimId: string, target: PushTarget, cells: Array<{ cellId: string; room: string; rate: string }>) {
  return {
    text: `
DELETE FROM channel.ari_acknowledged a
USING jsonb_to_recordset($2::jsonb) AS r(id uuid, room text, rate_code text)
JOIN channel.ari_dirty_cells d ON d.id = r.id AND d.claim_id = $1
WHERE a.connection_id = d.connection_id AND a.stay_date = d.stay_date
  AND (a.room_type_id, a.rate_plan_id) <> (d.room_type_id, d.rate_plan_id)
  AND (a.ota_target = channel.ota_target($3, $4, r.room, r.rate_code)
       OR (a.room_type_id <> d.room_type_id AND starts_with(a.ota_target, channel.ota_target($3, $4, r.room, ''))))`,
    values: [claimId, JSON.stringify(cells.map((c) => ({ id: c.cellId, room: c.room, rate_code: c.rate }))), target.endpoint, target.hotel],
  };
}

/**
 * Remembers values the OTA refused for good, per cell and part (`refused`: {part: values}), so the
 * worker does not send them again until the PMS value changes (connector.ts partsToSend). Only for
 * cells this claim still holds.
 */
export function storeRefused(
  claimId: string,
  target: PushTarget,
  refused: Array<{ cellId: string; room: string; rate: string; refused: Record<string, Record<string, unknown>> }>,
) {
  return {
    text: `
INSERT INTO channel.ari_acknowledged AS a (connection_id, property_id, room_type_id, rate_plan_id, stay_date, ota_target, refused)
SELECT d.connection_id, d.property_id, d.room_type_id, d.rate_plan_id, d.stay_date, channel.ota_target($3, $4, r.room, r.rate_code), r.refused
FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, refused jsonb, room text, rate_code text)
JOIN channel.ari_dirty_cells d ON d.id = r.id AND d.claim_id = $1
ON CONFLICT (connection_id, room_type_id, rate_plan_id, stay_date) DO UPDATE SET
  -- Refused at another target than the one acknowledged: nothing acknowledged holds any more.
  ota_target = EXCLUDED.ota_target,
  avail_acked_at = CASE WHEN ${SAME} THEN a.avail_acked_at END, rate_acked_at = CASE WHEN ${SAME} THEN a.rate_acked_at END,
  restr_acked_at = CASE WHEN ${SAME} THEN a.restr_acked_at END,
  refused = CASE WHEN ${SAME} THEN COALESCE(a.refused, '{}') ELSE '{}' END || EXCLUDED.refused, updated_at = now(), version = a.version + 1`,
    values: [
      claimId,
      JSON.stringify(refused.map((r) => ({ id: r.cellId, refused: r.refused, room: r.room, rate_code: r.rate }))),
      target.endpoint,
      target.hotel,
    ],
  };
}

/**
 * After a push: forgets what the OTA acknowledged for the parts whose outcome is unknown (sent
 * without a definitive answer: a timeout, a lost connection, a shutdown; or any part of a cell
 * taken over from a dead worker). The OTA may hold the values sent or the old ones; a forgotten
 * part is sent again whatever the next values are, so the OTA can never keep a value we believe it
 * no longer has. Only for cells the claim still holds (a lost cell is made dirty again whole).
 */
export function forgetParts(claimId: string, cells: Array<{ cellId: string; parts: Part[] }>) {
  const rows = cells.map((c) => ({ id: c.cellId, ...partFlags(c.parts) }));
  return {
    text: `
UPDATE channel.ari_acknowledged a SET
  avail_acked_at = CASE WHEN r.avail THEN NULL ELSE a.avail_acked_at END,
  rate_acked_at = CASE WHEN r.rate_p THEN NULL ELSE a.rate_acked_at END,
  restr_acked_at = CASE WHEN r.restr THEN NULL ELSE a.restr_acked_at END,
  updated_at = now(), version = a.version + 1
FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, avail boolean, rate_p boolean, restr boolean)
JOIN channel.ari_dirty_cells d ON d.id = r.id AND d.claim_id = $1
WHERE a.connection_id = d.connection_id AND a.room_type_id = d.room_type_id AND a.rate_plan_id = d.rate_plan_id AND a.stay_date = d.stay_date
  -- Only rows with something left to forget: an outage fails push after push over the same cells.
  AND ((r.avail AND a.avail_acked_at IS NOT NULL) OR (r.rate_p AND a.rate_acked_at IS NOT NULL) OR (r.restr AND a.restr_acked_at IS NOT NULL))`,
    values: [claimId, JSON.stringify(rows)],
  };
}

/**
 * The first statement of a push's finish (and of an abandon): locks the rows of every cell the
 * claim took — those another worker took over meanwhile too, since a lost cell is made dirty again
 * in the same transaction — in the cell key's order, the order in which the CDC's marking upsert
 * (cdc/sql/dirty-cells.ts) and every other writer of the table that waits take theirs. Without it
 * the finish's DELETE and UPDATE lock rows in whatever order their plans produce, and a concurrent
 * marking of the same cells could deadlock with it.
 */
export function lockClaim(claimId: string, cellIds: string[]) {
  return {
    text: `SELECT count(*) FILTER (WHERE claim_id = $1)::int AS held FROM (
             SELECT claim_id FROM channel.ari_dirty_cells WHERE id = ANY ($2::uuid[])
             ORDER BY connection_id, room_type_id, rate_plan_id, stay_date FOR UPDATE) locked`,
    values: [claimId, cellIds],
  };
}

/**
 * Ends a claim: deletes the cells that are done (sent and acknowledged, or nothing to send, or not
 * sendable) if their dirty_seq is still the one read after claiming; releases every other cell the
 * claim holds, so the next pass picks it up. `done` pairs each cell id with that dirty_seq.
 * Returns the ids it found still held (`held`); any other was taken over by another worker.
 */
export function finishClaim(claimId: string, cellIds: string[], done: Array<{ cellId: string; dirtySeq: string }>) {
  return {
    text: `
WITH cleared AS (
  DELETE FROM channel.ari_dirty_cells d
  USING jsonb_to_recordset($2::jsonb) AS x("cellId" uuid, "dirtySeq" bigint)
  WHERE d.id = x."cellId" AND d.claim_id = $1 AND d.dirty_seq = x."dirtySeq"
  RETURNING d.id),
released AS (
  UPDATE channel.ari_dirty_cells d SET claimed_at = NULL, claim_id = NULL
  WHERE d.id = ANY ($3::uuid[]) AND d.claim_id = $1 AND d.id NOT IN (SELECT id FROM cleared)
  RETURNING d.id)
SELECT COALESCE((SELECT array_agg(id) FROM cleared), '{}') || COALESCE((SELECT array_agg(id) FROM released), '{}') AS held`,
    values: [claimId, JSON.stringify(done), cellIds],
  };
}

/**
 * Gives a claim's cells back after a failure of our own (database, a bug) at an unknown point of
 * the push: what reached the OTA is unknown, so their acknowledgements are forgotten whole.
 */
export function abandonClaim(claimId: string, cellIds: string[]) {
  return {
    text: `
WITH released AS (
  UPDATE channel.ari_dirty_cells d SET claimed_at = NULL, claim_id = NULL
  WHERE d.id = ANY ($2::uuid[]) AND d.claim_id = $1
  RETURNING d.connection_id, d.room_type_id, d.rate_plan_id, d.stay_date)
DELETE FROM channel.ari_acknowledged a USING released r
WHERE a.connection_id = r.connection_id AND a.room_type_id = r.room_type_id AND a.rate_plan_id = r.rate_plan_id AND a.stay_date = r.stay_date`,
    values: [claimId, cellIds],
  };
}

/**
 * Cells of a claim that another worker took over while this one pushed (this worker's lock
 * session broke — a network cut — while its push went on), as finishClaim found them. What this worker sent may have reached
 * the OTA after the other worker's newer values, so they are made dirty again with their
 * acknowledged values forgotten: the next push sends them whole.
 */
export function redirtyLostCells(lost: Array<{ connectionId: string; propertyId: string; roomTypeId: string; ratePlanId: string; stayDate: string }>) {
  return {
    text: `
WITH lost AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x("connectionId" uuid, "propertyId" uuid, "roomTypeId" uuid, "ratePlanId" uuid, "stayDate" date)),
forgot AS (
  DELETE FROM channel.ari_acknowledged a USING lost l
  WHERE a.connection_id = l."connectionId" AND a.room_type_id = l."roomTypeId" AND a.rate_plan_id = l."ratePlanId" AND a.stay_date = l."stayDate")
INSERT INTO channel.ari_dirty_cells AS d (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
SELECT "connectionId", "propertyId", "roomTypeId", "ratePlanId", "stayDate" FROM lost
ORDER BY "connectionId", "roomTypeId", "ratePlanId", "stayDate" -- the table's lock order (lockClaim)
ON CONFLICT (connection_id, room_type_id, rate_plan_id, stay_date) DO UPDATE
  SET dirty_seq = EXCLUDED.dirty_seq, last_dirty_at = now(), deleted_at = NULL, updated_at = now(), version = d.version + 1`,
    values: [JSON.stringify(lost)],
  };
}

export interface SyncLogEntry {
  connectionId: string;
  propertyId: string;
  channel: string;
  /** The adapter's name for the message (avail, rate, ar, token, inv …). */
  kind: string;
  cells: number;
  ranges: number;
  bytes: number;
  status: 'success' | 'partial' | 'failed';
  httpStatus: number | null;
  otaCodes: string[];
  errorCode: string | null;
  message: string | null;
  attempts: number;
  durationMs: number;
}

export function insertSyncLog(e: SyncLogEntry) {
  return {
    text: `INSERT INTO channel.sync_log (connection_id, property_id, channel_code, message_kind, cells, ranges, bytes, status, http_status,
             ota_codes, error_code, message, attempts, duration_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
    values: [
      e.connectionId,
      e.propertyId,
      e.channel,
      e.kind,
      e.cells,
      e.ranges,
      e.bytes,
      e.status,
      e.httpStatus,
      e.otaCodes,
      e.errorCode,
      e.message?.slice(0, 2000) ?? null,
      e.attempts,
      Math.round(e.durationMs),
    ],
  };
}

export interface SyncErrorEntry {
  severity: 'warning' | 'error' | 'alert';
  kind:
    | 'auth'
    | 'rejected'
    | 'mapping'
    | 'unavailable'
    | 'invalid_response'
    | 'ota_warning'
    | 'overbooking'
    | 'resync'
    | 'closing'
    | 'closing_failed'
    | 'reservations'
    | 'held'
    | 'pricing_model';
  errorCode: string;
  otaCode?: string | null;
  message: string;
  roomTypeId?: string | null;
  ratePlanId?: string | null;
  stayFrom?: string | null;
  stayTo?: string | null;
}

/** Opens or counts up the errors of one request (one open row per connection, kind, code, subject). */
export function recordSyncErrors(connectionId: string, propertyId: string, syncLogId: string | null, errors: SyncErrorEntry[]) {
  return {
    text: `
INSERT INTO channel.sync_errors AS e (connection_id, property_id, severity, kind, error_code, ota_code, message, room_type_id,
  rate_plan_id, stay_from, stay_to, last_sync_log_id)
SELECT DISTINCT ON (x.kind, coalesce(x."otaCode", ''), coalesce(x."roomTypeId"::text, ''), coalesce(x."ratePlanId"::text, ''), coalesce(x."stayFrom", '-infinity'::date))
       $1, $2, x.severity, x.kind, x."errorCode", x."otaCode", left(x.message, 2000), x."roomTypeId", x."ratePlanId", x."stayFrom", x."stayTo", $3
FROM jsonb_to_recordset($4::jsonb) AS x(severity text, kind text, "errorCode" text, "otaCode" text, message text, "roomTypeId" uuid,
                                        "ratePlanId" uuid, "stayFrom" date, "stayTo" date)
ON CONFLICT (connection_id, kind, coalesce(ota_code, ''), coalesce(room_type_id::text, ''), coalesce(rate_plan_id::text, ''), coalesce(stay_from, '-infinity'::date))
  WHERE resolved_at IS NULL AND deleted_at IS NULL
DO UPDATE SET occurrences = e.occurrences + 1, last_seen_at = now(), message = EXCLUDED.message, stay_to = EXCLUDED.stay_to,
              last_sync_log_id = EXCLUDED.last_sync_log_id, severity = EXCLUDED.severity`,
    values: [connectionId, propertyId, syncLogId, JSON.stringify(errors)],
  };
}

/** A resync StayOS started (a lost slot, a TRUNCATE) ends when the connection has nothing left to push. */
export function resolveDrainedResyncs(connectionId: string) {
  return {
    text: `UPDATE channel.sync_errors SET resolved_at = now()
           WHERE connection_id = $1 AND kind = 'resync' AND resolved_at IS NULL AND deleted_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM channel.ari_dirty_cells d WHERE d.connection_id = $1 AND d.deleted_at IS NULL)`,
    values: [connectionId],
  };
}

/** A poll of the reservation queues worked: the problem of polling them is over. */
export function resolveReservationPolling(connectionIds: string[]) {
  return {
    text: `UPDATE channel.sync_errors SET resolved_at = now()
           WHERE connection_id = ANY ($1::uuid[]) AND kind = 'reservations' AND resolved_at IS NULL AND deleted_at IS NULL`,
    values: [connectionIds],
  };
}

/** A success ends the transient problems of a connection (outage, bad answers, authentication). */
export function resolveTransientErrors(connectionId: string) {
  return {
    text: `UPDATE channel.sync_errors SET resolved_at = now()
           WHERE connection_id = $1 AND resolved_at IS NULL AND deleted_at IS NULL AND kind IN ('unavailable', 'invalid_response', 'auth')`,
    values: [connectionId],
  };
}

/** Refusals of cells the OTA has now accepted: the cause is gone (fixed data, fixed mapping). Runs
 * after every push, so the cell list is read only when the connection has an open refusal at all. */
export function resolveRefusals(connectionId: string, cells: Array<{ roomTypeId: string; ratePlanId: string; stayDate: string }>) {
  return {
    text: `UPDATE channel.sync_errors e SET resolved_at = now()
           FROM (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x("roomTypeId" uuid, "ratePlanId" uuid, "stayDate" date)
                 WHERE EXISTS (SELECT 1 FROM channel.sync_errors o WHERE o.connection_id = $1 AND o.kind IN ('rejected', 'mapping')
                                 AND o.resolved_at IS NULL AND o.deleted_at IS NULL)) x
           WHERE e.connection_id = $1 AND e.kind IN ('rejected', 'mapping') AND e.resolved_at IS NULL AND e.deleted_at IS NULL
             AND e.room_type_id = x."roomTypeId" AND (e.rate_plan_id IS NULL OR e.rate_plan_id = x."ratePlanId")
             AND x."stayDate" BETWEEN e.stay_from AND COALESCE(e.stay_to, e.stay_from)`,
    values: [connectionId, JSON.stringify(cells)],
  };
}

/**
 * Pricing-model errors of (room type, rate plan) pairs now priced alike, and of pairs no active
 * mapping holds any more. A no-op unless the connection has one open (the index on open errors).
 */
export function resolvePricingModel(connectionId: string, pairs: Array<{ roomTypeId: string; ratePlanId: string }>) {
  return {
    text: `UPDATE channel.sync_errors e SET resolved_at = now()
           WHERE e.connection_id = $1 AND e.kind = 'pricing_model' AND e.resolved_at IS NULL AND e.deleted_at IS NULL
             AND (EXISTS (SELECT 1 FROM jsonb_to_recordset($2::jsonb) AS x("roomTypeId" uuid, "ratePlanId" uuid)
                          WHERE x."roomTypeId" = e.room_type_id AND x."ratePlanId" = e.rate_plan_id)
                  OR NOT EXISTS (SELECT 1 FROM channel.channel_mappings m
                                 WHERE m.connection_id = e.connection_id AND m.room_type_id = e.room_type_id AND m.rate_plan_id = e.rate_plan_id
                                   AND m.active AND m.deleted_at IS NULL))`,
    values: [connectionId, JSON.stringify(pairs)],
  };
}

/** Overbooking alerts of nights a push now shows as not overbooked (the list is read only when the
 * connection has an open alert). */
export function resolveOverbookings(connectionId: string, nights: Array<{ roomTypeId: string; stayDate: string }>) {
  return {
    text: `UPDATE channel.sync_errors e SET resolved_at = now()
           FROM (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x("roomTypeId" uuid, "stayDate" date)
                 WHERE EXISTS (SELECT 1 FROM channel.sync_errors o WHERE o.connection_id = $1 AND o.kind = 'overbooking'
                                 AND o.resolved_at IS NULL AND o.deleted_at IS NULL)) x
           WHERE e.connection_id = $1 AND e.kind = 'overbooking' AND e.resolved_at IS NULL AND e.deleted_at IS NULL
             AND e.room_type_id = x."roomTypeId" AND e.stay_from = x."stayDate"`,
    values: [connectionId, JSON.stringify(nights)],
  };
}
