-- OTA conformance (issue 14): what the publishers' references need a place for.
--
-- channel.channel_connections.reservations_url: Booking.com serves reservations from another host
-- than ARI (secure-supply-xml.booking.com, the PCI host, vs supply-xml.booking.com;
-- developers.booking.com/connectivity/docs/index-content). NULL: the channel has no second host
-- (Expedia pushes its bookings; the OpenTravel webhook receives them).
ALTER TABLE channel.channel_connections ADD COLUMN reservations_url text
  CHECK (reservations_url IS NULL OR reservations_url ~ '^https?://[^\s]+$');
-- Connections made before this column called Booking.com's ARI host for reservations too: those
-- pointing at Booking.com itself get its reservations host (NULL keeps meaning "the ARI base URL",
-- which is right for a sandbox or a proxy serving both).
UPDATE channel.channel_connections SET reservations_url = 'https://secure-supply-xml.booking.com'
WHERE channel_code = 'booking_com' AND endpoint_url ~ '^https://supply-xml\.booking\.com/?$';

-- reservation.reservation_rooms.ota_room_ref: the OTA's own id of this room within the booking
-- (Booking.com RoomStay/@IndexNumber, "unique index number for the room within the reservation").
-- A modification names its rooms by it, so a room the guest kept keeps its row and its room
-- assignment even when another room of the same type changed or left.
ALTER TABLE reservation.reservation_rooms ADD COLUMN ota_room_ref text CHECK (ota_room_ref IS NULL OR length(ota_room_ref) <= 64);

-- channel.ari_acknowledged.refused: per part ({"rate": {...}, "restr": {...}, "avail": {...}}),
-- the values the OTA refused for good for this cell (an Expedia AR warning such as 7019 naming it,
-- a Booking.com item error). A part whose current value equals its refused value is not sent again
-- (no loop resending a value the OTA keeps refusing); a new PMS value is sent, and a full sync,
-- which forgets the cell's row, sends everything again.
ALTER TABLE channel.ari_acknowledged ADD COLUMN refused jsonb;
