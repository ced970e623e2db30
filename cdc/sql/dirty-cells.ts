/**
 * Queries of the dirty-cell consumer. Each is one statement for a whole batch of changes.
 *
 * A *range* says "these cells may have changed": cells of `connection` (or, when null, of every
 * connection of `channel` at `property`), of `room type` (null: all mapped), of `rate plan`
 * (null: all mapped), for nights [from, to) (null: the connection's whole sync window).
 * Ranges expand through the active mappings into cells inside each connection's window
 * (from yesterday, in the property's time zone, to `settings.sync_days`, default 500 days).
 * A range of a rate plan also covers the plans derived from it.
 */
export interface CellRange {
  connectionId: string | null;
  propertyId: string;
  roomTypeId: string | null;
  ratePlanId: string | null;
  from: string | null;
  to: string | null;
  lsn: string;
}

/** The batch as one JSON document: serialising tens of thousands of values as seven text arrays
 * cost more than the query itself. */
function columns(ranges: CellRange[]): [string] {
  return [JSON.stringify(ranges)];
}

const SRC = `src AS (
  SELECT s."connectionId" AS connection_id, s."propertyId" AS property_id, s."roomTypeId" AS room_type_id,
         s."ratePlanId" AS rate_plan_id, s."from" AS from_date, s."to" AS to_date, s.lsn
  FROM jsonb_to_recordset($1::jsonb) AS s("connectionId" uuid, "propertyId" uuid, "roomTypeId" uuid, "ratePlanId" uuid, "from" date, "to" date, lsn pg_lsn))`;

/**
 * Upserts the dirty cells the ranges cover at the connections of these channels. Every lookup is
 * a correlated subquery (`LATERAL … OFFSET 0`, `NOT EXISTS … OFFSET 0`: the planner may not turn
 * them into joins), so the batch drives index probes and a flush costs what its batch covers,
 * never what the tables hold. The planner cannot be trusted with the choice: it estimates the JSON
 * batch at 100 rows whatever its size, and sees a cell table that grew from empty to thousands of
 * rows only after autovacuum analysed it — until then it would scan that table per probe. The
 * consumer runs this with sequential scans disabled, so each probe uses its index.
 */
export function markDirtyCells(channels: readonly string[], ranges: CellRange[]) {
  return {
    text: `
WITH ${SRC},
-- Ranges → the connections of the channels they concern (by id, or every connection of the
-- property), each with its sync window in its property's time zone.
rc AS (
  SELECT s.*, c.id AS cid, (now() AT TIME ZONE p.timezone)::date AS today, COALESCE((c.settings ->> 'sync_days')::int, 500) AS days
  FROM src s
  CROSS JOIN LATERAL (
    SELECT c.id, c.property_id, c.settings FROM channel.channel_connections c
    WHERE c.id = s.connection_id AND c.channel_code = ANY ($2::text[]) AND c.deleted_at IS NULL
    UNION ALL
    SELECT c.id, c.property_id, c.settings FROM channel.channel_connections c
    WHERE s.connection_id IS NULL AND c.property_id = s.property_id AND c.channel_code = ANY ($2::text[]) AND c.deleted_at IS NULL
    OFFSET 0) c
  JOIN property_mgmt.properties p ON p.id = c.property_id
),
-- … → the connection's active mappings the range covers: one cell's, a room type's, or all. A
-- range of a rate plan covers the plans derived from it too (their rates and, unless they have
-- their own, their restrictions follow it: connectors/outbound/sql/ari.ts).
rm AS (
  SELECT rc.*, m.property_id AS mprop, m.room_type_id AS rt, m.rate_plan_id AS rp
  FROM rc CROSS JOIN LATERAL (
    SELECT m.property_id, m.room_type_id, m.rate_plan_id FROM channel.channel_mappings m
    WHERE m.connection_id = rc.cid AND m.active AND m.deleted_at IS NULL
      AND (rc.room_type_id IS NULL OR m.room_type_id = rc.room_type_id)
      AND (rc.rate_plan_id IS NULL OR m.rate_plan_id = rc.rate_plan_id
           OR EXISTS (SELECT 1 FROM property_mgmt.rate_plans d WHERE d.id = m.rate_plan_id AND d.parent_rate_plan_id = rc.rate_plan_id))
    OFFSET 0) m
),
cells AS (
  SELECT rm.cid AS connection_id, rm.mprop AS property_id, rm.rt AS room_type_id, rm.rp AS rate_plan_id, d::date AS stay_date, max(rm.lsn) AS lsn
  FROM rm
  CROSS JOIN LATERAL generate_series(GREATEST(COALESCE(rm.from_date, rm.today - 1), rm.today - 1),
                                     LEAST(COALESCE(rm.to_date, rm.today + rm.days), rm.today + rm.days) - 1,
                                     interval '1 day') d
  GROUP BY 1, 2, 3, 4, 5
),
-- One sequence value and one actor per statement, not per cell (a default is evaluated for every
-- proposed row). One value is enough: a sync worker only asks whether a cell's dirty_seq is still
-- the one it claimed (equality, never order).
stamp AS (SELECT nextval('channel.ari_dirty_seq') AS seq, shared.current_actor() AS actor)
-- A cell already waiting (unclaimed) is skipped before the insert, without even a row lock: a
-- burst of changes to waiting cells writes nothing. A cell held by a guardrail is released: the
-- next pass judges its values (connectors/outbound/guard.ts). New cells are inserted; a cell whose push is
-- in flight (claimed) or cleared by soft delete gets a new dirty_seq through ON CONFLICT — which,
-- unlike a separate UPDATE, also waits for and sees a worker's concurrent DELETE, and then inserts.
-- Protocol for the sync workers: claim (set claimed_at) in a committed transaction *before*
-- reading the values to push, and clear only if dirty_seq is unchanged. A claim committed after
-- this statement's snapshot means the worker reads values committed before it (nothing lost); one
-- committed before is seen here and bumps dirty_seq.
-- Rows go in the cell key's order, the order every writer of this table that waits locks in (a
-- sync worker's finish locks its claim the same way first: connectors/sql/sync.ts lockClaim), so
-- the two never wait on each other in a circle.
INSERT INTO channel.ari_dirty_cells AS d (connection_id, property_id, room_type_id, rate_plan_id, stay_date, last_lsn, dirty_seq, created_by, updated_by)
SELECT c.connection_id, c.property_id, c.room_type_id, c.rate_plan_id, c.stay_date, c.lsn, s.seq, s.actor, s.actor
FROM cells c CROSS JOIN stamp s
WHERE NOT EXISTS (SELECT 1 FROM channel.ari_dirty_cells w WHERE w.connection_id = c.connection_id AND w.room_type_id = c.room_type_id
                    AND w.rate_plan_id = c.rate_plan_id AND w.stay_date = c.stay_date AND w.claimed_at IS NULL AND w.deleted_at IS NULL
                    AND w.held_by IS NULL
                  OFFSET 0)
ORDER BY c.connection_id, c.room_type_id, c.rate_plan_id, c.stay_date
ON CONFLICT (connection_id, room_type_id, rate_plan_id, stay_date) DO UPDATE
   SET dirty_seq = EXCLUDED.dirty_seq, last_dirty_at = now(), last_lsn = EXCLUDED.last_lsn, deleted_at = NULL,
       held_by = NULL,
       updated_at = now(), updated_by = EXCLUDED.updated_by, version = d.version + 1
 WHERE d.claimed_at IS NOT NULL OR d.deleted_at IS NOT NULL OR d.held_by IS NOT NULL`,
    values: [...columns(ranges), channels],
  };
}

/**
 * Records, for the property-wide ranges, the room types and rate plans a connection of these
 * channels does not map: they never reach the OTA (an overbooking waiting to happen), so the
 * revenue team must see them. Repeats count up one open problem.
 */
export function recordMappingProblems(channels: readonly string[], ranges: CellRange[]) {
  const scoped = ranges.filter((r) => r.connectionId === null && r.roomTypeId !== null);
  return {
    text: `
WITH ${SRC},
subjects AS (SELECT DISTINCT property_id, room_type_id, rate_plan_id FROM src),
problems AS (
  SELECT c.id AS connection_id, s.property_id,
         CASE WHEN EXISTS (SELECT 1 FROM channel.channel_mappings m WHERE m.connection_id = c.id AND m.active
                             AND m.deleted_at IS NULL AND m.room_type_id = s.room_type_id)
              THEN 'unmapped_rate_plan' ELSE 'unmapped_room_type' END AS kind,
         s.room_type_id, s.rate_plan_id
  FROM subjects s
  JOIN channel.channel_connections c ON c.property_id = s.property_id AND c.channel_code = ANY ($2::text[]) AND c.deleted_at IS NULL
  WHERE NOT EXISTS (SELECT 1 FROM channel.channel_mappings m
                    WHERE m.connection_id = c.id AND m.active AND m.deleted_at IS NULL
                      AND m.room_type_id = s.room_type_id AND (s.rate_plan_id IS NULL OR m.rate_plan_id = s.rate_plan_id))
)
-- One row per conflict key: an unmapped room type is one problem whatever rate plans changed
-- (its rate_plan_id is NULL), or the upsert would meet the same row twice.
INSERT INTO channel.mapping_problems (connection_id, property_id, kind, room_type_id, rate_plan_id, detail)
SELECT DISTINCT ON (connection_id, kind, room_type_id, rate_plan_id) connection_id, property_id, kind, room_type_id, rate_plan_id,
       'changes to this ' || replace(kind, 'unmapped_', '') || ' are not sent: no active mapping'
FROM (SELECT connection_id, property_id, kind, room_type_id, CASE WHEN kind = 'unmapped_rate_plan' THEN rate_plan_id END AS rate_plan_id FROM problems) p
ON CONFLICT (connection_id, kind, coalesce(room_type_id::text, ''), coalesce(rate_plan_id::text, ''), coalesce(ota_room_code, ''), coalesce(ota_rate_code, ''))
  WHERE resolved_at IS NULL AND deleted_at IS NULL
  DO UPDATE SET occurrences = channel.mapping_problems.occurrences + 1, last_seen_at = now()`,
    values: [...columns(scoped), channels],
    empty: scoped.length === 0,
  };
}

/** Closes the open "unmapped" problems that a connection's active mappings now cover. */
export function resolveMappedProblems(connectionIds: string[]) {
  return {
    text: `
UPDATE channel.mapping_problems p SET resolved_at = now()
WHERE p.connection_id = ANY ($1::uuid[]) AND p.resolved_at IS NULL AND p.deleted_at IS NULL
  AND p.kind IN ('unmapped_room_type', 'unmapped_rate_plan')
  AND EXISTS (SELECT 1 FROM channel.channel_mappings m WHERE m.connection_id = p.connection_id AND m.active AND m.deleted_at IS NULL
                AND m.room_type_id = p.room_type_id AND (p.rate_plan_id IS NULL OR m.rate_plan_id = p.rate_plan_id))`,
    values: [connectionIds],
  };
}

/** The stays of reservations whose status changed: their nights move availability. */
export function roomsOfReservations(reservationIds: string[]) {
  return {
    text: `SELECT property_id, room_type_id, arrival_date::text AS arrival, departure_date::text AS departure
           FROM reservation.reservation_rooms WHERE reservation_id = ANY ($1::uuid[])`,
    values: [reservationIds],
  };
}

/** The connections of these channels at a property (a property-wide change concerns each). */
export function connectionsOfProperty(channels: readonly string[], propertyId: string) {
  return {
    text: `SELECT id FROM channel.channel_connections WHERE property_id = $1 AND channel_code = ANY ($2::text[]) AND deleted_at IS NULL ORDER BY id`,
    values: [propertyId, channels],
  };
}
