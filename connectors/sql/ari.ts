/**
 * What the OTA must show for a batch of cells, computed in one statement (the sync workers call it
 * for the cells they claimed; the parity view will call it for a date range):
 *  - availability = sellable rooms of the type (not deleted, not out_of_service: the contract the
 *    CDC consumer marks cells by) − rooms of confirmed/checked-in stays that night − blocked rooms,
 *    never below 0 (below is an overbooking: `overbooked`, and 0 is pushed), capped by the
 *    connection's `settings.max_availability` when set;
 *  - rate = the night's `daily_rates.amount` with the markup of the mapping (`settings.markup_pct`)
 *    or else of the connection, rounded to cents; no rate → the cell is closed;
 *  - restrictions = min/max LOS, closed to arrival/departure; stop-sell → closed.
 * Inventory is counted once per (room type, night), however many rate plans and connections share
 * it; each count is an index lookup (the GiST index over stays, the sellable-rooms index).
 */
export interface CellKey {
  connectionId: string;
  roomTypeId: string;
  ratePlanId: string;
  stayDate: string;
}

export interface AriValues extends CellKey {
  availability: number;
  overbooked: boolean;
  rate: string | null; // exact decimal as text
  currency: string | null;
  minLos: number | null;
  maxLos: number | null;
  closedToArrival: boolean;
  closedToDeparture: boolean;
  closed: boolean;
}

export function currentAri(cells: CellKey[]) {
  return {
    text: `
WITH cells AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS c("connectionId" uuid, "roomTypeId" uuid, "ratePlanId" uuid, "stayDate" date)
),
cm AS (
  SELECT c.*, m.property_id, conn.settings AS conn_settings, m.settings AS map_settings
  FROM cells c
  JOIN channel.channel_connections conn ON conn.id = c."connectionId"
  JOIN channel.channel_mappings m ON m.connection_id = c."connectionId" AND m.room_type_id = c."roomTypeId"
                                  AND m.rate_plan_id = c."ratePlanId" AND m.deleted_at IS NULL
),
inv AS (
  SELECT k.property_id, k.room_type_id, k.d,
    (SELECT count(*) FROM property_mgmt.rooms r
      WHERE r.property_id = k.property_id AND r.room_type_id = k.room_type_id AND r.deleted_at IS NULL AND r.status <> 'out_of_service') AS rooms,
    (SELECT count(*) FROM reservation.reservation_rooms rr
      WHERE rr.property_id = k.property_id AND rr.room_type_id = k.room_type_id AND rr.deleted_at IS NULL
        AND daterange(rr.arrival_date, rr.departure_date) @> k.d AND rr.status IN ('confirmed', 'checked_in')) AS consumed,
    (SELECT COALESCE(sum(b.rooms), 0) FROM property_mgmt.inventory_blocks b
      WHERE b.property_id = k.property_id AND b.room_type_id = k.room_type_id AND b.deleted_at IS NULL
        AND b.start_date <= k.d AND b.end_date > k.d) AS blocked
  FROM (SELECT DISTINCT property_id, "roomTypeId" AS room_type_id, "stayDate" AS d FROM cm) k
)
SELECT cm."connectionId", cm."roomTypeId", cm."ratePlanId", cm."stayDate"::text AS "stayDate",
       LEAST(GREATEST(v.free, 0), COALESCE((cm.conn_settings ->> 'max_availability')::int, 2147483647))::int AS availability,
       v.free < 0 AS overbooked,
       round(dr.amount * (1 + COALESCE((cm.map_settings ->> 'markup_pct')::numeric, (cm.conn_settings ->> 'markup_pct')::numeric, 0) / 100), 2)::text AS rate,
       dr.currency::text AS currency,
       rs.min_los AS "minLos", rs.max_los AS "maxLos",
       COALESCE(rs.closed_to_arrival, false) AS "closedToArrival", COALESCE(rs.closed_to_departure, false) AS "closedToDeparture",
       (COALESCE(rs.stop_sell, false) OR dr.amount IS NULL) AS closed
FROM cm
JOIN inv ON inv.property_id = cm.property_id AND inv.room_type_id = cm."roomTypeId" AND inv.d = cm."stayDate"
CROSS JOIN LATERAL (SELECT (inv.rooms - inv.consumed - inv.blocked)::int AS free) v
LEFT JOIN property_mgmt.daily_rates dr ON dr.room_type_id = cm."roomTypeId" AND dr.rate_plan_id = cm."ratePlanId"
                                      AND dr.stay_date = cm."stayDate" AND dr.deleted_at IS NULL
LEFT JOIN property_mgmt.restrictions rs ON rs.room_type_id = cm."roomTypeId" AND rs.rate_plan_id = cm."ratePlanId"
                                       AND rs.stay_date = cm."stayDate" AND rs.deleted_at IS NULL`,
    values: [JSON.stringify(cells)],
  };
}
