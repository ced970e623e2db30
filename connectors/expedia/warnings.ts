/**
 * Expedia AR warnings, read per item. A `<Success>` with warnings means "the update request could
 * only be partially applied" (developers.expediagroup.com/supply/lodging/docs/avail_and_rate_apis/
 * avail_rates/reference/response); "anything that is not explicitly listed as a warning has been
 * successfully processed" (EQC AR guides). A warning names its item only in its text, in two
 * published layouts:
 *  - `[Room Type ID 32241; Rate Plan ID 23123; Stay Date 2012-08-01] One or more costs …` (sample ar_20);
 *  - `Warning 1 out of 120 for this cause. Inventory date 2011-08-30; Room Type ID 352546; …`
 *    (EQC guides), with at most 20 warnings per cause, the 20th adding "Remaining N warnings will
 *    not be returned".
 * A named item is not acknowledged: it was refused (7019/7021 rate outside the verification
 * threshold, 7014/7010 a close refused, 7023/7024 linked plans) or applied with another value than
 * sent (7013 raised to the base allocation, 7018 capped at 4999), so the OTA does not show what we
 * sent either way. Only 7022 (inactive rate plan updated) says the update was applied as sent. The
 * code alone is not trusted (ar_20 labels a rate-threshold warning 7013): the text decides whether
 * the item is a rate, a restriction or the room's inventory.
 */
import type { SyncErrorEntry } from '../outbound/sql/sync.ts';
import type { Part } from '../outbound/types.ts';
import type { PlannedRange } from '../outbound/plan.ts';
import type { ArUpdate } from './ar-message.ts';
import type { ArIssue } from './parser.ts';

/** Applied as sent, by Expedia's own words ("The update was processed; however this product will
 * never be sold until … activates"). */
const APPLIED_CODES = new Set([7022]);

export interface WarningItem {
  room?: string;
  ratePlan?: string;
  date?: string;
  /** "Remaining N warnings will not be returned": N items of this cause are not listed. */
  unlisted?: number;
}

export function warningItem(text: string): WarningItem {
  const pick = (re: RegExp) => re.exec(text)?.[1];
  const unlisted = pick(/Remaining (\d+) warnings? will not be returned/i);
  return {
    room: pick(/Room Type ID:?\s*([^;\]\s]+)/i),
    ratePlan: pick(/Rate Plan ID:?\s*([^;\]\s]+)/i),
    date: pick(/(?:Inventory date|Stay Date|Date):?\s*(\d{4}-\d{2}-\d{2})/i),
    ...(unlisted ? { unlisted: Number(unlisted) } : {}),
  };
}

/** The part each documented warning is about (EQC AR guides, "AR Response Business Warnings"). */
const CODE_PARTS: Record<number, Part[]> = {
  7009: ['rate'],
  7019: ['rate'],
  7021: ['rate'],
  7024: ['rate'],
  7025: ['rate'],
  7027: ['rate'],
  7014: ['restr'],
  7016: ['restr'],
  7023: ['restr'],
  7026: ['restr'],
  7010: ['avail'],
  7013: ['avail'],
  7018: ['avail'],
};

/**
 * The parts a warning is about. Its text decides when it names what it is about (sample ar_20
 * labels a rate-threshold warning 7013, the inventory code): "costs", "rate" → the rate;
 * "restriction", "LOS", "close" → the restrictions; else the code's documented part; else the
 * room's inventory without a rate plan, both rate-plan parts with one. The item fields are cut off
 * first: every item names its "Rate Plan ID".
 */
function partsOf(w: ArIssue, item: WarningItem): Part[] {
  const text = w.message
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/(Inventory date|Stay Date|Room Type ID|Rate Plan ID|Occupancy|Length of stay):?\s*[^;\]]*;?/gi, ' ');
  const rate = /\b(rates?|costs?|prices?|amounts?)\b/i.test(text);
  const restr = /\b(restrictions?|LOS|MinLOS|MaxLOS|length of stay|close|closed|open)\b/i.test(text);
  if (rate !== restr && item.ratePlan) return rate ? ['rate'] : ['restr'];
  const byCode = CODE_PARTS[w.code];
  if (byCode && (item.ratePlan || byCode[0] === 'avail')) return byCode;
  return item.ratePlan ? ['rate', 'restr'] : ['avail'];
}

export interface WarningOutcome {
  /** Covers the OTA did not apply as sent: not acknowledged, recorded on their cells. */
  refused: Array<{ covers: Array<{ cellId: string; part: Part }>; error: SyncErrorEntry; value: boolean }>;
  /** Warnings that name no item of the request (recorded on the connection; its items count as applied). */
  general: SyncErrorEntry[];
}

/**
 * Splits a successful answer's warnings into refused covers (per item) and general warnings.
 * `nightOf` gives a cell's night (covers carry only the cell id).
 */
export function readWarnings(warnings: ArIssue[], batch: Array<PlannedRange<ArUpdate>>, nightOf: (cellId: string) => string | undefined): WarningOutcome {
  const out: WarningOutcome = { refused: [], general: [] };
  for (const w of warnings) {
    const text = `expedia ${w.code}: ${w.message}`;
    const item = warningItem(w.message);
    const general = { severity: 'warning' as const, kind: 'ota_warning' as const, errorCode: 'OTA_WARNING', otaCode: String(w.code), message: text };
    if (APPLIED_CODES.has(w.code) || !item.room) {
      out.general.push(general);
      continue;
    }
    const parts = partsOf(w, item);
    const matches = (r: PlannedRange<ArUpdate>) =>
      r.value.roomTypeId === item.room && (item.ratePlan ? r.value.ratePlan?.id === item.ratePlan : r.value.availability !== undefined);
    for (const r of batch.filter(matches)) {
      if (item.date && (item.date < r.from || item.date > r.to)) continue;
      const covers = r.covers.filter((c) => parts.includes(c.part) && (!item.date || nightOf(c.cellId) === item.date));
      if (covers.length) {
        out.refused.push({
          covers,
          value: true,
          error: {
            severity: 'error',
            kind: 'rejected',
            errorCode: 'ERR_OTA_REJECTED',
            otaCode: String(w.code),
            message: text,
            stayFrom: item.date ?? r.from,
            stayTo: item.date ?? r.to,
          },
        });
      }
    }
    if (item.unlisted) {
      // Expedia stopped listing this cause: every item of the same kind for the same room type (and
      // rate plan) in the request may be one of the unlisted. Not acknowledged (the OTA may not show
      // them), but not remembered as refused: the next change of the cell sends them again.
      const kind = (r: PlannedRange<ArUpdate>) =>
        r.value.roomTypeId === item.room && (item.ratePlan ? r.value.ratePlan?.id === item.ratePlan : r.value.availability !== undefined);
      for (const r of batch.filter(kind)) {
        const covers = r.covers.filter((c) => parts.includes(c.part));
        if (covers.length) {
          out.refused.push({
            covers,
            value: false,
            error: {
              severity: 'error',
              kind: 'rejected',
              errorCode: 'ERR_OTA_REJECTED',
              otaCode: String(w.code),
              message: `expedia ${w.code}: ${item.unlisted} more warnings of this cause were not listed; the outcome of these items is unknown (${w.message.slice(0, 300)})`,
              stayFrom: r.from,
              stayTo: r.to,
            },
          });
        }
      }
    }
  }
  return out;
}
