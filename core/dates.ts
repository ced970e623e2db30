/** Calendar nights as ISO 'YYYY-MM-DD' strings (the form PostgreSQL dates are read in here). */

// Memoised: the CDC consumer asks for the next night of every rate change it reads, and a burst
// repeats the same few hundred dates; Date arithmetic per change was a measurable share of the
// decode path.
const nextDays = new Map<string, string>();

/** The night after `date`. */
export function nextDay(date: string): string {
  let next = nextDays.get(date);
  if (next === undefined) {
    const d = new Date(`${date}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    next = d.toISOString().slice(0, 10);
    if (nextDays.size > 10_000) nextDays.clear();
    nextDays.set(date, next);
  }
  return next;
}

/** The night `n` days after `date` (before it when n < 0). */
export function addDays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Today's calendar date in an IANA time zone (e.g. Europe/Amsterdam), as YYYY-MM-DD. */
export function todayIn(timeZone: string, at = new Date()): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}
