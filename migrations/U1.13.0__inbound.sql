-- Undo of V1.13.0.
DROP FUNCTION reservation.free_rooms(uuid, uuid, date);
DROP TABLE channel.overbooking_alerts;
DELETE FROM compliance.retention_policies WHERE table_name = 'channel.inbound_messages';
DROP TABLE channel.inbound_messages;
