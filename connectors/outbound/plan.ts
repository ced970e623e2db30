/**
 * Shared planning of a push: which cells feed which OTA range, so that an OTA's answer to a
 * request can be turned back into "these cells, these parts, accepted" (or refused).
 */
import { compressNights, type NightRange } from './ranges.ts';
import type { Part } from './types.ts';
import type { PushCell } from './connector.ts';

/** A range to send, with the cells (and the part of each) whose values it carries. */
export interface PlannedRange<V> extends NightRange<V> {
  covers: Array<{ cellId: string; part: Part }>;
}

/**
 * Groups the cells' `parts` into series (`seriesOf`) with one value per night (`valueOf`), and
 * compresses consecutive equal nights into ranges. Several cells may feed one night of a series
 * (availability is room-level: every rate of the room carries it); the first value wins and all
 * of them are covered by the range.
 */
export function planRanges<V>(
  cells: PushCell[],
  parts: Part[],
  seriesOf: (c: PushCell) => string,
  valueOf: (c: PushCell, parts: Part[]) => V,
): Array<PlannedRange<V>> {
  const nights = new Map<string, { series: string; night: string; value: V; covers: PlannedRange<V>['covers'] }>();
  for (const c of cells) {
    const mine = c.parts.filter((p) => parts.includes(p));
    if (!mine.length) continue;
    const key = `${seriesOf(c)}|${c.night}`;
    let n = nights.get(key);
    if (!n) nights.set(key, (n = { series: seriesOf(c), night: c.night, value: valueOf(c, mine), covers: [] }));
    for (const p of mine) n.covers.push({ cellId: c.cellId, part: p });
  }
  const ranges = compressNights([...nights.values()].map(({ series, night, value }) => ({ series, night, value })));
  // Attach the covered cells to the range holding each night.
  const bySeries = new Map<string, Array<PlannedRange<V>>>();
  const out = ranges.map((r) => ({ ...r, covers: [] as PlannedRange<V>['covers'] }));
  for (const r of out) (bySeries.get(r.series) ?? bySeries.set(r.series, []).get(r.series)!).push(r);
  for (const n of nights.values()) {
    // Ranges of a series are ordered and disjoint: binary search for the one holding the night.
    const list = bySeries.get(n.series)!;
    let lo = 0;
    let hi = list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (list[mid]!.from <= n.night) lo = mid;
      else hi = mid - 1;
    }
    list[lo]!.covers.push(...n.covers);
  }
  return out;
}

/** Merges per-range acknowledgements into per-cell part lists. */
export function ackedCells(ranges: Array<{ covers: Array<{ cellId: string; part: Part }> }>): Array<{ cellId: string; parts: Part[] }> {
  const by = new Map<string, Set<Part>>();
  for (const r of ranges) for (const c of r.covers) (by.get(c.cellId) ?? by.set(c.cellId, new Set()).get(c.cellId)!).add(c.part);
  return [...by].map(([cellId, parts]) => ({ cellId, parts: [...parts] }));
}

/** Ranges whose values carry their own dates (the builders write `from`/`to` from the value). */
export const withDates = <V extends { from: string; to: string }>(rs: Array<PlannedRange<V>>): Array<PlannedRange<V>> =>
  rs.map((r) => ({ ...r, value: { ...r.value, from: r.from, to: r.to } }));

export const cellIdsOf = (ranges: Array<{ covers: Array<{ cellId: string }> }>) => [...new Set(ranges.flatMap((r) => r.covers.map((c) => c.cellId)))];

/**
 * Greedy packing of ranges, in order, into requests: a request closes when the next range's cost
 * would take it over `budget`, or its `weight` over `maxWeight` (by default: a count of ranges). A
 * range costlier than the budget goes alone (the OTA then says what it thinks of it). `cost` is
 * told the item before it in the same request (undefined for a request's first), for messages that
 * write neighbours together.
 */
export function packGreedy<T>(
  items: T[],
  cost: (item: T, previous: T | undefined) => number,
  budget: number,
  maxWeight = Infinity,
  weight: (item: T) => number = () => 1,
): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let used = 0;
  let weighed = 0;
  for (const item of items) {
    let c = cost(item, cur.at(-1));
    const w = weight(item);
    if (cur.length && (weighed + w > maxWeight || used + c > budget)) {
      out.push(cur);
      cur = [];
      used = 0;
      weighed = 0;
      c = cost(item, undefined);
    }
    cur.push(item);
    used += c;
    weighed += w;
  }
  if (cur.length) out.push(cur);
  return out;
}
