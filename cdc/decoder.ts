/**
 * pgoutput messages → ChangeEvents. Keeps the transaction context (Begin … Commit) and numbers the
 * changes of each transaction. Relation metadata is cached by the pgoutput parser and replaced on
 * every Relation message, so a column added mid-stream (ALTER TABLE … ADD COLUMN) simply appears
 * in the rows that follow.
 */
import type { Pgoutput } from 'pg-logical-replication';
import type { ChangeEvent, Row } from './types.ts';

export interface TxContext {
  xid: number;
  commitLsn: string;
  commitTime: string;
  index: number;
}

export type Decoded =
  { kind: 'begin'; tx: TxContext } | { kind: 'changes'; changes: ChangeEvent[] } | { kind: 'commit'; endLsn: string; commitLsn: string } | { kind: 'other' };

function keyOf(relation: Pgoutput.MessageRelation, row: Row | null): Row {
  const key: Row = {};
  if (!row) return key;
  // With REPLICA IDENTITY FULL pgoutput flags every column as "key"; the primary key of every
  // StayOS table is `id`, so that is the key then.
  const columns = relation.replicaIdentity === 'full' || !relation.keyColumns.length ? ['id'] : relation.keyColumns;
  for (const c of columns) key[c] = row[c];
  return key;
}

/**
 * Types left as PostgreSQL's text instead of being parsed into JS objects: timestamps (pg's Date
 * parsing is the single most expensive step of decoding a row) and numerics (exact decimals).
 */
const KEEP_AS_TEXT = new Set([1114 /* timestamp */, 1184 /* timestamptz */, 1700 /* numeric */, 1082 /* date */]);
const asText = (raw: unknown) => raw;

function microsToIso(micros: bigint): string {
  return new Date(Number(micros / 1000n)).toISOString();
}

export class PgoutputDecoder {
  private tx: TxContext | undefined;

  get inTransaction(): boolean {
    return this.tx !== undefined;
  }

  decode(lsn: string, msg: Pgoutput.Message): Decoded {
    switch (msg.tag) {
      case 'relation':
        // The parser caches this object and decodes the following rows with its column parsers.
        for (const col of msg.columns) if (KEEP_AS_TEXT.has(col.typeOid)) col.parser = asText;
        return { kind: 'other' };
      case 'begin': {
        this.tx = { xid: msg.xid, commitLsn: msg.commitLsn ?? lsn, commitTime: microsToIso(msg.commitTime as bigint), index: 0 };
        return { kind: 'begin', tx: this.tx };
      }
      case 'commit': {
        const tx = this.tx;
        this.tx = undefined;
        if (!tx) throw new Error(`pgoutput: Commit at ${lsn} without Begin`);
        return { kind: 'commit', endLsn: msg.commitEndLsn ?? lsn, commitLsn: tx.commitLsn };
      }
      case 'insert':
        return { kind: 'changes', changes: [this.event(lsn, 'insert', msg.relation, null, msg.new)] };
      case 'update':
        return { kind: 'changes', changes: [this.event(lsn, 'update', msg.relation, msg.old ?? msg.key, msg.new)] };
      case 'delete':
        return { kind: 'changes', changes: [this.event(lsn, 'delete', msg.relation, msg.old ?? msg.key, null)] };
      case 'truncate':
        // One event per truncated table; consumers treat it as "everything in it changed".
        return { kind: 'changes', changes: msg.relations.map((r) => this.event(lsn, 'truncate', r, null, null)) };
      default:
        return { kind: 'other' };
    }
  }

  private event(lsn: string, op: ChangeEvent['op'], relation: Pgoutput.MessageRelation, before: Row | null, after: Row | null): ChangeEvent {
    const tx = this.tx;
    if (!tx) throw new Error(`pgoutput: ${op} at ${lsn} outside a transaction`);
    const unchangedToast: string[] = [];
    if (after) {
      // The parser leaves an unchanged TOASTed value undefined unless the old row carried it.
      for (const col of relation.columns) {
        if (after[col.name] === undefined) unchangedToast.push(col.name);
      }
    }
    const row = after ?? before;
    const change: ChangeEvent = {
      op,
      schema: relation.schema,
      table: relation.name,
      key: keyOf(relation, row),
      before: before ?? null,
      after: after ?? null,
      unchangedToast,
      lsn,
      commitLsn: tx.commitLsn,
      index: tx.index++,
      xid: tx.xid,
      commitTime: tx.commitTime,
      propertyId: (row?.property_id as string | undefined) ?? null,
    };
    return change;
  }
}
