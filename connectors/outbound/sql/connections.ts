/**
 * Connection-level queries of the sync workers: which connections have work, a connection's
 * details for a push (credentials decrypted only here), its breaker state, status transitions,
 * pause/resume, Booking.com's shared tokens, and the full-sync marking.
 */
/**
 * Connections of these channels with cells to push now: not paused (unless being closed) or
 * disabled, breaker closed (retry_at passed), and an OTA target to close, or a cell waiting — or
 * only claimed cells whose worker is gone (nobody holds the connection's sync lock:
 * channel.sync_lock_held) and quiet for the grace (sync.ts claimCells). Except `busy`, the
 * connections this worker is pushing already: their pass loops until nothing is left.
 *
 * Run ten times a second by every worker, so it must cost nothing when nothing waits, however many
 * connections there are (issue 19: probing each of 2,000 connections kept PostgreSQL busy at
 * idle). It starts from what has work: the connections that have dirty cells, found by a loose
 * index scan of the claim index (one probe per such connection, none when the table is empty),
 * those with a pending OTA closure and those being closed (partial indexes). Each candidate is then
 * checked as before, one index probe per condition, newest cell first: the oldest entries of the
 * claim index are the ones a pass has claimed or just deleted (dead until vacuumed), and a probe
 * from that end walked past thousands of them during a full sync. A connection with a coalescing
 * window (`coalesce_ms`) has work once a waiting cell is that old, or once a backlog waits.
 */
export function connectionsWithWork(channels: readonly string[], busy: readonly string[] = [], backlogCells = 500, coalesceMs = 0) {
  return {
    text: `
WITH RECURSIVE dirty AS (
  (SELECT d.connection_id FROM channel.ari_dirty_cells d ORDER BY d.connection_id DESC, d.first_dirty_at DESC LIMIT 1)
  UNION ALL
  SELECT (SELECT d.connection_id FROM channel.ari_dirty_cells d WHERE d.connection_id < dirty.connection_id
          ORDER BY d.connection_id DESC, d.first_dirty_at DESC LIMIT 1)
  FROM dirty WHERE dirty.connection_id IS NOT NULL),
candidates AS (
  SELECT connection_id AS id FROM dirty WHERE connection_id IS NOT NULL
  UNION SELECT o.connection_id FROM channel.ota_closures o WHERE o.finished_at IS NULL AND o.deleted_at IS NULL
  UNION SELECT c.id FROM channel.channel_connections c WHERE c.closing_for IS NOT NULL AND c.deleted_at IS NULL)
SELECT c.id,
       -- a backlog (a full sync, a resync): more cells wait than a single change makes
       EXISTS (SELECT 1 FROM channel.ari_dirty_cells d WHERE d.connection_id = c.id AND d.deleted_at IS NULL AND d.claimed_at IS NULL
               AND d.held_by IS NULL OFFSET $3 - 1) AS backlog
FROM candidates k JOIN channel.channel_connections c ON c.id = k.id
LEFT JOIN channel.connection_sync_state s ON s.connection_id = c.id
-- the connection's coalescing window, else the worker's; a value the API would have refused
-- (written in SQL) counts as unset rather than failing the poll of every connection
-- (the same rule as worker.ts #coalesceMs: a whole number)
CROSS JOIN LATERAL (SELECT COALESCE(CASE WHEN jsonb_typeof(c.settings -> 'coalesce_ms') = 'number' AND c.settings ->> 'coalesce_ms' ~ '^[0-9]{1,5}$'
                                         THEN (c.settings ->> 'coalesce_ms')::int END, $4) AS ms) w
WHERE c.deleted_at IS NULL AND c.channel_code = ANY ($1::text[]) AND c.status <> 'disabled' AND (c.status <> 'paused' OR c.closing_for IS NOT NULL)
  AND c.id <> ALL ($2::uuid[])
  AND (s.retry_at IS NULL OR s.retry_at <= now())
  AND (EXISTS (SELECT 1 FROM channel.ota_closures o WHERE o.connection_id = c.id AND o.finished_at IS NULL AND o.deleted_at IS NULL
               AND (o.retry_at IS NULL OR o.retry_at <= now()))
       -- being closed, with every closure finished: to be disabled or deleted now
       OR (c.closing_for IS NOT NULL AND NOT EXISTS (SELECT 1 FROM channel.ota_closures o WHERE o.connection_id = c.id AND o.finished_at IS NULL AND o.deleted_at IS NULL))
       -- a cell to send (not one held for approval) that has waited its coalescing window (the
       -- connection's coalesce_ms, else the worker's), or a backlog, which never waits; unless
       -- another worker is pushing the connection
       OR (w.ms = 0 AND EXISTS (SELECT 1 FROM channel.ari_dirty_cells d WHERE d.connection_id = c.id AND d.deleted_at IS NULL AND d.claimed_at IS NULL
                   AND d.held_by IS NULL ORDER BY d.first_dirty_at DESC LIMIT 1)
           AND NOT channel.sync_lock_held(c.id))
       -- (with a window, the probe starts at its cutoff: past a full sync it may walk the claimed
       -- and deleted entries below it until vacuum, the price of asking for a window)
       OR (w.ms > 0 AND EXISTS (SELECT 1 FROM channel.ari_dirty_cells d WHERE d.connection_id = c.id AND d.deleted_at IS NULL AND d.claimed_at IS NULL
                   AND d.held_by IS NULL AND d.first_dirty_at <= now() - make_interval(secs => w.ms / 1000.0)
                   ORDER BY d.first_dirty_at DESC LIMIT 1)
           AND NOT channel.sync_lock_held(c.id))
       OR (EXISTS (SELECT 1 FROM channel.ari_dirty_cells d WHERE d.connection_id = c.id AND d.deleted_at IS NULL AND d.claimed_at IS NULL
                   AND d.held_by IS NULL OFFSET $3 - 1)
           AND NOT channel.sync_lock_held(c.id))
       OR (EXISTS (SELECT 1 FROM channel.ari_dirty_cells d WHERE d.connection_id = c.id AND d.deleted_at IS NULL AND d.claimed_at IS NOT NULL)
           AND NOT channel.sync_lock_held(c.id)))`,
    values: [channels, busy, backlogCells, coalesceMs],
  };
}

export interface ConnectionRow {
  id: string;
  propertyId: string;
  channel: string;
  hotelCode: string;
  endpointUrl: string;
  settings: Record<string, unknown>;
  status: string;
  /** Being disabled or deleted: its closures go out first (connectors/sql/closures.ts). */
  closingFor: 'disable' | 'delete' | null;
  credentials: unknown;
  consecutiveFailures: number;
}

export function connectionForSync(connectionId: string) {
  return {
    text: `
SELECT c.id, c.property_id AS "propertyId", c.channel_code AS channel, c.ota_hotel_code AS "hotelCode", c.endpoint_url AS "endpointUrl",
       c.settings, c.status, c.closing_for AS "closingFor", shared.decrypt_pii(c.credentials)::jsonb AS credentials,
       COALESCE(s.consecutive_failures, 0) AS "consecutiveFailures"
FROM channel.channel_connections c LEFT JOIN channel.connection_sync_state s ON s.connection_id = c.id
WHERE c.id = $1 AND c.deleted_at IS NULL`,
    values: [connectionId],
  };
}

/** A request's outcome into the breaker: a success closes it; a failure counts up and opens it
 * until `retryAt` (null: no wait). Returns the failure count. */
export function recordOutcome(connectionId: string, ok: boolean, retryAt: Date | null, error: string | null) {
  return {
    text: `
INSERT INTO channel.connection_sync_state AS s (connection_id, property_id, consecutive_failures, retry_at, last_attempt_at, last_success_at, last_error)
SELECT c.id, c.property_id, CASE WHEN $2 THEN 0 ELSE 1 END, $3, now(), CASE WHEN $2 THEN now() END, $4
FROM channel.channel_connections c WHERE c.id = $1
ON CONFLICT (connection_id) DO UPDATE SET
  consecutive_failures = CASE WHEN $2 THEN 0 ELSE s.consecutive_failures + 1 END,
  retry_at = $3, last_attempt_at = now(),
  last_success_at = CASE WHEN $2 THEN now() ELSE s.last_success_at END,
  last_error = COALESCE($4, s.last_error), updated_at = now(), version = s.version + 1
RETURNING consecutive_failures AS failures`,
    values: [connectionId, ok, retryAt, error],
  };
}

/** Moves a connection's status (active / degraded / down), only on a change and never out of a
 * pause or a disable the revenue team set: those are theirs to lift. */
export function transitionStatus(connectionId: string, status: 'active' | 'degraded' | 'down', reason: string | null) {
  return {
    text: `
UPDATE channel.channel_connections SET status = $2, status_reason = $3, status_changed_at = now()
WHERE id = $1 AND deleted_at IS NULL AND status IS DISTINCT FROM $2 AND status NOT IN ('paused', 'disabled')
RETURNING status`,
    values: [connectionId, status, reason],
  };
}

/** Pause: workers skip the connection, the CDC keeps marking its cells (bounded by distinct
 * cells). Resume: active again, breaker reset, so the backlog and the closures waiting out a
 * backoff go out at once. */
export function setPaused(connectionId: string, paused: boolean) {
  return {
    text: `
WITH c AS (
  UPDATE channel.channel_connections SET status = CASE WHEN $2 THEN 'paused' ELSE 'active' END,
         status_reason = CASE WHEN $2 THEN 'paused by a user' END, status_changed_at = now()
  WHERE id = $1 AND deleted_at IS NULL AND status <> 'disabled'
  RETURNING id, status),
reset AS (
  UPDATE channel.connection_sync_state s SET consecutive_failures = 0, retry_at = NULL, updated_at = now()
  FROM c WHERE s.connection_id = c.id AND NOT $2),
-- Resumed: the operator says the OTA is fine again, so OTA targets waiting to be closed go now too.
closures AS (
  UPDATE channel.ota_closures o SET retry_at = NULL
  FROM c WHERE o.connection_id = c.id AND NOT $2 AND o.finished_at IS NULL AND o.retry_at > now())
SELECT status FROM c`,
    values: [connectionId, paused],
  };
}

/**
 * After a full sync of a connection's whole window: every change the CDC set aside for it
 * (channel.cdc_incidents kind 'poison', whatever slot) is covered — the cells are marked from the
 * tables themselves — so those incidents resolve.
 */
export function resolvePoisonOf(connectionId: string) {
  return {
    text: `UPDATE channel.cdc_incidents SET resolved_at = now(), data = data || '{"resolvedBy": "full sync"}'::jsonb
           WHERE kind = 'poison' AND resolved_at IS NULL AND data -> 'range' ->> 'connectionId' = $1::text`,
    values: [connectionId],
  };
}

/** What a full sync of a connection covers: the property's today, its mapped (room type, rate
 * plan) pairs, and its sync window in days (what the CDC keeps current, settings.sync_days). */
export function fullSyncScope(connectionId: string) {
  return {
    text: `
SELECT (now() AT TIME ZONE p.timezone)::date::text AS today, COALESCE((c.settings ->> 'sync_days')::int, 500) AS "windowDays",
       (SELECT count(*) FROM channel.channel_mappings m WHERE m.connection_id = c.id AND m.active AND m.deleted_at IS NULL)::int AS mappings
FROM channel.channel_connections c JOIN property_mgmt.properties p ON p.id = c.property_id
WHERE c.id = $1 AND c.deleted_at IS NULL`,
    values: [connectionId],
  };
}

/**
 * Full sync of the nights [from, to): every mapped cell becomes dirty, and what the OTA
 * acknowledged for those nights is forgotten, so the workers push every value whole. Cells already
 * waiting stay as they are; cells in flight get a new dirty_seq (pushed again after the current
 * push). The first chunk also forgets the nights before `from`, the last those from `to` on, so a
 * whole full sync forgets everything the OTA acknowledged for the connection. Cells a guardrail
 * held are released with it: with nothing acknowledged to compare against, a full sync sends what
 * the PMS says (an operator's explicit "send everything").
 */
export function markFullSync(connectionId: string, chunk: { from: string; to: string; first: boolean; last: boolean }) {
  return {
    text: `
WITH c AS (
  SELECT c.id, c.property_id FROM channel.channel_connections c WHERE c.id = $1 AND c.deleted_at IS NULL),
cells AS (
  SELECT c.id AS connection_id, m.property_id, m.room_type_id, m.rate_plan_id, d::date AS stay_date
  FROM c JOIN channel.channel_mappings m ON m.connection_id = c.id AND m.active AND m.deleted_at IS NULL
  CROSS JOIN generate_series($2::date, $3::date - 1, interval '1 day') d),
forgot AS (DELETE FROM channel.ari_acknowledged a USING c WHERE a.connection_id = c.id
             AND ($4::boolean OR a.stay_date >= $2::date) AND ($5::boolean OR a.stay_date < $3::date)),
stamp AS (SELECT nextval('channel.ari_dirty_seq') AS seq, shared.current_actor() AS actor),
marked AS (
  INSERT INTO channel.ari_dirty_cells AS d (connection_id, property_id, room_type_id, rate_plan_id, stay_date, dirty_seq, created_by, updated_by)
  SELECT x.connection_id, x.property_id, x.room_type_id, x.rate_plan_id, x.stay_date, s.seq, s.actor, s.actor FROM cells x CROSS JOIN stamp s
  ORDER BY x.connection_id, x.room_type_id, x.rate_plan_id, x.stay_date -- the table's lock order (sync.ts lockClaim)
  ON CONFLICT (connection_id, room_type_id, rate_plan_id, stay_date) DO UPDATE
    SET dirty_seq = EXCLUDED.dirty_seq, last_dirty_at = now(), deleted_at = NULL, held_by = NULL,
        updated_at = now(), version = d.version + 1
    WHERE d.claimed_at IS NOT NULL OR d.deleted_at IS NOT NULL OR d.held_by IS NOT NULL
  RETURNING 1)
SELECT (SELECT count(*) FROM cells)::int AS cells, (SELECT count(*) FROM marked)::int AS marked`,
    values: [connectionId, chunk.from, chunk.to, chunk.first, chunk.last],
  };
}

/** Cells waiting or in flight for a connection (full-sync progress, tests). */
export function pendingCells(connectionId: string) {
  return {
    text: `SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE connection_id = $1 AND deleted_at IS NULL`,
    values: [connectionId],
  };
}

/**
 * The nights that entered each connection's sync window by the calendar alone (the CDC marks
 * changes only, so they would never be pushed): every night after the last one the roll marked
 * (connection_sync_state.window_end) up to the window's end — after a gap of any length (a process
 * stopped for days, a widened window) all of them; the first time, the window's last two nights.
 * Run at start and hourly; cells already waiting are left alone, and a night the OTA already has
 * costs no request (deltas). Returns the cells marked.
 */
export function markWindowHorizon() {
  return {
    text: `
WITH c AS (
  SELECT c.id, c.property_id, (now() AT TIME ZONE p.timezone)::date AS today, COALESCE((c.settings ->> 'sync_days')::int, 500) AS days, s.window_end
  FROM channel.channel_connections c JOIN property_mgmt.properties p ON p.id = c.property_id
  LEFT JOIN channel.connection_sync_state s ON s.connection_id = c.id
  WHERE c.deleted_at IS NULL AND c.channel_code IN (SELECT code FROM channel.channels WHERE outbound_ari)
    -- A sync_days the API would refuse (written by plain SQL) skips that connection, not the roll of every other.
    AND (c.settings ->> 'sync_days' IS NULL OR c.settings ->> 'sync_days' ~ '^[0-9]{1,4}$')),
span AS (
  SELECT id, property_id, GREATEST(COALESCE(window_end + 1, today + days - 2), today - 1) AS first_night, today + days - 1 AS last_night FROM c),
marked AS (
  INSERT INTO channel.ari_dirty_cells (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
  SELECT s.id, m.property_id, m.room_type_id, m.rate_plan_id, d::date
  FROM span s JOIN channel.channel_mappings m ON m.connection_id = s.id AND m.active AND m.deleted_at IS NULL
  CROSS JOIN generate_series(s.first_night, s.last_night, interval '1 day') d
  ORDER BY s.id, m.room_type_id, m.rate_plan_id, d -- the table's lock order (sync.ts lockClaim)
  ON CONFLICT (connection_id, room_type_id, rate_plan_id, stay_date) DO NOTHING
  RETURNING 1),
rolled AS (
  INSERT INTO channel.connection_sync_state (connection_id, property_id, window_end)
  SELECT id, property_id, last_night FROM span
  ON CONFLICT (connection_id) DO UPDATE SET window_end = EXCLUDED.window_end, updated_at = now()
  WHERE channel.connection_sync_state.window_end IS DISTINCT FROM EXCLUDED.window_end)
SELECT count(*)::int AS marked FROM marked`,
    values: [],
  };
}

/**
 * One poller at a time per Booking.com queue (a machine account at one reservations host: the
 * poller's group key), across processes (`connectors` runs replicated): two pollers could each
 * take a version of one reservation and commit them in the wrong order, and Booking.com's messages
 * carry no modification time to order them by. A session lock, held from the GET to the
 * acknowledgement; `pollUnlock` releases it.
 */
export function pollLock(groupKey: string) {
  return { text: `SELECT pg_try_advisory_lock(hashtextextended('booking-poll:' || $1, 0)) AS locked`, values: [groupKey] };
}
export function pollUnlock(groupKey: string) {
  return { text: `SELECT pg_advisory_unlock(hashtextextended('booking-poll:' || $1, 0))`, values: [groupKey] };
}

/**
 * Claims the next reservation poll of a queue's connections for this process: their rows when the
 * queue was due, and then none of them is due again for `intervalMs`; none when another replica
 * polled any of them within its interval (or in Booking.com's pause after an acknowledgement).
 * A connection that joined the queue since counts as due: it has no time of its own yet.
 */
export function claimReservationPoll(connectionIds: string[], propertyIds: string[], intervalMs: number) {
  return {
    text: `
INSERT INTO channel.connection_sync_state AS s (connection_id, property_id, reservations_poll_at)
SELECT t.id, t.property_id, now() + make_interval(secs => $3::double precision / 1000)
FROM unnest($1::uuid[], $2::uuid[]) AS t(id, property_id)
WHERE NOT EXISTS (SELECT 1 FROM channel.connection_sync_state b WHERE b.connection_id = ANY ($1::uuid[]) AND b.reservations_poll_at > now())
ON CONFLICT (connection_id) DO UPDATE SET reservations_poll_at = EXCLUDED.reservations_poll_at
RETURNING s.connection_id`,
    values: [connectionIds, propertyIds, intervalMs],
  };
}

/** No poll of these connections before `ms` from now (Booking.com's pause after an acknowledgement), whichever replica. */
export function delayReservationPoll(connectionIds: string[], ms: number) {
  return {
    text: `UPDATE channel.connection_sync_state SET reservations_poll_at = greatest(reservations_poll_at, now() + make_interval(secs => $2::double precision / 1000))
           WHERE connection_id = ANY ($1::uuid[])`,
    values: [connectionIds, ms],
  };
}
