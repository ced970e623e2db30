/**
 * Delta compression for outbound ARI: per (room, rate) cells of equal values on consecutive nights
 * become one date range, as both OTAs ask ("batch by contiguous date ranges"). OTA ranges are
 * inclusive of their last night (OpenTravel and Expedia alike); StayOS nights are single dates.
 */
import { nextDay } from '../../core/dates.ts';

export interface NightValue<V> {
  /** What identifies the series (e.g. OTA room + rate code); ranges never cross series. */
  series: string;
  night: string; // YYYY-MM-DD
  value: V;
}

export interface NightRange<V> {
  series: string;
  from: string;
  to: string; // inclusive
  value: V;
}

/** Values compare by their JSON form: plain data only. Output is ordered by series, then date. */
export function compressNights<V>(cells: Array<NightValue<V>>): Array<NightRange<V>> {
  const sorted = [...cells].sort((a, b) => (a.series < b.series ? -1 : a.series > b.series ? 1 : a.night < b.night ? -1 : a.night > b.night ? 1 : 0));
  const out: Array<NightRange<V> & { key: string }> = [];
  for (const c of sorted) {
    const key = JSON.stringify(c.value);
    const last = out.at(-1);
    if (last && last.series === c.series && last.key === key && nextDay(last.to) === c.night) last.to = c.night;
    else if (!(last && last.series === c.series && last.to === c.night)) out.push({ series: c.series, from: c.night, to: c.night, value: c.value, key });
    else throw new Error(`compressNights: night ${c.night} of ${c.series} given twice`);
  }
  return out.map(({ key: _key, ...r }) => r);
}
