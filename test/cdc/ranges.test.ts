/** The consumers' range buffer: drained ranges cover exactly the nights added, subject by subject. */
import { describe, expect, it } from 'vitest';
import { RangeBuffer } from '../../cdc/consumers/ranges.ts';
import type { CellRange } from '../../cdc/sql/dirty-cells.ts';
import { compareLsn } from '../../cdc/lsn.ts';

const day = (n: number) => new Date(Date.UTC(2027, 0, 1 + n)).toISOString().slice(0, 10);

type Span = { conn?: string | null; rp?: string | null; from: string | null; to: string | null; lsn?: string };
function drain(spans: Span[]): CellRange[] {
  const b = new RangeBuffer();
  for (const s of spans) b.add(s.conn ?? null, 'p', 'rt', s.rp === undefined ? 'rp' : s.rp, s.from, s.to, s.lsn ?? '0/10');
  return b.drain();
}

/** The (subject, night) pairs covered, over days [-5, 45) (null bounds: the whole span). */
function covered(ranges: Array<Span | CellRange>): Set<string> {
  const out = new Set<string>();
  for (const r of ranges) {
    const conn = 'conn' in r ? (r.conn ?? null) : (r as CellRange).connectionId;
    const rp = 'ratePlanId' in r ? r.ratePlanId : r.rp === undefined ? 'rp' : r.rp;
    for (let n = -5; n < 45; n++) {
      const d = day(n);
      if ((r.from === null || d >= r.from) && (r.to === null || d < r.to)) out.add(`${conn}|${rp}|${d}`);
    }
  }
  return out;
}

describe('RangeBuffer', () => {
  it('turns a bulk edit of 500 single nights into one range per rate plan, with the latest LSN', () => {
    const b = new RangeBuffer();
    for (let n = 499; n >= 0; n--) for (const rp of ['a', 'b', 'c']) b.add(null, 'p', 'rt', rp, day(n), day(n + 1), `0/${(1000 - n).toString(16)}`);
    expect(b.size).toBe(1500);
    const merged = b.drain();
    expect(merged).toHaveLength(3);
    for (const m of merged) expect(m).toMatchObject({ from: day(0), to: day(500), lsn: `0/${(1000).toString(16)}` });
    expect(b.size).toBe(0);
    expect(b.drain()).toEqual([]);
  });

  it('keeps gaps, subjects and open bounds apart, and drops empty ranges', () => {
    const merged = drain([
      { from: day(0), to: day(2) },
      { from: day(3), to: day(4) }, // gap of one night: stays separate
      { rp: null, from: day(1), to: day(2) }, // another subject
      { from: day(10), to: null }, // open-ended absorbs what follows
      { from: day(12), to: day(13) },
      { from: day(20), to: day(20) }, // empty
    ]);
    expect(merged.map((m) => [m.ratePlanId, m.from, m.to])).toEqual([
      ['rp', day(0), day(2)],
      ['rp', day(3), day(4)],
      ['rp', day(10), null],
      [null, day(1), day(2)],
    ]);
  });

  it('covers exactly the same nights as its input, for random inputs', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const input: Span[] = [];
      for (let i = rand(30); i >= 0; i--) {
        input.push({
          rp: ['x', 'y', null][rand(3)]!,
          conn: rand(4) === 0 ? 'c1' : null,
          from: rand(8) === 0 ? null : day(rand(40)),
          to: rand(8) === 0 ? null : day(rand(40)),
        });
      }
      const merged = drain(input);
      expect(covered(merged)).toEqual(covered(input));
      expect(merged.length).toBeLessThanOrEqual(input.length);
    }
  });
});

describe('compareLsn', () => {
  it('orders LSNs numerically, whatever their padding', () => {
    expect(compareLsn('0/A', '0/9')).toBeGreaterThan(0);
    expect(compareLsn('0/0000000A', '0/A')).toBe(0);
    expect(compareLsn('1/0', '0/FFFFFFFF')).toBeGreaterThan(0);
    expect(compareLsn('0/FFFFFFFF', '1/0')).toBeLessThan(0);
  });
});
