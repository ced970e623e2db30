/**
 * A stand-in for Google's ARI endpoints, written from the publisher's pages only (it imports none
 * of client.ts, messages.ts or parser.ts, and reads requests its own way), so a test where it and
 * our client agree means something. A Fastify plugin mounted under a prefix, serving the three
 * paths of developers.google.com/hotels/hotel-prices/dev-guide/ari-overview ("Pushing messages").
 *
 * What it checks and does, page by page:
 *  - the sender's address must be on the account's list ("Add the list of IP addresses that will be
 *    used to authenticate communication and push ARI messages to Google", support.google.com/
 *    hotelprices/answer/9435269); otherwise HTTP 403 (Google names no status: our choice);
 *  - "Set the Content-Type header to "application/xml"" (ari-overview): another type is refused;
 *  - each path takes its own root; the root carries EchoToken ("Allowed characters are a-z, A-Z,
 *    0-9, _ (underscore), and - (dash)"), TimeStamp and Version (xml-reference/ari-inv, ari-rate,
 *    ari-avail: each 1..1); HotelCode must be a hotel of the account ("ID that matches the Hotel List
 *    Feed", xml-reference/ari-property), and room and package codes the hotel's (defined by the
 *    Transaction message: dev-guide/ari-transaction-message) when the sandbox is given them;
 *  - inventory "is treated as an overlay update … any previously defined inventory count is
 *    replaced" (ari-inv); restrictions are "a delta update … an update to any previously defined
 *    restriction only replaces the value of the same restriction" (ari-avail); a night's Master
 *    restriction is closed until opened ("By default, RestrictionStatus for Restriction="Master" is
 *    closed", dev-guide/ari-availability-message); StatusApplicationControl's End is inclusive (the
 *    worked example, vacation-rentals/dev-guide/vr-ari-example, sends one night as Start = End);
 *  - rates: one `BaseByGuestAmt` per number of guests ("Google supports occupancy-based pricing",
 *    dev-guide/ari-rate-message), kept per occupancy in `occupancyRates`; the two-guest amount stays
 *    the base `rate` ("By default, double-occupancy (two adult occupants) prices are used as the base
 *    rates", support.google.com/hotelprices/answer/11190438). A room's capacity is the Transaction's
 *    (`<Capacity>max_number_of_occupants</Capacity>`, xml-reference/ari-property): an amount for
 *    more guests than that is applied to no itinerary ("Requests for occupancies above those defined
 *    are considered not possible", dev-guide/ari-rate-message; Hotel Center lists "Room metadata …
 *    that may limit certain occupancies", support.google.com/hotelprices/answer/16352898), so it is
 *    kept out of `occupancyRates`; Google documents no error or warning for it: the answer is
 *    <Success/>;
 *  - restrictions: `LengthOfStay@MinMaxMessageType` SetMinLOS / SetMaxLOS (arrival: "Restricts
 *    length of stay for itineraries which have this arrival date") and SetForwardMinStay /
 *    SetForwardMaxStay (stay-through: "Restricts length of stay for itineraries which contain this
 *    stay date", dev-guide/ari-availability-message), each its own restriction (one never replaces
 *    another: "an update to any previously defined restriction only replaces the value of the same
 *    restriction", ari-avail); `RestrictionStatus@MinAdvancedBookingOffset` /
 *    `@MaxAdvancedBookingOffset` ("integer_or_duration", ari-avail syntax: whole days, or an ISO
 *    duration in days or weeks here) as `minAdvanceDays` / `maxAdvanceDays`;
 *  - the answer holds "either a <Success/> element or an <Errors> container" (ari-inv key
 *    takeaways), and an error leaves the whole message unapplied ("An error in one part of a file
 *    could cause updates from other parts of the file to not be processed", answer/11190438). The
 *    Error's attributes are OpenTravel's (Type 3 "business rule", 10 "required field missing", with
 *    a ShortText): Google's own codes are not published in a form we could read.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { parseStringPromise, processors } from 'xml2js';
import { buildXml } from '../../core/xml.ts';
import { controlRoutes } from '../sandbox/control.ts';
import { FaultInjector, type FaultKind } from '../sandbox/faults.ts';
import type { SandboxCell } from '../outbound/types.ts';

const NS = 'http://www.opentravel.org/OTA/2003/05';
const PATHS = {
  '/travel/hotels/uploads/ota/hotel_inv_count_notif': 'OTA_HotelInvCountNotifRQ',
  '/travel/hotels/uploads/ota/hotel_rate_amount_notif': 'OTA_HotelRateAmountNotifRQ',
  '/travel/hotels/uploads/ota/hotel_avail_notif': 'OTA_HotelAvailNotifRQ',
} as const;
type Root = (typeof PATHS)[keyof typeof PATHS];

export interface GoogleSandboxOptions {
  /** The accounts: their hotels (HotelCode), and the addresses allowed to push for them (default loopback; '*': any, as the demo's, which docker-compose calls from another container). */
  accounts: Array<{ hotels: string[]; addresses?: string[] }>;
  /**
   * Per hotel, the room (InvTypeCode) and package (RatePlanCode) codes its Transaction defined (none:
   * any code), and per room its `Capacity` (maximum occupants) where the Transaction gave one.
   */
  products?: Record<string, { rooms: string[]; rates: string[]; maxOccupancy?: Record<string, number> }>;
  faults?: unknown;
}

type El = { $?: Record<string, string> } & Record<string, unknown>;
const kids = (n: unknown, name: string): El[] =>
  n && typeof n === 'object' && Array.isArray((n as Record<string, unknown>)[name]) ? (n as Record<string, El[]>)[name]! : [];
// StatusApplicationControl's day flags (OpenTravel's spelling, in Google's syntax blocks): when any is
// given, only the days flagged true take the update.
const DAYS = ['Sun', 'Mon', 'Tue', 'Weds', 'Thur', 'Fri', 'Sat'] as const;
const dates = (sac: Record<string, string>): string[] => {
  const flagged = DAYS.some((d) => sac[d] !== undefined);
  const out: string[] = [];
  for (let d = Date.parse(`${sac.Start}T00:00:00Z`); d <= Date.parse(`${sac.End}T00:00:00Z`) && out.length < 1100; d += 86_400_000) {
    if (!flagged || /^(true|1)$/.test(sac[DAYS[new Date(d).getUTCDay()]!] ?? '')) out.push(new Date(d).toISOString().slice(0, 10));
  }
  return out;
};
/** An advance booking offset ("integer_or_duration"): whole days, or an ISO 8601 duration in days or weeks. */
const offsetDays = (v: string): number | undefined => {
  if (/^\d{1,4}$/.test(v)) return Number(v);
  const m = /^P(\d{1,4})([DW])$/.exec(v);
  return m ? Number(m[1]) * (m[2] === 'W' ? 7 : 1) : undefined;
};
const isDate = (s: unknown) => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
const LOOPBACK = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];

class Refused extends Error {
  constructor(
    readonly type: string,
    text: string,
  ) {
    super(text);
  }
}

export class GoogleHotelsSandbox {
  readonly faults: FaultInjector;
  readonly plugin: FastifyPluginAsync;
  /** `accepted`/`rejected` count requests; `items` the StatusApplicationControls applied. */
  readonly stats = { requests: 0, accepted: 0, rejected: 0, items: 0, byRoot: {} as Record<string, number> };
  readonly #opts: GoogleSandboxOptions;
  readonly #cells = new Map<string, Map<string, SandboxCell>>(); // hotel → room|rate|night → values
  readonly #rooms = new Map<string, Map<string, number>>(); // hotel → room|night → count
  readonly #held = new Set<() => void>();

  constructor(opts: GoogleSandboxOptions) {
    this.#opts = opts;
    this.faults = new FaultInjector(opts.faults ?? {});
    this.plugin = async (app) => {
      app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 }, (_req, body, done) => done(null, body));
      app.addHook('preClose', (done) => {
        for (const release of [...this.#held]) release();
        done();
      });
      for (const [path, root] of Object.entries(PATHS)) app.post(path, (req, reply) => this.#handle(root, req, reply));
      controlRoutes(app, this, () => ({ ...this.stats }));
    };
  }

  /** What the sandbox holds for `hotel` (room|package|night), each cell with its room's count. */
  cells(hotel: string): Map<string, SandboxCell> {
    const rooms = this.#rooms.get(hotel) ?? new Map<string, number>();
    const out = new Map<string, SandboxCell>();
    for (const [key, cell] of this.#cells.get(hotel) ?? []) {
      const [room, , night] = key.split('|');
      const count = rooms.get(`${room}|${night}`);
      out.set(key, { ...cell, ...(count !== undefined ? { availability: count } : {}) });
    }
    return out;
  }

  roomAvailability(hotel: string): Map<string, number> {
    return new Map(this.#rooms.get(hotel) ?? []);
  }

  reset(): void {
    this.#cells.clear();
    this.#rooms.clear();
    Object.assign(this.stats, { requests: 0, accepted: 0, rejected: 0, items: 0, byRoot: {} });
    this.faults.set(this.#opts.faults ?? {});
    for (const k of Object.keys(this.faults.injected) as FaultKind[]) this.faults.injected[k] = 0;
  }

  async #handle(root: Root, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    this.stats.requests += 1;
    this.stats.byRoot[root] = (this.stats.byRoot[root] ?? 0) + 1;
    const fault = this.faults.draw();
    if (fault && (await this.#fault(fault, reply))) return;
    const answerRoot = root.replace(/RQ$/, 'RS');
    let echo: string | undefined;
    try {
      const type = String(req.headers['content-type'] ?? '');
      if (!/^application\/xml\b/i.test(type)) throw new Refused('10', `Content-Type must be application/xml (got "${type.slice(0, 60)}")`);
      const body = req.body;
      if (typeof body !== 'string' || !body.trim()) throw new Refused('10', 'the request has no body');
      if (/<!\s*(DOCTYPE|ENTITY)/i.test(body)) throw new Refused('10', 'the message declares a DTD or entities');
      let doc: Record<string, El>;
      try {
        doc = await parseStringPromise(body, { explicitArray: true, tagNameProcessors: [processors.stripPrefix] });
      } catch {
        throw new Refused('10', 'the message is not well-formed XML');
      }
      const [name] = Object.keys(doc ?? {});
      const rq = (doc?.[name ?? ''] ?? {}) as El;
      echo = rq.$?.EchoToken;
      if (name !== root) throw new Refused('10', `this path takes <${root}>, not <${String(name).slice(0, 60)}>`);
      if (rq.$?.xmlns !== NS) throw new Refused('10', `the root must be in the namespace ${NS}`);
      if (!echo || !/^[A-Za-z0-9_-]+$/.test(echo)) throw new Refused('10', 'EchoToken is required: letters, digits, _ and - only');
      if (!rq.$?.TimeStamp || Number.isNaN(Date.parse(rq.$.TimeStamp)))
        throw new Refused('10', 'TimeStamp is required: the creation date and time of the message');
      if (!rq.$?.Version) throw new Refused('10', 'Version is required');
      const allowed = this.#opts.accounts.filter((a) => (a.addresses ?? LOOPBACK).some((x) => x === '*' || x === req.ip));
      if (!allowed.length || this.faults.plan.authFailure) return this.#answer(reply, 403, 'text/plain', 'Forbidden: this address may not push ARI');
      const apply = this.#read(
        root,
        rq,
        allowed.flatMap((a) => a.hotels),
      );
      apply();
      this.stats.accepted += 1;
      return this.#answer(reply, 200, 'application/xml', buildXml({ [answerRoot]: { $: this.#rsAttrs(echo), Success: '' } }));
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      this.stats.rejected += 1;
      return this.#answer(
        reply,
        200,
        'application/xml',
        buildXml({
          [answerRoot]: {
            $: this.#rsAttrs(echo),
            Errors: { Error: { $: { Type: err.type, Status: 'NotProcessed', ShortText: err.message.slice(0, 128) }, _: err.message } },
          },
        }),
      );
    }
  }

  #rsAttrs(echo: string | undefined) {
    return { xmlns: NS, ...(echo && /^[A-Za-z0-9_-]+$/.test(echo) ? { EchoToken: echo } : {}), TimeStamp: new Date().toISOString(), Version: '3.0' };
  }

  /** Checks the whole message, and returns what applying it does: nothing is applied when any part is refused. */
  #read(root: Root, rq: El, hotels: string[]): () => void {
    const container =
      root === 'OTA_HotelInvCountNotifRQ' ? 'Inventories' : root === 'OTA_HotelRateAmountNotifRQ' ? 'RateAmountMessages' : 'AvailStatusMessages';
    const [wrapper, ...more] = kids(rq, container);
    if (!wrapper || more.length) throw new Refused('10', `exactly one <${container}> is required`);
    const hotel = wrapper.$?.HotelCode;
    if (!hotel || !hotels.includes(hotel)) throw new Refused('3', `HotelCode ${hotel ?? '(none)'} is not a hotel of this account`);
    const products = this.#opts.products?.[hotel];
    const item = root === 'OTA_HotelInvCountNotifRQ' ? 'Inventory' : root === 'OTA_HotelRateAmountNotifRQ' ? 'RateAmountMessage' : 'AvailStatusMessage';
    const changes: Array<() => void> = [];
    const cells = this.#cells.get(hotel) ?? new Map<string, SandboxCell>();
    const rooms = this.#rooms.get(hotel) ?? new Map<string, number>();
    for (const it of kids(wrapper, item)) {
      const sac = kids(it, 'StatusApplicationControl')[0]?.$ ?? {};
      if (!isDate(sac.Start) || !isDate(sac.End) || sac.Start! > sac.End!)
        throw new Refused('10', 'StatusApplicationControl needs Start and End dates (YYYY-MM-DD, Start ≤ End)');
      const room = sac.InvTypeCode;
      if (!room) throw new Refused('10', 'StatusApplicationControl needs InvTypeCode');
      if (products && !products.rooms.includes(room)) throw new Refused('3', `InvTypeCode ${room} is not a room of hotel ${hotel}`);
      const rate = sac.RatePlanCode;
      if (rate && products && !products.rates.includes(rate)) throw new Refused('3', `RatePlanCode ${rate} is not a package of hotel ${hotel}`);
      const nights = dates(sac);
      const set = (values: SandboxCell) =>
        changes.push(() => {
          for (const n of nights) cells.set(`${room}|${rate}|${n}`, { ...cells.get(`${room}|${rate}|${n}`), ...values });
        });
      if (root === 'OTA_HotelInvCountNotifRQ') {
        const count = Number(kids(kids(it, 'InvCounts')[0], 'InvCount')[0]?.$?.Count);
        if (!Number.isInteger(count) || count < 0) throw new Refused('10', 'InvCount needs a Count (a whole number ≥ 0)');
        changes.push(() => {
          for (const n of nights) rooms.set(`${room}|${n}`, count);
        });
      } else if (root === 'OTA_HotelRateAmountNotifRQ') {
        if (!rate) throw new Refused('10', 'a rate needs RatePlanCode');
        const amounts = kids(kids(kids(kids(it, 'Rates')[0], 'Rate')[0], 'BaseByGuestAmts')[0], 'BaseByGuestAmt').map((a) => a.$ ?? {});
        const occupancyRates: Record<string, string> = {};
        let currency: string | undefined;
        for (const x of amounts) {
          const amount = x.AmountAfterTax ?? x.AmountBeforeTax;
          if (!amount || !/^\d+(\.\d+)?$/.test(amount) || !/^[A-Z]{3}$/.test(x.CurrencyCode ?? '')) {
            throw new Refused('10', 'BaseByGuestAmt needs AmountAfterTax or AmountBeforeTax, and a CurrencyCode');
          }
          if (currency !== undefined && x.CurrencyCode !== currency) throw new Refused('3', 'the BaseByGuestAmts of a rate must share one CurrencyCode');
          currency = x.CurrencyCode;
          if (x.NumberOfGuests === undefined) continue;
          if (!/^[1-9]\d?$/.test(x.NumberOfGuests)) throw new Refused('10', 'BaseByGuestAmt NumberOfGuests must be a whole number of guests (1 or more)');
          // More guests than the room holds: no itinerary can use it ("considered not possible").
          const capacity = products?.maxOccupancy?.[room];
          if (capacity !== undefined && Number(x.NumberOfGuests) > capacity) continue;
          occupancyRates[x.NumberOfGuests] = Number(amount).toFixed(2);
        }
        // The double-occupancy amount is the base rate; another when it is the only one given.
        const a = amounts.find((x) => x.NumberOfGuests === '2') ?? amounts[0];
        if (!a) throw new Refused('10', 'BaseByGuestAmt needs AmountAfterTax or AmountBeforeTax, and a CurrencyCode');
        // An overlay: these nights of the product hold exactly these amounts.
        set({ rate: Number(a.AmountAfterTax ?? a.AmountBeforeTax).toFixed(2), currency: a.CurrencyCode!, occupancyRates });
      } else {
        if (!rate) throw new Refused('10', 'a restriction needs RatePlanCode');
        for (const s of kids(it, 'RestrictionStatus').map((x) => x.$ ?? {})) {
          const closed = s.Status === 'Close' ? true : s.Status === 'Open' ? false : undefined;
          if (closed === undefined) throw new Refused('10', 'RestrictionStatus Status must be Open or Close');
          for (const [attr, field] of [
            ['MinAdvancedBookingOffset', 'minAdvanceDays'],
            ['MaxAdvancedBookingOffset', 'maxAdvanceDays'],
          ] as const) {
            if (s[attr] === undefined) continue;
            const days = offsetDays(s[attr]);
            if (days === undefined) throw new Refused('10', `${attr} must be whole days or a duration (got "${String(s[attr]).slice(0, 40)}")`);
            set({ [field]: days });
          }
          if (s.Restriction === 'Master') set({ closed });
          else if (s.Restriction === 'Arrival') set({ closedToArrival: closed });
          else if (s.Restriction === 'Departure') set({ closedToDeparture: closed });
          else throw new Refused('10', `Restriction ${String(s.Restriction).slice(0, 40)} is not one this sandbox knows`);
        }
        for (const l of kids(kids(it, 'LengthsOfStay')[0], 'LengthOfStay').map((x) => x.$ ?? {})) {
          const days = Number(l.Time);
          if (!Number.isInteger(days) || days < 0 || (l.TimeUnit && l.TimeUnit !== 'Day')) throw new Refused('10', 'LengthOfStay needs Time in whole days');
          if (l.MinMaxMessageType === 'SetMinLOS') set({ minLos: days });
          else if (l.MinMaxMessageType === 'SetMaxLOS') set({ maxLos: days });
          else if (l.MinMaxMessageType === 'SetForwardMinStay') set({ minStayThrough: days });
          else if (l.MinMaxMessageType === 'SetForwardMaxStay') set({ maxStayThrough: days });
          else throw new Refused('10', `MinMaxMessageType ${String(l.MinMaxMessageType).slice(0, 40)} is not one this sandbox knows`);
        }
      }
    }
    if (!changes.length) throw new Refused('10', `the message holds no <${item}>`);
    return () => {
      for (const c of changes) c();
      this.#cells.set(hotel, cells);
      this.#rooms.set(hotel, rooms);
      this.stats.items += changes.length;
    };
  }

  /** Answers with the injected fault and says true; false when the request goes on (slow, once its delay is over). */
  async #fault(kind: FaultKind, reply: FastifyReply): Promise<boolean> {
    const plan = this.faults.plan;
    if (kind === 'slow' || kind === 'timeout') {
      await new Promise<void>((resolve) => {
        const release = () => {
          clearTimeout(t);
          this.#held.delete(release);
          resolve();
        };
        const t = setTimeout(release, kind === 'slow' ? plan.slowMs : plan.timeoutMs);
        this.#held.add(release);
      });
      if (kind === 'slow') return false;
      await this.#answer(reply, 504, 'text/plain', 'Gateway Timeout');
      return true;
    }
    if (kind === 'tooMany') await this.#answer(reply.header('retry-after', String(plan.retryAfterSeconds)), 429, 'text/plain', 'Too Many Requests');
    else if (kind === 'malformed') await this.#answer(reply, 200, 'application/xml', '<html><body>not the protocol</body>');
    else await this.#answer(reply, 503, 'text/html', '<html><body>Service Unavailable</body></html>');
    return true;
  }

  async #answer(reply: FastifyReply, status: number, type: string, body: string): Promise<void> {
    await reply.code(status).type(type).send(body);
  }
}
