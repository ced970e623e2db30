/**
 * Glossary
 * - property: a hotel (tenant). Every change carries its property_id.
 * - room type / rate plan: what a property sells; an OTA sells them under its own codes.
 * - ARI cell: (connection, room type, rate plan, night) — the unit of availability, rates and
 *   restrictions an OTA holds. A cell is *dirty* when the OTA may differ from the PMS.
 * - connection: one property at one OTA (channel.channel_connections); mapping: local room type
 *   and rate plan ↔ the OTA's room and rate codes (channel.channel_mappings).
 * - LSN: a position in PostgreSQL's write-ahead log. A transaction's *end LSN* is where its commit
 *   record ends; acknowledging it tells the slot that everything up to there is handled.
 * - slot: the logical replication slot that remembers, across restarts, the last acknowledged LSN;
 *   PostgreSQL keeps the WAL from there on until we acknowledge more.
 */

export type ChangeOp = 'insert' | 'update' | 'delete' | 'truncate';

/** A row as decoded: column name → value (pg's text parsers: dates as 'YYYY-MM-DD', numerics as strings). */
export type Row = Record<string, unknown>;

/** One row change inside a committed transaction, in commit order. */
export interface ChangeEvent {
  op: ChangeOp;
  schema: string;
  table: string;
  /** Primary-key values of the row (for truncate: empty). */
  key: Row;
  /** The row before (updates and deletes; whole with REPLICA IDENTITY FULL, else key columns only). */
  before: Row | null;
  /** The row after (inserts and updates). Unchanged TOASTed values are filled from `before`
   * when it has them; otherwise they are listed in `unchangedToast`. */
  after: Row | null;
  unchangedToast: string[];
  /** WAL position of this change's message. */
  lsn: string;
  /** The transaction's final LSN (its commit record), as pgoutput's Begin message announces it:
   * known before the first change, so changes can leave before the transaction ends. */
  commitLsn: string;
  /** Position of this change in its transaction, from 0: with commitLsn, a stable id across re-delivery. */
  index: number;
  xid: number;
  /** Commit time, ISO 8601. */
  commitTime: string;
  propertyId: string | null;
}

/** Where decoded changes go. `write` may buffer; `flush` resolves once everything written is durable. */
export interface ChangeSink {
  write(change: ChangeEvent): void | Promise<void>;
  flush(): Promise<void>;
  close?(): Promise<void>;
}

/** A stable id for a change: `<transaction's final LSN>/<index in the transaction>`; the same on every re-delivery. */
export function changeId(c: Pick<ChangeEvent, 'commitLsn' | 'index'>): string {
  return `${c.commitLsn}/${c.index}`;
}
