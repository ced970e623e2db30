/**
 * A Booking.com stand-in for tests and benchmarks: token exchange, `OTA_HotelAvailNotif` and
 * `OTA_HotelRateAmountNotif` as the supply XML API v1.1 answers them (200 + `<Success/>` with a
 * Warning per failed item if anything was applied, 400 + `<Errors>` if nothing was, 403 for a hotel
 * the token may not touch) and injected faults; a Fastify plugin mounted under a prefix. Invariants:
 * a faulted request changes nothing (`slow` then runs normally); availability is room-level, shown on
 * every rate of the room; each item is validated alone, so one bad item never blocks the others.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { parseStringPromise } from 'xml2js';
import { buildXml } from '../../core/xml.ts';
import { z } from 'zod';
import { nextDay } from '../../core/dates.ts';
import { controlRoutes } from '../sandbox/control.ts';
import { FaultInjector } from '../sandbox/faults.ts';
import { sandboxKey, type SandboxCell } from '../types.ts';
import { BOOKING_LIMIT_MAX, OTA_NAMESPACE, OTA_PAYLOAD_VERSION } from './messages.ts';
import { XML2JS_OPTIONS } from './parser.ts';
import { ReservationQueue, type QueueKind, type SandboxReservation } from './sandbox-reservations.ts';
import { attr, kid, kids, parseInboundXml, textOf } from '../../inbound/index.ts';

export interface BookingSandboxOptions {
  accounts: Array<{ clientId: string; clientSecret: string; hotels: string[] }>;
  tokenTtlSeconds?: number; // default 3600
  faults?: unknown; // FaultPlan input
  // Optional catalogue: for a hotel listed, unknown room/rate codes are rejected per item.
  products?: Record<string, { rooms: string[]; rates: string[] }>;
  now?: () => Date;
}

const TOKENS_PER_HOUR = 30; // Booking.com: at most 30 tokens per hour per machine account
const HOUR_MS = 3_600_000;
const MAX_NIGHTS = 1100; // a range longer than ~3 years is a bug in the sender (and would stall this loop)
const MAX_ERRORS = 99; // OTA ErrorsType allows at most 99 Error elements
const TOKEN_PATH = '/token-based-authentication/exchange';
const AVAIL_PATH = '/hotels/ota/OTA_HotelAvailNotif';
const RATE_PATH = '/hotels/ota/OTA_HotelRateAmountNotif';
const RES_PATH = { new: '/hotels/ota/OTA_HotelResNotif', modify: '/hotels/ota/OTA_HotelResModifyNotif' } as const;
const ACK_ROOT = { new: 'OTA_HotelResNotifRS', modify: 'OTA_HotelResModifyNotifRS' } as const;

/** OpenTravel code lists: EWT (the Type of an error/warning) and ERR (its Code). */
const EWT = { bizRule: '3', authentication: '4', authorization: '6', protocol: '7', requiredField: '10', processing: '12' };
const ERR = { invalidDate: '15', invalidRate: '249', invalidValue: '320', requiredField: '321', invalidRoom: '402', unableToProcess: '450', authorization: '497' };

interface Issue {
  type: string;
  code: string;
  shortText: string; // Booking.com's symbolic name; ≤ 64 characters (OTA StringLength1to64)
  text: string;
  rph?: number;
}
type Resumed = 'elapsed' | 'client-gone' | 'closing';
type Held = (why: Resumed) => void;
type Kind = 'avail' | 'rate';
const RS = { avail: 'OTA_HotelAvailNotifRS', rate: 'OTA_HotelRateAmountNotifRS' } as const;
const RQ = { avail: 'OTA_HotelAvailNotifRQ', rate: 'OTA_HotelRateAmountNotifRQ' } as const;

// ---- request schemas (xml2js with explicitArray: zod decides what occurs once) ----
const one = <T extends z.ZodType>(item: T) => z.array(item).length(1);
const code = z.string().min(1);
const uint = z.string().regex(/^\d{1,9}$/, 'must be a non-negative integer').transform(Number);
const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'is not a calendar date');
const sac = one(z.object({ $: z.object({ Start: date, End: date, InvTypeCode: code, RatePlanCode: code.optional() }) }));

const availItemSchema = z.object({
  $: z.object({ BookingLimit: uint.pipe(z.number().max(BOOKING_LIMIT_MAX, `BookingLimit must be 0–${BOOKING_LIMIT_MAX}`)).optional() }).optional(),
  StatusApplicationControl: sac,
  LengthsOfStay: one(z.object({ LengthOfStay: z.array(z.object({ $: z.object({ MinMaxMessageType: z.enum(['SetMinLOS', 'SetMaxLOS']), Time: uint }) })).min(1) })).optional(),
  RestrictionStatus: one(z.object({ $: z.object({ Status: z.enum(['Open', 'Close']), Restriction: z.enum(['Master', 'Arrival', 'Departure']).default('Master') }) })).optional(),
});
const amount = z.object({ $: z.object({ AmountAfterTax: z.string().regex(/^\d{1,12}(\.\d{1,3})?$/, 'must be a decimal amount'), CurrencyCode: z.string().regex(/^[A-Z]{3}$/, 'must be ISO 4217') }) });
const rateItemSchema = z.object({
  StatusApplicationControl: sac,
  Rates: one(z.object({ Rate: z.array(z.object({ BaseByGuestAmts: one(z.object({ BaseByGuestAmt: z.array(amount).min(1) })) })).min(1) })),
});

// The document around the items; each item is checked on its own afterwards.
const itemList = z.array(z.unknown()).min(1);
const hotelAttrs = z.object({ HotelCode: code });
const docSchemas = {
  avail: z
    .object({ AvailStatusMessages: one(z.object({ $: hotelAttrs, AvailStatusMessage: itemList })) })
    .transform((d) => ({ hotel: d.AvailStatusMessages[0]!.$.HotelCode, items: d.AvailStatusMessages[0]!.AvailStatusMessage })),
  rate: z
    .object({ RateAmountMessages: one(z.object({ $: hotelAttrs, RateAmountMessage: itemList })) })
    .transform((d) => ({ hotel: d.RateAmountMessages[0]!.$.HotelCode, items: d.RateAmountMessages[0]!.RateAmountMessage })),
};
const locatorSchema = z.object({ $: z.object({ LocatorID: z.string().regex(/^\d{1,8}$/).transform(Number) }) });
const tokenRequestSchema = z.object({ client_id: z.string().min(1), client_secret: z.string().min(1) });

const dayNumber = (s: string) => Date.parse(`${s}T00:00:00Z`) / 86_400_000;
const firstIssue = (e: z.ZodError) => {
  const i = e.issues[0];
  return i ? `${i.path.join('.') || 'message'}: ${i.message}` : 'invalid';
};

export class BookingSandbox {
  readonly faults: FaultInjector;
  readonly plugin: FastifyPluginAsync;
  /** Per OTA request: `accepted`/`rejected` count items (AvailStatusMessage/RateAmountMessage), not requests. */
  readonly stats = { requests: 0, accepted: 0, rejected: 0, tokenExchanges: 0, byPath: {} as Record<string, number> };
  readonly #opts: BookingSandboxOptions;
  readonly #now: () => Date;
  readonly #rateCells = new Map<string, Map<string, { room: string; rate: string; night: string; cell: SandboxCell }>>();
  readonly #rooms = new Map<string, Map<string, { room: string; night: string; value: number }>>();
  readonly #tokens = new Map<string, { clientId: string; hotels: Set<string>; expires: number }>();
  readonly #exchanges = new Map<string, number[]>(); // issue times (ms) per client_id, the last hour's
  readonly #held = new Set<Held>();
  /** The reservation queue Booking.com keeps for the PMS to pull and acknowledge. */
  readonly reservations: ReservationQueue;
  /** The next this-many acknowledgements fail with HTTP 503 (the reservations stay queued). */
  failNextAcks = 0;

  constructor(opts: BookingSandboxOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => new Date());
    this.faults = new FaultInjector(opts.faults ?? {});
    this.reservations = new ReservationQueue(this.#now);
    this.plugin = async (app) => {
      // Encapsulated on purpose (no fastify-plugin): the XML parser stays inside the prefix.
      app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 }, (_req, body, done) => done(null, body));
      // preClose runs before the server waits for open requests: release held (timeout/slow) ones.
      app.addHook('preClose', (done) => {
        for (const release of [...this.#held]) release('closing');
        done();
      });
      app.post(TOKEN_PATH, (req, reply) => this.#exchange(req, reply));
      app.post(AVAIL_PATH, (req, reply) => this.#ari('avail', req, reply));
      app.post(RATE_PATH, (req, reply) => this.#ari('rate', req, reply));
      for (const queue of ['new', 'modify'] as const) {
        app.get(RES_PATH[queue], (req, reply) => this.#poll(queue, req, reply));
        app.post(RES_PATH[queue], (req, reply) => this.#acknowledge(queue, req, reply));
      }
      // Queues a reservation message, as a guest booking at Booking.com would (bench, demo traffic).
      app.post('/_control/reservations', async (req, reply) => {
        const b = req.body as { kind?: QueueKind; reservation?: SandboxReservation } | undefined;
        if (!b?.reservation?.id || !b.reservation.hotel || !['new', 'modify', 'cancel'].includes(b.kind ?? '')) return reply.code(400).send({ error: 'give { kind: new|modify|cancel, reservation: { id, hotel, … } }' });
        this.reservations.add(b.kind!, b.reservation);
        return reply.code(202).send({ queued: b.reservation.id });
      });
      app.get('/_control/reservations', async (req) => this.reservations.summary((req.query as Record<string, string | undefined>).hotel));
      controlRoutes(app, this, () => ({ ...this.stats }));
    };
  }

  cells(hotel: string): Map<string, SandboxCell> {
    const out = new Map<string, SandboxCell>();
    const rooms = this.#rooms.get(hotel) ?? new Map();
    for (const [key, { room, night, cell }] of this.#rateCells.get(hotel) ?? []) {
      const a = rooms.get(`${room}|${night}`);
      out.set(key, a ? { ...cell, availability: a.value } : { ...cell });
    }
    // Rates the catalogue knows show the room's availability even before any rate was pushed.
    for (const rate of this.#opts.products?.[hotel]?.rates ?? []) {
      for (const { room, night, value } of rooms.values()) {
        const key = sandboxKey(room, rate, night);
        if (!out.has(key)) out.set(key, { availability: value });
      }
    }
    return out;
  }

  roomAvailability(hotel: string): Map<string, number> {
    return new Map([...(this.#rooms.get(hotel) ?? [])].map(([k, v]) => [k, v.value]));
  }

  /** Back to the constructed state: no ARI, zero stats, the initial fault plan. Issued tokens stay valid. */
  reset(): void {
    this.#rateCells.clear();
    this.#rooms.clear();
    this.#exchanges.clear();
    this.reservations.reset();
    this.failNextAcks = 0;
    Object.assign(this.stats, { requests: 0, accepted: 0, rejected: 0, tokenExchanges: 0, byPath: {} });
    this.faults.set(this.#opts.faults ?? {});
    for (const k of Object.keys(this.faults.injected) as Array<keyof FaultInjector['injected']>) this.faults.injected[k] = 0;
  }

  async #exchange(req: FastifyRequest, reply: FastifyReply) {
    const fail = (status: number, error: string, message: string) => reply.code(status).send({ error, message });
    if (await this.#gate(TOKEN_PATH, reply, fail)) return reply;
    const body = tokenRequestSchema.safeParse(req.body);
    if (!body.success) return fail(400, 'invalid_request', z.prettifyError(body.error));
    const account = this.#opts.accounts.find((a) => a.clientId === body.data.client_id);
    if (!account || account.clientSecret !== body.data.client_secret) return fail(401, 'invalid_client', 'unknown client_id or wrong client_secret');
    const now = this.#now().getTime();
    const recent = (this.#exchanges.get(account.clientId) ?? []).filter((t) => t > now - HOUR_MS);
    this.#exchanges.set(account.clientId, recent);
    if (recent.length >= TOKENS_PER_HOUR) {
      reply.header('retry-after', String(Math.max(1, Math.ceil((recent[0]! + HOUR_MS - now) / 1000))));
      return fail(429, 'too_many_tokens', `at most ${TOKENS_PER_HOUR} tokens per hour per client_id; reuse the one you have`);
    }
    recent.push(now);
    for (const [jwt, t] of this.#tokens) if (t.expires <= now) this.#tokens.delete(jwt);
    const expires = now + (this.#opts.tokenTtlSeconds ?? 3600) * 1000;
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    // JWT-shaped (header.claims.signature) so clients that peek at `exp` work; never verified.
    const jwt = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: account.clientId, exp: Math.floor(expires / 1000) })}.${randomBytes(16).toString('base64url')}`;
    this.#tokens.set(jwt, { clientId: account.clientId, hotels: new Set(account.hotels), expires });
    this.stats.tokenExchanges += 1;
    return reply.send({ jwt, ruid: randomUUID() });
  }

  async #ari(kind: Kind, req: FastifyRequest, reply: FastifyReply) {
    const path = kind === 'avail' ? AVAIL_PATH : RATE_PATH;
    let echo: string | undefined;
    const fail = (status: number, shortText: string, text: string, type: string = EWT.bizRule, code: string = ERR.unableToProcess) =>
      this.#xml(reply, status, RS[kind], echo, { errors: [{ type, code, shortText, text }] });
    const faulted = (status: number, shortText: string, text: string) =>
      status === 401 ? fail(status, shortText, text, EWT.authentication, ERR.authorization) : fail(status, shortText, text, EWT.processing);
    if (await this.#gate(path, reply, faulted)) return reply;
    const auth = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = auth ? this.#tokens.get(auth) : undefined;
    if (!token || token.expires <= this.#now().getTime()) return fail(401, 'INVALID_TOKEN', 'Authorization: Bearer <jwt> missing, unknown or expired', EWT.authentication, ERR.authorization);
    if (req.headers['accept-version'] !== '1.1') return fail(400, 'UNSUPPORTED_VERSION', 'Accept-Version: 1.1 is required', EWT.protocol);
    // Fastify would also hand a text/plain body over as a string; Booking.com speaks XML only.
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (mediaType !== 'application/xml' && mediaType !== 'text/xml') return fail(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/xml or text/xml', EWT.protocol);

    let doc: Record<string, unknown> | null;
    try {
      doc = typeof req.body === 'string' ? await parseStringPromise(req.body, XML2JS_OPTIONS) : null;
    } catch (err) {
      return fail(400, 'INVALID_XML', `the body is not well-formed XML: ${(err as Error).message.split('\n')[0]}`, EWT.protocol);
    }
    const root = doc ? Object.keys(doc)[0] : undefined;
    if (!doc || root !== RQ[kind]) return fail(400, 'INVALID_ROOT', `expected <${RQ[kind]}>, got ${root ? `<${root}>` : 'no document'}`, EWT.protocol);
    const body = doc[root] as Record<string, unknown> & { $?: Record<string, string> };
    const echoToken = body.$?.EchoToken;
    if (typeof echoToken === 'string' && echoToken.length <= 128) echo = echoToken;
    const parsed = docSchemas[kind].safeParse(body);
    if (!parsed.success) return fail(400, 'INVALID_MESSAGE', firstIssue(parsed.error), EWT.requiredField, ERR.requiredField);
    const { hotel, items } = parsed.data;
    if (!token.hotels.has(hotel)) return fail(403, 'FORBIDDEN_HOTEL', `this token may not update hotel ${hotel}`, EWT.authorization, ERR.authorization);

    const issues: Issue[] = [];
    const apply: Array<() => void> = [];
    items.forEach((raw, position) => {
      // The issue points at the message's LocatorID (our builders' update index), else its position.
      const rph = locatorSchema.safeParse(raw).data?.$.LocatorID ?? position + 1;
      const result = kind === 'avail' ? this.#checkAvail(hotel, raw) : this.#checkRate(hotel, raw);
      if ('issue' in result) issues.push({ ...result.issue, rph });
      else apply.push(result.apply);
    });
    this.stats.accepted += apply.length;
    this.stats.rejected += issues.length;
    if (!apply.length) return this.#xml(reply, 400, RS[kind], echo, { errors: issues });
    for (const f of apply) f();
    return this.#xml(reply, 200, RS[kind], echo, { warnings: issues });
  }

  /** The token's hotels, narrowed by `hotel_ids` when given; answers 401 itself when there is no valid token. */
  #hotelsOf(req: FastifyRequest): Set<string> | null {
    const auth = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = auth ? this.#tokens.get(auth) : undefined;
    if (!token || token.expires <= this.#now().getTime()) return null;
    const asked = (req.query as Record<string, string | undefined>).hotel_ids?.split(',').map((h) => h.trim()).filter(Boolean);
    return asked?.length ? new Set(asked.filter((h) => token.hotels.has(h))) : token.hotels;
  }

  async #poll(queue: 'new' | 'modify', req: FastifyRequest, reply: FastifyReply) {
    const fail = (status: number, shortText: string, text: string) => this.#xml(reply, status, ACK_ROOT[queue], undefined, { errors: [{ type: EWT.processing, code: ERR.unableToProcess, shortText, text }] });
    if (await this.#gate(RES_PATH[queue], reply, fail)) return reply;
    const hotels = this.#hotelsOf(req);
    if (!hotels) return this.#xml(reply, 401, ACK_ROOT[queue], undefined, { errors: [{ type: EWT.authentication, code: ERR.authorization, shortText: 'INVALID_TOKEN', text: 'Authorization: Bearer <jwt> missing, unknown or expired' }] });
    const limit = Number((req.query as Record<string, string | undefined>).limit ?? 50);
    return reply.code(200).type('application/xml').send(this.reservations.poll(queue, hotels, Number.isInteger(limit) && limit > 0 ? limit : 50));
  }

  async #acknowledge(queue: 'new' | 'modify', req: FastifyRequest, reply: FastifyReply) {
    const fail = (status: number, shortText: string, text: string) => this.#xml(reply, status, ACK_ROOT[queue], undefined, { errors: [{ type: EWT.processing, code: ERR.unableToProcess, shortText, text }] });
    if (await this.#gate(`${RES_PATH[queue]}#ack`, reply, fail)) return reply;
    if (this.failNextAcks > 0) {
      this.failNextAcks -= 1;
      return fail(503, 'SERVICE_UNAVAILABLE', 'acknowledgement not stored (injected); retry');
    }
    const hotels = this.#hotelsOf(req);
    if (!hotels) return this.#xml(reply, 401, ACK_ROOT[queue], undefined, { errors: [{ type: EWT.authentication, code: ERR.authorization, shortText: 'INVALID_TOKEN', text: 'Authorization: Bearer <jwt> missing, unknown or expired' }] });
    let parsed;
    try {
      parsed = await parseInboundXml(req.body);
    } catch (err) {
      return this.#xml(reply, 400, ACK_ROOT[queue], undefined, { errors: [{ type: EWT.protocol, code: ERR.unableToProcess, shortText: 'INVALID_XML', text: (err as Error).message }] });
    }
    if (parsed.root !== ACK_ROOT[queue]) return this.#xml(reply, 400, ACK_ROOT[queue], undefined, { errors: [{ type: EWT.protocol, code: ERR.unableToProcess, shortText: 'WRONG_TYPE', text: `this endpoint acknowledges with <${ACK_ROOT[queue]}>` }] });
    const list = queue === 'new' ? kids(kid(parsed.node, 'HotelReservations'), 'HotelReservation') : kids(kid(parsed.node, 'HotelResModifies'), 'HotelResModify');
    const ok = list.flatMap((r) => kids(kid(kid(r, 'ResGlobalInfo'), 'HotelReservationIDs'), 'HotelReservationID').map((i) => attr(i, 'ResID_Value'))).filter((x): x is string => !!x);
    const failed = kids(kid(parsed.node, 'Errors'), 'Error').map((e) => ({ id: attr(e, 'RecordID') ?? '', text: textOf(e) ?? attr(e, 'ShortText') ?? '' })).filter((f) => f.id);
    this.reservations.acknowledge(queue, hotels, ok, failed);
    return this.#xml(reply, 200, ACK_ROOT[queue], undefined, { warnings: [] });
  }

  #checkRange(hotel: string, room: string, rate: string | undefined, start: string, end: string): Issue | null {
    const issue = (type: string, code: string, shortText: string, text: string) => ({ type, code, shortText, text });
    if (end < start) return issue(EWT.bizRule, ERR.invalidDate, 'INVALID_DATE_RANGE', `End ${end} is before Start ${start}`);
    if (dayNumber(end) - dayNumber(start) >= MAX_NIGHTS) return issue(EWT.bizRule, ERR.invalidDate, 'INVALID_DATE_RANGE', `a range may span at most ${MAX_NIGHTS} nights`);
    // Booking.com rejects dates more than a day in the past; yesterday is still accepted.
    const yesterday = new Date(this.#now().getTime() - 86_400_000).toISOString().slice(0, 10);
    if (start < yesterday) return issue(EWT.bizRule, ERR.invalidDate, 'NOT_A_VALID_DATE', `Start ${start} is more than one day in the past`);
    const catalogue = this.#opts.products?.[hotel];
    if (catalogue && !catalogue.rooms.includes(room)) return issue(EWT.bizRule, ERR.invalidRoom, 'UNKNOWN_ROOM', `room ${room} is not a room of hotel ${hotel}`);
    if (catalogue && rate !== undefined && !catalogue.rates.includes(rate)) return issue(EWT.bizRule, ERR.invalidRate, 'UNKNOWN_RATE', `rate ${rate} is not a rate of hotel ${hotel}`);
    return null;
  }

  #checkAvail(hotel: string, raw: unknown): { issue: Issue } | { apply: () => void } {
    const p = availItemSchema.safeParse(raw);
    if (!p.success) return { issue: { type: EWT.bizRule, code: ERR.invalidValue, shortText: 'INVALID_VALUE', text: firstIssue(p.error) } };
    const m = p.data;
    const { Start, End, InvTypeCode: room, RatePlanCode: rate } = m.StatusApplicationControl[0]!.$;
    const limit = m.$?.BookingLimit;
    const los = m.LengthsOfStay?.[0]!.LengthOfStay.map((l) => l.$) ?? [];
    const status = m.RestrictionStatus?.[0]!.$;
    if (limit === undefined && !los.length && !status) return { issue: { type: EWT.requiredField, code: ERR.requiredField, shortText: 'NOTHING_TO_UPDATE', text: 'no BookingLimit, LengthsOfStay or RestrictionStatus' } };
    if ((los.length || status) && !rate) return { issue: { type: EWT.requiredField, code: ERR.requiredField, shortText: 'RATE_PLAN_REQUIRED', text: 'restrictions need StatusApplicationControl/@RatePlanCode' } };
    const bad = this.#checkRange(hotel, room, rate, Start, End);
    if (bad) return { issue: bad };
    return {
      apply: () =>
        this.#eachNight(Start, End, (night) => {
          // BookingLimit is room-level even when a RatePlanCode is present.
          if (limit !== undefined) this.#roomsOf(hotel).set(`${room}|${night}`, { room, night, value: limit });
          if (!rate || (!los.length && !status)) return;
          const cell = this.#cell(hotel, room, rate, night);
          for (const l of los) {
            if (l.MinMaxMessageType === 'SetMinLOS') cell.minLos = l.Time;
            else cell.maxLos = l.Time === 0 ? null : l.Time; // Booking.com: Time 0 removes the maximum
          }
          if (status) {
            const closed = status.Status === 'Close';
            if (status.Restriction === 'Master') cell.closed = closed;
            else if (status.Restriction === 'Arrival') cell.closedToArrival = closed;
            else cell.closedToDeparture = closed;
          }
        }),
    };
  }

  #checkRate(hotel: string, raw: unknown): { issue: Issue } | { apply: () => void } {
    const p = rateItemSchema.safeParse(raw);
    if (!p.success) return { issue: { type: EWT.bizRule, code: ERR.invalidValue, shortText: 'INVALID_VALUE', text: firstIssue(p.error) } };
    const m = p.data;
    const { Start, End, InvTypeCode: room, RatePlanCode: rate } = m.StatusApplicationControl[0]!.$;
    if (!rate) return { issue: { type: EWT.requiredField, code: ERR.requiredField, shortText: 'RATE_PLAN_REQUIRED', text: 'rates need StatusApplicationControl/@RatePlanCode' } };
    const bad = this.#checkRange(hotel, room, rate, Start, End);
    if (bad) return { issue: bad };
    // One price per night: the first Rate's first BaseByGuestAmt (no occupancy pricing here).
    const { AmountAfterTax, CurrencyCode } = m.Rates[0]!.Rate[0]!.BaseByGuestAmts[0]!.BaseByGuestAmt[0]!.$;
    return { apply: () => this.#eachNight(Start, End, (night) => Object.assign(this.#cell(hotel, room, rate, night), { rate: AmountAfterTax, currency: CurrencyCode })) };
  }

  #eachNight(start: string, end: string, f: (night: string) => void): void {
    for (let night = start; night <= end; night = nextDay(night)) f(night);
  }

  #roomsOf(hotel: string) {
    let m = this.#rooms.get(hotel);
    if (!m) this.#rooms.set(hotel, (m = new Map()));
    return m;
  }

  #cell(hotel: string, room: string, rate: string, night: string): SandboxCell {
    let m = this.#rateCells.get(hotel);
    if (!m) this.#rateCells.set(hotel, (m = new Map()));
    const key = sandboxKey(room, rate, night);
    let entry = m.get(key);
    if (!entry) m.set(key, (entry = { room, rate, night, cell: {} }));
    return entry.cell;
  }

  /** Counts the request, applies `authFailure` and one fault draw; true when answered here (state untouched). */
  async #gate(path: string, reply: FastifyReply, fail: (status: number, shortText: string, text: string) => FastifyReply): Promise<boolean> {
    this.stats.requests += 1;
    this.stats.byPath[path] = (this.stats.byPath[path] ?? 0) + 1;
    const plan = this.faults.plan;
    if (plan.authFailure) {
      fail(401, 'AUTHENTICATION_FAILED', 'authentication failed (injected)');
      return true;
    }
    const html = (status: number, text: string, headers: Record<string, string> = {}) =>
      reply.code(status).headers(headers).type('text/html').send(`<html><body><h1>${status} ${text}</h1></body></html>`);
    const fault = this.faults.draw();
    if (fault === null) return false;
    if (fault === 'slow') {
      await this.#hold(reply, plan.slowMs);
      return false;
    }
    if (fault === 'timeout') {
      // The client usually gave up first; then there is no one to answer.
      if ((await this.#hold(reply, plan.timeoutMs)) === 'client-gone') reply.hijack();
      else html(504, 'Gateway Timeout');
    } else if (fault === 'http5xx') html(503, 'Service Unavailable');
    else if (fault === 'tooMany') html(429, 'Too Many Requests', { 'retry-after': String(plan.retryAfterSeconds) });
    else if (fault === 'malformed') reply.code(200).type('text/html').send('<html>oops');
    else fail(500, 'INTERNAL_ERROR', 'processing error, retry later (injected)'); // otaError
    return true;
  }

  /**
   * Waits `ms`, no longer than the client's connection or the server lives. On close the answer
   * carries `Connection: close`: a kept-alive connection would hold `app.close()` for its timeout.
   */
  #hold(reply: FastifyReply, ms: number): Promise<Resumed> {
    return new Promise((resolve) => {
      const release: Held = (why) => {
        clearTimeout(timer);
        this.#held.delete(release);
        reply.raw.off('close', gone);
        if (why === 'closing') reply.header('connection', 'close');
        resolve(why);
      };
      const gone = () => release('client-gone');
      const timer = setTimeout(() => release('elapsed'), ms);
      this.#held.add(release);
      reply.raw.once('close', gone);
    });
  }

  /** An OTA_*RS document: `<Success/>` (+ Warnings with RPH) or `<Errors>` (index in RecordID: 2015A ErrorType has no RPH). */
  #xml(reply: FastifyReply, status: number, root: string, echo: string | undefined, r: { errors: Issue[] } | { warnings: Issue[] }): FastifyReply {
    const attrs = (i: Issue, ref: 'RPH' | 'RecordID') => ({
      $: { Type: i.type, Code: i.code, ShortText: i.shortText.slice(0, 64), Status: 'NotProcessed', ...(i.rph ? { [ref]: String(i.rph) } : {}) },
      _: i.text,
    });
    const content =
      'errors' in r
        ? { Errors: { Error: r.errors.slice(0, MAX_ERRORS).map((i) => attrs(i, 'RecordID')) } }
        : { Success: '', ...(r.warnings.length ? { Warnings: { Warning: r.warnings.map((i) => attrs(i, 'RPH')) } } : {}) };
    const $ = { xmlns: OTA_NAMESPACE, ...(echo ? { EchoToken: echo } : {}), TimeStamp: this.#now().toISOString(), Version: OTA_PAYLOAD_VERSION };
    const xml = buildXml({ [root]: { $, ...content } });
    return reply.code(status).type('application/xml').send(xml);
  }
}
