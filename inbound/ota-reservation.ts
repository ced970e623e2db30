/**
 * OpenTravel reservations → normalised bookings. Every source speaks the same OTA vocabulary with
 * its own accents, read here once:
 *  - Expedia: `HotelReservation` / `HotelResModify` (kind from the root), its id in
 *    `UniqueID Type="14"`, nightly prices in `RoomRate/Rates/Rate/Base`, the hotel in
 *    `BasicPropertyInfo`, our confirmation in `HotelReservationID ResID_Type="3"`;
 *    `OTA_CancelRQ` by `UniqueID` and `Verification`.
 *  - Booking.com: its id in `ResGlobalInfo/HotelReservationIDs/HotelReservationID/@ResID_Value`.
 *  - OpenTravel / AlpineBits: `ResStatus` on the reservation (Requested, Reserved, Commit, Modify,
 *    Cancel, Cancelled), the hotel in `ResGlobalInfo/BasicPropertyInfo`, the card number in
 *    `CardNumber/PlainText`.
 * What the schema refuses becomes an InboundRefusal naming the element.
 */
import { bookingSchema, checkBooking, type Booking, type InboundChannel } from './booking.ts';
import { InboundRefusal, refuse, type RefusalReason } from './refusal.ts';
import { at, attr, kid, kids, textOf, type XmlNode } from './xml.ts';

export interface ReservationContext {
  channel: InboundChannel;
  /** Set by the root element where it decides (Expedia's three messages, Booking.com's two queues). */
  kind?: Booking['kind'];
  /** The root's TimeStamp: the version time when the reservation carries none of its own. */
  timeStamp?: string;
  /** The hotel named outside the reservation (a SOAP header, the connection). */
  hotelCode?: string;
  /** The property's date today (bounds the stay dates). */
  today: string;
}

const STATUS_KIND: Record<string, Booking['kind']> = {
  commit: 'new', reserved: 'new', book: 'new', booked: 'new', confirmed: 'new', requested: 'new', new: 'new',
  modify: 'modify', modified: 'modify',
  cancel: 'cancel', cancelled: 'cancel', canceled: 'cancel',
};

// OpenTravel payment card codes → StayOS card brands.
const CARD_BRANDS: Record<string, NonNullable<Booking['card']>['brand']> = {
  VI: 'visa', MC: 'mastercard', CA: 'mastercard', AX: 'amex', DS: 'discover', DC: 'diners', DN: 'diners', JC: 'jcb', CU: 'unionpay', MA: 'maestro',
};

/** A reservation element (HotelReservation or HotelResModify) → a checked booking. */
export function parseReservation(res: XmlNode, ctx: ReservationContext): Booking {
  const status = attr(res, 'ResStatus')?.toLowerCase();
  const kind = ctx.kind === 'cancel' ? 'cancel' : (status ? STATUS_KIND[status] : undefined) ?? ctx.kind ?? (status ? undefined : 'new');
  if (!kind) refuse('invalid_value', `HotelReservation/@ResStatus: "${attr(res, 'ResStatus')!.slice(0, 20)}" is not a status we know (Commit, Reserved, Requested, Modify, Cancel)`);
  const global = kid(res, 'ResGlobalInfo');
  const ids = kids(at(global, 'HotelReservationIDs'), 'HotelReservationID');
  const uniqueIds = kids(res, 'UniqueID');
  const externalId = attr(uniqueIds.find((u) => ['14', '15'].includes(attr(u, 'Type') ?? '')), 'ID')
    ?? attr(ids.find((i) => ['8', '14'].includes(attr(i, 'ResID_Type') ?? '')), 'ResID_Value')
    ?? attr(ids.find((i) => !attr(i, 'ResID_Type') || ctx.channel === 'booking_com'), 'ResID_Value')
    ?? attr(uniqueIds[0], 'ID');
  const ourConfirmation = attr(ids.find((i) => attr(i, 'ResID_Type') === '3'), 'ResID_Value');

  const stays = kids(kid(res, 'RoomStays'), 'RoomStay');
  const currencies = new Set<string>();
  const amount = (node: XmlNode | undefined, where: string, ...names: string[]): string | undefined => {
    for (const name of names) {
      const v = attr(node, name);
      if (v === undefined) continue;
      const c = attr(node, 'CurrencyCode');
      if (c) currencies.add(c);
      if (/^-/.test(v)) refuse('invalid_amount', `${where}/@${name} must not be negative`);
      if (!/^\d{1,10}(\.\d{1,3})?$/.test(v)) refuse('invalid_amount', `${where}/@${name} must be a decimal amount (e.g. 120.50)`);
      return v;
    }
    return undefined;
  };

  const rooms = stays.flatMap((stay, i) => {
    const where = `RoomStay[${i + 1}]`;
    const roomRates = kids(kid(stay, 'RoomRates'), 'RoomRate');
    const span = kid(stay, 'TimeSpan');
    const arrival = attr(span, 'Start');
    const departure = attr(span, 'End');
    if (!arrival || !departure) refuse('missing_field', `${where}/TimeSpan/@Start and @End are required (the stay dates)`);
    const nights: Array<{ date: string; amount: string }> = [];
    roomRates.forEach((rr, j) => {
      for (const rate of kids(kid(rr, 'Rates'), 'Rate')) {
        const from = attr(rate, 'EffectiveDate') ?? attr(rr, 'EffectiveDate');
        const to = attr(rate, 'ExpireDate') ?? attr(rr, 'ExpireDate');
        const base = amount(kid(rate, 'Base'), `${where}/RoomRate[${j + 1}]/Rate/Base`, 'AmountAfterTax', 'AmountBeforeTax');
        const total = base === undefined ? amount(kid(rate, 'Total'), `${where}/RoomRate[${j + 1}]/Rate/Total`, 'AmountAfterTax', 'AmountBeforeTax') : undefined;
        if (!from || (base ?? total) === undefined) continue;
        // ExpireDate is exclusive (Expedia: Effective 05-31, Expire 06-01 prices the night of 05-31).
        const dates = expandNights(from, to && to > from ? to : undefined, `${where}/RoomRate[${j + 1}]`);
        const each = base ?? perNight(total!, dates.length);
        for (const date of dates) nights.push({ date, amount: each });
      }
    });
    const counts = kids(kid(stay, 'GuestCounts'), 'GuestCount');
    let adults = 0;
    let children = 0;
    for (const g of counts) {
      const n = Number(attr(g, 'Count') ?? '1');
      if (!Number.isInteger(n) || n < 0 || n > 99) refuse('invalid_occupancy', `${where}/GuestCounts/GuestCount/@Count must be a whole number 0–99`);
      const code = attr(g, 'AgeQualifyingCode');
      const age = attr(g, 'Age');
      const child = code ? code !== '10' : age !== undefined && Number(age) < 18;
      if (child) children += n;
      else adults += n;
    }
    if (!counts.length) adults = 1;
    const units = Number(attr(roomRates[0], 'NumberOfUnits') ?? '1');
    if (!Number.isInteger(units) || units < 1 || units > 10) refuse('invalid_value', `${where}/RoomRate/@NumberOfUnits must be 1–10`);
    const room = {
      roomCode: attr(at(stay, 'RoomTypes', 'RoomType'), 'RoomTypeCode') ?? attr(roomRates[0], 'RoomTypeCode'),
      rateCode: attr(at(stay, 'RatePlans', 'RatePlan'), 'RatePlanCode') ?? attr(roomRates[0], 'RatePlanCode'),
      arrival, departure, adults, children, nights,
      total: amount(kid(stay, 'Total'), `${where}/Total`, 'AmountAfterTax', 'AmountBeforeTax'),
      currency: attr(kid(stay, 'Total'), 'CurrencyCode') ?? [...currencies][0],
    };
    if (!room.roomCode) refuse('unknown_room', `${where}: no RoomType/@RoomTypeCode`);
    if (!room.rateCode) refuse('unknown_rate', `${where}: no RatePlan/@RatePlanCode`);
    return Array.from({ length: units }, () => room);
  });

  const customer = findCustomer(res, global);
  const person = kid(customer, 'PersonName');
  const phone = kid(customer, 'Telephone');
  const phoneNumber = phone && [attr(phone, 'CountryAccessCode') ? `+${attr(phone, 'CountryAccessCode')}` : '', attr(phone, 'AreaCityCode') ?? '', attr(phone, 'PhoneNumber') ?? '']
    .filter(Boolean).join(' ');
  const lastName = textOf(kid(person, 'Surname'));
  const guest = lastName || kind !== 'cancel'
    ? {
        firstName: textOf(kid(person, 'GivenName')), lastName: lastName ?? '',
        email: textOf(kid(customer, 'Email')), phone: phoneNumber || undefined,
        language: normaliseLanguage(attr(customer, 'Language')), country: attr(at(customer, 'Address', 'CountryName'), 'Code'),
      }
    : undefined;
  if (guest && !guest.lastName) refuse('missing_guest_name', 'ResGuest/Profiles/ProfileInfo/Profile/Customer/PersonName/Surname is required');

  const guarantee = stays.map((s) => kid(s, 'Guarantee')).find(Boolean) ?? kid(global, 'Guarantee');
  const cardNode = at(guarantee, 'GuaranteesAccepted', 'GuaranteeAccepted', 'PaymentCard');
  const virtual = stays.some((s) => textOf(kid(s, 'PaymentMethod')) === 'VirtualCard') || !!attr(cardNode, 'CardActivation');
  const card = cardNode ? parseCard(cardNode, virtual) : undefined;

  const requests = [
    ...stays.flatMap((s) => kids(kid(s, 'SpecialRequests'), 'SpecialRequest').map((r) => textOf(kid(r, 'Text')) ?? textOf(r))),
    ...[...stays, global].flatMap((s) => kids(kid(s, 'Comments'), 'Comment').map((c) => textOf(kid(c, 'Text')))),
  ].filter((x): x is string => !!x).map((x) => x.replace(/[ \t]*\n\s*/g, '\n'));

  const hotelCode = attr(at(stays[0], 'BasicPropertyInfo'), 'HotelCode') ?? attr(kid(global, 'BasicPropertyInfo'), 'HotelCode') ?? ctx.hotelCode;
  const when = attr(res, 'LastModifyDateTime') ?? ctx.timeStamp ?? attr(res, 'CreateDateTime') ?? attr(ids[0], 'ResID_Date');
  const docNode = kids(customer, 'Document').find((d) => attr(d, 'DocType') === '2' && attr(d, 'DocID'));
  const promotion = attr(kids(kid(stays[0], 'RoomRates'), 'RoomRate')[0], 'PromotionCode');
  const booking = {
    channel: ctx.channel, hotelCode, externalId, kind, modifiedAt: parseTime(when, 'LastModifyDateTime / TimeStamp / CreateDateTime'),
    rooms, currency: attr(kid(global, 'Total'), 'CurrencyCode') ?? rooms.find((r) => r.currency)?.currency,
    total: amount(kid(global, 'Total'), 'ResGlobalInfo/Total', 'AmountAfterTax', 'AmountBeforeTax'),
    guest, card, ourConfirmation,
    document: docNode ? { type: 'passport', number: attr(docNode, 'DocID'), country: attr(docNode, 'DocIssueCountry') } : undefined,
    specialRequests: requests.length ? requests.join('; ').slice(0, 4000) : undefined,
    paymentCollect: card ? (virtual ? 'ota' : 'hotel') : undefined,
    attributes: { ...(promotion ? { promotion: promotion.slice(0, 500) } : {}), ...(status ? { ota_status: status.slice(0, 40) } : {}) },
  };
  if (currencies.size > 1) refuse('currency_mismatch', `the booking mixes currencies (${[...currencies].sort().join(', ').slice(0, 60)}); all amounts must be in one`);
  return checkBooking(fromSchema(booking), ctx.today);
}

/** The hotel an `OTA_CancelRQ` names (`Verification/Vendor[@CodeContext="HotelCode"]`). */
export function cancelHotelCode(root: XmlNode): string | undefined {
  return textOf(kids(kid(root, 'Verification'), 'Vendor').find((v) => attr(v, 'CodeContext') === 'HotelCode'));
}

/** `OTA_CancelRQ` (Expedia) → a cancellation. */
export function parseCancel(root: XmlNode, ctx: ReservationContext): Booking {
  const ids = kids(root, 'UniqueID');
  const hotel = cancelHotelCode(root) ?? ctx.hotelCode;
  return fromSchema({
    channel: ctx.channel, kind: 'cancel', hotelCode: hotel, rooms: [], attributes: {},
    externalId: attr(ids.find((u) => attr(u, 'Type') === '14'), 'ID'),
    ourConfirmation: attr(ids.find((u) => attr(u, 'Type') === '10'), 'ID'),
    modifiedAt: parseTime(ctx.timeStamp, 'OTA_CancelRQ/@TimeStamp'),
  });
}

/** The schema's verdict as a refusal that names the element. */
function fromSchema(input: Record<string, unknown>): Booking {
  const parsed = bookingSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String);
  const missing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
  const field = FIELD_NAMES[path.find((p) => p in FIELD_NAMES) ?? ''] ?? path.join('.');
  const reason: RefusalReason =
    path[0] === 'hotelCode' ? (missing ? 'missing_field' : 'unknown_hotel')
    : path[0] === 'guest' && path[1] === 'lastName' ? (missing ? 'missing_guest_name' : 'invalid_guest_name')
    : path.includes('roomCode') ? 'unknown_room'
    : path.includes('rateCode') ? 'unknown_rate'
    : path[0] === 'card' ? 'invalid_card'
    : path.includes('adults') || path.includes('children') ? 'invalid_occupancy'
    : path.includes('arrival') || path.includes('departure') || path.includes('date') ? 'invalid_dates'
    : path[0] === 'rooms' && path.length === 1 ? 'no_rooms'
    : missing ? 'missing_field' : 'invalid_value';
  throw new InboundRefusal(reason, `${field}: ${missing ? 'is required' : issue.message}`);
}

const FIELD_NAMES: Record<string, string> = {
  hotelCode: 'BasicPropertyInfo/@HotelCode', externalId: 'the reservation id (UniqueID/@ID or HotelReservationID/@ResID_Value)',
  roomCode: 'RoomType/@RoomTypeCode', rateCode: 'RatePlan/@RatePlanCode', arrival: 'TimeSpan/@Start', departure: 'TimeSpan/@End',
  adults: 'GuestCounts (adults)', children: 'GuestCounts (children)', email: 'Customer/Email', phone: 'Customer/Telephone',
  lastName: 'PersonName/Surname', firstName: 'PersonName/GivenName', card: 'PaymentCard', currency: '@CurrencyCode',
  document: 'Customer/Document', specialRequests: 'SpecialRequests',
};

function findCustomer(res: XmlNode, global: XmlNode | undefined): XmlNode | undefined {
  const guests = kids(kid(res, 'ResGuests'), 'ResGuest');
  const primary = guests.find((g) => attr(g, 'PrimaryIndicator') === 'true') ?? guests[0];
  return at(primary, 'Profiles', 'ProfileInfo', 'Profile', 'Customer') ?? at(global, 'Profiles', 'ProfileInfo', 'Profile', 'Customer');
}

function parseCard(node: XmlNode, virtual: boolean) {
  const number = (attr(node, 'CardNumber') ?? textOf(at(node, 'CardNumber', 'PlainText')) ?? '').replace(/\s/g, '');
  const expire = attr(node, 'ExpireDate') ?? '';
  if (!/^(0[1-9]|1[0-2])\d{2}$/.test(expire)) refuse('invalid_card', 'PaymentCard/@ExpireDate must be MMYY');
  const activation = attr(node, 'CardActivation') ?? attr(node, 'EffectiveDate');
  return {
    brand: CARD_BRANDS[attr(node, 'CardCode') ?? ''] ?? 'other', number, holder: textOf(kid(node, 'CardHolderName')),
    expiryMonth: Number(expire.slice(0, 2)), expiryYear: 2000 + Number(expire.slice(2)), virtual,
    activationDate: activation && /^\d{4}-\d{2}-\d{2}/.test(activation) ? activation.slice(0, 10) : undefined,
  };
}

function normaliseLanguage(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const m = /^([a-zA-Z]{2})(?:[-_]([a-zA-Z]{2}))?$/.exec(v);
  return m ? (m[2] ? `${m[1]!.toLowerCase()}-${m[2].toUpperCase()}` : m[1]!.toLowerCase()) : undefined;
}

/** An OTA date-time; without an offset it is read as UTC (Booking.com's ResID_Date has none). */
function parseTime(v: string | undefined, what: string): Date {
  if (!v) return refuse('missing_field', `${what} is required (the time of this version of the booking)`);
  const m = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$/.exec(v);
  const t = m ? Date.parse(m[3] ? v : `${v}Z`) : NaN;
  if (Number.isNaN(t)) refuse('invalid_value', `${what} must be an ISO date-time (YYYY-MM-DDThh:mm:ss±hh:mm)`);
  return new Date(t);
}

function expandNights(from: string, to: string | undefined, where: string): string[] {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || (to !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(to))) refuse('invalid_dates', `${where}: EffectiveDate/ExpireDate must be YYYY-MM-DD`);
  const start = Date.parse(`${from}T00:00:00Z`);
  const nights = to ? Math.round((Date.parse(`${to}T00:00:00Z`) - start) / 86_400_000) : 1;
  if (!(nights >= 1 && nights <= 366)) refuse('invalid_dates', `${where}: a rate may cover 1–366 nights`);
  return Array.from({ length: nights }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}

function perNight(total: string, nights: number): string {
  return (Math.round((Number(total) * 1000) / nights) / 1000).toString();
}
