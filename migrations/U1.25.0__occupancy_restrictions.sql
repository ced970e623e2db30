-- Undo of V1.25.0. Occupancy prices, stay-through and advance-booking restrictions and room type
-- closures are dropped with their columns and table; per-occupancy plans become per-day plans.
-- The settings V1.25.0's code reads are taken away (the older settings schemas refuse unknown
-- keys): pricing_model on connections and mappings, los_basis (Expedia), los_messages (Booking.com).
UPDATE channel.channel_connections SET settings = settings - 'pricing_model' - 'los_basis' - 'los_messages'
WHERE settings ?| ARRAY['pricing_model', 'los_basis', 'los_messages'];
UPDATE channel.channel_mappings SET settings = settings - 'pricing_model' WHERE settings ? 'pricing_model';
-- As V1.25.0 did the other way: Booking.com's restriction acknowledgements are forgotten and
-- those cells marked, so the older code sends its own vocabulary again (it cannot clear the
-- SetForwardMinStay/SetForwardMaxStay values V1.25.0's code may have set there).
UPDATE channel.ari_acknowledged a SET restr_acked_at = NULL, updated_at = now(), version = a.version + 1
FROM channel.channel_connections c
WHERE c.id = a.connection_id AND c.channel_code = 'booking_com' AND a.restr_acked_at IS NOT NULL;
INSERT INTO channel.ari_dirty_cells AS d (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
SELECT a.connection_id, a.property_id, a.room_type_id, a.rate_plan_id, a.stay_date
FROM channel.ari_acknowledged a JOIN channel.channel_connections c ON c.id = a.connection_id
WHERE c.channel_code = 'booking_com' AND c.deleted_at IS NULL AND a.stay_date >= current_date - 1
ORDER BY a.connection_id, a.room_type_id, a.rate_plan_id, a.stay_date
ON CONFLICT (connection_id, room_type_id, rate_plan_id, stay_date) DO UPDATE
  SET dirty_seq = EXCLUDED.dirty_seq, last_dirty_at = now(), deleted_at = NULL, updated_at = now(), version = d.version + 1;
DELETE FROM channel.sync_errors WHERE kind = 'pricing_model';
ALTER TABLE channel.sync_errors DROP CONSTRAINT sync_errors_kind_check;
ALTER TABLE channel.sync_errors ADD CONSTRAINT sync_errors_kind_check
  CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking', 'resync', 'closing', 'closing_failed', 'reservations', 'held'));
ALTER TABLE channel.ari_acknowledged
  DROP COLUMN room_closed,
  DROP COLUMN max_advance_days,
  DROP COLUMN min_advance_days,
  DROP COLUMN max_stay_through,
  DROP COLUMN min_stay_through,
  DROP COLUMN occupancy_rates;
ALTER PUBLICATION stayos_ari DROP TABLE property_mgmt.room_type_closures;
DROP TABLE property_mgmt.room_type_closures;
ALTER TABLE property_mgmt.restrictions
  DROP CONSTRAINT restrictions_advance_order,
  DROP CONSTRAINT restrictions_stay_through_order,
  DROP COLUMN max_advance_days,
  DROP COLUMN min_advance_days,
  DROP COLUMN max_stay_through,
  DROP COLUMN min_stay_through;
COMMENT ON COLUMN property_mgmt.restrictions.min_los IS NULL;
COMMENT ON COLUMN property_mgmt.restrictions.max_los IS NULL;
DROP TRIGGER trg_room_type_occupancy ON property_mgmt.room_types;
DROP FUNCTION property_mgmt.check_room_type_occupancy();
DROP TRIGGER trg_daily_rates_occupancy ON property_mgmt.daily_rates;
DROP FUNCTION property_mgmt.check_occupancy_amounts();
ALTER TABLE property_mgmt.daily_rates DROP COLUMN occupancy_amounts;
DROP FUNCTION property_mgmt.occupancy_amounts_valid(jsonb);
DROP TRIGGER trg_rate_plan_model ON property_mgmt.rate_plans;
DROP FUNCTION property_mgmt.check_rate_plan_model();
ALTER TABLE property_mgmt.rate_plans DROP COLUMN pricing_model;
