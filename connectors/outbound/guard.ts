/**
 * Guardrails: which cells of a push are held for approval instead of sent (issue 18). Pure: the
 * worker gives the cells it is about to push, with what the OTA last acknowledged, and holds what
 * this returns (sql/holds.ts stores the hold; the API's approve action releases it).
 *
 * - `guard_rate_change_pct`: a rate the OTA acknowledged that would move by more than this
 *   percentage, up or down. A cell with no rate acknowledged yet has nothing to compare with.
 * - `guard_close_share_pct`: a pass that would close cells the OTA shows open, or zero an
 *   availability it shows above 0, for more than this share of the connection's window (its
 *   mapped cells × nights). Availability the PMS itself has run out of (rooms sold, blocked, out of
 *   order) is never held: holding it would sell rooms that do not exist. Only a zero the channel's
 *   rules make (a cap, an offset) counts.
 * Cells approved once (`guardApproved`) are sent as they are.
 */
import type { PushCell } from './connector.ts';
import type { ClaimedCell } from './sql/ari.ts';
import type { Part } from './types.ts';

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
}

const SAMPLE = 10;

/**
 * The holds for a pass: at most one per kind. `windowCells` is the connection's mapped cells ×
 * nights of its window (needed only for the closing share).
 */
export function judgeGuards(
  push: PushCell[],
  claimed: Map<string, ClaimedCell & { guardApproved?: boolean }>,
  guard: GuardSettings,
  windowCells: number,
): Hold[] {
  const holds: Hold[] = [];
  const judged = push.filter((p) => !claimed.get(p.cellId)?.guardApproved);
  if (guard.ratePct !== null) {
    const jumps: Array<{ p: PushCell; was: string; pct: number }> = [];
    for (const p of judged) {
      const acked = claimed.get(p.cellId)!.acked;
      if (!p.parts.includes('rate') || !acked.rateAcked || acked.rate === null || p.values.rate === null) continue;
      const was = Number(acked.rate);
      if (!(was > 0)) continue;
      const pct = (Math.abs(Number(p.values.rate) - was) / was) * 100;
      if (pct > guard.ratePct) jumps.push({ p, was: acked.rate, pct });
    }
    if (jumps.length) {
      const worst = jumps.reduce((a, b) => (b.pct > a.pct ? b : a));
      holds.push({
        kind: 'rate_change',
        reason:
          `${jumps.length} rate${jumps.length > 1 ? 's' : ''} would move by more than ${guard.ratePct} % (guard_rate_change_pct); ` +
          `the largest: ${worst.p.roomCode}/${worst.p.rateCode} on ${worst.p.night} from ${worst.was} to ${worst.p.values.rate} (${worst.pct.toFixed(1)} %)`,
        cells: jumps.map((j) => ({ cellId: j.p.cellId, parts: ['rate'] as Part[] })),
        sample: jumps.slice(0, SAMPLE).map((j) => ({ room: j.p.roomCode, rate: j.p.rateCode, night: j.p.night, was: j.was, now: j.p.values.rate })),
      });
    }
  }
  if (guard.closeSharePct !== null && windowCells > 0) {
    const closing: Array<{ p: PushCell; parts: Part[]; was: string | number | boolean | null; now: string | number | boolean | null }> = [];
    for (const p of judged) {
      const c = claimed.get(p.cellId)!;
      const closes = p.parts.includes('restr') && p.values.closed && c.acked.restr && c.acked.closed === false;
      const zeroes = p.parts.includes('avail') && p.values.availability === 0 && c.acked.avail && (c.acked.availability ?? 0) > 0 && c.pmsAvailability > 0;
      if (closes || zeroes)
        closing.push({
          p,
          parts: [...(closes ? (['restr'] as Part[]) : []), ...(zeroes ? (['avail'] as Part[]) : [])],
          was: closes ? 'open' : c.acked.availability,
          now: closes ? 'closed' : 0,
        });
    }
    const share = (closing.length / windowCells) * 100;
    if (share > guard.closeSharePct) {
      holds.push({
        kind: 'closing',
        reason:
          `${closing.length} of the window's ${windowCells} cells (${share.toFixed(1)} %) would close or show 0 rooms at once, ` +
          `more than ${guard.closeSharePct} % (guard_close_share_pct)`,
        cells: closing.map((x) => ({ cellId: x.p.cellId, parts: x.parts })),
        sample: closing.slice(0, SAMPLE).map((x) => ({ room: x.p.roomCode, rate: x.p.rateCode, night: x.p.night, was: x.was, now: x.now })),
      });
    }
  }
  return holds;
}
