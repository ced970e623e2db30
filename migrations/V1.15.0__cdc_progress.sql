-- What the monitoring shows over time and across processes.
--
-- channel.cdc_progress: the CDC part's own counters (events and transactions decoded, events per
-- second, the last commit handled), written by the CDC every few seconds so that any API process
-- (`--only api` runs apart from `--only cdc`) reports events/s. One row per slot; derived state,
-- overwritten in place (no audit: it would log a row every few seconds). Not in a publication, so
-- the decoder never sees its own bookkeeping.
CREATE TABLE channel.cdc_progress (
  id                 uuid PRIMARY KEY DEFAULT shared.new_id(),
  slot_name          text NOT NULL UNIQUE,
  events_total       bigint NOT NULL DEFAULT 0 CHECK (events_total >= 0),
  transactions_total bigint NOT NULL DEFAULT 0 CHECK (transactions_total >= 0),
  events_per_second  double precision NOT NULL DEFAULT 0 CHECK (events_per_second >= 0),
  last_commit_at     timestamptz,
  confirmed_lsn      pg_lsn,
  reported_at        timestamptz NOT NULL DEFAULT now(),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  created_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1
);
GRANT SELECT, INSERT, UPDATE ON channel.cdc_progress TO stayos_service;

-- channel.pending_samples: pending cells per connection, sampled by the CDC part every 30 s, for
-- the dashboard's "pending vs acknowledged" chart (acknowledged cells come from channel.sync_log).
-- Append-only, partitioned by month, kept 2 months.
CREATE TABLE channel.pending_samples (
  id            uuid NOT NULL DEFAULT shared.new_id(),
  connection_id uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id   uuid NOT NULL,
  pending_cells integer NOT NULL CHECK (pending_cells >= 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX pending_samples_connection_idx ON channel.pending_samples (connection_id, created_at);
CREATE INDEX pending_samples_property_idx ON channel.pending_samples (property_id, created_at);
CREATE INDEX pending_samples_created_by_idx ON channel.pending_samples (created_by);
SELECT shared.attach_standard_triggers('channel.pending_samples', with_audit => false);
SELECT shared.make_append_only('channel.pending_samples');
SELECT shared.enable_tenant_rls('channel.pending_samples', writable => false);
SELECT shared.ensure_partitions('channel.pending_samples', 'month', 1, 3);
INSERT INTO compliance.retention_policies (table_name, partition_step, retention, premake, legal_basis)
VALUES ('channel.pending_samples', 'month', interval '2 months', 3, 'Monitoring samples of pending ARI cells, kept 2 months');
