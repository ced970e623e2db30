/**
 * Expedia sandbox: the AR endpoint (`POST /eqc/ar`) as Expedia QuickConnect behaves per
 * ../shared/ota/README.md, as a Fastify plugin mounted under a prefix, plus a control API
 * (`/_control/faults|state|stats|reset`) for tests and benchmarks. It keeps what it accepted per
 * hotel, in the SandboxCell vocabulary, so a test can compare "what the OTA shows" with the PMS.
 *
 * Invariants:
 * - all-or-nothing: a response with `<Error>` (or any fault) leaves the state untouched;
 * - every AR response validates against AvailRateUpdateRS.xsd (namespace …/AR/2007/02);
 * - one connection per hotel: a request is in flight from arrival until its response is sent or
 *   its connection closes; a request for a hotel that overlaps another is recorded and gets 3210.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { buildXml } from '../../core/xml.ts';
import { addDays, nextDay } from '../../core/dates.ts';
import { StayosError } from '../../core/errors.ts';
import { controlRoutes } from '../sandbox/control.ts';
import { FaultInjector, type FaultKind } from '../sandbox/faults.ts';
import { sandboxKey, type SandboxCell } from '../types.ts';
import { AR_RS_NAMESPACE, WEEKDAYS, parseAvailRateUpdateRQ, type ArIssue, type ParsedAvailRateUpdateRQ } from './parser.ts';
import { AR_MAX_BYTES, AR_MAX_UPDATES } from './ar-message.ts';

/** Warning for a rate moving more than RATE_THRESHOLD against the stored one; Expedia's sample ar_20 uses 7013 for it. */
export const AR_RATE_WARNING = 7013;
const RATE_THRESHOLD = 0.5;
// Far above AR_MAX_BYTES so that an oversized message gets Expedia's 3405, not Fastify's 413.
const BODY_LIMIT = 16 * 1024 * 1024;

export interface ExpediaSandboxOptions {
  accounts: Array<{ username: string; password: string; hotels: string[] }>;
  faults?: unknown; // FaultPlan input
  /** Optional catalogue: unknown hotel → 3202, unknown room → 3203, unknown rate → 3204. */
  products?: Record<string, { rooms: string[]; rates: string[] }>;
  /** "Today" for the date window (UTC calendar date). */
  now?: () => Date;
}

interface RoomNight {
  availability?: number;
  closed?: boolean;
}
interface HotelState {
  rates: Map<string, SandboxCell>; // sandboxKey(room, rate, night) → rate-level values only
  rooms: Map<string, RoomNight>; // `${room}|${night}` → room-level values
  roomRates: Map<string, Set<string>>; // rate plans seen per room type (Expedia ids: a rate belongs to one room)
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

const xml = (body: Record<string, unknown>) =>
  buildXml({ AvailRateUpdateRS: { $: { xmlns: AR_RS_NAMESPACE }, ...body } });
const issues = (list: ArIssue[]) => list.map((i) => ({ _: i.message, $: { code: String(i.code) } }));
const successXml = (warnings: ArIssue[]) => xml({ Success: warnings.length ? { Warning: issues(warnings) } : '' });
const errorXml = (errors: ArIssue[]) => xml({ Error: issues(errors) });
const html = (status: number, text: string) => `<!DOCTYPE html><html><head><title>${status} ${text}</title></head><body><h1>${text}</h1></body></html>`;

const weekday = (date: string) => WEEKDAYS[new Date(`${date}T00:00:00Z`).getUTCDay()]!;

export class ExpediaSandbox {
  readonly faults: FaultInjector;
  readonly plugin: FastifyPluginAsync;
  /** Every time two requests for one hotel overlapped (Expedia allows one connection per hotel): a test asserts this stays empty. */
  readonly overlaps: Array<{ hotel: string; at: string }> = [];
  readonly stats = { requests: 0, accepted: 0, rejected: 0, updates: 0, bytes: 0 };

  readonly #opts: ExpediaSandboxOptions;
  readonly #now: () => Date;
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
    this.faults = new FaultInjector(opts.faults);
    this.plugin = async (app) => {
      // Encapsulated: the parent app's XML parsers (if any) stay as they are outside this prefix.
      for (const type of ['text/xml', 'application/xml']) {
        if (app.hasContentTypeParser(type)) app.removeContentTypeParser(type);
        app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));
      }
      // preClose, not onClose: onClose runs after in-flight requests end, which a held one never would.
      app.addHook('preClose', async () => {
        for (const wake of [...this.#holds]) wake();
      });
      app.post('/eqc/ar', {
        bodyLimit: BODY_LIMIT,
        onRequest: async (_request, reply) => {
          this.#flights.set(reply.raw, this.#track(reply.raw));
        },
      }, async (request, reply) => this.#handle(String(request.body ?? ''), reply));

      controlRoutes(app, this, () => ({ ...this.stats, overlaps: this.overlaps, inFlight: Object.fromEntries(this.#inFlight) }));
    };
  }

  /**
   * What the OTA shows per sandboxKey(room, rate, night). Availability (and a room type's closed
   * flag) is room-level at Expedia: it shows on every rate of that room seen so far and on every
   * catalogue rate; a closed room type shows its rates closed.
   */
  cells(hotel: string): Map<string, SandboxCell> {
    const h = this.#hotels.get(hotel);
    const out = new Map<string, SandboxCell>();
    if (!h) return out;
    for (const [key, cell] of h.rates) out.set(key, { ...cell });
    const catalogue = this.#opts.products?.[hotel]?.rates ?? [];
    for (const [roomNight, rn] of h.rooms) {
      const [room, night] = roomNight.split('|') as [string, string];
      for (const rate of new Set([...(h.roomRates.get(room) ?? []), ...catalogue])) {
        const key = sandboxKey(room, rate, night);
        const cell = out.get(key) ?? {};
        if (rn.availability !== undefined) cell.availability = rn.availability;
        if (rn.closed) cell.closed = true;
        out.set(key, cell);
      }
    }
    return out;
  }

  /** Rooms to sell per `${room}|${night}` (totalInventoryAvailable, or flexibleAllocation: the sandbox models no base allocation). */
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
    Object.assign(this.stats, { requests: 0, accepted: 0, rejected: 0, updates: 0, bytes: 0 });
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
    const oversize: ArIssue[] = bytes > AR_MAX_BYTES ? [{ code: 3405, message: `The message is ${bytes} bytes; the limit is ${AR_MAX_BYTES} bytes (100 KB).` }] : [];

    let rq: ParsedAvailRateUpdateRQ | undefined;
    let invalid: ArIssue | undefined;
    try {
      rq = await parseAvailRateUpdateRQ(body);
    } catch (err) {
      if (!(err instanceof StayosError)) throw err;
      invalid = { code: err.details?.reason === 'xml' ? 2002 : 3010, message: err.message };
    }
    if (flight.gone) return this.#drop(reply);
    // The hotel is known only now; the slot was taken at arrival (flight.arrival) all the same.
    if (rq && this.#begin(flight, rq.hotelId)) {
      return this.#reject(reply, flight, [{ code: 3210, message: `Another connection for hotel ${rq.hotelId} is in progress; one concurrent connection per hotel is allowed.` }]);
    }

    // After the slot is taken, so a held (timeout/slow) request counts as in flight.
    const fault = this.faults.draw();
    if (fault && (await this.#fault(fault, reply, flight))) return;
    if (this.faults.plan.authFailure) return this.#reject(reply, flight, [{ code: 1001, message: 'Authentication failed.' }]);
    if (!rq) return this.#reject(reply, flight, [...oversize, invalid!]);
    const account = this.#opts.accounts.find((a) => a.username === rq.username && a.password === rq.password);
    if (!account) return this.#reject(reply, flight, [{ code: 1001, message: 'Authentication failed: wrong username or password.' }]);
    if (!account.hotels.includes(rq.hotelId)) return this.#reject(reply, flight, [{ code: 1001, message: `User ${rq.username} is not authorised for hotel ${rq.hotelId}.` }]);

    const errors = [...oversize, ...this.#check(rq)];
    if (errors.length) return this.#reject(reply, flight, errors);
    const warnings = this.#apply(rq);
    this.stats.accepted += 1;
    this.stats.updates += rq.availRateUpdates;
    return this.#send(reply, flight, 200, successXml(warnings), 'text/xml; charset=utf-8');
  }

  /** Request-level rules beyond the schema; all are reported at once, like Expedia's list of Errors. */
  #check(rq: ParsedAvailRateUpdateRQ): ArIssue[] {
    const errors: ArIssue[] = [];
    if (rq.availRateUpdates > AR_MAX_UPDATES) errors.push({ code: 3107, message: `The message has ${rq.availRateUpdates} AvailRateUpdate elements; the limit is ${AR_MAX_UPDATES}.` });
    const today = this.#now().toISOString().slice(0, 10);
    const earliest = addDays(today, -1);
    const t = new Date(`${today}T00:00:00Z`);
    const latest = new Date(Date.UTC(t.getUTCFullYear() + 2, t.getUTCMonth(), t.getUTCDate())).toISOString().slice(0, 10);
    const past = rq.updates.filter((u) => u.from < earliest).map((u) => u.from).sort()[0];
    if (past) errors.push({ code: 3020, message: `Date ${past} is before ${earliest}: updates may start yesterday at the earliest.` });
    const far = rq.updates.filter((u) => u.to > latest).map((u) => u.to).sort().at(-1);
    if (far) errors.push({ code: 3022, message: `Date ${far} is after ${latest}: updates may reach 2 years ahead at most.` });

    const products = this.#opts.products;
    if (products) {
      const p = products[rq.hotelId];
      if (!p) return [...errors, { code: 3202, message: `Hotel ${rq.hotelId} is not mapped.` }];
      const rooms = [...new Set(rq.updates.map((u) => u.roomTypeId))].filter((r) => !p.rooms.includes(r));
      const rates = [...new Set(rq.updates.flatMap((u) => (u.ratePlan ? [u.ratePlan.id] : [])))].filter((r) => !p.rates.includes(r));
      // Wording of Expedia's sample ar_21.
      if (rooms.length) errors.push({ code: 3203, message: `The following RoomTypeIDs do not belong to the given hotel: ${rooms.join(', ')}.` });
      if (rates.length) errors.push({ code: 3204, message: `The following RatePlanIDs do not belong to the given hotel: ${rates.join(', ')}.` });
    }
    return errors;
  }

  /** Applies a checked message in order; returns the rate-threshold warnings (applied all the same). */
  #apply(rq: ParsedAvailRateUpdateRQ): ArIssue[] {
    let h = this.#hotels.get(rq.hotelId);
    if (!h) this.#hotels.set(rq.hotelId, (h = { rates: new Map(), rooms: new Map(), roomRates: new Map() }));
    const warnings: ArIssue[] = [];
    for (const u of rq.updates) {
      const rp = u.ratePlan;
      if (rp) h.roomRates.set(u.roomTypeId, (h.roomRates.get(u.roomTypeId) ?? new Set()).add(rp.id));
      const availability = u.availability ?? u.flexibleAllocation;
      // Only PerDay amounts are comparable night to night (PerOccupancy/PerPerson store a stand-in).
      const perDay = !u.rateDetail || u.rateDetail[0]?.kind === 'PerDay';
      for (let night = u.from; night <= u.to; night = nextDay(night)) {
        if (u.weekdays?.[weekday(night)] === false) continue; // an absent day flag means "included"
        if (availability !== undefined || u.roomClosed !== undefined) {
          const rn = h.rooms.get(`${u.roomTypeId}|${night}`) ?? {};
          if (availability !== undefined) rn.availability = availability;
          if (u.roomClosed !== undefined) rn.closed = u.roomClosed;
          h.rooms.set(`${u.roomTypeId}|${night}`, rn);
        }
        if (!rp) continue;
        const key = sandboxKey(u.roomTypeId, rp.id, night);
        const cell = h.rates.get(key) ?? {};
        if (rp.closed !== undefined) cell.closed = rp.closed;
        if (rp.rate) {
          const before = cell.rate === undefined ? undefined : Number(cell.rate);
          const after = Number(rp.rate.amount);
          if (perDay && before !== undefined && Math.abs(after - before) > RATE_THRESHOLD * before) {
            warnings.push({ code: AR_RATE_WARNING, message: `[Room Type ID ${u.roomTypeId}; Rate Plan ID ${rp.id}; Stay Date ${night}] One or more costs provided are out of threshold for an identified room type.` });
          }
          cell.rate = rp.rate.amount;
          cell.currency = rp.rate.currency;
        }
        const r = rp.restrictions;
        if (r?.minLos != null) cell.minLos = r.minLos;
        if (r?.maxLos != null) cell.maxLos = r.maxLos; // 28 is Expedia's "no maximum"; kept as sent
        if (r?.closedToArrival !== undefined) cell.closedToArrival = r.closedToArrival;
        if (r?.closedToDeparture !== undefined) cell.closedToDeparture = r.closedToDeparture;
        h.rates.set(key, cell);
      }
    }
    return warnings;
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
        this.#reject(reply, flight, [{ code: 4000, message: 'Internal error; please retry later.' }]);
        return true;
      case 'timeout': {
        const end = await this.#hold(flight, plan.timeoutMs);
        if (end === 'gone') this.#drop(reply);
        else this.#send(reply, flight, 504, html(504, 'Gateway Timeout'), 'text/html');
        return true;
      }
      case 'slow': {
        const end = await this.#hold(flight, plan.slowMs);
        if (end === 'gone') this.#drop(reply); // nobody to tell: nothing is applied
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

  /** Names the flight's hotel; true when another request for it is (or was, since this one arrived) in flight. */
  #begin(flight: Flight, hotel: string): boolean {
    const busy = this.inFlight(hotel) > 0 || (this.#lastEnd.get(hotel) ?? 0) > flight.arrival;
    flight.hotel = hotel;
    this.#inFlight.set(hotel, this.inFlight(hotel) + 1);
    if (busy) this.overlaps.push({ hotel, at: new Date().toISOString() });
    return busy;
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
