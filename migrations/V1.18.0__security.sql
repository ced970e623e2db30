-- Issue 16 (security hardening).
--
-- 5. OpenTravel reservation ids are the sender's: senders that number their bookings per sender
--    (AlpineBits installations count from 1) collide across hotels, and a collision must never
--    turn one hotel's booking into another's. They are unique per connection; Booking.com's and
--    Expedia's ids stay unique across the channel, as those OTAs issue them.
ALTER TABLE channel.channel_reservations
  ADD COLUMN id_scope text GENERATED ALWAYS AS (CASE WHEN channel_code = 'opentravel' THEN connection_id::text ELSE '' END) STORED;
CREATE UNIQUE INDEX channel_reservations_scoped_uq ON channel.channel_reservations (channel_code, id_scope, external_reservation_id);
DROP INDEX channel.channel_reservations_external_uq;
