/**
 * The Booking.com sandbox's reservation queue: what `GET …/OTA_HotelResNotif` (new bookings) and
 * `GET …/OTA_HotelResModifyNotif` (modifications and cancellations) hand out, and their
 * acknowledgements (`POST` of `OTA_HotelResNotifRS` / `OTA_HotelResModifyNotifRS`). Invariants, as
 * Booking.com behaves: a message stays queued until acknowledged with success, and is handed out
 * again on every poll until then; an acknowledgement covers only versions already handed out (a
 * modification queued after the last poll is not acknowledged by accident); anything not
 * acknowledged 30 minutes after it was queued leaves the queue for the hotel's e-mail (`expired`:
 * a booking the PMS lost).
 */
import { buildXml } from '../../core/xml.ts';
import { OTA_NAMESPACE } from './messages.ts';

export const EXPIRY_MS = 30 * 60_000;
export const MAX_PER_POLL = 50;

export type QueueKind = 'new' | 'modify' | 'cancel';

/** A reservation as the sandbox renders it into Booking.com's OTA XML. */
export interface SandboxReservation {
  id: string;
  hotel: string;
  modifiedAt: string; // ISO date-time
  currency: string;
  rooms: Array<{ roomCode: string; rateCode: string; arrival: string; departure: string; adults: number; children?: number; nights: Array<{ date: string; amount: string }> }>;
  guest: { firstName?: string; lastName: string; email?: string };
  card?: { code: string; number: string; expire: string; holder?: string };
}

interface Entry {
  seq: number;
  kind: QueueKind;
  reservation: SandboxReservation;
  queuedAt: number;
  deliveries: number;
  ackedAt?: number;
  expiredAt?: number;
  failures: string[];
}

export class ReservationQueue {
  readonly #entries: Entry[] = [];
  #seq = 0;
  readonly stats = { handedOut: 0, acked: 0, failureAcks: 0, expired: 0 };
  constructor(private readonly now: () => Date) {}

  add(kind: QueueKind, reservation: SandboxReservation): void {
    this.#entries.push({ seq: ++this.#seq, kind, reservation, queuedAt: this.now().getTime(), deliveries: 0, failures: [] });
  }

  /** The queue's state for tests and the control API. */
  summary(hotel?: string) {
    this.#expire();
    const of = (e: Entry) => ({ id: e.reservation.id, kind: e.kind, deliveries: e.deliveries, failures: e.failures });
    const mine = this.#entries.filter((e) => !hotel || e.reservation.hotel === hotel);
    return {
      pending: mine.filter((e) => e.ackedAt === undefined && e.expiredAt === undefined).map(of),
      acked: mine.filter((e) => e.ackedAt !== undefined).map(of),
      expired: mine.filter((e) => e.expiredAt !== undefined).map(of),
    };
  }

  reset(): void {
    this.#entries.length = 0;
    Object.assign(this.stats, { handedOut: 0, acked: 0, failureAcks: 0, expired: 0 });
  }

  /** The XML a poll answers: the pending messages of these hotels, oldest first. */
  poll(queue: 'new' | 'modify', hotels: Set<string>, limit = MAX_PER_POLL): string {
    this.#expire();
    const due = this.#entries
      .filter((e) => e.ackedAt === undefined && e.expiredAt === undefined && hotels.has(e.reservation.hotel) && (queue === 'new') === (e.kind === 'new'))
      .slice(0, Math.min(limit, MAX_PER_POLL));
    for (const e of due) e.deliveries += 1;
    this.stats.handedOut += due.length;
    const $ = { xmlns: OTA_NAMESPACE, Version: '2.001', Target: 'Production', TimeStamp: this.now().toISOString().slice(0, 19) };
    if (queue === 'new') return buildXml({ OTA_HotelResNotifRQ: { $, HotelReservations: due.length ? { HotelReservation: due.map((e) => render(e)) } : '' } });
    return buildXml({ OTA_HotelResModifyNotifRQ: { $, HotelResModifies: due.length ? { HotelResModify: due.map((e) => render(e)) } : '' } });
  }

  /** An acknowledgement: `ok` ids leave the queue (versions handed out so far); `failed` ids stay. */
  acknowledge(queue: 'new' | 'modify', hotels: Set<string>, ok: string[], failed: Array<{ id: string; text: string }>): number {
    this.#expire();
    let n = 0;
    for (const e of this.#entries) {
      if (e.ackedAt !== undefined || e.expiredAt !== undefined || !hotels.has(e.reservation.hotel) || (queue === 'new') !== (e.kind === 'new')) continue;
      if (e.deliveries > 0 && ok.includes(e.reservation.id)) {
        e.ackedAt = this.now().getTime();
        n += 1;
      }
      const f = failed.find((x) => x.id === e.reservation.id);
      if (f && e.deliveries > 0) e.failures.push(f.text);
    }
    this.stats.acked += n;
    this.stats.failureAcks += failed.length;
    return n;
  }

  #expire(): void {
    const now = this.now().getTime();
    for (const e of this.#entries) {
      if (e.ackedAt === undefined && e.expiredAt === undefined && now - e.queuedAt >= EXPIRY_MS) {
        e.expiredAt = now;
        this.stats.expired += 1;
      }
    }
  }
}

/** One reservation in Booking.com's OTA form (id in ResGlobalInfo/HotelReservationIDs). */
function render(e: Entry) {
  const r = e.reservation;
  const status = { new: 'Commit', modify: 'Modify', cancel: 'Cancel' }[e.kind];
  return {
    $: { ResStatus: status, LastModifyDateTime: r.modifiedAt },
    RoomStays: e.kind === 'cancel' ? '' : {
      RoomStay: r.rooms.map((room, i) => ({
        $: { IndexNumber: String(i + 1) },
        RoomTypes: { RoomType: { $: { RoomTypeCode: room.roomCode } } },
        RatePlans: { RatePlan: { $: { RatePlanCode: room.rateCode } } },
        RoomRates: { RoomRate: room.nights.map((n) => ({ $: { EffectiveDate: n.date, RatePlanCode: room.rateCode }, Rates: { Rate: { $: { EffectiveDate: n.date }, Base: { $: { AmountAfterTax: n.amount, CurrencyCode: r.currency } } } } })) },
        GuestCounts: { GuestCount: [{ $: { AgeQualifyingCode: '10', Count: String(room.adults) } }, ...(room.children ? [{ $: { AgeQualifyingCode: '8', Count: String(room.children) } }] : [])] },
        TimeSpan: { $: { Start: room.arrival, End: room.departure } },
        Total: { $: { AmountAfterTax: room.nights.reduce((s, n) => s + Math.round(Number(n.amount) * 100), 0) / 100 + '', CurrencyCode: r.currency } },
        BasicPropertyInfo: { $: { HotelCode: r.hotel } },
      })),
    },
    ResGuests: { ResGuest: { Profiles: { ProfileInfo: { Profile: { Customer: {
      PersonName: { ...(r.guest.firstName ? { GivenName: r.guest.firstName } : {}), Surname: r.guest.lastName },
      ...(r.guest.email ? { Email: r.guest.email } : {}),
    } } } } } },
    ResGlobalInfo: {
      ...(r.card && e.kind !== 'cancel' ? { Guarantee: { GuaranteesAccepted: { GuaranteeAccepted: { PaymentCard: {
        $: { CardCode: r.card.code, CardNumber: r.card.number, ExpireDate: r.card.expire }, ...(r.card.holder ? { CardHolderName: r.card.holder } : {}),
      } } } } } : {}),
      HotelReservationIDs: { HotelReservationID: { $: { ResID_Value: r.id, ResID_Date: r.modifiedAt.slice(0, 19) } } },
      BasicPropertyInfo: { $: { HotelCode: r.hotel } },
    },
  };
}
