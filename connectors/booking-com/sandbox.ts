/**
 * A Booking.com stand-in for tests, benchmarks and the demo, written from Booking.com's published
 * connectivity reference (developers.booking.com/connectivity/docs/…), never from our client, so a
 * test where the two agree means something. A Fastify plugin mounted under a prefix:
 *
 * - token exchange (token-based-authentication): JSON {client_id, client_secret} → {jwt, ruid};
 *   "The token expires after one hour. You can create up to 30 tokens per hour.";
 * - ARI at /hotels/ota/OTA_HotelAvailNotif and …/OTA_HotelRateAmountNotif (sandbox-ari.ts):
 *   Bearer token, Accept-Version 1.1, the v1.1 HTTP model (b_xml-availability-troubleshooting);
 * - reservations at /hotels/ota/OTA_HotelResNotif and …/OTA_HotelResModifyNotif, GET to pull and
 *   POST to acknowledge (sandbox-reservations.ts, rendered by sandbox-render.ts); in production they
 *   live on secure-supply-xml.booking.com, ARI on supply-xml.booking.com (index-content);
 * - faults on command and the control routes (connectors/sandbox/).
 *
 * Invariant: a faulted request changes nothing (`slow` then runs normally).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { controlRoutes } from '../sandbox/control.ts';
import { FaultInjector } from '../sandbox/faults.ts';
import type { SandboxCell } from '../outbound/types.ts';
import { ARI, AriStore, ERR, EWT, type AriKind, type Products } from './sandbox-ari.ts';
import { QUEUE_ROOTS, ReservationQueue, type Queue, type QueueKind, type SandboxReservation } from './sandbox-reservations.ts';
import { errors, otaDocument, readXml, XmlRefused, type Issue, type XmlNode } from './sandbox-xml.ts';

export interface BookingSandboxOptions {
  accounts: Array<{ clientId: string; clientSecret: string; hotels: string[] }>;
  tokenTtlSeconds?: number; // default 3600
  faults?: unknown; // FaultPlan input
  /** Per hotel, its room and rate ids (and currency): unknown ids are refused per message. */
  products?: Products;
  now?: () => Date;
}

const TOKENS_PER_HOUR = 30;
const HOUR_MS = 3_600_000;
const TOKEN_PATH = '/token-based-authentication/exchange';
const ARI_PATH = { avail: '/hotels/ota/OTA_HotelAvailNotif', rate: '/hotels/ota/OTA_HotelRateAmountNotif' } as const;
const RES_PATH = { new: '/hotels/ota/OTA_HotelResNotif', modify: '/hotels/ota/OTA_HotelResModifyNotif' } as const;
// Version of the RS roots: "3.000" as on Booking.com's sibling RS examples (api-reference/ota_hotelproductnotifrs).
const ARI_RS_VERSION = '3.000';
const RES_VERSION = '2.001'; // api-reference/ota_hotelresmodifynotifrs

// The texts of our own refusals (the publisher gives the HTTP status, not the body).
const AUTH: Issue = { type: EWT.authentication, code: ERR.authorization, shortText: 'Invalid or expired JWT token' };
const INTERNAL: Issue = { type: EWT.processing, code: ERR.systemError, shortText: 'INTERNAL_SERVER_ERROR' };
const WRONG_TYPE = 'Hotel reservation has transaction message of the wrong type'; // reservations-troubleshooting, HTTP 400
const ACCESS_DENIED = 'Access denied for hotel'; // reservations-troubleshooting, HTTP 403
const protocol = (shortText: string): Issue => ({ type: EWT.protocol, code: ERR.unableToProcess, shortText });

const tokenRequestSchema = z.object({ client_id: z.string().min(1), client_secret: z.string().min(1) });
const one = <T extends z.ZodType>(item: T) => z.array(item).length(1);

/**
 * An acknowledgement body (acknowledging-new-reservations-ota): `<Success/>` and
 * HotelReservations/HotelReservation/ResGlobalInfo/HotelReservationIDs/HotelReservationID/@ResID_Value
 * (modify: HotelResModifies/HotelResModify/…), repeated for several ids; or `<Errors>` whose
 * Error/@RecordID names a reservation not processed. Never both, and ids listed beside Errors would
 * be ambiguous: refused (OTA 2015A makes them a choice). Read through `ackView` (the list's names
 * differ per queue).
 */
const ackSchema = z
  .object({
    Success: one(z.unknown()).optional(),
    List: one(
      z.object({
        Items: z
          .array(
            z.object({
              ResGlobalInfo: one(
                z.object({
                  HotelReservationIDs: one(
                    z.object({
                      HotelReservationID: z.array(z.object({ $: z.object({ ResID_Value: z.string().min(1) }) })).min(1),
                    }),
                  ),
                }),
              ),
            }),
          )
          .min(1),
      }),
    ).optional(),
    Errors: one(
      z.object({
        Error: z.array(z.object({ _: z.string().optional(), $: z.object({ RecordID: z.string().min(1), ShortText: z.string().optional() }) })).min(1),
      }),
    ).optional(),
  })
  .refine((b) => (b.Success ? !b.Errors && b.List : b.Errors && !b.List), 'give <Success/> with the reservation ids, or <Errors> alone')
  .transform((b) => ({
    ok: (b.List?.[0]!.Items ?? []).flatMap((r) => r.ResGlobalInfo[0]!.HotelReservationIDs[0]!.HotelReservationID.map((i) => i.$.ResID_Value)),
    failed: (b.Errors?.[0]!.Error ?? []).map((e) => ({ id: e.$.RecordID, text: e.$.ShortText ?? e._?.trim() ?? '' })),
  }));
const ackView = (queue: Queue, node: XmlNode) => {
  const { list, item } = QUEUE_ROOTS[queue];
  const lists = node[list] as XmlNode[] | undefined;
  return { Success: node.Success, Errors: node.Errors, List: lists?.map((l) => ({ Items: l[item] })) };
};

type Resumed = 'elapsed' | 'client-gone' | 'closing';
type Held = (why: Resumed) => void;
interface Token {
  clientId: string;
  hotels: Set<string>;
  expires: number;
}

export class BookingSandbox {
  readonly faults: FaultInjector;
  readonly plugin: FastifyPluginAsync;
  /**
   * `accepted`/`rejected` count ARI messages (AvailStatusMessage/RateAmountMessage), not requests.
   * Booking.com asks for one calendar month, one hotel per request (ota-rateamountnotif, usage
   * recommendations); not published as errors, so such requests are applied and counted here.
   */
  readonly stats = {
    requests: 0,
    accepted: 0,
    rejected: 0,
    tokenExchanges: 0,
    byPath: {} as Record<string, number>,
    multiMonthRequests: 0,
    multiHotelRequests: 0,
    duplicateDateRequests: 0,
  };
  /** The reservation queue Booking.com keeps for the PMS to pull and acknowledge. */
  readonly reservations: ReservationQueue;
  /** The next this-many acknowledgements fail with HTTP 503 (the reservations stay queued). */
  failNextAcks = 0;
  readonly #opts: BookingSandboxOptions;
  readonly #now: () => Date;
  readonly #ari: AriStore;
  readonly #tokens = new Map<string, Token>();
  readonly #exchanges = new Map<string, number[]>(); // issue times (ms) per client_id, the last hour's
  readonly #held = new Set<Held>();

  constructor(opts: BookingSandboxOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => new Date());
    this.faults = new FaultInjector(opts.faults ?? {});
    this.reservations = new ReservationQueue(this.#now);
    this.#ari = new AriStore(opts.products ?? {}, this.#now, this.stats);
    this.plugin = async (app) => {
      // Encapsulated on purpose (no fastify-plugin): the XML parser stays inside the prefix.
      app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 }, (_req, body, done) => done(null, body));
      // preClose runs before the server waits for open requests: release held (timeout/slow) ones.
      app.addHook('preClose', (done) => {
        for (const release of [...this.#held]) release('closing');
        done();
      });
      app.post(TOKEN_PATH, (req, reply) => this.#exchange(req, reply));
      for (const kind of ['avail', 'rate'] as const) app.post(ARI_PATH[kind], (req, reply) => this.#ariRequest(kind, req, reply));
      for (const queue of ['new', 'modify'] as const) {
        app.get(RES_PATH[queue], (req, reply) => this.#poll(queue, req, reply));
        app.post(RES_PATH[queue], (req, reply) => this.#acknowledge(queue, req, reply));
      }
      // Queues a reservation message, as a guest booking at Booking.com would (bench, demo traffic).
      app.post('/_control/reservations', async (req, reply) => {
        const b = req.body as { kind?: QueueKind; reservation?: unknown } | undefined;
        if (!['new', 'modify', 'cancel'].includes(b?.kind ?? ''))
          return reply.code(400).send({ error: 'give { kind: new|modify|cancel, reservation: { id, hotel, rooms, … } }' });
        try {
          this.reservations.add(b!.kind!, b!.reservation as SandboxReservation); // validated there
        } catch (err) {
          if (err instanceof z.ZodError) return reply.code(400).send({ error: z.prettifyError(err) });
          throw err;
        }
        return reply.code(202).send({ queued: (b!.reservation as { id: string }).id });
      });
      app.get('/_control/reservations', async (req) => this.reservations.summary((req.query as Record<string, string | undefined>).hotel));
      controlRoutes(app, this, () => ({ ...this.stats, multiMonth: this.multiMonthRequests }));
    };
  }

  cells(hotel: string): Map<string, SandboxCell> {
    return this.#ari.cells(hotel);
  }

  roomAvailability(hotel: string): Map<string, number> {
    return this.#ari.roomAvailability(hotel);
  }

  /** Room-type open/closed per `room|night` (RestrictionStatus sent without a RatePlanCode). */
  roomStatus(hotel: string): Map<string, 'Open' | 'Close'> {
    return this.#ari.roomStatus(hotel);
  }

  /** Occupancy-based prices (BaseByGuestAmt/@NumberOfGuests) per sandboxKey. */
  occupancyPrices(hotel: string): Map<string, Record<number, string>> {
    return this.#ari.occupancyPrices(hotel);
  }

  /** The ARI requests that spanned more than one calendar month (our client should send none). */
  get multiMonthRequests(): ReadonlyArray<{ kind: AriKind; months: string[] }> {
    return this.#ari.multiMonthRequests;
  }

  /** Back to the constructed state: no ARI, no reservations, zero stats, the initial fault plan. Issued tokens stay valid. */
  reset(): void {
    this.#ari.reset();
    this.#exchanges.clear();
    this.reservations.reset();
    this.failNextAcks = 0;
    Object.assign(this.stats, {
      requests: 0,
      accepted: 0,
      rejected: 0,
      tokenExchanges: 0,
      byPath: {},
      multiMonthRequests: 0,
      multiHotelRequests: 0,
      duplicateDateRequests: 0,
    });
    this.faults.set(this.#opts.faults ?? {});
    for (const k of Object.keys(this.faults.injected) as Array<keyof FaultInjector['injected']>) this.faults.injected[k] = 0;
  }

  async #exchange(req: FastifyRequest, reply: FastifyReply) {
    const fail = (status: number, error: string, message: string) => reply.code(status).send({ error, message });
    if (
      await this.#gate(TOKEN_PATH, reply, (status, what) =>
        what === 'auth' ? fail(status, 'invalid_client', 'authentication failed') : fail(status, 'internal_error', 'retry later'),
      )
    )
      return reply;
    const body = tokenRequestSchema.safeParse(req.body);
    if (!body.success) return fail(400, 'invalid_request', z.prettifyError(body.error));
    const account = this.#opts.accounts.find((a) => a.clientId === body.data.client_id);
    if (!account || account.clientSecret !== body.data.client_secret) return fail(401, 'invalid_client', 'unknown client_id or wrong client_secret');
    const now = this.#now().getTime();
    const recent = (this.#exchanges.get(account.clientId) ?? []).filter((t) => t > now - HOUR_MS);
    this.#exchanges.set(account.clientId, recent);
    if (recent.length >= TOKENS_PER_HOUR) {
      // The answer to a 31st exchange is not published: 429 with Retry-After is ours.
      reply.header('retry-after', String(Math.max(1, Math.ceil((recent[0]! + HOUR_MS - now) / 1000))));
      return fail(429, 'too_many_tokens', `at most ${TOKENS_PER_HOUR} tokens per hour per client_id; reuse the one you have`);
    }
    recent.push(now);
    for (const [jwt, t] of this.#tokens) if (t.expires <= now) this.#tokens.delete(jwt);
    const expires = now + (this.#opts.tokenTtlSeconds ?? 3600) * 1000;
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    // JWT-shaped with the claims the reference lists (sub, aud, iss, exp, iat); never verified.
    const claims = {
      sub: 'connectivity-auth-proxy',
      aud: '',
      iss: 'urn://connectivity-modern-auth/v1',
      client_id: account.clientId,
      iat: Math.floor(now / 1000),
      exp: Math.floor(expires / 1000),
    };
    const jwt = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.${randomBytes(16).toString('base64url')}`;
    this.#tokens.set(jwt, { clientId: account.clientId, hotels: new Set(account.hotels), expires });
    this.stats.tokenExchanges += 1;
    return reply.send({ jwt, ruid: randomUUID() });
  }

  /** The token of `Authorization: Bearer <jwt>`, if issued here and not expired (token-based-authentication). */
  #token(req: FastifyRequest): Token | undefined {
    const jwt = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = jwt ? this.#tokens.get(jwt) : undefined;
    return token && token.expires > this.#now().getTime() ? token : undefined;
  }

  /** "Must be application/xml" (ota-hotelavailnotif headers); text/xml tolerated. Anything else is 415 (ours). */
  #isXml(req: FastifyRequest): boolean {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    return type === 'application/xml' || type === 'text/xml';
  }

  async #read(req: FastifyRequest): Promise<{ root: string; node: XmlNode } | Issue> {
    try {
      return await readXml(req.body);
    } catch (err) {
      if (err instanceof XmlRefused) return protocol(err.message);
      throw err;
    }
  }

  async #ariRequest(kind: AriKind, req: FastifyRequest, reply: FastifyReply) {
    const fail = (status: number, issue: Issue) => this.#xml(reply, status, ARI[kind].rs, ARI_RS_VERSION, errors([issue]));
    if (await this.#gate(ARI_PATH[kind], reply, (status, what) => fail(status, what === 'auth' ? AUTH : INTERNAL))) return reply;
    const token = this.#token(req);
    if (!token) return fail(401, AUTH);
    // Accept-Version "Required … 1.1: Current version (default)": absent or other values refused
    // with 400 (ours; B.XML answers a sunset version so, b_xml-availability).
    if (req.headers['accept-version'] !== '1.1') return fail(400, protocol('Accept-Version: 1.1 is required'));
    if (!this.#isXml(req)) return fail(415, protocol('Content-Type must be application/xml'));
    const doc = await this.#read(req);
    if ('shortText' in doc) return fail(400, doc);
    const { status, content } = this.#ari.handle(kind, doc.root, doc.node, token.hotels);
    return this.#xml(reply, status, ARI[kind].rs, ARI_RS_VERSION, content);
  }

  /** GET: the queue's pending messages for the token's hotels, narrowed by `hotel_ids`, at most `limit` (retrieving-new-reservations-ota). */
  async #poll(queue: Queue, req: FastifyRequest, reply: FastifyReply) {
    // Errors travel in the endpoint's RS root (ours: the publisher shows no error body for a GET).
    const fail = (status: number, issue: Issue) => this.#xml(reply, status, QUEUE_ROOTS[queue].rs, RES_VERSION, errors([issue]));
    if (await this.#gate(RES_PATH[queue], reply, (status, what) => fail(status, what === 'auth' ? AUTH : INTERNAL))) return reply;
    const token = this.#token(req);
    if (!token) return fail(401, AUTH);
    const q = req.query as Record<string, string | undefined>;
    const asked = q.hotel_ids
      ?.split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    if (asked?.some((h) => !token.hotels.has(h))) return fail(403, { type: EWT.authorization, code: ERR.authorization, shortText: ACCESS_DENIED });
    if (q.limit !== undefined && !/^[1-9]\d{0,5}$/.test(q.limit))
      return fail(400, { type: EWT.bizRule, code: ERR.invalidValue, shortText: 'Invalid value: limit' });
    // `last_change` is accepted and not applied (ours: the queue holds only what is pending anyway).
    const xml = this.reservations.poll(queue, asked?.length ? new Set(asked) : token.hotels, q.limit ? Number(q.limit) : undefined, q.id);
    if (xml === null) return fail(404, { type: EWT.bizRule, code: ERR.unableToProcess, shortText: 'Hotel reservation was not found' }); // reservations-troubleshooting
    return reply.code(200).type('application/xml').send(xml);
  }

  /** POST: an acknowledgement (acknowledging-new-reservations-ota, acknowledging-modif-cancel-reservations-ota). */
  async #acknowledge(queue: Queue, req: FastifyRequest, reply: FastifyReply) {
    const rs = QUEUE_ROOTS[queue].rs;
    const fail = (status: number, issue: Issue) => this.#xml(reply, status, rs, RES_VERSION, errors([issue]));
    if (await this.#gate(`${RES_PATH[queue]}#ack`, reply, (status, what) => fail(status, what === 'auth' ? AUTH : INTERNAL))) return reply;
    if (this.failNextAcks > 0) {
      // "If you receive a 5XX … the message is still pending": retried by the client (reservations_best_practices).
      this.failNextAcks -= 1;
      return fail(503, INTERNAL);
    }
    const token = this.#token(req);
    if (!token) return fail(401, AUTH);
    if (!this.#isXml(req)) return fail(415, protocol('Content-Type must be application/xml'));
    const doc = await this.#read(req);
    if ('shortText' in doc) return fail(400, doc);
    // "acknowledge a message using the wrong endpoint" is the wrong type too.
    if (doc.root !== rs) return fail(400, { type: EWT.bizRule, code: ERR.unableToProcess, shortText: WRONG_TYPE });
    const ack = ackSchema.safeParse(ackView(queue, doc.node));
    if (!ack.success)
      return fail(400, {
        type: EWT.requiredField,
        code: ERR.requiredField,
        shortText: `Invalid acknowledgement: ${ack.error.issues[0]?.message ?? 'not the protocol'}`,
      });
    const outcome = this.reservations.acknowledge(queue, token.hotels, ack.data.ok, ack.data.failed);
    if (outcome.status === 403) return fail(403, { type: EWT.authorization, code: ERR.authorization, shortText: ACCESS_DENIED });
    if (outcome.status === 400) return fail(400, { type: EWT.bizRule, code: ERR.unableToProcess, recordId: outcome.id, shortText: WRONG_TYPE });
    return this.#xml(reply, 200, rs, RES_VERSION, { Success: '' }); // "respond back with OTA_HotelResNotifRS success" (ota-resnotif, outdated)
  }

  /** Counts the request, applies `authFailure` and one fault draw; true when answered here (state untouched). */
  async #gate(path: string, reply: FastifyReply, fail: (status: number, what: 'auth' | 'internal') => unknown): Promise<boolean> {
    this.stats.requests += 1;
    this.stats.byPath[path] = (this.stats.byPath[path] ?? 0) + 1;
    const plan = this.faults.plan;
    if (plan.authFailure) {
      fail(401, 'auth');
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
    else fail(500, 'internal'); // otaError: "INTERNAL_SERVER_ERROR → HTTP 500"
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

  #xml(reply: FastifyReply, status: number, root: string, version: string, content: Record<string, unknown>): FastifyReply {
    return reply
      .code(status)
      .type('application/xml')
      .send(otaDocument(root, version, this.#now(), content));
  }
}
