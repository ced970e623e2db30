-- Undo of V1.18.0. Fails, naming the index, if two OpenTravel senders have since used one id.
CREATE UNIQUE INDEX channel_reservations_external_uq ON channel.channel_reservations (channel_code, external_reservation_id);
DROP INDEX channel.channel_reservations_scoped_uq;
ALTER TABLE channel.channel_reservations DROP COLUMN id_scope;
