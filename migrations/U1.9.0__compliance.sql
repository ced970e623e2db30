-- Undo of V1.9.0: removes what it added to the compliance schema; the outbox table
-- (compliance.domain_events) belongs to V1.0.0 and stays.
DROP FUNCTION compliance.anonymize_deleted_guests(interval);
DROP FUNCTION compliance.anonymize_guest(uuid);
DROP FUNCTION compliance.maintain_partitions(timestamptz);
DROP TABLE compliance.consents;
DROP TABLE compliance.gdpr_requests;
DROP TABLE compliance.retention_policies;
