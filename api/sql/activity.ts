/** The dashboard's time series and lists, run as the tenant (RLS keeps them to the request's property). */

/**
 * Pending vs acknowledged over the `hours` before `end`, in exactly 60 buckets of `hours` minutes
 * (the last one holds `end`): per bucket the last pending sample of each connection (summed), the
 * cells of OTA requests that were accepted, and the failed requests. `connectionId` narrows it to
 * one connection.
 */
export function syncHistory(hours: number, connectionId: string | null, end: Date) {
  return {
    text: `
WITH b AS (
  SELECT at FROM generate_series(date_bin(make_interval(secs => $1 * 60), $3::timestamptz, timestamptz '2000-01-01') - make_interval(secs => $1 * 60 * 59),
                                 date_bin(make_interval(secs => $1 * 60), $3::timestamptz, timestamptz '2000-01-01'), make_interval(secs => $1 * 60)) at)
SELECT b.at,
  (SELECT sum(pending_cells)::int FROM (
     SELECT DISTINCT ON (s.connection_id) s.pending_cells FROM channel.pending_samples s
     WHERE s.created_at >= b.at AND s.created_at < b.at + make_interval(secs => $1 * 60) AND ($2::uuid IS NULL OR s.connection_id = $2)
     ORDER BY s.connection_id, s.created_at DESC) last) AS pending,
  COALESCE(l.acknowledged, 0)::int AS acknowledged, COALESCE(l.failed, 0)::int AS failed
FROM b LEFT JOIN LATERAL (
  SELECT sum(cells) FILTER (WHERE status <> 'failed') AS acknowledged, count(*) FILTER (WHERE status = 'failed') AS failed
  FROM channel.sync_log g
  WHERE g.created_at >= b.at AND g.created_at < b.at + make_interval(secs => $1 * 60) AND g.message_kind <> 'token' AND ($2::uuid IS NULL OR g.connection_id = $2)) l ON true
ORDER BY b.at`,
    values: [hours, connectionId, end],
  };
}

export function pendingNow(connectionId: string | null) {
  return {
    text: `SELECT COALESCE(sum(pending_cells), 0)::int AS n FROM channel.pending_updates WHERE $1::uuid IS NULL OR connection_id = $1`,
    values: [connectionId],
  };
}

/** The latest inbound booking messages (never their bodies). */
export function recentBookings(limit: number) {
  return {
    text: `SELECT m.created_at AS "receivedAt", m.property_id AS "propertyId", m.connection_id AS "connectionId", m.channel_code AS channel, c.ota_hotel_code AS "hotelCode",
                  m.external_reservation_id AS "reservationId", m.message_type AS "messageType", m.outcome, m.error_message AS error
           FROM channel.inbound_messages m LEFT JOIN channel.channel_connections c ON c.id = m.connection_id
           WHERE m.created_at > now() - interval '7 days'
           ORDER BY m.created_at DESC LIMIT $1`,
    values: [limit],
  };
}

/** The error log: errors open now or resolved in the last `hours`, newest first (resolved ones say when). */
export function errorLog(hours: number, connectionId: string | null, limit: number) {
  return {
    text: `SELECT e.connection_id AS "connectionId", e.property_id AS "propertyId", c.channel_code AS channel, c.ota_hotel_code AS "hotelCode", e.severity, e.kind, e.error_code AS "errorCode",
                  e.ota_code AS "otaCode", e.message, e.occurrences, e.stay_from AS "stayFrom", e.stay_to AS "stayTo",
                  e.first_seen_at AS "firstSeenAt", e.last_seen_at AS "lastSeenAt", e.resolved_at AS "resolvedAt"
           FROM channel.sync_errors e JOIN channel.channel_connections c ON c.id = e.connection_id
           WHERE e.deleted_at IS NULL AND (e.resolved_at IS NULL OR e.resolved_at > now() - make_interval(hours => $1))
             AND ($2::uuid IS NULL OR e.connection_id = $2)
           ORDER BY e.last_seen_at DESC LIMIT $3`,
    values: [hours, connectionId, limit],
  };
}
