/**
 * Closing OTA targets StayOS no longer feeds (channel.ota_closures, queued by triggers on
 * channel_mappings and channel_connections, and by a connection being disabled or deleted):
 * what the sync worker reads, and how it records the OTA's answer.
 */

export interface Closure {
  id: string;
  reason: 'remapped' | 'unmapped' | 'hotel_changed' | 'connection_closing';
  endpointUrl: string;
  hotelCode: string;
  roomCode: string;
  rateCode: string;
  firstNight: string;
  lastNight: string;
  today: string;
  /** The room/rate pair is fed again by an active mapping of this connection at that hotel: nothing to close. */
  pairMapped: boolean;
  /** The room is still fed (another rate of it): close the rate only, its availability is the room's. */
  roomMapped: boolean;
}

/**
 * The connection's oldest pending closure, with what is mapped now at its hotel (nothing counts as
 * mapped while the connection itself is closing, nor at a hotel or endpoint it no longer uses).
 */
export function nextClosure(connectionId: string) {
  return {
    text: `
SELECT o.id, o.reason, o.endpoint_url AS "endpointUrl", o.ota_hotel_code AS "hotelCode", o.ota_room_code AS "roomCode", o.ota_rate_code AS "rateCode",
       o.first_night::text AS "firstNight", o.last_night::text AS "lastNight", (now() AT TIME ZONE p.timezone)::date::text AS today,
       COALESCE(f.pair, false) AS "pairMapped", COALESCE(f.room, false) AS "roomMapped"
FROM channel.ota_closures o
JOIN channel.channel_connections c ON c.id = o.connection_id
JOIN property_mgmt.properties p ON p.id = c.property_id
LEFT JOIN LATERAL (
  SELECT bool_or(m.ota_rate_code = o.ota_rate_code) AS pair, true AS room FROM channel.channel_mappings m
  WHERE m.connection_id = c.id AND m.active AND m.deleted_at IS NULL AND m.ota_room_code = o.ota_room_code
    AND c.closing_for IS NULL AND c.ota_hotel_code = o.ota_hotel_code AND rtrim(c.endpoint_url, '/') = rtrim(o.endpoint_url, '/')
  HAVING count(*) > 0) f ON true
WHERE o.connection_id = $1 AND o.finished_at IS NULL AND o.deleted_at IS NULL AND (o.retry_at IS NULL OR o.retry_at <= now())
ORDER BY o.created_at, o.id LIMIT 1`,
    values: [connectionId],
  };
}

/**
 * A closure ended: `done` (the OTA confirmed it), `moot` (mapped again), `given_up` (the OTA refused
 * it for good). Once closed at the OTA, what it had acknowledged for the target is forgotten — the
 * pair's, and with the availability the whole room's — so a later mapping back to it pushes it whole.
 */
export function finishClosure(closureId: string, outcome: 'done' | 'moot' | 'given_up', error: string | null, forget: 'none' | 'rate' | 'room') {
  return {
    text: `
WITH o AS (
  UPDATE channel.ota_closures SET outcome = $2, finished_at = now(), last_error = COALESCE($3, last_error), attempts = attempts + CASE WHEN $2 = 'moot' THEN 0 ELSE 1 END
  WHERE id = $1 AND finished_at IS NULL
  RETURNING connection_id, endpoint_url, ota_hotel_code, ota_room_code, ota_rate_code)
DELETE FROM channel.ari_acknowledged a USING o
WHERE a.connection_id = o.connection_id AND (
  ($4 = 'rate' AND a.ota_target = channel.ota_target(o.endpoint_url, o.ota_hotel_code, o.ota_room_code, o.ota_rate_code))
  OR ($4 = 'room' AND starts_with(a.ota_target, channel.ota_target(o.endpoint_url, o.ota_hotel_code, o.ota_room_code, ''))))`,
    values: [closureId, outcome, error, forget],
  };
}

/** Attempts after which a closure the OTA never takes is given up (its error says why). */
export const CLOSURE_MAX_ATTEMPTS = 8;

/**
 * A closure the OTA could not take now (an outage): tried again after a backoff (30 s doubling,
 * at most an hour), given up after CLOSURE_MAX_ATTEMPTS. Returns whether it was given up.
 */
export function closureFailed(closureId: string, error: string) {
  return {
    text: `UPDATE channel.ota_closures SET attempts = attempts + 1, last_error = left($2, 2000),
             retry_at = now() + make_interval(secs => LEAST(3600, 30 * 2 ^ attempts)),
             outcome = CASE WHEN attempts + 1 >= $3 THEN 'given_up' END, finished_at = CASE WHEN attempts + 1 >= $3 THEN now() END
           WHERE id = $1 AND finished_at IS NULL RETURNING outcome = 'given_up' AS "gaveUp"`,
    values: [closureId, error, CLOSURE_MAX_ATTEMPTS],
  };
}

/**
 * The OTA answers the connection again (its breaker closed after failures, or it was resumed):
 * closures at its current hotel and endpoint that waited out a backoff from the outage go now, not
 * after their own backoff (up to an hour) — the target no longer fed must stop selling as soon as
 * the OTA can take it. Closures at a hotel or endpoint the connection left keep their backoff: the
 * connection's health says nothing of theirs.
 */
export function retryClosuresNow(connectionId: string) {
  return {
    text: `UPDATE channel.ota_closures o SET retry_at = NULL
           FROM channel.channel_connections c
           WHERE o.connection_id = $1 AND c.id = o.connection_id AND o.finished_at IS NULL AND o.deleted_at IS NULL AND o.retry_at > now()
             AND o.ota_hotel_code = c.ota_hotel_code AND rtrim(o.endpoint_url, '/') = rtrim(c.endpoint_url, '/')`,
    values: [connectionId],
  };
}

/**
 * A connection being disabled or deleted whose closures are all finished: it is disabled (or
 * deleted) now, and the open 'closing' error resolves. If the OTA did not confirm every closure of
 * this closing (given up: an outage that outlasted the attempts, a refusal), that is never
 * reported as closed: the connection is disabled — not deleted, even if a delete was asked, so it
 * stays in sight — with a reason saying the OTA may still sell, and the 'closing_failed' alert
 * stays open. Returns what was done.
 */
export function completeClosing(connectionId: string) {
  return {
    text: `
WITH failed AS (
  SELECT count(*)::int AS n FROM channel.ota_closures o JOIN channel.channel_connections x ON x.id = o.connection_id
  WHERE o.connection_id = $1 AND o.reason = 'connection_closing' AND o.outcome = 'given_up' AND o.created_at >= x.closing_since AND o.deleted_at IS NULL),
c AS (
  UPDATE channel.channel_connections SET
    status = CASE WHEN closing_for = 'disable' OR f.n > 0 THEN 'disabled' ELSE status END,
    status_reason = CASE
      WHEN f.n > 0 THEN 'disabled by a user' || CASE WHEN closing_for = 'delete' THEN ' (not deleted)' ELSE '' END
                        || '; its inventory could not be closed at the OTA for ' || f.n || ' target(s): the OTA may still sell them (see the errors)'
      WHEN closing_for = 'disable' THEN 'disabled by a user; its inventory was closed at the OTA first' ELSE status_reason END,
    status_changed_at = CASE WHEN closing_for = 'disable' OR f.n > 0 THEN now() ELSE status_changed_at END,
    deleted_at = CASE WHEN closing_for = 'delete' AND f.n = 0 THEN now() END,
    closing_for = NULL, closing_since = NULL
  FROM failed f
  WHERE id = $1 AND closing_for IS NOT NULL AND deleted_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM channel.ota_closures o WHERE o.connection_id = $1 AND o.finished_at IS NULL AND o.deleted_at IS NULL)
  RETURNING id, deleted_at IS NOT NULL AS deleted, f.n AS "notClosed"),
resolved AS (
  UPDATE channel.sync_errors e SET resolved_at = now() FROM c
  WHERE e.connection_id = c.id AND e.kind = 'closing' AND e.resolved_at IS NULL)
SELECT deleted, "notClosed" FROM c`,
    values: [connectionId],
  };
}

/**
 * Starts closing a connection before it is disabled or deleted: a closure for every OTA target it
 * feeds, an open 'closing' error saying so (the dashboard shows it), the action recorded as the
 * caller. With `closeAtOta` false the operator chose to leave the OTA as it is (or the connection
 * feeds nothing): the connection is disabled or deleted at once. `found` 0: no such live
 * connection, or it is being closed already.
 */
export function startClosing(connectionId: string, then: 'disable' | 'delete', closeAtOta: boolean) {
  return {
    text: `
WITH c AS (
  SELECT id, property_id, endpoint_url, ota_hotel_code, channel_code FROM channel.channel_connections
  WHERE id = $1 AND deleted_at IS NULL AND closing_for IS NULL AND NOT ($2 = 'disable' AND status = 'disabled')),
queued AS (
  SELECT channel.queue_closures(c.id, 'connection_closing', c.endpoint_url, c.ota_hotel_code, NULL, NULL) AS n FROM c WHERE $3::boolean),
marked AS (
  UPDATE channel.channel_connections x SET closing_for = $2, closing_since = now()
  FROM c, queued WHERE x.id = c.id AND queued.n > 0
  RETURNING x.id),
now_done AS (
  UPDATE channel.channel_connections x SET
    status = CASE WHEN $2 = 'disable' THEN 'disabled' ELSE x.status END,
    status_reason = CASE WHEN $2 = 'disable' THEN 'disabled by a user' || CASE WHEN $3::boolean THEN '' ELSE '; the OTA was left as it was' END ELSE x.status_reason END,
    status_changed_at = CASE WHEN $2 = 'disable' THEN now() ELSE x.status_changed_at END,
    deleted_at = CASE WHEN $2 = 'delete' THEN now() END
  FROM c WHERE x.id = c.id AND NOT EXISTS (SELECT 1 FROM marked)
  RETURNING x.id),
opened AS (
  INSERT INTO channel.sync_errors (connection_id, property_id, severity, kind, error_code, message)
  SELECT c.id, c.property_id, 'warning', 'closing', 'ERR_CLOSING',
         'Closing the inventory at the OTA before the connection is ' || CASE WHEN $2 = 'disable' THEN 'disabled' ELSE 'deleted' END
  FROM c WHERE EXISTS (SELECT 1 FROM marked)),
acted AS (
  INSERT INTO channel.connection_actions (connection_id, property_id, action, detail)
  SELECT c.id, c.property_id, $2, jsonb_build_object('closeAtOta', $3::boolean, 'closures', COALESCE((SELECT n FROM queued), 0)) FROM c)
SELECT (SELECT count(*) FROM c)::int AS found, COALESCE((SELECT n FROM queued), 0) AS closures, EXISTS (SELECT 1 FROM now_done) AS finished`,
    values: [connectionId, then, closeAtOta],
  };
}
