/**
 * The Expedia connector: deltas as AvailRateUpdateRQ messages to `${endpoint_url}/eqc/ar`, within
 * Expedia's limits (≤ 5,000 updates, ≤ 100 KB per message), one request at a time per hotel (the
 * worker holds the connection's lock for the whole push), each answer acted on by error family
 * (../shared/ota/README.md): an `<Error>` means nothing in the message was applied.
 */
import { StayosError } from '../../core/errors.ts';
import type { AriValues } from '../outbound/sql/ari.ts';
import type { OtaValues } from '../outbound/types.ts';
import type { Connector, PushCell, PushContext, PushOutcome } from '../outbound/connector.ts';
import { ackedCells, cellIdsOf, packGreedy, planRanges, type PlannedRange } from '../outbound/plan.ts';
import { post, withRetries } from '../outbound/resilience.ts';
import { AR_MAX_BYTES, AR_MAX_UPDATES, arUpdateCount, buildAvailRateUpdateRQ, type ArUpdate } from './ar-message.ts';
import { arErrorFamily, parseAvailRateUpdateRS, type ArIssue } from './parser.ts';
import { arRate, expediaPricingOf } from './pricing.ts';
import { readWarnings } from './warnings.ts';

/** Expedia's own "no maximum" for maxLOS (its schema allows 1–28). */
const EXPEDIA_MAX_LOS = 28;

type Planned = PlannedRange<ArUpdate>;

export const expediaConnector: Connector = {
  channel: 'expedia',
  maxDaysAhead: 730, // "dates from yesterday to 2 years ahead" (3020/3022)

  normalize(v: AriValues, settings): OtaValues {
    return {
      availability: v.availability,
      rate: v.rate === null ? null : arRate(v.rate, expediaPricingOf(settings)),
      currency: v.currency,
      minLos: Math.min(Math.max(v.minLos ?? 1, 1), EXPEDIA_MAX_LOS),
      maxLos: v.maxLos === null ? EXPEDIA_MAX_LOS : Math.min(Math.max(v.maxLos, 1), EXPEDIA_MAX_LOS),
      closedToArrival: v.closedToArrival,
      closedToDeparture: v.closedToDeparture,
      // A minimum stay Expedia cannot express (its minLOS is 1–28) would be sent as 28, selling
      // stays the PMS forbids: no stay of the rate is sellable, so it is closed instead.
      closed: v.closed || (v.minLos ?? 1) > EXPEDIA_MAX_LOS,
    };
  },

  async push(ctx, cells) {
    const out: PushOutcome = { acked: [], rejected: [], warnings: [], requests: 0 };
    const ranges = plan(cells);
    const queue = chunk(ranges);
    const nights = new Map(cells.map((c) => [c.cellId, c.night]));
    while (queue.length) {
      const batch = queue.shift()!;
      const r = await send(ctx, batch, out, (id) => nights.get(id));
      if (r === 'stop') return out;
      if (r === 'split') queue.unshift(...split(batch));
    }
    return out;
  },
};

/** Room-level inventory per (room, night); rate plan values per (room, rate, night). */
function plan(cells: PushCell[]): Planned[] {
  const inventory = planRanges<ArUpdate>(
    cells,
    ['avail'],
    (c) => `inv|${c.roomCode}`,
    (c) => ({
      from: '',
      to: '',
      roomTypeId: c.roomCode,
      availability: c.values.availability,
    }),
  );
  const ratePlans = planRanges<ArUpdate>(
    cells,
    ['rate', 'restr'],
    (c) => `rp|${c.roomCode}|${c.rateCode}`,
    (c, parts) => ({
      from: '',
      to: '',
      roomTypeId: c.roomCode,
      ratePlan: {
        id: c.rateCode,
        ...(parts.includes('restr')
          ? {
              closed: c.values.closed,
              restrictions: {
                minLos: c.values.minLos,
                maxLos: c.values.maxLos,
                closedToArrival: c.values.closedToArrival,
                closedToDeparture: c.values.closedToDeparture,
              },
            }
          : {}),
        ...(parts.includes('rate') && c.values.rate !== null ? { rate: { amount: c.values.rate, currency: c.values.currency! } } : {}),
      },
    }),
  );
  return [...inventory, ...ratePlans].map((r) => ({ ...r, value: { ...r.value, from: r.from, to: r.to } }));
}

const auth = (ctx: PushContext) => {
  const c = ctx.connection.credentials as { username?: unknown; password?: unknown } | null;
  if (typeof c?.username !== 'string' || typeof c?.password !== 'string') {
    throw new StayosError('ERR_OTA_AUTH', 'expedia: the connection has no username/password credentials');
  }
  return { username: c.username, password: c.password, hotelId: ctx.connection.hotelCode };
};

/**
 * Greedy packing under both limits, in date-range then room order, so that updates the message
 * writes together (one AvailRateUpdate per range, one RoomType per room within it) are neighbours.
 * An update's bytes are estimated from its attribute values plus the exact cost of its element
 * structure, measured once per shape (which elements it has) and per relation to the update before
 * it (a new range, the same range and a new room, the same room); `send` checks the real message
 * and halves it if the estimate was ever short.
 */
function chunk(ranges: Planned[]): Planned[][] {
  if (!ranges.length) return [];
  const probe = { username: 'u', password: 'p', hotelId: '1' };
  const bytes = (updates: ArUpdate[]) => Buffer.byteLength(buildAvailRateUpdateRQ(probe, updates));
  const first = ranges[0]!.value;
  const envelope = 2 * bytes([first]) - bytes([first, { ...first, from: '0000-00-00', to: '0000-00-00' }]); // the message without updates
  const values = (u: ArUpdate) => JSON.stringify(u).replace(/"[A-Za-z]+":|[{}"\[\],]/g, '').length;
  const shape = (u: ArUpdate) => JSON.stringify(u, (_k, v) => (typeof v === 'object' && v !== null ? v : 0));
  const relation = (u: ArUpdate, p: ArUpdate | undefined) =>
    !p || p.from !== u.from || p.to !== u.to ? 'range' : p.roomTypeId !== u.roomTypeId ? 'room' : 'same';
  const structures = new Map<string, number>();
  const cost = (r: Planned, previous: Planned | undefined) => {
    const u = r.value;
    const rel = relation(u, previous?.value);
    const key = `${rel}|${shape(u)}`;
    let structure = structures.get(key);
    if (structure === undefined) {
      // What `u` adds after a neighbour in that relation (same-length stand-ins for range and room).
      const before =
        rel === 'range' ? { ...u, from: '0000-00-00', to: '0000-00-00' } : rel === 'room' ? { ...u, roomTypeId: u.roomTypeId.replace(/./g, '0') } : u;
      structure = bytes([before, u]) - bytes([before]) - values(u);
      structures.set(key, structure);
    }
    return structure + values(u);
  };
  // Within a room, its inventory first: the schema writes it before the rate plans, and so an
  // inventory update never follows a neighbour of the same room.
  const ordered = ranges
    .map((r) => ({ r, key: `${r.from}|${r.to}|${r.value.roomTypeId}|${r.value.availability === undefined ? 1 : 0}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.r);
  // 512 bytes of room for the real credentials and hotel id.
  return packGreedy(ordered, cost, AR_MAX_BYTES - envelope - 512, AR_MAX_UPDATES, (r) => arUpdateCount(r.value));
}

/** A message refused for a mapping error is resent one (room, rate) series at a time, so only the
 * unmapped series is flagged; any other refused message, or one over a limit, in halves. */
function split(batch: Planned[]): Planned[][] {
  const by = new Map<string, Planned[]>();
  for (const r of batch) (by.get(r.series) ?? by.set(r.series, []).get(r.series)!).push(r);
  if (by.size > 1 && by.size <= 64) return [...by.values()];
  const half = Math.ceil(batch.length / 2);
  return [batch.slice(0, half), batch.slice(half)];
}

async function send(ctx: PushContext, batch: Planned[], out: PushOutcome, nightOf: (cellId: string) => string | undefined): Promise<'ok' | 'stop' | 'split'> {
  const started = performance.now();
  const cellIds = cellIdsOf(batch);
  const base = { kind: 'ar' as const, cells: cellIds.length, ranges: batch.length };
  let bytes = 0;
  let attempts = 0;
  try {
    const xml = buildAvailRateUpdateRQ(
      auth(ctx),
      batch.map((r) => r.value),
    );
    bytes = Buffer.byteLength(xml);
    if ((bytes > AR_MAX_BYTES || batch.reduce((n, r) => n + arUpdateCount(r.value), 0) > AR_MAX_UPDATES) && batch.length > 1) return 'split';
    const res = await withRetries(
      { maxAttempts: ctx.settings.maxAttempts, initialDelayMs: ctx.settings.retryInitialMs, maxDelayMs: ctx.settings.retryMaxMs },
      async () => {
        await ctx.rateLimits.take(ctx.connection.id, ctx.settings.perMinute, ctx.signal);
        const answer = await post(
          `${ctx.connection.endpointUrl.replace(/\/+$/, '')}/eqc/ar`,
          xml,
          { 'Content-Type': 'text/xml; charset=utf-8' },
          ctx.settings.timeoutMs,
          'expedia',
          ctx.signal,
        );
        // "401 … (no body)" (EG AR error-messaging): the credentials, not an outage.
        if (answer.status === 401)
          throw new StayosError('ERR_OTA_AUTH', 'expedia: HTTP 401, the credentials were refused', { details: { ota: 'expedia', httpStatus: 401 } });
        const parsed = await parseAvailRateUpdateRS(answer.body);
        if (parsed.kind === 'error') {
          const retryable = parsed.errors.find((e) => arErrorFamily(e.code) === 'retry' || e.code === 3210);
          if (retryable)
            throw new StayosError('ERR_OTA_UNAVAILABLE', `expedia ${retryable.code}: ${retryable.message}`, {
              details: { ota: 'expedia', code: retryable.code, httpStatus: answer.status },
            });
        }
        return { parsed, status: answer.status };
      },
      ctx.signal,
    );
    attempts = res.attempts;
    out.requests += res.attempts;
    const { parsed, status } = res.value;
    const codes = (parsed.kind === 'error' ? parsed.errors : parsed.warnings).map((e) => String(e.code));
    const duration = performance.now() - started;
    if (parsed.kind === 'success') {
      // Items a warning names were not applied as sent: not acknowledged, recorded on their cells.
      const { refused, general } = readWarnings(parsed.warnings, batch, nightOf);
      const notApplied = new Set(refused.flatMap((r) => r.covers.map((c) => `${c.cellId}|${c.part}`)));
      await ctx.logRequest({
        ...base,
        bytes,
        status: notApplied.size ? 'partial' : 'success',
        httpStatus: status,
        otaCodes: codes,
        errorCode: null,
        message: parsed.warnings.length ? `expedia ${parsed.warnings[0]!.code}: ${parsed.warnings[0]!.message}` : null,
        attempts,
        durationMs: duration,
      });
      out.acked.push(...ackedCells(batch.map((r) => ({ covers: r.covers.filter((c) => !notApplied.has(`${c.cellId}|${c.part}`)) }))));
      out.rejected.push(...refused);
      out.warnings.push(...general);
      return 'ok';
    }
    return refused(ctx, batch, parsed.errors, out, { ...base, bytes, httpStatus: status, otaCodes: codes, attempts, durationMs: duration });
  } catch (err) {
    const e =
      err instanceof StayosError
        ? err
        : ctx.signal.aborted
          ? new StayosError('ERR_OTA_UNAVAILABLE', 'expedia: stopped (the worker is shutting down)', { cause: err })
          : new StayosError('ERR_INTERNAL', `expedia push failed: ${(err as Error).message}`, { cause: err });
    attempts = (e as StayosError & { attempts?: number }).attempts ?? Math.max(attempts, 1);
    out.requests += attempts;
    await ctx.logRequest({
      ...base,
      bytes,
      status: 'failed',
      httpStatus: Number(e.details?.httpStatus ?? 0) || null,
      otaCodes: e.details?.code ? [String(e.details.code)] : [],
      errorCode: e.code,
      message: e.message,
      attempts,
      durationMs: performance.now() - started,
    });
    // A failure of our own (the database under the rate limit or the log, a bug) backs off like an
    // outage: the breaker marks the connection down after repeated failures, and the error table
    // shows it. Only the OTA refusing our credentials stops the connection until a probe.
    // A URL that is not Expedia's (set by hand past the API's check) stops it too, naming the URL.
    out.stop = {
      kind: e.code === 'ERR_OTA_AUTH' ? 'auth' : e.code === 'ERR_OTA_HOST_NOT_ALLOWED' ? 'down' : 'unavailable',
      error: e,
      retryAfterMs: Number(e.details?.retryAfterMs ?? 0),
    };
    return 'stop';
  }
}

/** An `<Error>` answer that retrying cannot fix, by family. */
async function refused(
  ctx: PushContext,
  batch: Planned[],
  errors: ArIssue[],
  out: PushOutcome,
  log: { kind: 'ar'; cells: number; ranges: number; bytes: number; httpStatus: number; otaCodes: string[]; attempts: number; durationMs: number },
): Promise<'stop' | 'split' | 'ok'> {
  const first = errors[0]!;
  const family = arErrorFamily(first.code);
  const text = `expedia ${first.code}: ${first.message}`;
  await ctx.logRequest({ ...log, status: 'failed', errorCode: family === 'auth' ? 'ERR_OTA_AUTH' : 'ERR_OTA_REJECTED', message: text });
  if (family === 'auth') {
    out.stop = { kind: 'auth', error: new StayosError('ERR_OTA_AUTH', text, { details: { ota: 'expedia', code: first.code } }), retryAfterMs: 0 };
    return 'stop';
  }
  if (family === 'mapping' && first.code === 3202) {
    out.stop = {
      kind: 'down',
      error: new StayosError('ERR_OTA_REJECTED', `${text} (the hotel id is not mapped at Expedia)`, { details: { ota: 'expedia', code: first.code } }),
      retryAfterMs: 0,
    };
    return 'stop';
  }
  if (family === 'mapping' && new Set(batch.map((r) => r.series)).size > 1) return 'split';
  // Anything else refused (a bug family, a limit our packing missed, an unlisted code): nothing
  // was applied and the answer does not say which update is at fault, so the message is resent in
  // halves until the refused update stands alone; only that one is recorded and dropped.
  if (family !== 'mapping' && batch.length > 1) return 'split';
  const sample = batch[0]!;
  const [room, rate] = sample.series.split('|').slice(1);
  out.rejected.push({
    covers: batch.flatMap((r) => r.covers),
    error: {
      severity: 'error',
      kind: family === 'mapping' ? 'mapping' : 'rejected',
      errorCode: 'ERR_OTA_REJECTED',
      otaCode: String(first.code),
      message: family === 'mapping' ? `${text} (Expedia room ${room}${rate ? `, rate plan ${rate}` : ''})` : text,
      stayFrom: batch.reduce((m, r) => (r.from < m ? r.from : m), batch[0]!.from),
      stayTo: batch.reduce((m, r) => (r.to > m ? r.to : m), batch[0]!.to),
    },
  });
  return 'ok';
}
