/**
 * Expedia sandbox: Expedia QuickConnect's Availability and Rates endpoint (`POST /eqc/ar`) as
 * Expedia's published documentation describes it — a second reading, independent of our client
 * (it imports none of client.ts, ar-message.ts or parser.ts) — as a Fastify plugin mounted under a
 * prefix, plus a control API (`/_control/faults|state|stats|reset`) for tests and benchmarks. It
 * keeps what it accepted per hotel, in the SandboxCell vocabulary, so a test can compare "what the
 * OTA shows" with the PMS. Sources: /work/notes/expedia.md (§1) and the pages and samples cited at
 * each rule here and in ./sandbox-request.ts (schema), ./sandbox-rules.ts (errors, update count),
 * ./sandbox-apply.ts (state, warnings).
 *
 * Invariants:
 * - every AR answer is an AvailRateUpdateRS in namespace …/AR/2007/02 that validates against
 *   AvailRateUpdateRS.xsd: `<Success/>` with 0..n `<Warning code>`, or 1..n `<Error code>`;
 * - all-or-nothing: a response with `<Error>` (or any fault) leaves the state untouched; a
 *   `<Success>` applied everything except what its warnings name as refused ([EQC guides]);
 * - concurrent requests for one hotel are accepted ([EG] release notes, Dec 1, 2020: "API now
 *   supports multiple, concurrent requests to update availability and rates on the same hotel";
 *   the older EQC rule, error 3210 for a second connection, is superseded) and applied in the order
 *   they finish; every overlap is recorded in `overlaps`, because our client keeps one request per
 *   hotel at a time so that updates arrive in order ([EQC guides] "Sequencing/Ordering of Messages").
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { buildXml } from '../../core/xml.ts';
import { controlRoutes } from '../sandbox/control.ts';
import { FaultInjector, type FaultKind } from '../sandbox/faults.ts';
import { sandboxKey, type SandboxCell } from '../outbound/types.ts';
import { applyChanges, layOutWarnings, newHotelState, type HotelSettings, type HotelState, type Price } from './sandbox-apply.ts';
import { readAvailRateUpdateRQ } from './sandbox-request.ts';
import { AR_MAX_BYTES, checkRequest, type ArIssue, type ExpediaProduct } from './sandbox-rules.ts';

/** The response namespace, whatever the request's ([EG response] page; samples ar_18, ar_20, ar_21). */
const AR_RS_NAMESPACE = 'http://www.expediaconnect.com/EQC/AR/2007/02';
// Far above AR_MAX_BYTES so that an oversized message gets Expedia's 3405, not Fastify's 413.
const BODY_LIMIT = 16 * 1024 * 1024;

export interface ExpediaSandboxOptions {
  accounts: Array<{ username: string; password: string; hotels: string[] }>;
  faults?: unknown; // FaultPlan input
  /** Optional catalogue per hotel: unknown hotel → 3202, room → 3203, rate → 3204; currency → 3103; pricing models → 3090/3123/3124/3125. */
  products?: Record<string, ExpediaProduct>;
  /** "Today" for the date window (UTC calendar date). */
  now?: () => Date;
  /** Rate verification thresholds per hotel and room type (7019/7021: the rate is not applied). */
  thresholds?: Record<string, NonNullable<HotelSettings['thresholds']>>;
  /** Rate acquisition type per hotel: decides 7019 (NetRate, the default) or 7021 (SellLAR). */
  rateAcquisition?: Record<string, NonNullable<HotelSettings['rateAcquisition']>>;
  /** Unsold base allocation per hotel and room type (7013, 7018, 7010). */
  baseAllocation?: Record<string, NonNullable<HotelSettings['baseAllocation']>>;
  /** The room's maximum occupancy per hotel and room type (7009: a PerOccupancy price above it is not applied). */
  maxOccupancy?: Record<string, NonNullable<HotelSettings['maxOccupancy']>>;
  /** The `Ref=[…]` of a response's warnings (default: a random UUID per response). */
  ref?: () => string;
}

/** One request to /eqc/ar, from arrival (onRequest) to its end (response sent or connection closed). */
interface Flight {
  arrival: number;
  hotel?: string;
  ended: boolean;
  gone: boolean; // the connection closed before we answered
  wake?: () => void;
}
type HoldEnd = 'elapsed' | 'gone' | 'closing';

const xml = (body: Record<string, unknown>) => buildXml({ AvailRateUpdateRS: { $: { xmlns: AR_RS_NAMESPACE }, ...body } });
const issues = (list: ArIssue[]) => list.map((i) => ({ _: i.message, $: { code: String(i.code) } }));
const successXml = (warnings: ArIssue[]) => xml({ Success: warnings.length ? { Warning: issues(warnings) } : '' });
const errorXml = (errors: ArIssue[]) => xml({ Error: issues(errors) });
const html = (status: number, text: string) => `<!DOCTYPE html><html><head><title>${status} ${text}</title></head><body><h1>${text}</h1></body></html>`;

export class ExpediaSandbox {
  readonly faults: FaultInjector;
  readonly plugin: FastifyPluginAsync;
  /**
   * Every time two requests for one hotel overlapped. Expedia accepts them (see the header), but
   * our client sends one at a time per hotel to keep updates in order: a test asserts this stays empty.
   */
  readonly overlaps: Array<{ hotel: string; at: string }> = [];
  /** `updates` counts Expedia's way (one value for one item and stay date: ./sandbox-rules.ts countUpdates), over accepted requests. */
  readonly stats = { requests: 0, accepted: 0, rejected: 0, updates: 0, bytes: 0, warnings: 0 };

  readonly #opts: ExpediaSandboxOptions;
  readonly #now: () => Date;
  readonly #ref: () => string;
  readonly #hotels = new Map<string, HotelState>();
  readonly #flights = new WeakMap<ServerResponse, Flight>();
  readonly #inFlight = new Map<string, number>();
  // Logical clock of arrivals and ends: a request that ended after another one for its hotel
  // arrived overlapped it, even if it is gone by the time the later one's body says the hotel.
  #clock = 0;
  readonly #lastEnd = new Map<string, number>();
  readonly #holds = new Set<() => void>(); // wakes held (timeout/slow) requests when the server closes

  constructor(opts: ExpediaSandboxOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => new Date());
    this.#ref = opts.ref ?? randomUUID;
    this.faults = new FaultInjector(opts.faults);
    this.plugin = async (app) => {
      // Encapsulated: the parent app's XML parsers (if any) stay as they are outside this prefix.
      // [EQC reference] "Content-Type of the HTTP Request Header should be: text/xml"; application/xml is accepted too (our leniency).
      for (const type of ['text/xml', 'application/xml']) {
        if (app.hasContentTypeParser(type)) app.removeContentTypeParser(type);
        app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));
      }
      // preClose, not onClose: onClose runs after in-flight requests end, which a held one never would.
      app.addHook('preClose', async () => {
        for (const wake of [...this.#holds]) wake();
      });
      app.post(
        '/eqc/ar',
        {
          bodyLimit: BODY_LIMIT,
          onRequest: async (_request, reply) => {
            this.#flights.set(reply.raw, this.#track(reply.raw));
          },
        },
        async (request, reply) => this.#handle(String(request.body ?? ''), reply),
      );

      controlRoutes(app, this, () => ({ ...this.stats, overlaps: this.overlaps, inFlight: Object.fromEntries(this.#inFlight) }));
    };
  }

  /**
   * What the OTA shows per sandboxKey(room, rate, night). Availability and a room type's close
   * (`roomClosed`) are room-level at Expedia ([EQC reference] Inventory "only applies to a single
   * room type"; XSD RoomType/@closed "the room type is no longer available on Expedia"): they show
   * on every rate of that room seen so far and on every catalogue rate; `closed` is the rate plan's
   * own (XSD RatePlan/@closed), so a rate of a closed room type sells only when neither is set.
   * Rates are the decimal strings sent; for PerOccupancy and length-of-stay prices, `rate` is the
   * lowest occupancy's or length's (every amount: `prices`), and `occupancyRates` every occupancy's
   * price accepted so far, keyed by the number of guests as a string ([EQC guides] "The AR API
   * currently doesn't support removal of occupancies": a price once set stays until overwritten).
   */
  cells(hotel: string): Map<string, SandboxCell> {
    const h = this.#hotels.get(hotel);
    const out = new Map<string, SandboxCell>();
    if (!h) return out;
    for (const [key, cell] of h.rates) {
      const price = h.prices.get(key);
      const occupancy =
        price?.model === 'PerOccupancy' && Object.keys(price.values).length ? { occupancyRates: Object.fromEntries(Object.entries(price.values)) } : {};
      out.set(key, { ...cell, ...occupancy });
    }
    const catalogue = this.#opts.products?.[hotel]?.rates ?? [];
    for (const [roomNight, rn] of h.rooms) {
      const [room, night] = roomNight.split('|') as [string, string];
      for (const rate of new Set([...(h.roomRates.get(room) ?? []), ...catalogue])) {
        const key = sandboxKey(room, rate, night);
        const cell = out.get(key) ?? {};
        if (rn.availability !== undefined) cell.availability = rn.availability;
        if (rn.closed !== undefined) cell.roomClosed = rn.closed;
        out.set(key, cell);
      }
    }
    return out;
  }

  /** Every amount accepted per sandboxKey(room, rate, night), by the model it came in (occupancy / length of stay keyed). */
  prices(hotel: string): Map<string, Price> {
    return new Map([...(this.#hotels.get(hotel)?.prices ?? [])].map(([k, p]) => [k, { ...p, values: { ...p.values } }]));
  }

  /** Rooms to sell per `${room}|${night}`: the total as applied (with base allocation: raised to it, or base + flexible capped at 4999). */
  roomAvailability(hotel: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, rn] of this.#hotels.get(hotel)?.rooms ?? []) if (rn.availability !== undefined) out.set(key, rn.availability);
    return out;
  }

  /** Requests for `hotel` in flight now. */
  inFlight(hotel: string): number {
    return this.#inFlight.get(hotel) ?? 0;
  }

  /** Forgets state, stats, overlaps and injected-fault counts, and restores the constructor's fault plan. Requests in flight stay counted. */
  reset(): void {
    this.#hotels.clear();
    Object.assign(this.stats, { requests: 0, accepted: 0, rejected: 0, updates: 0, bytes: 0, warnings: 0 });
    this.overlaps.length = 0;
    this.faults.set(this.#opts.faults ?? {});
    for (const k of Object.keys(this.faults.injected) as FaultKind[]) this.faults.injected[k] = 0;
  }

  // ------------------------------------------------------------------------------------------
  // Request handling

  // Helpers answer and return void, never the reply: a FastifyReply is thenable, so `await`ing one
  // waits for the response to finish and yields undefined.
  async #handle(body: string, reply: FastifyReply): Promise<void> {
    const flight = this.#flights.get(reply.raw) ?? this.#track(reply.raw);
    const bytes = Buffer.byteLength(body, 'utf8');
    this.stats.requests += 1;
    this.stats.bytes += bytes;
    // Read even an oversized body: the in-flight bookkeeping needs its hotel.
    const reading = await readAvailRateUpdateRQ(body);
    if (flight.gone) return this.#drop(reply);
    // The hotel is known only now; the request has counted as in flight since its arrival all the same.
    const hotel = reading.kind === 'request' ? reading.rq.hotelId : reading.hotelId;
    if (hotel !== undefined) this.#begin(flight, hotel);

    // After the hotel is named, so a held (timeout/slow) request counts as in flight.
    const fault = this.faults.draw();
    if (fault && (await this.#fault(fault, reply, flight))) return;
    // [EQC guides] 1001's text.
    const authError = [{ code: 1001, message: 'Authentication error: invalid username or password.' }];
    if (this.faults.plan.authFailure) return this.#reject(reply, flight, authError);
    // [EQC guides] 3405 "The overall size of the AR incoming request exceeds our limit of 100 kb":
    // a property of the message as received, so it comes first and alone (our ordering).
    if (bytes > AR_MAX_BYTES) return this.#reject(reply, flight, [{ code: 3405, message: 'Message size limit exceeded.' }]);
    if (reading.kind === 'refused') return this.#reject(reply, flight, [reading.error]);
    const rq = reading.rq;
    // [EQC reference] Authentication: "Username exists", "Password fits with the username" (case sensitive).
    const account = this.#opts.accounts.find((a) => a.username === rq.username && a.password === rq.password);
    if (!account) return this.#reject(reply, flight, authError);
    // [EQC guides] 3202: "You either specified an invalid hotel ID or your account is not linked to this hotel."
    const products = this.#opts.products;
    if (!account.hotels.includes(rq.hotelId) || (products && !products[rq.hotelId])) {
      return this.#reject(reply, flight, [
        { code: 3202, message: 'Hotel ID not found. You either specified an invalid hotel ID or your account is not linked to this hotel.' },
      ]);
    }

    const checked = checkRequest(rq, this.#now().toISOString().slice(0, 10), products?.[rq.hotelId]);
    if (checked.errors.length) return this.#reject(reply, flight, checked.errors);
    let h = this.#hotels.get(rq.hotelId);
    if (!h) this.#hotels.set(rq.hotelId, (h = newHotelState()));
    const o = this.#opts;
    const raw = applyChanges(h, checked.changes, {
      ...(o.thresholds?.[rq.hotelId] ? { thresholds: o.thresholds[rq.hotelId] } : {}),
      ...(o.rateAcquisition?.[rq.hotelId] ? { rateAcquisition: o.rateAcquisition[rq.hotelId] } : {}),
      ...(o.baseAllocation?.[rq.hotelId] ? { baseAllocation: o.baseAllocation[rq.hotelId] } : {}),
      ...(o.maxOccupancy?.[rq.hotelId] ? { maxOccupancy: o.maxOccupancy[rq.hotelId] } : {}),
    });
    this.stats.accepted += 1;
    this.stats.updates += checked.updates;
    this.stats.warnings += raw.length;
    return this.#send(reply, flight, 200, successXml(layOutWarnings(raw, this.#ref())), 'text/xml; charset=utf-8');
  }

  /** Answers with the injected fault and says true, or says false when the request goes on (slow, once its delay is over). */
  async #fault(kind: FaultKind, reply: FastifyReply, flight: Flight): Promise<boolean> {
    const plan = this.faults.plan;
    switch (kind) {
      case 'http5xx':
        this.#send(reply, flight, 503, html(503, 'Service Unavailable'), 'text/html');
        return true;
      case 'tooMany':
        reply.header('retry-after', String(plan.retryAfterSeconds));
        this.#send(reply, flight, 429, html(429, 'Too Many Requests'), 'text/html');
        return true;
      case 'malformed': // a cut-off answer: XML that is not well-formed, labelled as XML
        this.#send(reply, flight, 200, successXml([]).slice(0, 80), 'text/xml; charset=utf-8');
        return true;
      case 'otaError':
        // [EQC guides] 4000's text ("Enter in incremental retry mode").
        this.#reject(reply, flight, [{ code: 4000, message: 'Internal system error, please try again in a few minutes.' }]);
        return true;
      case 'timeout': {
        const end = await this.#hold(flight, plan.timeoutMs);
        if (end === 'gone') this.#drop(reply);
        else this.#send(reply, flight, 504, html(504, 'Gateway Timeout'), 'text/html');
        return true;
      }
      case 'slow': {
        const end = await this.#hold(flight, plan.slowMs);
        if (end === 'gone')
          this.#drop(reply); // nobody to tell: nothing is applied
        else if (end === 'closing') this.#send(reply, flight, 503, html(503, 'Shutting Down'), 'text/html');
        return end !== 'elapsed';
      }
    }
  }

  /** Waits `ms`, or less if the connection closes or the server shuts down; the timer never outlives either. */
  #hold(flight: Flight, ms: number): Promise<HoldEnd> {
    if (flight.gone) return Promise.resolve('gone');
    return new Promise((resolve) => {
      const finish = (end: HoldEnd) => {
        clearTimeout(timer);
        this.#holds.delete(closing);
        flight.wake = undefined;
        resolve(end);
      };
      const timer = setTimeout(() => finish('elapsed'), ms);
      const closing = () => finish('closing');
      this.#holds.add(closing);
      flight.wake = () => finish('gone');
    });
  }

  // ------------------------------------------------------------------------------------------
  // In-flight bookkeeping

  /** Starts a flight at arrival. ServerResponse 'close' (not IncomingMessage's, which fires once the body is read) ends it when the client gives up. */
  #track(res: ServerResponse): Flight {
    const flight: Flight = { arrival: ++this.#clock, ended: false, gone: false };
    res.once('close', () => {
      flight.gone = !res.writableFinished;
      this.#end(flight);
      flight.wake?.();
    });
    return flight;
  }

  /** Names the flight's hotel and records an overlap when another request for it is (or was, since this one arrived) in flight. */
  #begin(flight: Flight, hotel: string): void {
    const busy = this.inFlight(hotel) > 0 || (this.#lastEnd.get(hotel) ?? 0) > flight.arrival;
    flight.hotel = hotel;
    this.#inFlight.set(hotel, this.inFlight(hotel) + 1);
    if (busy) this.overlaps.push({ hotel, at: new Date().toISOString() });
  }

  #end(flight: Flight): void {
    if (flight.ended) return;
    flight.ended = true;
    if (flight.hotel === undefined) return;
    const left = this.inFlight(flight.hotel) - 1;
    if (left > 0) this.#inFlight.set(flight.hotel, left);
    else this.#inFlight.delete(flight.hotel);
    this.#lastEnd.set(flight.hotel, ++this.#clock);
  }

  /** Ends the flight BEFORE the bytes go out: a client that sends its next request on receipt must not look like an overlap. */
  #send(reply: FastifyReply, flight: Flight, status: number, body: string, type: string): void {
    if (flight.gone) return this.#drop(reply);
    this.#end(flight);
    void reply.code(status).header('content-type', type).send(body);
  }

  #reject(reply: FastifyReply, flight: Flight, errors: ArIssue[]): void {
    if (flight.gone) return this.#drop(reply);
    this.stats.rejected += 1;
    return this.#send(reply, flight, 200, errorXml(errors), 'text/xml; charset=utf-8');
  }

  /** The client is gone: nothing to write; tell Fastify not to try. */
  #drop(reply: FastifyReply): void {
    reply.hijack();
  }
}
