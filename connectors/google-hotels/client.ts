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
import { planRanges, type PlannedRange } from '../outbound/plan.ts';
import { halves, runPushLoop, type PushBatch, type PushProtocol } from '../outbound/push-loop.ts';
import type { OtaValues } from '../outbound/types.ts';
import {
  buildAvailNotifRQ,
  buildInvCountNotifRQ,
  buildRateAmountNotifRQ,
  GOOGLE_MAX_ITEMS,
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
const withDates = <V extends { from: string; to: string }>(rs: Array<PlannedRange<V>>) =>
  rs.map((r) => ({ ...r, value: { ...r.value, from: r.from, to: r.to } }));

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
    if (answer.kind === 'success') return { applied: batch.updates, refused: [], again: [], warnings: [], otaCodes: [], message: null };
    const first = answer.errors[0]!;
    const otaCodes = answer.errors.map((e) => e.code ?? '').filter(Boolean);
    // Nothing of the message is known to be applied: halves, until the refused update stands alone.
    if (batch.updates.length > 1) {
      return {
        applied: [],
        refused: [],
        again: halves(batch),
        warnings: [],
        otaCodes,
        message: `${issueText(first)} (${batch.updates.length} updates: sent again in halves)`,
      };
    }
    const update = batch.updates[0]!;
    return { applied: [], refused: [{ update, error: rejection(first, update) }], again: [], warnings: [], otaCodes, message: issueText(first) };
  },
};

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
  normalize(v: AriValues): OtaValues {
    return {
      availability: v.availability,
      rate: v.rate,
      currency: v.currency,
      minLos: Math.min(Math.max(v.minLos ?? 1, 1), GOOGLE_NO_MAX_LOS),
      maxLos: v.maxLos === null ? null : Math.min(Math.max(v.maxLos, 1), GOOGLE_NO_MAX_LOS),
      closedToArrival: v.closedToArrival,
      closedToDeparture: v.closedToDeparture,
      closed: v.closed,
    };
  },
  push: (ctx, cells) => runPushLoop(ctx, cells, protocol),
};
