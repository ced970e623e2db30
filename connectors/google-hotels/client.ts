/**
 * The Google Hotels connector: deltas as OTA_HotelInvCountNotifRQ (rooms to sell per room type),
 * OTA_HotelRateAmountNotifRQ (rates) and OTA_HotelAvailNotifRQ (restrictions), POSTed as
 * application/xml to the paths of ./messages.ts (developers.google.com/hotels/hotel-prices/
 * dev-guide/ari-overview, "Pushing messages": "Send messages via the HTTP POST method", "Set the
 * Content-Type header to "application/xml""), through the shared push loop.
 *
 * Google authenticates the sender by its IP address ("the list of IP addresses that will be used to
 * authenticate communication and push ARI messages to Google", support.google.com/hotelprices/
 * answer/9435269): there are no credentials; an HTTP 401 or 403 means the address is not on the
 * account's list (an authentication stop, until a probe). Google publishes no HTTP status for
 * errors: 429 and 5xx are retried (the push loop), any other status than 200 stops the connection
 * as an answer outside the protocol. An `<Errors>` answer may leave the whole message unapplied
 * ("An error in one part of a file could cause updates from other parts of the file to not be
 * processed", answer/11190438), so its message is sent again in halves until the refused update
 * stands alone; only that one is recorded and dropped.
 */
import { StayosError } from '../../core/errors.ts';
import type { AriValues } from '../outbound/sql/ari.ts';
import type { Connector, PushCell, PushContext } from '../outbound/connector.ts';
import { planRanges, withDates, type PlannedRange } from '../outbound/plan.ts';
import { halves, runPushLoop, type PushBatch, type PushProtocol } from '../outbound/push-loop.ts';
import type { SyncErrorEntry } from '../outbound/sql/sync.ts';
import { occupancyEntries, type OtaValues } from '../outbound/types.ts';
import {
  buildAvailNotifRQ,
  buildInvCountNotifRQ,
  buildRateAmountNotifRQ,
  GOOGLE_MAX_ITEMS,
  GOOGLE_NO_MAX_ADVANCE,
  GOOGLE_NO_MAX_LOS,
  GOOGLE_PATHS,
  RESTRICTIONS_PER_UPDATE,
  type GoogleInvUpdate,
  type GoogleKind,
  type GoogleMessageOptions,
  type GoogleRateUpdate,
  type GoogleRestrictionUpdate,
} from './messages.ts';
import { parseGoogleAnswer, type GoogleAnswer, type GoogleIssue } from './parser.ts';

type Update = GoogleInvUpdate | GoogleRateUpdate | GoogleRestrictionUpdate;
const ROOT: Record<GoogleKind, string> = { inv: 'OTA_HotelInvCountNotifRS', rate: 'OTA_HotelRateAmountNotifRS', avail: 'OTA_HotelAvailNotifRS' };

/** The connection's message options (settings.partner_key, settings.rate_amounts). */
function optionsOf(ctx: PushContext): GoogleMessageOptions {
  const s = ctx.connection.settings as { partner_key?: string; rate_amounts?: 'after_tax' | 'before_tax' };
  return { partnerKey: s.partner_key, amounts: s.rate_amounts ?? 'after_tax' };
}

const chunks = <T>(xs: T[], size: number): T[][] => Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));

const protocol: PushProtocol<Update, GoogleAnswer> = {
  ota: 'google_hotels',

  batches(_ctx, cells: PushCell[]) {
    const inv = withDates(
      planRanges<GoogleInvUpdate>(
        cells,
        ['avail'],
        (c) => c.roomCode,
        (c) => ({ roomCode: c.roomCode, from: '', to: '', count: c.values.availability }),
      ),
    );
    const rates = withDates(
      planRanges<GoogleRateUpdate>(
        cells,
        ['rate'],
        (c) => `${c.roomCode}|${c.rateCode}`,
        (c) => ({
          roomCode: c.roomCode,
          rateCode: c.rateCode,
          from: '',
          to: '',
          amount: c.values.rate!,
          currency: c.values.currency!,
          // Ascending by guests, so nights with equal prices compare (and merge) as equal.
          ...(c.values.occupancyRates
            ? {
                occupancy: occupancyEntries(c.values.occupancyRates),
              }
            : {}),
        }),
      ),
    );
    const restr = withDates(
      planRanges<GoogleRestrictionUpdate>(
        cells,
        ['restr'],
        (c) => `${c.roomCode}|${c.rateCode}`,
        (c) => ({
          roomCode: c.roomCode,
          rateCode: c.rateCode,
          from: '',
          to: '',
          closed: c.values.closed,
          closedToArrival: c.values.closedToArrival,
          closedToDeparture: c.values.closedToDeparture,
          minLos: c.values.minLos,
          maxLos: c.values.maxLos ?? GOOGLE_NO_MAX_LOS,
          minStayThrough: c.values.minStayThrough ?? 1,
          maxStayThrough: c.values.maxStayThrough ?? GOOGLE_NO_MAX_LOS,
          minAdvanceDays: c.values.minAdvanceDays ?? 0,
          maxAdvanceDays: c.values.maxAdvanceDays ?? GOOGLE_NO_MAX_ADVANCE,
        }),
      ),
    );
    // Inventory first: a night opened by its restrictions is then sold with the right count.
    return [
      ...chunks(inv, GOOGLE_MAX_ITEMS).map((updates) => ({ kind: 'inv', updates })),
      ...chunks(rates, GOOGLE_MAX_ITEMS).map((updates) => ({ kind: 'rate', updates })),
      ...chunks(restr, Math.floor(GOOGLE_MAX_ITEMS / RESTRICTIONS_PER_UPDATE)).map((updates) => ({ kind: 'avail', updates })),
    ] as Array<PushBatch<Update>>;
  },

  async request(ctx, batch) {
    const kind = batch.kind as GoogleKind;
    const hotel = ctx.connection.hotelCode;
    const values = batch.updates.map((r) => r.value);
    const opts = optionsOf(ctx);
    const body =
      kind === 'inv'
        ? buildInvCountNotifRQ(hotel, values as GoogleInvUpdate[], opts)
        : kind === 'rate'
          ? buildRateAmountNotifRQ(hotel, values as GoogleRateUpdate[], opts)
          : buildAvailNotifRQ(hotel, values as GoogleRestrictionUpdate[], opts);
    return { url: `${ctx.connection.endpointUrl.replace(/\/+$/, '')}${GOOGLE_PATHS[kind]}`, body, headers: { 'Content-Type': 'application/xml' } };
  },

  async read(_ctx, answer, batch) {
    const details = { ota: 'google_hotels', httpStatus: answer.status };
    if (answer.status === 401 || answer.status === 403) {
      throw new StayosError(
        'ERR_OTA_AUTH',
        `google_hotels: HTTP ${answer.status}: this server's address is not allowed to push ARI to the account (Hotel Center: the pricing source's IP addresses)`,
        { details },
      );
    }
    if (answer.status !== 200)
      throw new StayosError('ERR_OTA_REJECTED', `google_hotels: HTTP ${answer.status} from ${GOOGLE_PATHS[batch.kind as GoogleKind]}`, { details });
    return parseGoogleAnswer(answer.body, ROOT[batch.kind as GoogleKind]);
  },

  judge(_ctx, batch, answer) {
    const split = batch.meta as Split | undefined;
    if (answer.kind === 'success') {
      const warnings = answer.warnings.map((w) => ({
        severity: 'warning' as const,
        kind: 'ota_warning' as const,
        errorCode: 'OTA_WARNING',
        otaCode: w.code ?? null,
        message: issueText(w),
      }));
      return {
        applied: batch.updates,
        warnings,
        otaCodes: answer.warnings.map((w) => w.code ?? '').filter(Boolean),
        message: answer.warnings[0] ? issueText(answer.warnings[0]) : null,
        ...(split ? settle(split) : { again: [], refused: [] }),
      };
    }
    const first = answer.errors[0]!;
    const otaCodes = answer.errors.map((e) => e.code ?? '').filter(Boolean);
    const error = issueText(first);
    if (split) {
      // One series of a refused message, refused: held until every series answered.
      if (error === split.error) split.refusals += 1;
      split.refused.push({ batch, issue: first });
      if (split.answered + 1 === split.parts && split.refusals === split.parts && split.parts > 1) {
        // Every (room, package) series refused alike, with the message's very error: not one
        // update's fault but the hotel's (a code Google does not know, a partner account not
        // linked). Halving on would cost a request per update and drop every one: the connection
        // stops instead (down, its cells kept, probed again later).
        const stop = {
          kind: 'down' as const,
          retryAfterMs: 0,
          error: new StayosError('ERR_OTA_REJECTED', `${error} (every room and package refused alike: a problem of the hotel, not of one update)`, {
            details: { ota: 'google_hotels', code: first.code },
          }),
        };
        return { applied: [], refused: [], again: [], warnings: [], otaCodes, message: stop.error.message, stop };
      }
      return { applied: [], warnings: [], otaCodes, message: error, status: 'failed', errorCode: 'ERR_OTA_REJECTED', ...settle(split) };
    }
    // Nothing of the message is known to be applied: one message per series first (an unknown room
    // or package is then one series' refusal), then halves, until the refused update stands alone.
    const series = [...new Set(batch.updates.map((u) => u.series))];
    if (series.length > 1) {
      const next: Split = { error, parts: series.length, answered: 0, refusals: 0, refused: [] };
      return {
        applied: [],
        refused: [],
        again: series.map((x) => ({ kind: batch.kind, updates: batch.updates.filter((u) => u.series === x), meta: next })),
        warnings: [],
        otaCodes,
        message: `${error} (${series.length} rooms or packages: sent again one by one)`,
      };
    }
    return { applied: [], warnings: [], otaCodes, message: error, ...alone([{ batch, issue: first }]) };
  },
};

/** The series of a refused message share this: the error it was refused with, how many series there are, how many got the same. */
interface Split {
  error: string;
  parts: number;
  answered: number;
  refusals: number;
  refused: Array<{ batch: PushBatch<Update>; issue: GoogleIssue }>;
}

/** One more series answered; once all have, the refused ones go on alone (see `alone`). */
function settle(split: Split): { again: Array<PushBatch<Update>>; refused: Array<{ covers: PlannedRange<Update>['covers']; error: SyncErrorEntry }> } {
  split.answered += 1;
  return split.answered === split.parts ? alone(split.refused) : { again: [], refused: [] };
}

/** Refused batches of one series: halved while they hold more than one update; a single one is refused for good. */
function alone(list: Split['refused']): { again: Array<PushBatch<Update>>; refused: Array<{ covers: PlannedRange<Update>['covers']; error: SyncErrorEntry }> } {
  return {
    again: list.filter((x) => x.batch.updates.length > 1).flatMap((x) => halves(x.batch)),
    refused: list
      .filter((x) => x.batch.updates.length === 1)
      .map((x) => ({ covers: x.batch.updates[0]!.covers, error: rejection(x.issue, x.batch.updates[0]!) })),
  };
}

const issueText = (i: GoogleIssue) => `google_hotels ${i.code ?? '(no code)'}${i.type ? ` type ${i.type}` : ''}: ${i.text}`;

function rejection(issue: GoogleIssue, r: PlannedRange<Update>) {
  const v = r.value as { roomCode: string; rateCode?: string };
  return {
    severity: 'error' as const,
    kind: 'rejected' as const,
    errorCode: 'ERR_OTA_REJECTED' as const,
    otaCode: issue.code ?? null,
    message: `${issueText(issue)} (room ${v.roomCode}${v.rateCode ? `, package ${v.rateCode}` : ''}, ${r.from}..${r.to})`,
    stayFrom: r.from,
    stayTo: r.to,
  };
}

export const googleHotelsConnector: Connector = {
  channel: 'google_hotels',
  // Google publishes no ARI horizon; the connection's sync window (≤ 500 days) is the bound.
  maxDaysAhead: 500,
  normalize(v: AriValues, settings: Record<string, unknown>): OtaValues {
    const clamp = (n: number, lo: number, hi: number) => Math.min(Math.max(n, lo), hi);
    // A per-occupancy connection is sent the plan's price per number of guests (one BaseByGuestAmt
    // each); a night without them has no price Google could show: closed, its rate not sent. A
    // per-day connection keeps its one price (for two guests).
    const perOccupancy = settings.pricing_model === 'per_occupancy';
    const occupancyRates = perOccupancy && v.occupancyRates && Object.keys(v.occupancyRates).length ? v.occupancyRates : null;
    const unpriced = perOccupancy && occupancyRates === null;
    return {
      availability: v.availability,
      rate: unpriced ? null : v.rate,
      currency: v.currency,
      minLos: clamp(v.minLos ?? 1, 1, GOOGLE_NO_MAX_LOS),
      // No maximum is stated as one no stay reaches: Google documents no way to clear SetMaxLOS.
      maxLos: v.maxLos === null ? GOOGLE_NO_MAX_LOS : clamp(v.maxLos, 1, GOOGLE_NO_MAX_LOS),
      closedToArrival: v.closedToArrival,
      closedToDeparture: v.closedToDeparture,
      // Google has no room-level close we rely on: the room's close closes each package (Master).
      closed: v.closed || v.roomClosed || unpriced,
      occupancyRates,
      // Stay-through and booking offsets, "none" stated as what Google is then told (as maxLos):
      // 1 night, no maximum stay, 0 days, no arrival we sell is further ahead (messages.ts).
      minStayThrough: clamp(v.minStayThrough ?? 1, 1, GOOGLE_NO_MAX_LOS),
      maxStayThrough: v.maxStayThrough === null ? GOOGLE_NO_MAX_LOS : clamp(v.maxStayThrough, 1, GOOGLE_NO_MAX_LOS),
      minAdvanceDays: clamp(v.minAdvanceDays ?? 0, 0, GOOGLE_NO_MAX_ADVANCE),
      maxAdvanceDays: v.maxAdvanceDays === null ? GOOGLE_NO_MAX_ADVANCE : clamp(v.maxAdvanceDays, 0, GOOGLE_NO_MAX_ADVANCE),
      roomClosed: false,
    };
  },
  push: (ctx, cells) => runPushLoop(ctx, cells, protocol),
};
