/**
 * The replication slot and who may stream it. The slot is created on first start and never
 * dropped by the program (dropping it would lose the position and the WAL it protects). Only one
 * process streams it: the holder of a session advisory lock; a standby blocks on the same lock and
 * takes over the moment the holder's session ends (crash, SIGKILL, network loss).
 */
import pg from 'pg';
import type { Pool } from '../core/db.ts';
import type { Lsn } from './lsn.ts';

export const PUBLICATIONS = { ari: 'stayos_ari', domainEvents: 'stayos_domain_events' } as const;

/** Creates the logical slot (pgoutput) if missing, and records where (channel.cdc_slots). Returns true when it was created now. */
export async function ensureSlot(pool: Pool, slot: string): Promise<boolean> {
  const { rows } = await pool.query(`SELECT plugin FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
  if (rows[0]) {
    if (rows[0].plugin !== 'pgoutput') throw new Error(`replication slot ${slot} exists with plugin ${rows[0].plugin}, not pgoutput`);
    return false;
  }
  return createSlot(pool, slot);
}

/**
 * Creates the slot; on PostgreSQL 17+ as a failover slot, so that a standby configured to
 * synchronise slots (docs/operations.md) has it, at a position safe to resume from, when it is
 * promoted. Records the server and timeline it was made on. Returns false if a concurrent start
 * created it first.
 */
export async function createSlot(pool: Pool, slot: string): Promise<boolean> {
  const {
    rows: [v],
  } = await pool.query<{ n: number }>(`SELECT current_setting('server_version_num')::int AS n`);
  const failover = (v?.n ?? 0) >= 170000;
  try {
    await pool.query(
      failover ? `SELECT pg_create_logical_replication_slot($1, 'pgoutput', false, false, true)` : `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`,
      [slot],
    );
  } catch (err) {
    if ((err as { code?: string }).code === '42710') return false; // created by a concurrent start
    throw err;
  }
  const id = await serverIdentity(pool);
  await pool.query(recordSlot(slot, id, failover));
  return true;
}

/** Where this database runs now: its server (system identifier) and timeline (null if not readable by this role). */
export interface ServerIdentity {
  systemIdentifier: string;
  timeline: number;
}

export async function serverIdentity(pool: Pool): Promise<ServerIdentity | null> {
  try {
    const {
      rows: [r],
    } = await pool.query<{ systemIdentifier: string; timeline: number }>(
      `SELECT (SELECT system_identifier::text FROM pg_control_system()) AS "systemIdentifier", (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline`,
    );
    return r ?? null;
  } catch {
    return null; // pg_control_* are not granted to every role: the slot's absence alone still tells
  }
}

export function recordSlot(slot: string, id: ServerIdentity | null, failover: boolean) {
  return {
    text: `INSERT INTO channel.cdc_slots AS s (slot_name, system_identifier, timeline, failover) VALUES ($1, COALESCE($2, 'unknown'), COALESCE($3, 0), $4)
           ON CONFLICT (slot_name) DO UPDATE SET system_identifier = EXCLUDED.system_identifier, timeline = EXCLUDED.timeline, failover = EXCLUDED.failover,
             updated_at = now()`,
    values: [slot, id?.systemIdentifier ?? null, id?.timeline ?? null, failover],
  };
}

/** A stable 64-bit advisory-lock key per slot name. */
function lockKey(slot: string): string {
  return `stayos.cdc.${slot}`;
}

export interface Leadership {
  /** Resolves when this process holds the lock. */
  acquired: Promise<void>;
  /** Resolves (never rejects) when leadership is lost: the lock's session ended. */
  lost: Promise<void>;
  release(): Promise<void>;
}

/** Blocks until this process may stream `slot` (one streamer per slot across all processes). */
export function acquireLeadership(connectionString: string, slot: string): Leadership {
  const client = new pg.Client({ connectionString, application_name: `stayos-cdc-lock:${slot}` });
  let onLost!: () => void;
  const lost = new Promise<void>((r) => (onLost = r));
  client.on('error', () => onLost());
  client.on('end', () => onLost());
  const acquired = (async () => {
    await client.connect();
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey(slot)]);
  })();
  acquired.catch(() => onLost());
  return {
    acquired,
    lost,
    release: async () => {
      await client.end().catch(() => undefined);
    },
  };
}

export interface SlotStatus {
  slot: string;
  exists: boolean;
  active: boolean;
  activePid: number | null;
  confirmedFlushLsn: string | null;
  /** pg_current_wal_lsn() − confirmed_flush_lsn: WAL the slot holds back. */
  lagBytes: number | null;
  /** reserved | extended | unreserved | lost (max_slot_wal_keep_size). */
  walStatus: string | null;
  safeWalSize: number | null;
  spillTxns: number | null;
  spillCount: number | null;
  spillBytes: number | null;
}

export async function slotStatus(pool: Pool, slot: string): Promise<SlotStatus> {
  const {
    rows: [r],
  } = await pool.query(
    `SELECT s.active, s.active_pid, s.confirmed_flush_lsn::text AS confirmed,
            (pg_current_wal_lsn() - s.confirmed_flush_lsn)::bigint AS lag_bytes,
            s.wal_status, s.safe_wal_size, st.spill_txns, st.spill_count, st.spill_bytes
     FROM pg_replication_slots s LEFT JOIN pg_stat_replication_slots st ON st.slot_name = s.slot_name
     WHERE s.slot_name = $1`,
    [slot],
  );
  if (!r) {
    return {
      slot,
      exists: false,
      active: false,
      activePid: null,
      confirmedFlushLsn: null,
      lagBytes: null,
      walStatus: null,
      safeWalSize: null,
      spillTxns: null,
      spillCount: null,
      spillBytes: null,
    };
  }
  return {
    slot,
    exists: true,
    active: r.active,
    activePid: r.active_pid,
    confirmedFlushLsn: r.confirmed,
    lagBytes: r.lag_bytes,
    walStatus: r.wal_status,
    safeWalSize: r.safe_wal_size,
    spillTxns: r.spill_txns,
    spillCount: r.spill_count,
    spillBytes: r.spill_bytes,
  };
}

/** One pgoutput slot of this database as the monitoring shows it (`GET /api/v1/cdc`, `/metrics`). */
export interface DatabaseSlot {
  slot: string;
  active: boolean;
  walStatus: string | null;
  confirmedLsn: string | null;
  walLsn: string;
  /** WAL bytes between the current position and what the slot's consumer acknowledged. */
  lagBytes: number | null;
  /** Seconds, as the WAL sender measures them; null while nobody streams. */
  lagSeconds: number | null;
  safeWalBytes: number | null;
}

/** Every pgoutput slot of this database, whoever created it (the CDC's, a baseline's, a test's). */
export async function databaseSlots(pool: Pool): Promise<DatabaseSlot[]> {
  const { rows } = await pool.query<DatabaseSlot>(`
    SELECT s.slot_name AS slot, s.active, s.wal_status AS "walStatus", s.confirmed_flush_lsn::text AS "confirmedLsn",
           pg_current_wal_lsn()::text AS "walLsn", pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint AS "lagBytes",
           EXTRACT(EPOCH FROM r.flush_lag)::float8 AS "lagSeconds", s.safe_wal_size::bigint AS "safeWalBytes"
    FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
    WHERE s.database = current_database() AND s.plugin = 'pgoutput' ORDER BY s.slot_name`);
  return rows;
}

/** pg_current_wal_lsn(), as a comparable number. */
export async function currentWalLsn(pool: Pool): Promise<Lsn> {
  const {
    rows: [r],
  } = await pool.query(`SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS n`);
  return BigInt(r.n);
}

/** The slot's confirmed position, as a comparable number (0 while it has none). */
export async function confirmedFlushLsn(pool: Pool, slot: string): Promise<Lsn> {
  const {
    rows: [r],
  } = await pool.query(`SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::bigint AS n FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
  return BigInt(r?.n ?? 0);
}
