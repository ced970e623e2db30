-- Issue 15, after review: three ways the OTA could still stay wrong.
--
-- 1. An OTA target fed by one local cell, then another, then the first again: the first cell's
--    old acknowledgement at that target outlived the second cell's pushes there, so its cells
--    compared equal and were cleared without a request. A push to a target the cell had nothing
--    acknowledged at now forgets what other cells had acknowledged there, night by night
--    (connectors/sql/sync.ts forgetOthersAtTargets); this index finds them.
CREATE INDEX ari_acknowledged_night_idx ON channel.ari_acknowledged (connection_id, stay_date);

-- 2. A closure of a connection being disabled or deleted that the OTA never took: the connection
--    is not reported closed at the OTA. The error stays open as an alert of its own kind (the
--    'closing' row says "in progress" and resolves when the closing ends).
ALTER TABLE channel.sync_errors DROP CONSTRAINT sync_errors_kind_check;
ALTER TABLE channel.sync_errors ADD CONSTRAINT sync_errors_kind_check
  CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking', 'resync', 'closing', 'closing_failed'));

-- 3. A dead worker's claimed cells: when a worker holding the connection's sync lock first saw
--    claims it did not make (their worker is gone: it held the lock while it pushed). They are
--    taken over once the grace has passed since then — measured per dead claim, not from the
--    connection's last activity, which a live worker pushing new changes keeps fresh.
ALTER TABLE channel.connection_sync_state ADD COLUMN orphans_seen_at timestamptz;
