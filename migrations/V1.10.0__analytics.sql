-- Analytics: materialized views the revenue team reads (refreshed CONCURRENTLY by
-- shared.refresh_analytics(), so readers are never blocked). Materialized views cannot carry RLS,
-- so authenticated_user reads them only through the security-barrier views below, which filter
-- to app.current_property_id; the service role reads them directly.

-- Daily occupancy, ADR and RevPAR per property. Sold = room nights of confirmed, checked-in and
-- checked-out stays; revenue = the nightly prices sold (or the room total spread evenly when a
-- booking has no nightly breakdown); available = today's sellable rooms.
CREATE MATERIALIZED VIEW shared.mv_daily_property_kpis AS
WITH nights AS (
  SELECT rr.property_id, d::date AS stay_date, count(*)::int AS rooms_sold,
         sum(COALESCE(nr.amount, rr.total_amount / (rr.departure_date - rr.arrival_date)))::numeric(14, 2) AS room_revenue
  FROM reservation.reservation_rooms rr
  JOIN reservation.reservations r ON r.id = rr.reservation_id
  CROSS JOIN LATERAL generate_series(rr.arrival_date, rr.departure_date - 1, interval '1 day') d
  LEFT JOIN reservation.reservation_nightly_rates nr
         ON nr.reservation_room_id = rr.id AND nr.stay_date = d::date AND nr.deleted_at IS NULL
  WHERE r.status IN ('confirmed', 'checked_in', 'checked_out') AND r.deleted_at IS NULL
    AND rr.deleted_at IS NULL AND rr.status NOT IN ('cancelled', 'no_show')
  GROUP BY rr.property_id, d::date
), inventory AS (
  SELECT property_id, count(*)::int AS rooms
  FROM property_mgmt.rooms
  WHERE deleted_at IS NULL AND status <> 'out_of_service'
  GROUP BY property_id
)
SELECT n.property_id, n.stay_date, i.rooms AS rooms_available, n.rooms_sold, n.room_revenue,
       round(100.0 * n.rooms_sold / NULLIF(i.rooms, 0), 2) AS occupancy_pct,
       round(n.room_revenue / NULLIF(n.rooms_sold, 0), 2) AS adr,
       round(n.room_revenue / NULLIF(i.rooms, 0), 2) AS revpar
FROM nights n
JOIN inventory i ON i.property_id = n.property_id;
CREATE UNIQUE INDEX mv_daily_property_kpis_uq ON shared.mv_daily_property_kpis (property_id, stay_date);

-- Production per channel per month of arrival: bookings, room nights, revenue, cancellations.
CREATE MATERIALIZED VIEW shared.mv_channel_production_monthly AS
SELECT r.property_id, r.source_channel AS channel,
       date_trunc('month', r.check_in_date)::date AS month,
       count(*) FILTER (WHERE r.status <> 'cancelled')::int AS bookings,
       COALESCE(sum(rooms.nights) FILTER (WHERE r.status <> 'cancelled'), 0)::int AS room_nights,
       COALESCE(sum(r.total_amount) FILTER (WHERE r.status <> 'cancelled'), 0)::numeric(14, 2) AS revenue,
       count(*) FILTER (WHERE r.status = 'cancelled')::int AS cancellations
FROM reservation.reservations r
LEFT JOIN LATERAL (
  SELECT sum(rr.departure_date - rr.arrival_date) AS nights
  FROM reservation.reservation_rooms rr
  WHERE rr.reservation_id = r.id AND rr.deleted_at IS NULL AND rr.status <> 'cancelled'
) rooms ON true
WHERE r.deleted_at IS NULL
GROUP BY r.property_id, r.source_channel, date_trunc('month', r.check_in_date);
CREATE UNIQUE INDEX mv_channel_production_monthly_uq ON shared.mv_channel_production_monthly (property_id, channel, month);

REVOKE ALL ON shared.mv_daily_property_kpis, shared.mv_channel_production_monthly FROM PUBLIC;
GRANT SELECT ON shared.mv_daily_property_kpis, shared.mv_channel_production_monthly TO stayos_service;

CREATE VIEW shared.daily_property_kpis WITH (security_barrier = true) AS
  SELECT * FROM shared.mv_daily_property_kpis WHERE property_id = shared.current_property_id();
CREATE VIEW shared.channel_production_monthly WITH (security_barrier = true) AS
  SELECT * FROM shared.mv_channel_production_monthly WHERE property_id = shared.current_property_id();
GRANT SELECT ON shared.daily_property_kpis, shared.channel_production_monthly TO authenticated_user, stayos_service;

-- Refreshes both views without blocking readers (CONCURRENTLY needs the unique indexes above).
CREATE FUNCTION shared.refresh_analytics() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY shared.mv_daily_property_kpis;
  REFRESH MATERIALIZED VIEW CONCURRENTLY shared.mv_channel_production_monthly;
END $$;
GRANT EXECUTE ON FUNCTION shared.refresh_analytics() TO stayos_service;
