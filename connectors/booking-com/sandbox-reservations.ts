/**
 * The Booking.com sandbox's reservation queue: what `GET …/OTA_HotelResNotif` (new reservations) and
 * `GET …/OTA_HotelResModifyNotif` (modifications and cancellations) hand out, and their
 * acknowledgements. Sources (developers.booking.com/connectivity/docs/reservations-api/…):
 * retrieving-new-reservations-ota, retrieving-modifcancel-reservations-ota,
 * acknowledging-new-reservations-ota, acknowledging-modif-cancel-reservations-ota,
 * reservations-troubleshooting; the fallback to e-mail after 30 minutes from
 * reservations-flow-control-api/reservations-recovery-overview.
 *
 * Invariants: a reservation has one current message (the latest), in one of the two queues; it
 * stays queued until acknowledged, and is handed out on every poll until then; an acknowledgement
 * is valid only for the current message, and only once its current version was handed out
 * ("acknowledge a message that is no longer the latest for that given reservation" → 400); a
 * message not acknowledged 30 minutes after it was queued leaves for the hotel's e-mail (`expired`:
 * a booking the PMS lost). The input type is ours.
 */
import { z } from 'zod';
import { addDays } from '../../core/dates.ts';
import { otaDocument } from './sandbox-xml.ts';
import { renderReservation } from './sandbox-render.ts';

export const EXPIRY_MS = 30 * 60_000; // "within the timeout of 30 minutes … sent to the property by email"
/** Our cap per poll (Booking.com's default and maximum `limit` are not published). */
export const MAX_PER_POLL = 50;

export type QueueKind = 'new' | 'modify' | 'cancel';
export type Queue = 'new' | 'modify';
export const QUEUE_ROOTS = {
  new: { rq: 'OTA_HotelResNotifRQ', rs: 'OTA_HotelResNotifRS', list: 'HotelReservations', item: 'HotelReservation' },
  modify: { rq: 'OTA_HotelResModifyNotifRQ', rs: 'OTA_HotelResModifyNotifRS', list: 'HotelResModifies', item: 'HotelResModify' },
} as const;

// ---- the input (ours): what a guest booked, with defaults so tests stay short ----
const isCalendarDate = (s: string) =>
  /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);
const date = z.string().refine(isCalendarDate, 'must be a YYYY-MM-DD date');
const money = z.string().regex(/^\d{1,10}(\.\d{1,3})?$/, 'must be a decimal amount with at most 3 decimals');
const person = z.strictObject({ firstName: z.string().min(1).optional(), lastName: z.string().min(1) });

const roomSchema = z
  .strictObject({
    index: z
      .string()
      .regex(/^\d{1,12}$/)
      .optional(), // RoomStay/@IndexNumber; default: the room's position
    roomCode: z.string().min(1),
    rateCode: z.string().min(1), // for the nights that name none
    /** One per night, consecutive: a RoomRate each ("one RoomRate per room, per night", api-reference/roomrate). */
    nights: z.array(z.strictObject({ date, amount: money, rateCode: z.string().min(1).optional() })).min(1),
    /** Optional cross-checks of the nights: the first night, and the night after the last. */
    arrival: date.optional(),
    departure: date.optional(),
    name: z.string().min(1).default('Double Room'), // RoomDescription/@Name
    description: z.string().min(1).default('Double room with a private bathroom.'),
    mealPlan: z.string().min(1).default('Breakfast is not included.'),
    maxChildren: z.number().int().min(0).default(0),
    amenities: z.array(z.string().min(1)).default([]),
    details: z.array(z.string().min(1)).default([]), // AdditionalDetails, rendered only when given
    adults: z.number().int().min(1).max(99).default(2),
    children: z.number().int().min(0).max(99).optional(),
    /** Asks for the children variant: one GuestCount AgeQualifyingCode="8" Age per child. */
    childAges: z.array(z.number().int().min(0).max(17)).optional(),
    guests: z.array(person).min(1).optional(), // default: the booker's name
    commission: money.optional(), // CommissionPayableAmount for the stay; no RatePlan without it
    comment: z.string().min(1).optional(),
    specialRequests: z.array(z.strictObject({ name: z.string().min(1), text: z.string().min(1) })).default([]),
    total: money.optional(), // default: the sum of the nights
  })
  .superRefine((r, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
    r.nights.forEach((n, i) => {
      if (i > 0 && n.date !== addDays(r.nights[i - 1]!.date, 1)) fail(`nights must be consecutive (${n.date} after ${r.nights[i - 1]!.date})`);
    });
    if (r.arrival && r.arrival !== r.nights[0]!.date) fail(`arrival ${r.arrival} is not the first night ${r.nights[0]!.date}`);
    const departure = addDays(r.nights.at(-1)!.date, 1);
    if (r.departure && r.departure !== departure) fail(`departure ${r.departure} is not the day after the last night (${departure})`);
    if (r.childAges && r.children !== undefined && r.children !== r.childAges.length) fail('children must equal the number of childAges');
  })
  .transform(({ arrival: _a, departure: _d, ...r }) => ({ ...r, children: r.childAges?.length ?? r.children ?? 0 }));

const serviceSchema = z.strictObject({
  code: z.string().min(1), // Service/@ServiceInventoryCode (its value list is not published)
  units: z.number().int().min(1).default(1), // Price/@NumberOfUnits
  unitPrice: money, // Price/Base, a plain decimal like Price/Total (api-reference/price)
  total: money.optional(), // default: units × unitPrice
  description: z.string().min(1).optional(),
  nights: z.number().int().min(1).optional(), // ServiceDetails/TimeSpan/@Duration
  fee: z
    .string()
    .regex(/^\d{1,9}$/)
    .optional(), // Fee/@Amount: an int in the property's currency (api-reference/fee)
  guests: z.number().int().min(1).optional(),
  room: z.number().int().min(1).optional(), // the room (1-based position) whose ServiceRPHs name it
});

export const sandboxReservationSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be 1–64 letters, digits or dashes'), // ResID_Value
    hotel: z.string().min(1),
    createdAt: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/, 'must be YYYY-MM-DDTHH:MM:SS')
      .optional(), // ResID_Date
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .default('EUR'),
    /** Money in RoomRate, RoomStay, ResGlobalInfo and commission is an integer with DecimalPlaces 0–3 (api-reference/total). */
    decimalPlaces: z.number().int().min(0).max(3).default(2),
    /** AmountAfterTax when taxes are included for the room type, else AmountBeforeTax (api-reference/total). */
    amounts: z.enum(['AfterTax', 'BeforeTax']).default('AfterTax'),
    rooms: z.array(roomSchema).min(1),
    services: z.array(serviceSchema).default([]),
    booker: z
      .strictObject({
        firstName: z.string().min(1).default('Jan'),
        lastName: z.string().min(1).default('Jansen'),
        email: z.string().min(1).optional(),
        phone: z.string().min(1).optional(),
        address: z
          .strictObject({
            line: z.string().min(1),
            city: z.string().min(1),
            postalCode: z.string().min(1),
            country: z.string().regex(/^[A-Z]{2}$/),
            company: z.string().min(1).optional(),
          })
          .optional(),
      })
      .prefault({}),
    comment: z.string().min(1).optional(),
    card: z
      .strictObject({
        code: z
          .string()
          .regex(/^[A-Z]{2}$/)
          .default('VI'), // CardCode
        number: z.string().regex(/^\d{12,19}$/),
        cvc: z
          .string()
          .regex(/^\d{0,4}$/)
          .default(''), // SeriesCode; the reference example sends ""
        expire: z.string().regex(/^(0[1-9]|1[0-2])\d{2}$/, 'must be MMYY'), // ExpireDate
        holder: z.string().min(1),
        /** A Booking.com virtual card: its activation date (PaymentCard/@EffectiveDate), and the "VCC with rate plan ID" feature. */
        virtual: z.strictObject({ activation: date.optional(), ratePlanSuffix: z.boolean().default(false) }).optional(),
      })
      .optional(),
    total: money.optional(), // ResGlobalInfo/Total; default: the rooms' totals
    /** How a cancellation is marked (the reference does not show it): ResStatus="Cancelled", or no RoomStay. */
    cancelStyle: z.enum(['status', 'empty']).default('status'),
  })
  .superRefine((r, ctx) => {
    const fits = (amount: string | undefined, where: string) => {
      if (amount && (amount.split('.')[1]?.length ?? 0) > r.decimalPlaces)
        ctx.addIssue({ code: 'custom', message: `${where} ${amount} has more decimals than decimalPlaces ${r.decimalPlaces}` });
    };
    fits(r.total, 'total');
    r.rooms.forEach((room, i) => {
      room.nights.forEach((n) => fits(n.amount, `rooms[${i}] night ${n.date}`));
      fits(room.total, `rooms[${i}].total`);
      fits(room.commission, `rooms[${i}].commission`);
    });
    const indexes = r.rooms.map((room, i) => room.index ?? String(i + 1));
    if (new Set(indexes).size !== indexes.length) ctx.addIssue({ code: 'custom', message: 'room indexes must be unique' });
    if (r.services.some((s) => s.room !== undefined && s.room > r.rooms.length))
      ctx.addIssue({ code: 'custom', message: 'a service names a room the reservation does not have' });
  });

/** A reservation as tests and the control route give it (defaults optional). */
export type SandboxReservation = z.input<typeof sandboxReservationSchema>;
/** The same, defaults applied: what the renderer reads. */
export type ReservationContent = z.output<typeof sandboxReservationSchema>;

interface Message {
  queue: Queue;
  kind: QueueKind; // of the latest content
  content: ReservationContent;
  version: number; // bumped when a later change replaces the content before an acknowledgement
  handedOut: number; // the version last handed out (0: never)
  deliveries: number;
  queuedAt: number;
  ackedAt?: number;
  expiredAt?: number;
  supersededAt?: number; // a new message a cancellation replaced before its acknowledgement
  failures: string[];
}
interface Reservation {
  id: string;
  hotel: string;
  createdAt: string;
  cardSent: boolean;
  messages: Message[];
}

export type AckOutcome = { status: 200; acknowledged: number } | { status: 400; id: string } | { status: 403; hotel: string };

const pending = (m: Message) => m.ackedAt === undefined && m.expiredAt === undefined && m.supersededAt === undefined;
/** ResID_Date "YYYY-MM-DDTHH:MM:SS", no zone: we write Booking.com's own time, Amsterdam's (our choice). */
const amsterdamTime = (d: Date) =>
  new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Amsterdam', dateStyle: 'short', timeStyle: 'medium' }).format(d).replace(' ', 'T');

export class ReservationQueue {
  readonly #reservations = new Map<string, Reservation>();
  readonly stats = { handedOut: 0, acked: 0, failureAcks: 0, expired: 0 };
  constructor(private readonly now: () => Date) {}

  /**
   * A guest's booking, change or cancellation at Booking.com (throws a ZodError for bad input).
   * Modifications carry the whole reservation. "If there were changes to the reservation before you
   * could acknowledge the original new reservation message, then you can still retrieve the
   * reservation as a new reservation message" (retrieving-modifcancel-reservations-ota): a change
   * before the first acknowledgement replaces the new message's content. A cancellation always goes
   * to the modify queue ("modified or cancelled reservations"); an unacknowledged new message it
   * follows is superseded, no longer the latest (our choice). A reservation the sandbox never saw
   * counts as acknowledged earlier.
   */
  add(kind: QueueKind, input: SandboxReservation): void {
    const content = sandboxReservationSchema.parse(input);
    const at = this.now().getTime();
    let res = this.#reservations.get(content.id);
    if (!res) {
      res = { id: content.id, hotel: content.hotel, createdAt: content.createdAt ?? amsterdamTime(this.now()), cardSent: false, messages: [] };
      this.#reservations.set(content.id, res);
      if (kind === 'new') {
        res.messages.push(this.#message('new', 'new', content, at));
        return;
      }
    }
    const current = res.messages.at(-1);
    if (current && pending(current) && !(current.queue === 'new' && kind === 'cancel')) {
      // The 30-minute clock keeps running from the first queueing (our choice).
      Object.assign(current, { content, version: current.version + 1, kind: current.queue === 'new' ? 'new' : kind === 'cancel' ? 'cancel' : 'modify' });
      return;
    }
    if (current && pending(current)) current.supersededAt = at;
    res.messages.push(this.#message('modify', kind === 'cancel' ? 'cancel' : 'modify', content, at));
  }

  #message(queue: Queue, kind: QueueKind, content: ReservationContent, at: number): Message {
    return { queue, kind, content, version: 1, handedOut: 0, deliveries: 0, queuedAt: at, failures: [] };
  }

  /** The queue's state, per message, oldest first (tests and the control route). */
  summary(hotel?: string) {
    this.#expire();
    const all = this.#messages().filter(({ res }) => !hotel || res.hotel === hotel);
    const of = ({ res, m }: { res: Reservation; m: Message }) => ({
      id: res.id,
      kind: m.kind,
      version: m.version,
      deliveries: m.deliveries,
      failures: m.failures,
    });
    return {
      pending: all.filter(({ m }) => pending(m)).map(of),
      acked: all.filter(({ m }) => m.ackedAt !== undefined).map(of),
      expired: all.filter(({ m }) => m.expiredAt !== undefined).map(of),
      superseded: all.filter(({ m }) => m.supersededAt !== undefined).map(of),
    };
  }

  reset(): void {
    this.#reservations.clear();
    Object.assign(this.stats, { handedOut: 0, acked: 0, failureAcks: 0, expired: 0 });
  }

  /**
   * The document a poll answers: the pending messages of these hotels, oldest first ("by default,
   * the response contains only reservations which have not yet been acknowledged"); with `id`, that
   * reservation's latest message of the queue whatever its state, or null when there is none.
   */
  poll(queue: Queue, hotels: Set<string>, limit = MAX_PER_POLL, id?: string): string | null {
    this.#expire();
    let due = this.#messages().filter(({ res, m }) => m.queue === queue && hotels.has(res.hotel));
    if (id !== undefined) {
      const last = due.filter(({ res }) => res.id === id).at(-1);
      if (!last) return null;
      due = [last];
    } else due = due.filter(({ m }) => pending(m)).slice(0, Math.min(limit, MAX_PER_POLL));
    const names = QUEUE_ROOTS[queue];
    const items = due.map(({ res, m }) => {
      // Guarantee: "Will only be sent once and deleted afterwards" (api-reference/resglobalinfo).
      const card = !res.cardSent && m.content.card !== undefined;
      res.cardSent ||= card;
      m.handedOut = m.version;
      m.deliveries += 1;
      const cancelled = m.kind === 'cancel' ? m.content.cancelStyle : undefined;
      return renderReservation(m.content, { element: names.item, createdAt: res.createdAt, card, ...(cancelled ? { cancelled } : {}) });
    });
    this.stats.handedOut += items.length;
    // Root attributes as api-reference/ota_hotelresnotifrq and ota_hotelresmodifynotifrq show them.
    return otaDocument(names.rq, '2.001', this.now(), { [names.list]: items.length ? { [names.item]: items } : '' });
  }

  /**
   * An acknowledgement of `ids` at `queue`'s endpoint. Each must name the reservation's current
   * message, of that queue, handed out as it now stands; otherwise nothing is acknowledged and the
   * answer is 400 "Hotel reservation has transaction message of the wrong type"
   * (reservations-troubleshooting: no longer the latest, or the wrong endpoint). Acknowledging again
   * the current message once acknowledged (or expired) is accepted and changes nothing (our choice:
   * a client retrying after a lost answer). `failed` ids (an acknowledgement with `<Errors>`) stay
   * queued with the text recorded.
   */
  acknowledge(queue: Queue, hotels: Set<string>, ok: string[], failed: Array<{ id: string; text: string }> = []): AckOutcome {
    this.#expire();
    const found: Message[] = [];
    for (const id of [...ok, ...failed.map((f) => f.id)]) {
      const res = this.#reservations.get(id);
      if (res && !hotels.has(res.hotel)) return { status: 403, hotel: res.hotel };
      const m = res?.messages.at(-1);
      if (!m || m.queue !== queue || m.handedOut !== m.version) return { status: 400, id };
      found.push(m);
    }
    let acknowledged = 0;
    found.forEach((m, i) => {
      if (i >= ok.length) m.failures.push(failed[i - ok.length]!.text);
      else if (pending(m)) {
        m.ackedAt = this.now().getTime();
        acknowledged += 1;
      }
    });
    this.stats.acked += acknowledged;
    this.stats.failureAcks += failed.length;
    return { status: 200, acknowledged };
  }

  #messages(): Array<{ res: Reservation; m: Message }> {
    return [...this.#reservations.values()].flatMap((res) => res.messages.map((m) => ({ res, m }))).sort((a, b) => a.m.queuedAt - b.m.queuedAt);
  }

  #expire(): void {
    const now = this.now().getTime();
    for (const { m } of this.#messages()) {
      if (pending(m) && now - m.queuedAt >= EXPIRY_MS) {
        m.expiredAt = now;
        this.stats.expired += 1;
      }
    }
  }
}
