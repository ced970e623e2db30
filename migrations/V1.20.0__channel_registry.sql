-- Issue 17 (first part): the channel codes live in one table, referenced by foreign keys, instead
-- of a CHECK listing them in each of five tables. A new OTA is then one row here (its adapter's
-- migration), not five constraints rewritten. Every existing row is kept: the CHECKs allowed only
-- the codes inserted below, so every foreign key validates.
CREATE TABLE channel.channels (
  id         uuid PRIMARY KEY DEFAULT shared.new_id(),
  code       text NOT NULL CONSTRAINT channels_code_uq UNIQUE CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),   -- as the revenue team knows it
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  created_by uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at timestamptz,
  version    integer NOT NULL DEFAULT 1
);
-- Not tenant data (every property uses the same channels): standard triggers, no RLS.
SELECT shared.attach_standard_triggers('channel.channels');
GRANT SELECT ON channel.channels TO authenticated_user, stayos_service;

INSERT INTO channel.channels (code, name) VALUES
  ('booking_com', 'Booking.com'),
  ('expedia', 'Expedia'),
  ('opentravel', 'OpenTravel');

ALTER TABLE channel.channel_connections DROP CONSTRAINT channel_connections_channel_code_check,
  ADD CONSTRAINT channel_connections_channel_fk FOREIGN KEY (channel_code) REFERENCES channel.channels (code);
ALTER TABLE channel.channel_reservations DROP CONSTRAINT channel_reservations_channel_code_check,
  ADD CONSTRAINT channel_reservations_channel_fk FOREIGN KEY (channel_code) REFERENCES channel.channels (code);
ALTER TABLE channel.inbound_messages DROP CONSTRAINT inbound_messages_channel_code_check,
  ADD CONSTRAINT inbound_messages_channel_fk FOREIGN KEY (channel_code) REFERENCES channel.channels (code);
-- Tokens are cached per channel's account (today only Booking.com exchanges them; the rule of
-- which channel has tokens is its adapter's, not the schema's).
ALTER TABLE channel.ota_tokens DROP CONSTRAINT ota_tokens_channel_code_check,
  ADD CONSTRAINT ota_tokens_channel_fk FOREIGN KEY (channel_code) REFERENCES channel.channels (code);
ALTER TABLE channel.sync_log DROP CONSTRAINT sync_log_channel_code_check,
  ADD CONSTRAINT sync_log_channel_fk FOREIGN KEY (channel_code) REFERENCES channel.channels (code);
-- Every foreign key is indexed (the others lead existing indexes); per channel is how the log is read.
CREATE INDEX sync_log_channel_idx ON channel.sync_log (channel_code, created_at);
