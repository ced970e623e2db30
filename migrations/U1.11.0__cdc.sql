-- Undo of V1.11.0. The replication slot is not a migration's to drop (the CDC owns it and never
-- drops it); drop it by hand if you remove the pipeline: SELECT pg_drop_replication_slot('stayos_cdc').
DROP VIEW channel.pending_updates;
DROP TABLE channel.ari_dirty_cells;
DROP SEQUENCE channel.ari_dirty_seq;
ALTER TABLE channel.channel_connections REPLICA IDENTITY DEFAULT;
ALTER TABLE channel.channel_mappings REPLICA IDENTITY DEFAULT;
ALTER TABLE property_mgmt.restrictions REPLICA IDENTITY DEFAULT;
ALTER TABLE property_mgmt.daily_rates REPLICA IDENTITY DEFAULT;
ALTER TABLE property_mgmt.inventory_blocks REPLICA IDENTITY DEFAULT;
ALTER TABLE property_mgmt.rooms REPLICA IDENTITY DEFAULT;
ALTER TABLE reservation.reservation_rooms REPLICA IDENTITY DEFAULT;
DROP PUBLICATION stayos_domain_events;
DROP PUBLICATION stayos_ari;
