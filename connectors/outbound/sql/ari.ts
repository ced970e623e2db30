/**
 * What the OTA must show for a batch of cells, computed in one statement (the sync workers call it
 * for the cells they claimed; the parity view calls it for a date range):
 *  - availability = sellable rooms of the type (property_mgmt.room_is_sellable: not deleted, not
 *    out_of_service, the contract the CDC consumer marks cells by) − rooms consuming that night
 *    (reservation.consumes_inventory: reservation and room both confirmed or checked in, neither
 *    deleted) − blocked rooms; below 0 is an overbooking (`overbooked`). The channel's rules then
 *    apply: + `availability_offset` (negative holds rooms back from the channel), never below 0,
 *    capped by `max_availability` — per room, as the OTAs keep availability: the lowest any active
 *    mapping of the room type asks for (its own values, else the connection's);
 *  - rate = the night's `daily_rates.amount`, or for a derived plan without a row of its own the
 *    parent's rate with the plan's percentage, amount and rounding, then the
 *    channel's markup (`markup_pct` of the mapping, else of the connection), rounded to cents;
 *    no rate → the cell is closed;
 *  - restrictions = min/max LOS, closed to arrival/departure (a derived plan without a row of
 *    its own takes its parent's); stop-sell, or the channel's `close_out` switch (mapping or
 *    connection), → closed.
 * `pmsAvailability` and `pmsRate` are the PMS's values before the channel's rules, for the
 * dashboard to show beside the effective ones.
 * Inventory is looked up per cell by index probes (sellable-rooms index, GiST over stays and
 * blocks), the rates and restrictions (and a derived plan's parent's) by their cell keys: 5,000 cells in
 * 110–150 ms here (the same as before derived plans and channel rules).
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
  /** The plan's pricing model: per night, or per number of guests (docs/revenue-model.md). */
  pricingModel: 'per_day' | 'per_occupancy';
  /** The model the OTA's rate is set up for: the mapping's `pricing_model`, else the connection's, else per day. */
  otaPricingModel: 'per_day' | 'per_occupancy';
  /** A per-occupancy plan's prices by number of guests (after derivation and markup), or null. */
  occupancyRates: Record<string, string> | null;
  minStayThrough: number | null;
  maxStayThrough: number | null;
  minAdvanceDays: number | null;
  maxAdvanceDays: number | null;
  /** The room type is closed this night (property_mgmt.room_type_closures), whatever the plan. */
  roomClosed: boolean;
  /** Before the channel's rules (offset, cap, markup, close-out): what the PMS itself says. */
  pmsAvailability: number;
  pmsRate: string | null;
}

/** The values of `cells` given as keys (the parity view, tests). */
export function currentAri(cells: CellKey[]) {
  return {
    text: ariQuery(`SELECT * FROM jsonb_to_recordset($1::jsonb) AS c("connectionId" uuid, "roomTypeId" uuid, "ratePlanId" uuid, "stayDate" date)`, ''),
    values: [JSON.stringify(cells)],
  };
}

/** A claimed cell with what to push: current values, the OTA codes, what the OTA last acknowledged. */
export interface ClaimedCell extends AriValues {
  cellId: string;
  dirtySeq: string;
  otaRoomCode: string;
  otaRateCode: string;
  /** The property's today: OTAs refuse nights before yesterday. */
  today: string;
  acked: {
    availability: number | null;
    rate: string | null;
    currency: string | null;
    minLos: number | null;
    maxLos: number | null;
    closedToArrival: boolean | null;
    closedToDeparture: boolean | null;
    closed: boolean | null;
    occupancyRates: Record<string, string> | null;
    minStayThrough: number | null;
    maxStayThrough: number | null;
    minAdvanceDays: number | null;
    maxAdvanceDays: number | null;
    roomClosed: boolean | null;
    avail: boolean;
    rateAcked: boolean;
    restr: boolean;
    /** Per part, the values the OTA refused for good (channel.ari_acknowledged.refused), or null. */
    refused: Partial<Record<'avail' | 'rate' | 'restr', Record<string, unknown>>> | null;
  };
}

/**
 * What the OTA acknowledged for the cell at its current target (endpoint, OTA hotel, room and rate:
 * channel.ota_target): an acknowledgement made at another target — before a mapping was re-pointed
 * or the hotel moved — is not this target's, so the cell counts as never acknowledged there.
 */
const ACKED_JOIN = `LEFT JOIN channel.ari_acknowledged a ON a.connection_id = cm."connectionId" AND a.room_type_id = cm."roomTypeId"
  AND a.rate_plan_id = cm."ratePlanId" AND a.stay_date = cm."stayDate"
  AND a.ota_target = channel.ota_target(cm.endpoint_url, cm.ota_hotel_code, cm.ota_room_code, cm.ota_rate_code)`;

/** What the OTA acknowledged for a cell (a LEFT JOINed channel.ari_acknowledged `a`), as one JSON value. */
const ACKED = `json_build_object('availability', a.availability, 'rate', a.rate::text, 'currency', a.currency::text, 'minLos', a.min_los,
         'maxLos', a.max_los, 'closedToArrival', a.closed_to_arrival, 'closedToDeparture', a.closed_to_departure, 'closed', a.closed,
         'occupancyRates', a.occupancy_rates, 'minStayThrough', a.min_stay_through, 'maxStayThrough', a.max_stay_through,
         'minAdvanceDays', a.min_advance_days, 'maxAdvanceDays', a.max_advance_days, 'roomClosed', a.room_closed,
         'avail', a.avail_acked_at IS NOT NULL, 'rateAcked', a.rate_acked_at IS NOT NULL, 'restr', a.restr_acked_at IS NOT NULL, 'refused', a.refused)`;

/**
 * The cells a sync worker's claim holds, with their values. A claimed cell whose mapping is gone
 * or inactive is absent from the answer: the worker clears it (nothing to send).
 */
export function claimedAri(claimId: string, cellIds: string[]) {
  return {
    text: ariQuery(
      `SELECT d.id AS "cellId", d.dirty_seq::text AS "dirtySeq", d.connection_id AS "connectionId", d.room_type_id AS "roomTypeId",
              d.rate_plan_id AS "ratePlanId", d.stay_date AS "stayDate"
       FROM channel.ari_dirty_cells d WHERE d.id = ANY ($2::uuid[]) AND d.claim_id = $1`,
      `, cm."cellId", cm."dirtySeq", cm.ota_room_code AS "otaRoomCode", cm.ota_rate_code AS "otaRateCode",
       (now() AT TIME ZONE pr.timezone)::date::text AS today,
       ${ACKED} AS acked`,
      `JOIN property_mgmt.properties pr ON pr.id = cm.property_id
       ${ACKED_JOIN}`,
    ),
    values: [claimId, cellIds],
  };
}

/** The shared computation over a `cells` CTE with at least "connectionId", "roomTypeId", "ratePlanId", "stayDate". */
function ariQuery(cellsSql: string, extraColumns: string, extraJoins = ''): string {
  return `
WITH cells AS (${cellsSql}),
cm AS MATERIALIZED (
  SELECT c.*, m.property_id, m.ota_room_code, m.ota_rate_code, conn.settings AS conn_settings, m.settings AS map_settings,
         conn.endpoint_url, conn.ota_hotel_code
  FROM cells c
  JOIN channel.channel_connections conn ON conn.id = c."connectionId"
  JOIN channel.channel_mappings m ON m.connection_id = c."connectionId" AND m.room_type_id = c."roomTypeId"
                                  AND m.rate_plan_id = c."ratePlanId" AND m.deleted_at IS NULL AND m.active
),
-- The channel's availability rules per room: every OTA we serve keeps availability per room, not
-- per rate, so the rooms shown are the lowest any active mapping of the room type asks for (its
-- offset, else the connection's; the lower cap). Per-mapping values would make the rates of one
-- room fight over its one number at the OTA.
room_rule AS MATERIALIZED (
  SELECT k.cid, k.rt,
         min(COALESCE((m2.settings ->> 'availability_offset')::int, (k.conn_settings ->> 'availability_offset')::int, 0)) AS offset_rooms,
         min(LEAST(COALESCE((m2.settings ->> 'max_availability')::int, 2147483647), COALESCE((k.conn_settings ->> 'max_availability')::int, 2147483647))) AS cap
  FROM (SELECT DISTINCT "connectionId" AS cid, "roomTypeId" AS rt, conn_settings FROM cm) k
  JOIN channel.channel_mappings m2 ON m2.connection_id = k.cid AND m2.room_type_id = k.rt AND m2.active AND m2.deleted_at IS NULL
  GROUP BY k.cid, k.rt
)
SELECT cm."connectionId", cm."roomTypeId", cm."ratePlanId", cm."stayDate"::text AS "stayDate",
       LEAST(GREATEST(v.free + rr.offset_rooms, 0), rr.cap)::int AS availability,
       v.free < 0 AS overbooked,
       round(price.amount * (1 + rule.markup / 100), 2)::text AS rate,
       price.currency::text AS currency,
       rs.min_los AS "minLos", rs.max_los AS "maxLos",
       COALESCE(rs.closed_to_arrival, false) AS "closedToArrival", COALESCE(rs.closed_to_departure, false) AS "closedToDeparture",
       (COALESCE(rs.stop_sell, false) OR price.amount IS NULL OR rule.close_out OR (rp.pricing_model = 'per_occupancy' AND occ.rates IS NULL)) AS closed,
       rp.pricing_model AS "pricingModel", rule.pricing_model AS "otaPricingModel", occ.rates AS "occupancyRates",
       rs.min_stay_through AS "minStayThrough", rs.max_stay_through AS "maxStayThrough",
       rs.min_advance_days AS "minAdvanceDays", rs.max_advance_days AS "maxAdvanceDays",
       rc.id IS NOT NULL AS "roomClosed",
       GREATEST(v.free, 0) AS "pmsAvailability", price.amount::text AS "pmsRate"
       ${extraColumns}
FROM cm
-- Inventory per cell as correlated index lookups: the planner sees the cell list as one row
-- whatever its size, and a join to a per-(room type, night) aggregate became a nested loop over
-- both (25 M comparisons for 5,000 cells). Each lookup is an index probe (sellable-rooms index,
-- GiST over stays, GiST over blocks).
CROSS JOIN LATERAL (SELECT (
    (SELECT count(*) FROM property_mgmt.rooms r
      WHERE r.property_id = cm.property_id AND r.room_type_id = cm."roomTypeId" AND property_mgmt.room_is_sellable(r.status, r.deleted_at))
  - (SELECT count(*) FROM reservation.reservation_rooms rr JOIN reservation.reservations res ON res.id = rr.reservation_id
      WHERE rr.property_id = cm.property_id AND rr.room_type_id = cm."roomTypeId" AND rr.deleted_at IS NULL
        AND daterange(rr.arrival_date, rr.departure_date) @> cm."stayDate"
        AND reservation.consumes_inventory(res.status, res.deleted_at, rr.status, rr.deleted_at))
  - (SELECT COALESCE(sum(b.rooms), 0) FROM property_mgmt.inventory_blocks b
      WHERE b.property_id = cm.property_id AND b.room_type_id = cm."roomTypeId" AND b.deleted_at IS NULL
        AND b.start_date <= cm."stayDate" AND b.end_date > cm."stayDate"))::int AS free
  OFFSET 0) v -- evaluated once per cell: flattened, the three lookups ran once per use of v.free
-- The channel's rate rules (connectors/outbound/settings.ts): the mapping's markup replaces the
-- connection's; either close-out closes. Availability rules are the room's (room_rule).
CROSS JOIN LATERAL (SELECT
    COALESCE((cm.map_settings ->> 'markup_pct')::numeric, (cm.conn_settings ->> 'markup_pct')::numeric, 0) AS markup,
    COALESCE((cm.map_settings ->> 'close_out')::boolean, false) OR COALESCE((cm.conn_settings ->> 'close_out')::boolean, false) AS close_out,
    COALESCE(cm.map_settings ->> 'pricing_model', cm.conn_settings ->> 'pricing_model', 'per_day') AS pricing_model) rule
JOIN room_rule rr ON rr.cid = cm."connectionId" AND rr.rt = cm."roomTypeId"
-- The plan, and its parent when it is derived (a deleted parent prices nothing). Plain joins on
-- unique keys: a lateral with ORDER BY … LIMIT per cell doubled the statement's time.
JOIN property_mgmt.rate_plans rp ON rp.id = cm."ratePlanId"
LEFT JOIN property_mgmt.rate_plans parent ON parent.id = rp.parent_rate_plan_id AND parent.deleted_at IS NULL
LEFT JOIN property_mgmt.daily_rates dr ON dr.room_type_id = cm."roomTypeId" AND dr.rate_plan_id = cm."ratePlanId"
                                      AND dr.stay_date = cm."stayDate" AND dr.deleted_at IS NULL
-- The parent's rows by their cell key, as correlated probes (OFFSET 0: kept apart): joined, the
-- planner probed them by rate plan alone and filtered a hundred rows per cell.
LEFT JOIN LATERAL (SELECT x.amount, x.currency, x.occupancy_amounts FROM property_mgmt.daily_rates x
                   WHERE x.room_type_id = cm."roomTypeId" AND x.rate_plan_id = rp.parent_rate_plan_id AND x.stay_date = cm."stayDate" AND x.deleted_at IS NULL
                   OFFSET 0) pdr ON true
-- Its own restrictions row, else (derived) its parent's: the row is taken whole, never mixed.
LEFT JOIN property_mgmt.restrictions own ON own.room_type_id = cm."roomTypeId" AND own.rate_plan_id = cm."ratePlanId"
                                        AND own.stay_date = cm."stayDate" AND own.deleted_at IS NULL
LEFT JOIN LATERAL (SELECT x.* FROM property_mgmt.restrictions x
                   WHERE x.room_type_id = cm."roomTypeId" AND x.rate_plan_id = rp.parent_rate_plan_id AND x.stay_date = cm."stayDate" AND x.deleted_at IS NULL
                   OFFSET 0) prs ON true
CROSS JOIN LATERAL (SELECT CASE WHEN own.id IS NOT NULL THEN own.min_los WHEN parent.id IS NOT NULL THEN prs.min_los END AS min_los,
                           CASE WHEN own.id IS NOT NULL THEN own.max_los WHEN parent.id IS NOT NULL THEN prs.max_los END AS max_los,
                           CASE WHEN own.id IS NOT NULL THEN own.closed_to_arrival WHEN parent.id IS NOT NULL THEN prs.closed_to_arrival END AS closed_to_arrival,
                           CASE WHEN own.id IS NOT NULL THEN own.closed_to_departure WHEN parent.id IS NOT NULL THEN prs.closed_to_departure END AS closed_to_departure,
                           CASE WHEN own.id IS NOT NULL THEN own.stop_sell WHEN parent.id IS NOT NULL THEN prs.stop_sell END AS stop_sell,
                           CASE WHEN own.id IS NOT NULL THEN own.min_stay_through WHEN parent.id IS NOT NULL THEN prs.min_stay_through END AS min_stay_through,
                           CASE WHEN own.id IS NOT NULL THEN own.max_stay_through WHEN parent.id IS NOT NULL THEN prs.max_stay_through END AS max_stay_through,
                           CASE WHEN own.id IS NOT NULL THEN own.min_advance_days WHEN parent.id IS NOT NULL THEN prs.min_advance_days END AS min_advance_days,
                           CASE WHEN own.id IS NOT NULL THEN own.max_advance_days WHEN parent.id IS NOT NULL THEN prs.max_advance_days END AS max_advance_days) rs
-- A closure of the whole room type for the night.
LEFT JOIN property_mgmt.room_type_closures rc ON rc.room_type_id = cm."roomTypeId" AND rc.stay_date = cm."stayDate" AND rc.deleted_at IS NULL AND rc.closed
-- The rate: its own row's, else the parent's × (1 + pct/100) + amount, rounded by the plan's rule
-- (cent, whole: half away from zero; up, down), and none unless above 0 (docs/revenue-model.md).
CROSS JOIN LATERAL (SELECT COALESCE(dr.amount, d.x) AS amount, CASE WHEN dr.id IS NOT NULL THEN dr.currency WHEN d.x IS NOT NULL THEN pdr.currency END AS currency
                    FROM (SELECT CASE WHEN dr.id IS NULL AND parent.id IS NOT NULL AND r.y > 0 THEN round(r.y, 2) END AS x
                          FROM (SELECT ${derived('pdr.amount')} AS y) r) d) price
-- A per-occupancy plan's prices per number of guests: its own row's, else its parent's each derived
-- by the same rule (an occupancy whose price is not above 0 has none), then the markup; none when
-- the night has no price at all (the cell is then closed).
CROSS JOIN LATERAL (SELECT CASE WHEN rp.pricing_model = 'per_occupancy' AND price.amount IS NOT NULL THEN (
    SELECT jsonb_object_agg(o.guests, round(o.y * (1 + rule.markup / 100), 2)::text)
    FROM (SELECT e.key AS guests, CASE WHEN dr.id IS NOT NULL THEN e.value::numeric ELSE ${derived('e.value::numeric')} END AS y
          FROM jsonb_each_text(CASE WHEN dr.id IS NOT NULL THEN dr.occupancy_amounts ELSE pdr.occupancy_amounts END) e) o
    WHERE o.y > 0) END AS rates) occ
${extraJoins}`;
}

/** A derived plan's rule applied to the parent's amount `x` (before the "above 0" test). */
function derived(x: string): string {
  const y = `(${x} * (1 + COALESCE(rp.derived_adjustment_pct, 0) / 100) + COALESCE(rp.derived_adjustment_amount, 0))`;
  return `CASE rp.derived_rounding WHEN 'whole' THEN round(${y}) WHEN 'up' THEN ceil(${y}) WHEN 'down' THEN floor(${y}) ELSE round(${y}, 2) END`;
}

/**
 * Parity of a connection over the nights [from, to]: every mapped cell with its PMS values and what
 * the OTA last acknowledged (the same columns a claim carries, so the connectors' own delta rule
 * tells what differs).
 */
export function parityAri(connectionId: string, from: string, to: string) {
  return {
    text:
      ariQuery(
        `SELECT m.connection_id AS "connectionId", m.room_type_id AS "roomTypeId", m.rate_plan_id AS "ratePlanId", d::date AS "stayDate"
       FROM channel.channel_mappings m CROSS JOIN generate_series($2::date, $3::date, interval '1 day') d
       WHERE m.connection_id = $1 AND m.active AND m.deleted_at IS NULL`,
        `, cm.ota_room_code AS "otaRoomCode", cm.ota_rate_code AS "otaRateCode",
       ${ACKED} AS acked`,
        `${ACKED_JOIN}`,
      ) + ' ORDER BY cm."stayDate", cm.ota_room_code, cm.ota_rate_code',
    values: [connectionId, from, to],
  };
}
