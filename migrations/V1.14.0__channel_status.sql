-- What the revenue team reads about each connection, in one view the API and the dashboard query
-- (the pipeline tables behind it may change freely). security_invoker: read as the API's
-- authenticated_user, row-level security limits it to the property of the request.
CREATE VIEW channel.channel_status WITH (security_invoker = true) AS
SELECT c.id, c.property_id, c.channel_code, c.ota_hotel_code, c.status, c.status_reason, c.status_changed_at,
       GREATEST(s.last_success_at, c.last_success_at) AS last_success_at,
       COALESCE(s.consecutive_failures, 0) AS consecutive_failures, s.retry_at, s.last_error,
       p.pending_cells, p.oldest_dirty_at,
       l.requests_1h, l.failed_1h,
       (SELECT count(*) FROM channel.sync_errors e WHERE e.connection_id = c.id AND e.resolved_at IS NULL AND e.deleted_at IS NULL)::int AS open_errors,
       (SELECT count(*) FROM channel.mapping_problems m WHERE m.connection_id = c.id AND m.resolved_at IS NULL AND m.deleted_at IS NULL)::int AS open_mapping_problems,
       (SELECT count(*) FROM channel.inbound_messages i WHERE i.connection_id = c.id AND i.created_at > now() - interval '24 hours'
          AND i.outcome IN ('created', 'modified', 'cancelled'))::int AS bookings_24h,
       (SELECT count(*) FROM channel.overbooking_alerts a WHERE a.connection_id = c.id AND a.resolved_at IS NULL AND a.deleted_at IS NULL)::int AS open_overbookings
FROM channel.channel_connections c
LEFT JOIN channel.connection_sync_state s ON s.connection_id = c.id
LEFT JOIN LATERAL (SELECT count(*)::int AS pending_cells, min(d.first_dirty_at) AS oldest_dirty_at
                   FROM channel.ari_dirty_cells d WHERE d.connection_id = c.id AND d.deleted_at IS NULL) p ON true
LEFT JOIN LATERAL (SELECT count(*)::int AS requests_1h, (count(*) FILTER (WHERE g.status = 'failed'))::int AS failed_1h
                   FROM channel.sync_log g WHERE g.connection_id = c.id AND g.created_at > now() - interval '1 hour') l ON true
WHERE c.deleted_at IS NULL;
GRANT SELECT ON channel.channel_status TO authenticated_user, stayos_service;

-- What a person did to a connection through the API (full sync, pause, resume, retry errors):
-- one row per action, written as that person (created_by), so the action is audited and published
-- as a domain event like any other change.
CREATE TABLE channel.connection_actions (
  id            uuid PRIMARY KEY DEFAULT shared.new_id(),
  connection_id uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id   uuid NOT NULL,
  action        text NOT NULL CHECK (action IN ('full_sync', 'pause', 'resume', 'retry_errors')),
  detail        jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1
);
CREATE INDEX connection_actions_connection_idx ON channel.connection_actions (connection_id, created_at);
CREATE INDEX connection_actions_property_idx ON channel.connection_actions (property_id);
CREATE INDEX connection_actions_created_by_idx ON channel.connection_actions (created_by);
SELECT shared.setup_tenant_table('channel.connection_actions');
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON channel.connection_actions
  FOR EACH ROW EXECUTE FUNCTION shared.publish_domain_event('connection_action');
