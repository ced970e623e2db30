/**
 * What the CDC does, before every (re)connection of the stream, about the state of its slot:
 *  - missing and never made (a first start): made;
 *  - lost (`wal_status = 'lost'`: it fell behind max_slot_wal_keep_size and PostgreSQL removed the
 *    WAL it held), dropped (missing on the server and timeline it was made on), or missing after a
 *    failover (another server or timeline: a promoted standby without it): the changes in between
 *    are gone. An incident is recorded and counted (loudly: health and readiness fail until the
 *    slot is back, the dashboard and GET /api/v1/cdc show it, every connection gets an 'alert'
 *    error row), a new slot made, and every connection resynchronised — its whole window marked
 *    with what the OTA acknowledged forgotten — once, with the reason recorded;
 *  - present on another server or timeline than recorded (a failover slot the standby kept in
 *    sync): the slot lost nothing, but the OTAs may hold values of transactions the old primary
 *    committed and never passed on; the slot is kept, and every connection resynchronised the same
 *    way.
 * The order makes it crash-proof: the incident is written before the new slot exists and marked
 * resynchronised after the marking, so a crash in between resynchronises at the next start. The
 * stream itself starts from the new slot's own position (cdc/replication.ts), never from an LSN
 * of another slot or timeline.
 */
import type { Pool } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import { cdcIncidents } from '../core/metrics.ts';
import { resyncChannels } from './resync.ts';
import { createSlot, recordSlot, serverIdentity } from './slot.ts';
import { recordIncident, type IncidentKind } from './sql/incidents.ts';

export type SlotHealth = 'ok' | 'created' | 'recovered';

interface SlotRow {
  plugin: string;
  walStatus: string | null;
  activePid: number | null;
  database: string | null;
  here: boolean;
}
interface Recorded {
  systemIdentifier: string;
  timeline: number;
}

export async function healSlot(pool: Pool, slot: string, channels: readonly string[], log: Logger): Promise<SlotHealth> {
  const id = await serverIdentity(pool);
  const {
    rows: [s],
  } = await pool.query<SlotRow>(
    `SELECT plugin, wal_status AS "walStatus", active_pid AS "activePid", database, database = current_database() AS here
    FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  if (s && !s.here) throw new Error(`replication slot ${slot} belongs to database ${s.database}, not this one: choose another STAYOS_CDC_SLOT`);
  if (s && s.plugin !== 'pgoutput') throw new Error(`replication slot ${slot} exists with plugin ${s.plugin}, not pgoutput`);
  // Records of other slots that no longer exist (STAYOS_CDC_SLOT renamed, the old slot dropped)
  // are retired with their open incidents: health speaks of the slot this CDC streams.
  const { rows: retired } = await pool.query<{ slot: string }>(
    `WITH r AS (
      UPDATE channel.cdc_slots c SET deleted_at = now() WHERE c.slot_name <> $1 AND c.deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.slot_name = c.slot_name) RETURNING c.slot_name),
    i AS (UPDATE channel.cdc_incidents x SET resolved_at = now() FROM r WHERE x.slot_name = r.slot_name AND x.resolved_at IS NULL)
    SELECT slot_name AS slot FROM r`,
    [slot],
  );
  if (retired.length)
    log.warn({ slot, retired: retired.map((x) => x.slot) }, 'cdc: records of replication slots that no longer exist retired (another slot name is in use)');
  const {
    rows: [r],
  } = await pool.query<Recorded>(`SELECT system_identifier AS "systemIdentifier", timeline FROM channel.cdc_slots WHERE slot_name = $1`, [slot]);
  const moved = !!(r && id && r.systemIdentifier !== 'unknown' && (r.systemIdentifier !== id.systemIdentifier || r.timeline !== id.timeline));

  let problem: { kind: IncidentKind; detail: string } | undefined;
  if (s?.walStatus === 'lost') {
    problem = {
      kind: 'slot_lost',
      detail: `replication slot ${slot} was invalidated (wal_status lost: it fell behind max_slot_wal_keep_size and the WAL it held was removed); the changes since its last position are gone`,
    };
  } else if (!s && r) {
    problem = moved
      ? {
          kind: 'failover',
          detail: `replication slot ${slot} is missing on this server (system ${id!.systemIdentifier}, timeline ${id!.timeline}; it was made on system ${r.systemIdentifier}, timeline ${r.timeline}): a failover or restore without it; the changes since are unknown`,
        }
      : { kind: 'slot_dropped', detail: `replication slot ${slot} was dropped; the changes since its last position are gone` };
  } else if (!s) {
    await createSlot(pool, slot);
    log.info({ slot }, 'cdc: replication slot created');
    return 'created';
  } else if (!r) {
    await pool.query(recordSlot(slot, id, false)); // made before slots were recorded
  } else if (moved) {
    // The slot survived a failover (synchronised to the promoted standby): it lost no change the
    // new primary has. But the old primary may have committed transactions the standby never
    // received (asynchronous replication) and the workers, reading the old primary, may have
    // pushed their values: the OTA can hold what the PMS no longer says, and no cell is dirty
    // for it. So a failover is resynchronised all the same, with what the OTA acknowledged
    // forgotten (a full push; rare and cheap next to an OTA selling a lost change).
    await pool.query(recordSlot(slot, id, true));
    problem = {
      kind: 'failover',
      detail: `replication slot ${slot} is on a new ${r.systemIdentifier !== id!.systemIdentifier ? 'server' : 'timeline'} (timeline ${r.timeline} → ${id!.timeline}) and kept its position (a failover slot); the OTAs may hold values of transactions the old primary did not pass on before it failed`,
    };
  }

  if (problem) {
    const remake = !(s && moved && s.walStatus !== 'lost'); // a failover slot that came along is kept
    log.error({ slot, kind: problem.kind }, `cdc: ${problem.detail}; ${remake ? 'making a new slot and ' : ''}resynchronising every connection`);
    cdcIncidents.inc({ kind: problem.kind });
    await pool.query(
      recordIncident(
        slot,
        problem.kind,
        problem.detail,
        { walStatus: s?.walStatus ?? null, recorded: r ?? null, now: id },
        { resynced: false, resolved: false },
      ),
    );
    if (remake) {
      if (s) await dropSlot(pool, slot, s.activePid);
      await createSlot(pool, slot);
    }
  }
  // Any incident of this slot not yet resynchronised (this one, or one a crash interrupted).
  const { rows: pending } = await pool.query<{ id: string; detail: string }>(
    `SELECT id, detail FROM channel.cdc_incidents WHERE slot_name = $1 AND kind IN ('slot_lost', 'slot_dropped', 'failover') AND resync_at IS NULL AND resolved_at IS NULL ORDER BY created_at`,
    [slot],
  );
  if (!pending.length) return 'ok';
  const done = await resyncChannels(pool, channels, { reason: pending.map((p) => p.detail).join('; '), severity: 'alert', forgetAcknowledged: true, log });
  await pool.query(`UPDATE channel.cdc_incidents SET resync_at = now(), data = data || $2::jsonb WHERE id = ANY ($1::uuid[])`, [
    pending.map((p) => p.id),
    JSON.stringify({ resync: done }),
  ]);
  return 'recovered';
}

/** Drops the slot, ending a session that still holds it (a lost slot cannot stream anyway). */
async function dropSlot(pool: Pool, slot: string, activePid: number | null): Promise<void> {
  if (activePid) await pool.query(`SELECT pg_terminate_backend($1)`, [activePid]);
  for (let i = 0; ; i++) {
    try {
      await pool.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
      return;
    } catch (err) {
      // 55006: still active while the terminated sender exits.
      if ((err as { code?: string }).code !== '55006' || i >= 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Slot incidents whose resync has drained (no connection has an open 'resync' error since) are
 * resolved; run with the CDC's progress reports.
 */
export const RESOLVE_DRAINED_INCIDENTS = `
UPDATE channel.cdc_incidents i SET resolved_at = now()
WHERE i.kind IN ('slot_lost', 'slot_dropped', 'failover') AND i.resolved_at IS NULL AND i.resync_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM channel.sync_errors e WHERE e.kind = 'resync' AND e.resolved_at IS NULL AND e.deleted_at IS NULL)`;

/**
 * The slots this database's CDC recorded that are not usable now — missing, or lost — and slot
 * incidents not yet healed: what makes health and readiness fail.
 */
export const SLOT_PROBLEMS = `
SELECT r.slot_name AS slot, CASE WHEN s.slot_name IS NULL THEN 'missing' ELSE 'lost' END AS problem
FROM channel.cdc_slots r LEFT JOIN pg_replication_slots s ON s.slot_name = r.slot_name
WHERE r.deleted_at IS NULL AND (s.slot_name IS NULL OR s.wal_status = 'lost')
UNION ALL
SELECT slot_name, 'incident ' || kind || ': not yet healed' FROM channel.cdc_incidents
WHERE kind IN ('slot_lost', 'slot_dropped', 'failover') AND resync_at IS NULL AND resolved_at IS NULL AND deleted_at IS NULL`;
