/**
 * Guardrails: which cells of a push are held for approval instead of sent (issue 18). Pure: the
 * worker gives the cells it is about to push, with what the OTA last acknowledged, and holds what
 * this returns (sql/holds.ts stores the hold; the API's approve action releases it).
 *
 * - `guard_rate_change_pct`: a rate the OTA acknowledged that would move by more than this
 *   percentage, up or down. A cell with no rate acknowledged yet has nothing to compare with.
 * - `guard_close_share_pct`: closing cells the OTA shows open, or zeroing an availability it
 *   shows above 0, for more than this share of the connection's window (its mapped cells ×
 *   nights) within CLOSING_WINDOW_MINUTES: the closings this pass would send are added to those
 *   the connection sent in the window (connection_sync_state.closings_sent), so a bulk close that
 *   arrives over several passes is held from the pass that crosses the share on. Availability the
 *   PMS itself has run out of (rooms sold, blocked, out of order) is never held: holding it would
 *   sell rooms that do not exist. Only a zero the channel's rules make (a cap, an offset) counts.
 * A cell once held remembers the values it was held with (`heldValues`, `lastHold`): back in a
 * pass with the same values — another change marked it, a booking on its night — it is sent if
 * its hold was approved (`guardApproved`), and otherwise joins its hold again whatever the share
 * (the hold still waits for a person). With other values it is judged afresh.
 */
import { partValues, sameValue, type PushCell } from './connector.ts';
import type { ClaimedCell } from './sql/ari.ts';
import type { OtaValues, Part } from './types.ts';

export interface GuardSettings {
  ratePct: number | null;
  closeSharePct: number | null;
}

export function guardOf(settings: Record<string, unknown>): GuardSettings | null {
  const num = (v: unknown) => (typeof v === 'number' && v > 0 ? v : null);
  const g = { ratePct: num(settings.guard_rate_change_pct), closeSharePct: num(settings.guard_close_share_pct) };
  return g.ratePct === null && g.closeSharePct === null ? null : g;
}

export interface HeldSample {
  room: string;
  rate: string;
  night: string;
  was: string | number | boolean | null;
  now: string | number | boolean | null;
}

export interface Hold {
  kind: 'rate_change' | 'closing';
  reason: string;
  /** The cells held, each with the parts held (the others are sent). */
  cells: Array<{ cellId: string; parts: Part[] }>;
  sample: HeldSample[];
  /** Cells back in the hold they were held by before (its id), values unchanged: no new hold. */
  existing?: string;
}

/** What the worker knows of a claimed cell beyond its values: how it was held before. */
export type JudgedCell = ClaimedCell & { guardApproved?: boolean; heldValues?: Record<string, unknown> | null; lastHold?: string | null };

const SAMPLE = 10;
/** How far back closings already sent count towards guard_close_share_pct. */
export const CLOSING_WINDOW_MINUTES = 10;

export interface Judgement {
  holds: Hold[];
  /** Every cell this pass would close or zero and sends (not held): they count towards the next passes. */
  closings: string[];
}

/** The values a cell's held parts were held with, as stored on the cell (held_values). */
export const heldValuesOf = (p: PushCell, parts: Part[]): Record<string, unknown> =>
  Object.fromEntries(parts.map((part) => [part, partValues(p.values, part)]));

interface Candidate {
  p: PushCell;
  parts: Part[];
  was: string | number | boolean | null;
  now: string | number | boolean | null;
}

/** Field by field: the stored values come back from jsonb, whose key order is its own. */
function sameFields(held: unknown, now: Record<string, unknown>): boolean {
  if (!held || typeof held !== 'object') return false;
  const h = held as Record<string, unknown>;
  return Object.keys(now).length === Object.keys(h).length && Object.entries(now).every(([k, v]) => sameValue(k as keyof OtaValues, h[k], v));
}

/** Splits a guard's candidates: approved with these values (sent), held before with these values (back to their hold), new. */
function settle(candidates: Candidate[], claimed: Map<string, JudgedCell>) {
  const fresh: Candidate[] = [];
  const approved: Candidate[] = [];
  const back = new Map<string, Candidate[]>();
  for (const x of candidates) {
    const c = claimed.get(x.p.cellId);
    const same = !!c?.heldValues && x.parts.every((part) => sameFields(c.heldValues![part], partValues(x.p.values, part)));
    if (same && c!.guardApproved) approved.push(x);
    else if (same && c!.lastHold) (back.get(c!.lastHold) ?? back.set(c!.lastHold, []).get(c!.lastHold)!).push(x);
    else fresh.push(x);
  }
  return { fresh, approved, back };
}

/**
 * How far a cell's rate moves from what the OTA acknowledged, in percent: per occupancy where both
 * sides have occupancy prices (what a per-occupancy OTA rate is sent), the largest move of any
 * number of guests; else the one rate. Null when there is nothing to compare with.
 */
function largestMove(acked: JudgedCell['acked'], now: PushCell['values']): { was: string; now: string; pct: number } | null {
  const ackedOcc = acked.occupancyRates as Record<string, unknown> | null;
  const pairs: Array<{ label: string; was: string; now: string }> =
    ackedOcc && now.occupancyRates
      ? Object.entries(now.occupancyRates)
          .filter(([g]) => ackedOcc[g] != null)
          .map(([g, v]) => ({ label: `${g} guests: `, was: String(ackedOcc[g]), now: v }))
      : acked.rate !== null && now.rate !== null
        ? [{ label: '', was: String(acked.rate), now: now.rate }]
        : [];
  let best: { was: string; now: string; pct: number } | null = null;
  for (const x of pairs) {
    const was = Number(x.was);
    if (!(was > 0)) continue;
    const pct = (Math.abs(Number(x.now) - was) / was) * 100;
    if (!best || pct > best.pct) best = { was: `${x.label}${x.was}`, now: x.now, pct };
  }
  return best;
}

const sampleOf = (xs: Candidate[]): HeldSample[] =>
  xs.slice(0, SAMPLE).map((x) => ({ room: x.p.roomCode, rate: x.p.rateCode, night: x.p.night, was: x.was, now: x.now }));
const cellsOf = (xs: Candidate[]) => xs.map((x) => ({ cellId: x.p.cellId, parts: x.parts }));

/**
 * The holds for a pass: at most one new hold per kind, plus the cells back in earlier holds.
 * `windowCells` is the connection's mapped cells × nights of its window, `recentClosings` the
 * closings it sent in the last CLOSING_WINDOW_MINUTES (both needed only for the closing share).
 */
export function judgeGuards(push: PushCell[], claimed: Map<string, JudgedCell>, guard: GuardSettings, windowCells: number, recentClosings = 0): Judgement {
  const holds: Hold[] = [];
  const backTo = (kind: Hold['kind'], back: Map<string, Candidate[]>) => {
    for (const [existing, xs] of back)
      holds.push({ kind, reason: 'back in its hold: its values are those it was held with', cells: cellsOf(xs), sample: sampleOf(xs), existing });
  };
  if (guard.ratePct !== null) {
    const jumps: Array<Candidate & { pct: number }> = [];
    for (const p of push) {
      const acked = claimed.get(p.cellId)!.acked;
      if (!p.parts.includes('rate') || !acked.rateAcked) continue;
      const jump = largestMove(acked, p.values);
      if (jump && jump.pct > guard.ratePct) jumps.push({ p, parts: ['rate'], ...jump });
    }
    const { fresh, back } = settle(jumps, claimed);
    backTo('rate_change', back);
    if (fresh.length) {
      const worst = (fresh as typeof jumps).reduce((a, b) => (b.pct > a.pct ? b : a));
      holds.push({
        kind: 'rate_change',
        reason:
          `${fresh.length} rate${fresh.length > 1 ? 's' : ''} would move by more than ${guard.ratePct} % (guard_rate_change_pct); ` +
          `the largest: ${worst.p.roomCode}/${worst.p.rateCode} on ${worst.p.night} from ${worst.was} to ${worst.now} (${worst.pct.toFixed(1)} %)`,
        cells: cellsOf(fresh),
        sample: sampleOf(fresh),
      });
    }
  }
  let closings: string[] = [];
  if (guard.closeSharePct !== null && windowCells > 0) {
    const candidates: Candidate[] = [];
    for (const p of push) {
      const c = claimed.get(p.cellId)!;
      const closes = p.parts.includes('restr') && p.values.closed && c.acked.restr && c.acked.closed === false;
      const zeroes = p.parts.includes('avail') && p.values.availability === 0 && c.acked.avail && (c.acked.availability ?? 0) > 0 && c.pmsAvailability > 0;
      // A room type closed at the OTA (Expedia's RoomType@closed) closes every rate of it too.
      const roomCloses = p.parts.includes('avail') && p.values.roomClosed && c.acked.avail && c.acked.roomClosed !== true;
      if (closes || zeroes || roomCloses)
        candidates.push({
          p,
          parts: [...(closes ? (['restr'] as Part[]) : []), ...(zeroes || roomCloses ? (['avail'] as Part[]) : [])],
          was: closes || roomCloses ? 'open' : c.acked.availability,
          now: closes ? 'closed' : roomCloses ? 'room closed' : 0,
        });
    }
    const { fresh, approved, back } = settle(candidates, claimed);
    backTo('closing', back);
    const share = ((recentClosings + fresh.length) / windowCells) * 100;
    if (fresh.length && share > guard.closeSharePct) {
      const before = recentClosings ? ` (with ${recentClosings} closed in the last ${CLOSING_WINDOW_MINUTES} minutes)` : '';
      holds.push({
        kind: 'closing',
        reason:
          `${recentClosings + fresh.length} of the window's ${windowCells} cells (${share.toFixed(1)} %) would close or show 0 rooms${before}, ` +
          `more than ${guard.closeSharePct} % (guard_close_share_pct)`,
        cells: cellsOf(fresh),
        sample: sampleOf(fresh),
      });
    } else closings = fresh.map((x) => x.p.cellId);
    // Approved closings go out too, and count.
    closings.push(...approved.map((x) => x.p.cellId));
  }
  return { holds, closings };
}
