/**
 * Which updates of a Booking.com ARI request a Warning or Error names. Booking.com's reference
 * (developers.booking.com/connectivity/docs/api-reference/error, …/warning): an Error may carry
 * `@RecordID`, the "ID of the request element that caused the error" (our `LocatorID`, the update's
 * 1-based index); a Warning has no such attribute and names its subject in `@ShortText` (the
 * published example: "You do not have access to hotel:123456"). The v1.1 messages name rooms and
 * dates in quotes ("Room ID '%s' is not valid"; NOT_A_VALID_DATE: "Dates should be in YYYY-MM-DD
 * format, not before '%s',and not be past '%s'"; b_xml-availability-troubleshooting). Where the
 * reference is silent we accept every legal variant: `@RPH` like `@RecordID`, the item in the
 * element's text as well as in ShortText. An issue that names none of the request's updates names
 * nothing: the caller decides what that means for the request.
 */
import type { PlannedRange } from '../outbound/plan.ts';
import type { OtaIssue } from './parser.ts';

interface Item {
  roomCode: string;
  rateCode?: string | undefined;
  from: string;
  to: string;
}

const DATE = /\b(\d{4}-\d{2}-\d{2})\b/g;

/** Indexes (0-based) of the updates `issue` names. */
export function namedUpdates(issue: OtaIssue, batch: Array<PlannedRange<Item>>): number[] {
  if (issue.rph !== undefined && issue.rph >= 1 && issue.rph <= batch.length) return [issue.rph - 1];
  const text = `${issue.shortText ?? ''} ${issue.text ?? ''}`;
  const rooms = [...text.matchAll(/\bRoom(?:\s*type)?\s*(?:ID|id|code)?\s*[:=]?\s*'([^']{1,64})'/gi)]
    .map((m) => m[1]!)
    .concat([...text.matchAll(/\b(?:room|room_id|InvTypeCode)\s*[:=]\s*([A-Za-z0-9_.-]{1,64})/gi)].map((m) => m[1]!));
  const rates = [...text.matchAll(/\bRate(?:\s*plan)?\s*(?:ID|id|code)?\s*[:=]?\s*'([^']{1,64})'/gi)]
    .map((m) => m[1]!)
    .concat([...text.matchAll(/\b(?:rate|rate_id|RatePlanCode)\s*[:=]\s*([A-Za-z0-9_.-]{1,64})/gi)].map((m) => m[1]!));
  const window = /not before '(\d{4}-\d{2}-\d{2})'.*?not be past '(\d{4}-\d{2}-\d{2})'/i.exec(text);
  const dates = window ? [] : [...text.matchAll(DATE)].map((m) => m[1]!);
  if (!rooms.length && !rates.length && !window && !dates.length) return [];
  const out: number[] = [];
  batch.forEach((r, i) => {
    const v = r.value;
    if (rooms.length && !rooms.includes(v.roomCode)) return;
    if (rates.length && (!v.rateCode || !rates.includes(v.rateCode))) return;
    if (window && r.from >= window[1]! && r.to <= window[2]!) return;
    if (dates.length && !dates.some((d) => d >= r.from && d <= r.to)) return;
    out.push(i);
  });
  return out;
}
