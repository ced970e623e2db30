-- Issue 17: Google Hotels, the third outbound channel (connectors/google-hotels/): its service user
-- and its channel row. Outbound ARI only; no bookings come from it.
INSERT INTO shared.users (id, email, full_name, kind, role, created_by, updated_by) VALUES
  ('00000000-0000-7000-8000-000000000104', 'google_hotels@stayos.local', 'Google Hotels connector', 'service', 'integration',
   '00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000001');
INSERT INTO channel.channels (code, name, service_user_id, outbound_ari) VALUES
  ('google_hotels', 'Google Hotels', '00000000-0000-7000-8000-000000000104', true);
