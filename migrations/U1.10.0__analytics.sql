-- Undo of V1.10.0.
DROP FUNCTION shared.refresh_analytics();
DROP VIEW shared.channel_production_monthly;
DROP VIEW shared.daily_property_kpis;
DROP MATERIALIZED VIEW shared.mv_channel_production_monthly;
DROP MATERIALIZED VIEW shared.mv_daily_property_kpis;
