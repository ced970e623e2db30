-- Undo of V1.16.0.
ALTER TABLE channel.ari_acknowledged DROP COLUMN refused;
ALTER TABLE reservation.reservation_rooms DROP COLUMN ota_room_ref;
ALTER TABLE channel.channel_connections DROP COLUMN reservations_url;
