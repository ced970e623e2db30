/** The CDC's incident records (channel.cdc_incidents): what it detected and what it did about it. */

export type IncidentKind = 'slot_lost' | 'slot_dropped' | 'failover' | 'truncate' | 'poison';

/** Records an incident: `resynced`, every connection's window is already marked; `resolved`, nothing is left to do. */
export function recordIncident(
  slot: string,
  kind: IncidentKind,
  detail: string,
  data: Record<string, unknown>,
  done: { resynced: boolean; resolved: boolean },
) {
  return {
    text: `INSERT INTO channel.cdc_incidents (slot_name, kind, detail, data, resync_at, resolved_at)
           VALUES ($1, $2, left($3, 2000), $4, CASE WHEN $5::boolean THEN now() END, CASE WHEN $6::boolean THEN now() END)
           RETURNING id`,
    values: [slot, kind, detail, JSON.stringify(data), done.resynced, done.resolved],
  };
}

/** The incidents of the last `hours` and every one still open, newest first (the CDC status, the dashboard). */
export function recentIncidents(hours: number, limit: number) {
  return {
    text: `SELECT id, slot_name AS slot, kind, detail, created_at AS "detectedAt", resync_at AS "resyncAt", resolved_at AS "resolvedAt"
           FROM channel.cdc_incidents
           WHERE deleted_at IS NULL AND (resolved_at IS NULL OR created_at > now() - make_interval(hours => $1))
           ORDER BY created_at DESC LIMIT $2`,
    values: [hours, limit],
  };
}

/** Changes set aside for these connections are healed: each has had its whole window marked since. */
export function resolveIsolated(slot: string, connectionIds: string[]) {
  return {
    text: `UPDATE channel.cdc_incidents SET resolved_at = now(), detail = left(detail || ' Healed: the connection''s whole window was marked since.', 2000)
           WHERE slot_name = $1 AND kind = 'poison' AND resolved_at IS NULL AND data -> 'range' ->> 'connectionId' = ANY ($2::text[])`,
    values: [slot, connectionIds],
  };
}
