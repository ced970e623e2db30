-- Guardrails (issue 18): a push that would move a rate by more than a connection's configured
-- percentage, or close or zero more than its configured share of the window at once, is held for
-- approval instead of sent. A bad bulk edit in the PMS (a rate typed as 9 instead of 90, a whole
-- year closed by mistake) then waits for a person instead of reaching the OTAs in seconds.
--
-- A hold is one worker pass's held cells. They stay in channel.ari_dirty_cells with held_by set,
-- which the sync workers' claim skips. Approving releases them with guard_approved set, so the
-- next pass sends them without holding them again. A new change to a held cell releases it: the
-- next pass judges it afresh if its values changed (the revenue team fixed the edit), and puts it
-- back in its hold — or, approved, sends it — if they did not (a booking on the night).
CREATE TABLE channel.ari_holds (
  id            uuid PRIMARY KEY DEFAULT shared.new_id(),
  connection_id uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id   uuid NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('rate_change', 'closing')),
  reason        text NOT NULL CHECK (length(reason) <= 2000),
  cells         integer NOT NULL CHECK (cells > 0),
  -- A few of the held cells: room and rate codes, night, the OTA's current value and the new one.
  sample        jsonb NOT NULL DEFAULT '[]',
  approved_at   timestamptz,
  approved_by   uuid REFERENCES shared.users (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1,
  CHECK ((approved_at IS NULL) = (approved_by IS NULL))
);
CREATE INDEX ari_holds_connection_idx ON channel.ari_holds (connection_id, created_at);
CREATE INDEX ari_holds_property_idx ON channel.ari_holds (property_id);
CREATE INDEX ari_holds_created_by_idx ON channel.ari_holds (created_by);
CREATE INDEX ari_holds_approved_by_idx ON channel.ari_holds (approved_by);
SELECT shared.setup_tenant_table('channel.ari_holds');

-- held_by: the hold the cell waits in now (the claim skips it). last_hold and held_values: the hold
-- it was last put in and the values it was held with, kept when a new change releases it, so that
-- back with the same values it returns to that hold (or, approved, goes out) instead of starting a
-- new one (connectors/outbound/guard.ts).
ALTER TABLE channel.ari_dirty_cells
  ADD COLUMN held_by uuid REFERENCES channel.ari_holds (id),
  ADD COLUMN last_hold uuid REFERENCES channel.ari_holds (id),
  ADD COLUMN held_values jsonb,
  ADD COLUMN guard_approved boolean NOT NULL DEFAULT false;
CREATE INDEX ari_dirty_cells_held_idx ON channel.ari_dirty_cells (held_by) WHERE held_by IS NOT NULL;
CREATE INDEX ari_dirty_cells_last_hold_idx ON channel.ari_dirty_cells (last_hold) WHERE last_hold IS NOT NULL;

-- The closings a connection sent lately (guard_close_share_pct counts them with a pass's own, so a
-- bulk close arriving over several passes is still judged as one).
ALTER TABLE channel.connection_sync_state
  ADD COLUMN closings_since timestamptz,
  ADD COLUMN closings_sent integer NOT NULL DEFAULT 0 CHECK (closings_sent >= 0);

-- Approving is a connection action like pausing: recorded, audited, published as a domain event.
ALTER TABLE channel.connection_actions DROP CONSTRAINT connection_actions_action_check;
ALTER TABLE channel.connection_actions ADD CONSTRAINT connection_actions_action_check
  CHECK (action IN ('full_sync', 'pause', 'resume', 'retry_errors', 'resync', 'disable', 'delete', 'approve_hold'));

-- A hold is also an open sync error of the connection (kind 'held'), so the channel list's
-- "needs attention" and error counts show it; approving resolves it.
ALTER TABLE channel.sync_errors DROP CONSTRAINT sync_errors_kind_check;
ALTER TABLE channel.sync_errors ADD CONSTRAINT sync_errors_kind_check
  CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking', 'resync', 'closing', 'closing_failed', 'reservations', 'held'));

-- The channel list shows the cells each connection holds for approval (its tile's Approve button).
CREATE OR REPLACE VIEW channel.channel_status WITH (security_invoker = true) AS
SELECT c.id, c.property_id, c.channel_code, c.ota_hotel_code, c.status, c.status_reason, c.status_changed_at,
       GREATEST(s.last_success_at, c.last_success_at) AS last_success_at,
       COALESCE(s.consecutive_failures, 0) AS consecutive_failures, s.retry_at, s.last_error,
       p.pending_cells, p.oldest_dirty_at,
       l.requests_1h, l.failed_1h,
       (SELECT count(*) FROM channel.sync_errors e WHERE e.connection_id = c.id AND e.resolved_at IS NULL AND e.deleted_at IS NULL)::int AS open_errors,
       (SELECT count(*) FROM channel.mapping_problems m WHERE m.connection_id = c.id AND m.resolved_at IS NULL AND m.deleted_at IS NULL)::int AS open_mapping_problems,
       (SELECT count(*) FROM channel.inbound_messages i WHERE i.connection_id = c.id AND i.created_at > now() - interval '24 hours'
          AND i.outcome IN ('created', 'modified', 'cancelled'))::int AS bookings_24h,
       (SELECT count(*) FROM channel.overbooking_alerts a WHERE a.connection_id = c.id AND a.resolved_at IS NULL AND a.deleted_at IS NULL)::int AS open_overbookings,
       c.closing_for,
       (SELECT count(*) FROM channel.ota_closures o WHERE o.connection_id = c.id AND o.finished_at IS NULL AND o.deleted_at IS NULL)::int AS pending_closures,
       p.held_cells
FROM channel.channel_connections c
LEFT JOIN channel.connection_sync_state s ON s.connection_id = c.id
LEFT JOIN LATERAL (SELECT count(*)::int AS pending_cells, min(d.first_dirty_at) AS oldest_dirty_at,
                          (count(*) FILTER (WHERE d.held_by IS NOT NULL))::int AS held_cells
                   FROM channel.ari_dirty_cells d WHERE d.connection_id = c.id AND d.deleted_at IS NULL) p ON true
LEFT JOIN LATERAL (SELECT count(*)::int AS requests_1h, (count(*) FILTER (WHERE g.status = 'failed'))::int AS failed_1h
                   FROM channel.sync_log g WHERE g.connection_id = c.id AND g.created_at > now() - interval '1 hour') l ON true
WHERE c.deleted_at IS NULL;
