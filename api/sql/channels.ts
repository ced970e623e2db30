/**
 * The channel list for many hotels (issue 19), run in one portfolio read (api/tenant.ts
 * asPortfolio): row-level security keeps it to the key's properties (or the one asked for). The connections needing
 * attention come first, then by property and channel; a page at a time, filtered by health.
 */

/**
 * What "needs attention" means, on a row of channel.channel_status: down, degraded or closing, or
 * active with something the revenue team must look at. A paused or disabled connection is not fed
 * on purpose: its waiting changes and errors are not news.
 */
const ATTENTION = `(s.status IN ('down', 'degraded') OR s.closing_for IS NOT NULL OR (s.status = 'active' AND (s.open_errors > 0
  OR s.open_mapping_problems > 0 OR s.open_overbookings > 0 OR s.held_cells > 0 OR s.oldest_dirty_at < now() - interval '5 minutes')))`;

/** The health the API reports (channels.ts view()): closing wins over the stored status. */
const HEALTH = `CASE WHEN s.closing_for IS NOT NULL THEN 'closing' ELSE s.status END`;

/** Attention first, worst first: down, closing, degraded, other problems, paused, active, disabled. */
const RANK = `CASE WHEN s.status = 'down' THEN 0 WHEN s.closing_for IS NOT NULL THEN 1 WHEN s.status = 'degraded' THEN 2
  WHEN ${ATTENTION} THEN 3 WHEN s.status = 'paused' THEN 4 WHEN s.status = 'active' THEN 5 ELSE 6 END`;

export type HealthFilter = 'active' | 'degraded' | 'down' | 'paused' | 'closing' | 'disabled' | 'attention';

export interface ChannelFilter {
  status: HealthFilter | null;
  channel: string | null;
  limit: number;
  offset: number;
}

/**
 * One page of channel_status rows (`rows`, a JSON array: `[]` past the end), with the number of
 * rows the filter matches (`total`, given even when the page is empty). The order and the filter
 * read only what the rank needs (status, problems, waiting cells) for every connection; the other
 * columns of the view (requests and failures of the last hour, bookings of the day, closures) are
 * computed for the page's rows only: at 2,000 connections, counting the sync log for all of them
 * was most of a list request (issue 19).
 */
export function channelPage(f: ChannelFilter) {
  return {
    text: `
WITH f AS (
  SELECT s.id, ${RANK} AS rank, p.code AS property_code, s.channel_code, s.ota_hotel_code FROM channel.channel_status s
  JOIN property_mgmt.properties p ON p.id = s.property_id
  WHERE ($1::text IS NULL OR ($1 = 'attention' AND ${ATTENTION}) OR ${HEALTH} = $1)
    AND ($2::text IS NULL OR s.channel_code = $2)),
page AS (SELECT * FROM f ORDER BY rank, property_code, channel_code, ota_hotel_code, id LIMIT $3 OFFSET $4)
SELECT (SELECT count(*) FROM f)::int AS total,
       COALESCE((SELECT json_agg(to_jsonb(s) ORDER BY g.rank, g.property_code, g.channel_code, g.ota_hotel_code, g.id)
                 FROM page g JOIN channel.channel_status s ON s.id = g.id), '[]') AS rows`,
    values: [f.status, f.channel, f.limit, f.offset],
  };
}

/** The dashboard's first line: how many connections in each health, how many need attention, and the totals behind them. */
export function channelSummary() {
  return {
    text: `
WITH s AS (SELECT * FROM channel.channel_status),
     h AS (SELECT ${HEALTH} AS health, count(*)::int AS n FROM s GROUP BY 1)
SELECT count(*)::int AS connections,
       (count(*) FILTER (WHERE ${ATTENTION}))::int AS attention,
       (SELECT COALESCE(jsonb_object_agg(health, n), '{}') FROM h) AS "byHealth",
       COALESCE(sum(s.pending_cells), 0)::int AS "pendingCells",
       EXTRACT(EPOCH FROM now() - min(s.oldest_dirty_at))::int AS "oldestPendingSeconds",
       COALESCE(sum(s.open_errors), 0)::int AS "openErrors",
       COALESCE(sum(s.open_mapping_problems), 0)::int AS unmapped,
       COALESCE(sum(s.open_overbookings), 0)::int AS "openOverbookings",
       COALESCE(sum(s.held_cells), 0)::int AS "heldCells",
       COALESCE(sum(s.requests_1h), 0)::int AS "requests1h",
       COALESCE(sum(s.failed_1h), 0)::int AS "failed1h",
       COALESCE(sum(s.bookings_24h), 0)::int AS "bookings24h"
FROM s`,
  };
}
