/**
 * The consumer's buffer of cell ranges, coalesced before they are stored. A revenue manager's
 * bulk edit of one room type over 500 days arrives as 1,500 one-night changes; drained, it is
 * three ranges (one per rate plan). The cells marked are exactly the same, but the statement that
 * expands and upserts them gets a few rows of input instead of thousands.
 *
 * It sits on the hot path (every change of every published row passes here), so it allocates
 * little per change: one map entry per subject (connection, property, room type, rate plan) and
 * one per distinct start night, nothing else.
 */
import { compareLsn } from '../lsn.ts';
import type { CellRange } from '../sql/dirty-cells.ts';

interface Subject {
  connectionId: string | null;
  propertyId: string;
  roomTypeId: string | null;
  ratePlanId: string | null;
  /** start night ('' = open) → end night (null = open); the widest end wins. */
  spans: Map<string, string | null>;
  /** The latest change that touched the subject. Stored as the cells' `last_lsn`, which is
   * diagnostic: with coalescing it names the latest change of the batch that covered the cell. */
  lsn: string;
}

export class RangeBuffer {
  private subjects = new Map<string, Subject>();
  /** Distinct spans held: what bounds the buffer's memory. */
  size = 0;

  /** Nights [from, to) of one subject changed (null bounds: the whole sync window on that side). */
  add(
    connectionId: string | null,
    propertyId: string,
    roomTypeId: string | null,
    ratePlanId: string | null,
    from: string | null,
    to: string | null,
    lsn: string,
  ): void {
    if (from !== null && to !== null && from >= to) return; // covers no night (dates are ISO: string order is date order)
    const key = `${connectionId}|${propertyId}|${roomTypeId}|${ratePlanId}`;
    let s = this.subjects.get(key);
    if (!s) {
      s = { connectionId, propertyId, roomTypeId, ratePlanId, spans: new Map(), lsn };
      this.subjects.set(key, s);
    } else if (compareLsn(lsn, s.lsn) > 0) {
      s.lsn = lsn;
    }
    const start = from ?? '';
    const end = s.spans.get(start);
    if (end === undefined) this.size++;
    if (end === undefined || (end !== null && (to === null || to > end))) s.spans.set(start, to);
  }

  /**
   * Empties the buffer into merged ranges: overlapping and adjacent spans of a subject joined
   * ([a, b) + [b, c) → [a, c)), an open bound absorbing everything on its side. They cover exactly
   * the nights that were added, with each subject's latest LSN.
   */
  drain(): CellRange[] {
    const out: CellRange[] = [];
    for (const s of this.subjects.values()) {
      const starts = [...s.spans.keys()].sort();
      let from = starts[0]!;
      let to = s.spans.get(from)!;
      const emit = () =>
        out.push({
          connectionId: s.connectionId,
          propertyId: s.propertyId,
          roomTypeId: s.roomTypeId,
          ratePlanId: s.ratePlanId,
          from: from || null,
          to,
          lsn: s.lsn,
        });
      for (const start of starts.slice(1)) {
        if (to === null) break; // open-ended: covers every later start
        const end = s.spans.get(start)!;
        if (start <= to) {
          if (end === null || end > to) to = end;
        } else {
          emit();
          from = start;
          to = end;
        }
      }
      emit();
    }
    this.subjects = new Map();
    this.size = 0;
    return out;
  }
}
