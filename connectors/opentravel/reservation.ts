/**
 * OpenTravel reservations → normalised bookings. The three senders speak the same vocabulary with
 * their own accents, each read as its publisher documents it (docs/conformance.md lists every
 * element and where it lands):
 *  - Booking.com (developers.booking.com/connectivity/docs/api-reference/…): no TimeSpan (the stay
 *    is the list of `RoomRate/@EffectiveDate`, one per room per night); amounts are integers scaled
 *    by `@DecimalPlaces`; the booker in `ResGlobalInfo/Profiles`, the people per room in `ResGuests`
 *    linked by `ResGuestRPH`; the reservation id in `HotelReservationID/@ResID_Value`; the queue
 *    (new, or modifications and cancellations) decides the kind, and a modification without rooms
 *    or with `ResStatus="Cancelled"` is a cancellation; a `RatePlanCode` ending in `VCC` is the
 *    same rate plan paid by a virtual card.
 *  - Expedia Booking Notification (one room per message): Rate `@ExpireDate` is exclusive; the
 *    night's price is `Base` + `AdditionalGuestAmounts` + `Fees` (per-stay fees and taxes only in
 *    `Total`); a virtual card's chargeable amount in `RoomStay/Payment`; the guest's own request is
 *    `SpecialRequest RequestCode="4"`; a Hotel Collect booking is sold by an "A-" point of sale.
 *  - OpenTravel / AlpineBits: `ResStatus` on the reservation; 2015A date rules (ExpireDate
 *    inclusive unless `ExpireDateExclusiveInd="true"`); the card number in `CardNumber/PlainText`.
 * What a value can never mean is an InboundRefusal naming the element; what is legal but unusual
 * (a phone with letters, an unknown status at Booking.com) is taken and kept as given.
 */
import { addDays } from '../../core/dates.ts';
import { bookingSchema, checkBooking, type Booking, type InboundChannel } from '../../inbound/booking.ts';
import { InboundRefusal, refuse, type RefusalReason } from '../../inbound/refusal.ts';
import { at, attr, kid, kids, textOf, type XmlNode } from '../../core/xml.ts';
import { cardExpiryDay, cardOf, customerOf, money, nightsOf, parseTime, personOf, sumMoney, type Money } from './values.ts';
import { commissionOf, compact, fitDetails, penaltiesOf, raw, READ, servicesOf, taxesOf, texts, unread } from './details.ts';

export interface ReservationContext {
  channel: InboundChannel;
  /** Set by the root element where it decides (Expedia's three messages, Booking.com's two queues). */
  kind?: Booking['kind'];
  /** The root's TimeStamp: the version time when the reservation carries none of its own. */
  timeStamp?: string;
  /** The hotel named outside the reservation (a SOAP header, the connection). */
  hotelCode?: string;
  /** The message's root element (Expedia names the point of sale there: `POS/Source/RequestorID`). */
  root?: XmlNode;
  /** The property's date today (bounds the stay dates). */
  today: string;
}

const STATUS_KIND: Record<string, Booking['kind']> = {
  commit: 'new',
  reserved: 'new',
  book: 'new',
  booked: 'new',
  confirmed: 'new',
  requested: 'new',
  new: 'new',
  modify: 'modify',
  modified: 'modify',
  cancel: 'cancel',
  cancelled: 'cancel',
  canceled: 'cancel',
};
// OpenTravel AgeQualifyingCode (AQC) values that mean a child: 3 under 2, 4 under 12, 5 under 17,
// 7 infant, 8 child, 12 under 10, 13 junior, 14 teenager. An @Age, when given, decides.
const CHILD_CODES = new Set(['3', '4', '5', '7', '8', '12', '13', '14']);

type Details = Record<string, unknown>;

/**
 * The hotel a reservation element names: its first room stay's `BasicPropertyInfo@HotelCode`, else
 * `ResGlobalInfo`'s. Undefined when it names none (the message's context then tells).
 */
export function reservationHotelCode(res: XmlNode): string | undefined {
  return (
    attr(at(kids(kid(res, 'RoomStays'), 'RoomStay')[0], 'BasicPropertyInfo'), 'HotelCode') ??
    attr(kid(kid(res, 'ResGlobalInfo'), 'BasicPropertyInfo'), 'HotelCode')
  );
}

/** A reservation element (HotelReservation or HotelResModify) → a checked booking. */
export function parseReservation(res: XmlNode, ctx: ReservationContext): Booking {
  const status = attr(res, 'ResStatus')?.toLowerCase();
  const stays = kids(kid(res, 'RoomStays'), 'RoomStay');
  const kind = kindOf(status, stays.length, ctx);
  const global = kid(res, 'ResGlobalInfo');
  const ids = kids(at(global, 'HotelReservationIDs'), 'HotelReservationID');
  const uniqueIds = kids(res, 'UniqueID');
  const externalId =
    attr(
      uniqueIds.find((u) => ['14', '15'].includes(attr(u, 'Type') ?? '')),
      'ID',
    ) ??
    attr(
      ids.find((i) => ['8', '14'].includes(attr(i, 'ResID_Type') ?? '')),
      'ResID_Value',
    ) ??
    attr(
      ids.find((i) => !attr(i, 'ResID_Type') || ctx.channel === 'booking_com'),
      'ResID_Value',
    ) ??
    attr(uniqueIds[0], 'ID');
  const ourConfirmation = attr(
    ids.find((i) => attr(i, 'ResID_Type') === '3'),
    'ResID_Value',
  );

  const currencies = new Set<string>();
  const seen = (m: Money | undefined) => {
    if (m?.currency) currencies.add(m.currency);
    return m;
  };
  const resGuests = kids(kid(res, 'ResGuests'), 'ResGuest');
  const byRph = new Map(resGuests.map((g) => [attr(g, 'ResGuestRPH') ?? '', personOf(at(g, 'Profiles', 'ProfileInfo', 'Profile', 'Customer'))]));
  const vccRate = stays.some((s) => kids(kid(s, 'RoomRates'), 'RoomRate').some((r) => /VCC$/i.test(attr(r, 'RatePlanCode') ?? '')));

  const roomDetails: Details[] = [];
  const readRooms = () =>
    stays.flatMap((stay, i) => {
      const { room, details, units } = roomOf(stay, i, ctx, seen, byRph);
      return Array.from({ length: units }, (_, k) => {
        roomDetails.push(details);
        return units > 1 && room.ref ? { ...room, ref: `${room.ref}-${k + 1}` } : room;
      });
    });
  // A cancellation cancels the whole reservation: what its rooms say is kept when it can be read,
  // and never a reason to refuse it (the rooms would stay booked in the PMS).
  let rooms: ReturnType<typeof readRooms> = [];
  if (kind !== 'cancel') rooms = readRooms();
  else {
    try {
      readRooms();
    } catch (err) {
      if (!(err instanceof InboundRefusal)) throw err;
      roomDetails.length = 0;
      roomDetails.push({ unreadable: err.message });
    }
  }

  // The booker: ResGlobalInfo/Profiles (Booking.com, "the booker is not always a guest"), else the
  // primary (or first) ResGuest (Expedia, AlpineBits).
  const primary = resGuests.find((g) => attr(g, 'PrimaryIndicator') === 'true') ?? resGuests[0];
  const bookerNode = [at(global, 'Profiles', 'ProfileInfo', 'Profile', 'Customer'), at(primary, 'Profiles', 'ProfileInfo', 'Profile', 'Customer')].find((c) =>
    personOf(c),
  );
  const { guest, asGiven } = customerOf(bookerNode);
  if (!guest && kind !== 'cancel' && bookerNode) refuse('missing_guest_name', 'ResGuest/Profiles/ProfileInfo/Profile/Customer/PersonName/Surname is required');

  // The card: in the RoomStay (Expedia, AlpineBits) or in ResGlobalInfo (Booking.com, sent once).
  const guarantee = stays.map((s) => kid(s, 'Guarantee')).find(Boolean) ?? kid(global, 'Guarantee');
  const cardNode = at(guarantee, 'GuaranteesAccepted', 'GuaranteeAccepted', 'PaymentCard');
  const payment = stays.map((s) => kid(s, 'Payment')).find(Boolean);
  const virtual =
    vccRate ||
    stays.some((s) => textOf(kid(s, 'PaymentMethod')) === 'VirtualCard') ||
    !!attr(cardNode, 'CardActivation') ||
    (ctx.channel === 'booking_com' && !!attr(cardNode, 'EffectiveDate'));
  const read = cardNode ? cardOf(cardNode, virtual, ctx.channel === 'booking_com') : undefined;
  const globalTotal = seen(money(kid(global, 'Total'), 'ResGlobalInfo/Total', 'AmountAfterTax', 'AmountBeforeTax'));
  let card = read && 'card' in read ? read.card : undefined;
  if (card?.virtual) {
    // Expedia: "The Payment Amount field will specify the exact amount that is available to charge
    // on the virtual card", in its own currency. Booking.com publishes no amount element for its
    // VCC: it is loaded with the reservation's total.
    const loaded = money(payment, 'RoomStay/Payment', 'Amount') ?? globalTotal;
    const currency = loaded?.currency ?? attr(payment, 'CurrencyCode') ?? [...currencies][0];
    if (loaded && currency) card = { ...card, chargeable: { amount: loaded.amount, currency, until: cardExpiryDay(card) } };
  }

  const requests = [
    ...stays.flatMap((s) =>
      kids(kid(s, 'SpecialRequests'), 'SpecialRequest').map((r) =>
        [attr(r, 'Name') === 'smoking preference' ? '' : attr(r, 'Name'), textOf(kid(r, 'Text')) ?? textOf(r)].filter(Boolean).join(': '),
      ),
    ),
    ...[...stays, global].flatMap((s) => texts(kids(kid(s, 'Comments'), 'Comment'))),
  ]
    .filter((x) => x)
    .map((x) => x.replace(/[ \t]*\n\s*/g, '\n'));
  const freeText =
    ctx.channel === 'expedia'
      ? texts(stays.flatMap((s) => kids(kid(s, 'SpecialRequests'), 'SpecialRequest').filter((r) => attr(r, 'RequestCode') === '4'))).join('; ') || undefined
      : undefined;

  const hotelCode = reservationHotelCode(res) ?? ctx.hotelCode;
  const when = attr(res, 'LastModifyDateTime') ?? ctx.timeStamp ?? attr(res, 'CreateDateTime') ?? attr(ids[0], 'ResID_Date');
  const docNode = bookerNode && kids(bookerNode, 'Document').find((d) => attr(d, 'DocType') === '2' && attr(d, 'DocID'));
  const promotion = attr(kids(kid(stays[0], 'RoomRates'), 'RoomRate')[0], 'PromotionCode');
  const pos = attr(at(ctx.root, 'POS', 'Source', 'RequestorID'), 'ID');
  // Expedia Hotel Collect: "A-" point of sale and the rate plan id with an "A" suffix (BN enumerations).
  const hotelCollect = ctx.channel === 'expedia' && (pos?.startsWith('A-') || rooms.some((r) => /\dA$/.test(r.rateCode ?? '')));
  const details = compact({
    rooms: roomDetails.some((d) => Object.keys(d).length) ? roomDetails : undefined,
    booker_as_given: Object.keys(asGiven).length ? asGiven : undefined,
    taxes: taxesOf(kid(global, 'Total'), 'ResGlobalInfo/Total'),
    total_commission: commissionOf(kid(global, 'TotalCommissions'), 'ResGlobalInfo/TotalCommissions'),
    services: servicesOf(res),
    cancel_penalties: penaltiesOf(kid(global, 'CancelPenalties')),
    payment: payment
      ? compact({
          method: stays.map((s) => textOf(kid(s, 'PaymentMethod'))).find(Boolean),
          amount: money(payment, 'RoomStay/Payment', 'Amount')?.amount,
          currency: attr(payment, 'CurrencyCode'),
          model: attr(payment, 'model') ?? attr(payment, 'Model'),
        })
      : undefined,
    card_unavailable: read && 'unavailable' in read ? read.unavailable : undefined,
    virtual_card: card?.virtual
      ? compact({ chargeable: card.chargeable?.amount, currency: card.chargeable?.currency, from: card.activationDate, until: card.chargeable?.until })
      : undefined,
    amounts: globalTotal?.kind,
    memberships: kids(kid(global, 'Memberships'), 'Membership').map((m) => compact({ program: attr(m, 'ProgramCode'), account: attr(m, 'AccountID') })),
    price_details: raw(kid(global, 'PriceDetails')),
    extensions: raw(kid(global, 'TPA_Extensions')),
    other: unread(res, READ.reservation),
    global_other: unread(global, READ.global),
  });
  const booking = {
    channel: ctx.channel,
    hotelCode,
    externalId,
    kind,
    modifiedAt: parseTime(when, 'LastModifyDateTime / TimeStamp / CreateDateTime / ResID_Date'),
    rooms,
    currency: globalTotal?.currency ?? rooms.find((r) => r.currency)?.currency,
    total: globalTotal?.amount,
    guest,
    card,
    ourConfirmation,
    document: docNode ? { type: 'passport', number: attr(docNode, 'DocID'), country: attr(docNode, 'DocIssueCountry') } : undefined,
    specialRequests: requests.length ? requests.join('; ').slice(0, 4000) : undefined,
    freeText: freeText?.slice(0, 2000),
    paymentCollect: card?.virtual ? 'ota' : hotelCollect || card ? 'hotel' : ctx.channel === 'expedia' ? 'ota' : undefined,
    attributes: compact({
      promotion: promotion?.slice(0, 500),
      ota_status: status?.slice(0, 40),
      point_of_sale: pos?.slice(0, 100),
      base_rate_type: stays
        .map((s) => textOf(kid(s, 'BaseRateType')))
        .find(Boolean)
        ?.slice(0, 20),
    }),
    details: fitDetails(details),
  };
  if (currencies.size > 1)
    refuse('currency_mismatch', `the booking mixes currencies (${[...currencies].sort().join(', ').slice(0, 60)}); all amounts must be in one`);
  return checkBooking(fromSchema(booking), ctx.today);
}

function kindOf(status: string | undefined, rooms: number, ctx: ReservationContext): Booking['kind'] {
  if (ctx.kind === 'cancel') return 'cancel';
  const byStatus = status ? STATUS_KIND[status] : undefined;
  if (ctx.channel === 'booking_com') {
    // Booking.com documents no status attribute: the queue decides. The cancellation marker is not
    // shown in the stored reference (shared/ota/README.md): a ResStatus saying cancelled, or a
    // message without any RoomStay, is a cancellation — never refused as "no rooms" (one cancelled
    // before its first acknowledgement may come on the new queue, as a change does).
    if (byStatus === 'cancel' || rooms === 0) return 'cancel';
    return ctx.kind ?? 'new';
  }
  const kind = byStatus ?? ctx.kind ?? (status ? undefined : 'new');
  if (!kind)
    refuse('invalid_value', `HotelReservation/@ResStatus: "${status!.slice(0, 20)}" is not a status we know (Commit, Reserved, Requested, Modify, Cancel)`);
  return ctx.kind === 'modify' && kind === 'new' ? 'modify' : kind!;
}

type Person = ReturnType<typeof personOf>;

/** One RoomStay → the room, its details for the reservation's attributes, and how many units. */
function roomOf(stay: XmlNode, i: number, ctx: ReservationContext, seen: (m: Money | undefined) => Money | undefined, byRph: Map<string, Person>) {
  const where = `RoomStay[${i + 1}]`;
  const roomRates = kids(kid(stay, 'RoomRates'), 'RoomRate');
  const nights: Array<{ date: string; amount: string }> = [];
  const stayDates: string[] = []; // every night a RoomRate names, priced or not (an unpriced one must not shorten the stay)
  const nightlyFees: string[] = [];
  const extraGuests: string[] = [];
  roomRates.forEach((rr, j) => {
    const at = `${where}/RoomRate[${j + 1}]`;
    const rates = kids(kid(rr, 'Rates'), 'Rate');
    for (const rate of rates.length ? rates : [undefined]) {
      const from = attr(rate, 'EffectiveDate') ?? attr(rr, 'EffectiveDate');
      const own = attr(rate, 'ExpireDate') !== undefined ? rate : rr;
      const to = attr(own, 'ExpireDate');
      const exclusive = ctx.channel === 'expedia' || attr(own, 'ExpireDateExclusiveInd') === 'true';
      const base = seen(money(kid(rate, 'Base'), `${at}/Rate/Base`, 'AmountAfterTax', 'AmountBeforeTax'));
      const total = seen(money(kid(rate, 'Total'), `${at}/Rate/Total`, 'AmountAfterTax', 'AmountBeforeTax'));
      if (!from) continue;
      const dates = nightsOf(from, to, exclusive, at);
      stayDates.push(...dates);
      if (!base && !total) continue;
      if (base) {
        // Per night (RateTimeUnit Day): the base, plus each additional guest, plus the nightly fees
        // that are not already inside the rate (Expedia: "per day fees … not the per stay fees").
        const extras = kids(kid(rate, 'AdditionalGuestAmounts'), 'AdditionalGuestAmount').map(
          (a, k) => seen(money(kid(a, 'Amount'), `${at}/Rate/AdditionalGuestAmount[${k + 1}]/Amount`, 'AmountAfterTax', 'AmountBeforeTax'))?.amount ?? '0',
        );
        const fees = kids(kid(rate, 'Fees'), 'Fee')
          .filter((f) => attr(f, 'Type') !== 'Inclusive')
          .map((f, k) => seen(money(f, `${at}/Rate/Fee[${k + 1}]`, 'Amount'))?.amount ?? '0');
        extraGuests.push(...extras);
        nightlyFees.push(...fees);
        const each = sumMoney([base.amount, ...extras, ...fees]);
        for (const date of dates) nights.push({ date, amount: each });
      } else {
        // A Total covers its whole period: spread exactly, the remainder on the last night.
        spread(total!.amount, dates).forEach((n) => nights.push(n));
      }
    }
  });
  const counts = kids(kid(stay, 'GuestCounts'), 'GuestCount');
  let adults = 0;
  let children = 0;
  const childAges: number[] = [];
  for (const g of counts) {
    const n = Number(attr(g, 'Count') ?? '1');
    if (!Number.isInteger(n) || n < 0 || n > 99) refuse('invalid_occupancy', `${where}/GuestCounts/GuestCount/@Count must be a whole number 0–99`);
    const age = attr(g, 'Age');
    if (age !== undefined && !/^\d{1,3}$/.test(age)) refuse('invalid_occupancy', `${where}/GuestCounts/GuestCount/@Age must be a whole number`);
    const child = age !== undefined ? Number(age) < 18 : CHILD_CODES.has(attr(g, 'AgeQualifyingCode') ?? '');
    if (child) {
      children += n;
      if (age !== undefined) for (let k = 0; k < n; k++) childAges.push(Number(age));
    } else adults += n;
  }
  if (!counts.length) adults = 1;
  const units = Number(attr(roomRates[0], 'NumberOfUnits') ?? '1');
  if (!Number.isInteger(units) || units < 1 || units > 10) refuse('invalid_value', `${where}/RoomRate/@NumberOfUnits must be 1–10`);

  const span = kid(stay, 'TimeSpan');
  const dates = [...stayDates].sort();
  const arrival = attr(span, 'Start') ?? dates[0];
  const departure = attr(span, 'End') ?? (dates.length ? addDays(dates.at(-1)!, 1) : undefined);
  if (!arrival || !departure) refuse('missing_field', `${where}: no stay dates (TimeSpan/@Start and @End, or a RoomRate/@EffectiveDate per night)`);
  const rawRate = attr(at1(stay, 'RatePlans', 'RatePlan'), 'RatePlanCode') ?? attr(roomRates[0], 'RatePlanCode');
  // Booking.com: "you can see the letters VCC attached to the end of the id" (api-reference/roomrate).
  const rateCode = ctx.channel === 'booking_com' ? rawRate?.replace(/VCC$/i, '') : rawRate;
  const total = seen(money(kid(stay, 'Total'), `${where}/Total`, 'AmountAfterTax', 'AmountBeforeTax'));
  const guests = kids(kid(stay, 'ResGuestRPHs'), 'ResGuestRPH')
    .map((r) => byRph.get(attr(r, 'RPH') ?? ''))
    .filter((p): p is NonNullable<Person> => !!p);
  const roomType = at1(stay, 'RoomTypes', 'RoomType');
  const description = kid(roomType, 'RoomDescription');
  const room = {
    ref: attr(stay, 'IndexNumber'),
    roomCode: attr(roomType, 'RoomTypeCode') ?? attr(roomRates[0], 'RoomTypeCode'),
    rateCode,
    arrival,
    departure,
    adults,
    children,
    childAges,
    nights,
    total: total?.amount,
    currency: total?.currency ?? nightsCurrency(stay),
    guests,
    guestName: guests.length
      ? guests
          .map((g) => [g.firstName, g.lastName].filter(Boolean).join(' '))
          .join(', ')
          .slice(0, 200)
      : undefined,
  };
  if (!room.roomCode) refuse('unknown_room', `${where}: no RoomType/@RoomTypeCode`);
  if (!room.rateCode) refuse('unknown_rate', `${where}: no RatePlan/@RatePlanCode`);
  const rateCodes = [...new Set(roomRates.map((r) => attr(r, 'RatePlanCode')).filter(Boolean))];
  const details = compact({
    ref: room.ref,
    room_name: attr(description, 'Name'),
    meal_plan: textOf(kid(description, 'MealPlan')),
    amenities: kids(kid(roomType, 'Amenities'), 'Amenity').map(textOf).filter(Boolean),
    additional_details: kids(kid(roomType, 'AdditionalDetails'), 'AdditionalDetail')
      .map((d) => textOf(at(d, 'DetailDescription', 'Text')))
      .filter(Boolean),
    rate_codes: rateCodes.length > 1 || rateCodes[0] !== rateCode ? rateCodes : undefined,
    commission: ((c) => (c.length > 1 ? c : c[0]))(
      kids(kid(stay, 'RatePlans'), 'RatePlan')
        .map((rp, k) => commissionOf(kid(rp, 'Commission'), `${where}/RatePlans/RatePlan[${k + 1}]/Commission`))
        .filter(Boolean),
    ),
    taxes: taxesOf(kid(stay, 'Total'), `${where}/Total`),
    extra_guest_amounts: extraGuests.length ? sumMoney(extraGuests) : undefined,
    nightly_fees: nightlyFees.length ? sumMoney(nightlyFees) : undefined,
    total_amount_kind: total?.kind,
    child_ages: childAges.length ? childAges : undefined,
    comments: texts(kids(kid(stay, 'Comments'), 'Comment')),
    special_requests: kids(kid(stay, 'SpecialRequests'), 'SpecialRequest').map((r) =>
      compact({ code: attr(r, 'RequestCode') ?? attr(r, 'Name'), text: textOf(kid(r, 'Text')) ?? textOf(r) }),
    ),
    service_rphs: kids(kid(stay, 'ServiceRPHs'), 'ServiceRPH')
      .map((s) => attr(s, 'RPH'))
      .filter(Boolean),
    cancel_penalties: penaltiesOf(kid(stay, 'CancelPenalties')),
    // Booking.com's price breakdowns (PriceDetails with the Payments Clarity Package: city tax, fees
    // excluded from the price …) and any TPA_Extensions: no column fits, so they are kept as sent.
    price_details: raw(kid(stay, 'PriceDetails')),
    extensions: raw(kid(stay, 'TPA_Extensions')) ?? raw(kid(kid(stay, 'RoomRates'), 'TPA_Extensions')),
    other: unread(stay, READ.stay),
    rate_plan_other: unread(at1(stay, 'RatePlans', 'RatePlan'), READ.ratePlan),
  });
  return { room, details, units };
}

/** The first element of a path whose last step may repeat (RatePlans/RatePlan: Expedia gives one per night). */
const at1 = (node: XmlNode, list: string, item: string) => kids(kid(node, list), item)[0];
const nightsCurrency = (stay: XmlNode) =>
  attr(at(kids(kid(stay, 'RoomRates'), 'RoomRate')[0], 'Rates', 'Rate', 'Total'), 'CurrencyCode') ??
  attr(at(kids(kid(stay, 'RoomRates'), 'RoomRate')[0], 'Rates', 'Rate', 'Base'), 'CurrencyCode');

/** An amount over several nights, exactly: equal parts in the amount's own precision, the remainder on the last. */
function spread(amount: string, dates: string[]): Array<{ date: string; amount: string }> {
  const places = amount.split('.')[1]?.length ?? 0;
  const unit = 10 ** places;
  const units = Math.round(Number(amount) * unit);
  const each = Math.floor(units / dates.length);
  return dates.map((date, i) => ({ date, amount: ((i === dates.length - 1 ? units - each * (dates.length - 1) : each) / unit).toFixed(places) }));
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
    channel: ctx.channel,
    kind: 'cancel',
    hotelCode: hotel,
    rooms: [],
    attributes: {},
    details: {},
    externalId: attr(
      ids.find((u) => attr(u, 'Type') === '14'),
      'ID',
    ),
    ourConfirmation: attr(
      ids.find((u) => attr(u, 'Type') === '10'),
      'ID',
    ),
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
    path[0] === 'hotelCode'
      ? missing
        ? 'missing_field'
        : 'unknown_hotel'
      : path.at(-1) === 'lastName' || path.at(-1) === 'firstName'
        ? missing
          ? 'missing_guest_name'
          : 'invalid_guest_name'
        : path.includes('roomCode')
          ? 'unknown_room'
          : path.includes('rateCode')
            ? 'unknown_rate'
            : path[0] === 'card'
              ? 'invalid_card'
              : path.includes('adults') || path.includes('children') || path.includes('childAges')
                ? 'invalid_occupancy'
                : // Expedia: 3206 "The Check-in date is missing or invalid", 3207 the check-out date.
                  path.includes('arrival')
                  ? 'invalid_arrival'
                  : path.includes('departure') || path.includes('date')
                    ? 'invalid_dates'
                    : path[0] === 'rooms' && path.length === 1
                      ? 'no_rooms'
                      : missing
                        ? 'missing_field'
                        : 'invalid_value';
  throw new InboundRefusal(reason, `${field}: ${missing ? 'is required' : issue.message}`);
}

const FIELD_NAMES: Record<string, string> = {
  hotelCode: 'BasicPropertyInfo/@HotelCode',
  externalId: 'the reservation id (UniqueID/@ID or HotelReservationID/@ResID_Value)',
  roomCode: 'RoomType/@RoomTypeCode',
  rateCode: 'RatePlan/@RatePlanCode',
  arrival: 'TimeSpan/@Start (or the first RoomRate/@EffectiveDate)',
  departure: 'TimeSpan/@End (or the last RoomRate/@EffectiveDate + 1)',
  adults: 'GuestCounts (adults)',
  children: 'GuestCounts (children)',
  childAges: 'GuestCount/@Age',
  email: 'Customer/Email',
  phone: 'Customer/Telephone',
  lastName: 'PersonName/Surname',
  firstName: 'PersonName/GivenName',
  card: 'PaymentCard',
  currency: '@CurrencyCode',
  document: 'Customer/Document',
  specialRequests: 'SpecialRequests',
  details: "the booking's details",
};

/** Where each OpenTravel notification holds its reservations (the two roots Booking.com's queues hand out, too). */
const RESERVATION_LISTS: Record<string, readonly [string, string]> = {
  OTA_HotelResNotifRQ: ['HotelReservations', 'HotelReservation'],
  OTA_HotelResModifyNotifRQ: ['HotelResModifies', 'HotelResModify'],
};

/** The reservation elements of an OTA_HotelResNotifRQ or OTA_HotelResModifyNotifRQ (none for any other root). */
export function reservationsIn(root: string, node: XmlNode): XmlNode[] {
  const [list, item] = RESERVATION_LISTS[root] ?? [];
  return list && item ? kids(kid(node, list), item) : [];
}
