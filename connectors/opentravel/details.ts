/**
 * The details of an OpenTravel reservation that the PMS schema has no column for, read into plain
 * JSON for reservations.attributes.ota_details: taxes, commission, extras (Booking.com Services),
 * cancellation penalties, and every element the parser has no reading for, kept as sent.
 */
import { at, attr, kid, kids, textOf, type XmlNode } from '../../core/xml.ts';
import { money } from './values.ts';

type Compactable = Record<string, unknown>;
export const compact = <T extends Compactable>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '' && !(Array.isArray(v) && !v.length))) as Partial<T>;
export const texts = (nodes: XmlNode[]) =>
  nodes
    .map((n) => textOf(kid(n, 'Text')) ?? textOf(n))
    .filter((x): x is string => !!x)
    .map((x) => x.replace(/[ \t]*\n\s*/g, '\n'));

/**
 * The children of an element the parser has no reading for, kept as sent ("never dropped
 * silently"): an AlpineBits meal plan, a partner's own extension, a field a publisher adds later.
 */
export const READ = {
  reservation: ['UniqueID', 'RoomStays', 'ResGuests', 'ResGlobalInfo', 'Services', 'POS'],
  stay: [
    'RoomTypes',
    'RatePlans',
    'RoomRates',
    'GuestCounts',
    'TimeSpan',
    'Total',
    'BasicPropertyInfo',
    'ResGuestRPHs',
    'Comments',
    'SpecialRequests',
    'ServiceRPHs',
    'Guarantee',
    'PaymentMethod',
    'Payment',
    'BaseRateType',
    'CancelPenalties',
    'PriceDetails',
    'TPA_Extensions',
  ],
  global: [
    'HotelReservationIDs',
    'Profiles',
    'Total',
    'Guarantee',
    'Comments',
    'CancelPenalties',
    'TotalCommissions',
    'Memberships',
    'BasicPropertyInfo',
    'PriceDetails',
    'TPA_Extensions',
  ],
  ratePlan: ['Commission'],
};
export function unread(node: XmlNode | undefined, read: string[]): Record<string, unknown> | undefined {
  const rest = Object.entries(node ?? {}).filter(([k]) => k !== '$' && k !== '_' && !read.includes(k));
  return rest.length ? Object.fromEntries(rest.map(([k, v]) => [k, raw(v as XmlNode)])) : undefined;
}

/** An element as sent (attributes and children, as xml2js reads them), for details nothing else reads; at most 8 KB. */
export function raw(node: XmlNode | undefined): unknown {
  if (!node) return undefined;
  const json = JSON.stringify(node);
  return json.length <= 8192 ? node : { truncated: json.slice(0, 8192) };
}

export function taxesOf(total: XmlNode | undefined, where: string) {
  const taxes = kid(total, 'Taxes');
  if (!taxes) return undefined;
  const list = kids(taxes, 'Tax').map((t, k) =>
    compact({
      code: attr(t, 'Code'),
      type: attr(t, 'Type'),
      amount: money(t, `${where}/Taxes/Tax[${k + 1}]`, 'Amount')?.amount,
      percent: attr(t, 'Percent'),
      currency: attr(t, 'CurrencyCode'),
      description: textOf(kid(t, 'TaxDescription')) ?? textOf(at(t, 'TaxDescription', 'Text')),
    }),
  );
  return compact({ amount: money(taxes, `${where}/Taxes`, 'Amount')?.amount, currency: attr(taxes, 'CurrencyCode'), items: list });
}

/** `Commission/CommissionPayableAmount` (Booking.com, scaled) or `Commission/@Percent` (Expedia Hotel Collect, 0–1). */
export function commissionOf(node: XmlNode | undefined, where: string) {
  if (!node) return undefined;
  const payable = kid(node, 'CommissionPayableAmount') ?? (attr(node, 'Amount') ? node : undefined);
  const m = money(payable, `${where}/CommissionPayableAmount`, 'Amount');
  const percent = attr(node, 'Percent');
  return m || percent ? compact({ amount: m?.amount, currency: m?.currency, percent }) : undefined;
}

/** Booking.com extras (`Services/Service`): prices are plain decimals there (api-reference/price). */
export function servicesOf(res: XmlNode) {
  return kids(kid(res, 'Services'), 'Service').map((s, k) => {
    const where = `Services/Service[${k + 1}]`;
    const price = kid(s, 'Price');
    const d = kid(s, 'ServiceDetails');
    const policy = kid(d, 'CancelPenalties');
    return compact({
      rph: attr(s, 'ServiceRPH'),
      code: attr(s, 'ServiceInventoryCode'),
      pricing: attr(s, 'ServicePricingType'),
      inclusive: attr(s, 'Inclusive'),
      quantity: attr(s, 'Quantity'),
      units: attr(price, 'NumberOfUnits'),
      total: money(kid(price, 'Total'), `${where}/Price/Total`, 'AmountAfterTax', 'AmountBeforeTax')?.amount,
      unit_price: money(kid(price, 'Base'), `${where}/Price/Base`, 'AmountAfterTax', 'AmountBeforeTax')?.amount,
      currency: attr(kid(price, 'Total'), 'CurrencyCode') ?? attr(kid(price, 'Base'), 'CurrencyCode'),
      description: textOf(at(price, 'RateDescription', 'Text')),
      nights: attr(kid(d, 'TimeSpan'), 'Duration'),
      guests: attr(at(d, 'GuestCounts', 'GuestCount'), 'Count'),
      fees: kids(kid(d, 'Fees'), 'Fee')
        .map((f, j) => money(f, `${where}/ServiceDetails/Fees/Fee[${j + 1}]`, 'Amount')?.amount)
        .filter(Boolean),
      answers: kids(kid(d, 'Comments'), 'Comment').map((c) => compact({ question: attr(c, 'Name'), answer: textOf(kid(c, 'Text')) })),
      cancel_policy: policy ? compact({ penalty: attr(policy, 'CancelPolicyIndicator'), code: attr(kid(policy, 'CancelPenalty'), 'PolicyCode') }) : undefined,
    });
  });
}

export function penaltiesOf(node: XmlNode | undefined) {
  return kids(node, 'CancelPenalty').map((p) =>
    compact({
      code: attr(p, 'PolicyCode'),
      non_refundable: attr(p, 'NonRefundable'),
      deadline:
        attr(kid(p, 'Deadline'), 'AbsoluteDeadline') ??
        ([attr(kid(p, 'Deadline'), 'OffsetUnitMultiplier'), attr(kid(p, 'Deadline'), 'OffsetTimeUnit'), attr(kid(p, 'Deadline'), 'OffsetDropTime')]
          .filter(Boolean)
          .join(' ') ||
          undefined),
      amount: money(kid(p, 'AmountPercent'), 'CancelPenalty/AmountPercent', 'Amount')?.amount,
      currency: attr(kid(p, 'AmountPercent'), 'CurrencyCode'),
      percent: attr(kid(p, 'AmountPercent'), 'Percent'),
      nights: attr(kid(p, 'AmountPercent'), 'NmbrOfNights'),
      description: texts(kids(kid(p, 'PenaltyDescription'), 'Text')).join(' ') || textOf(kid(p, 'PenaltyDescription')),
    }),
  );
}

/** What the schema's 64 KB bound on details leaves room for (the booking's other fields come first). */
const DETAILS_BUDGET = 60_000;
const BULKY = ['price_details', 'extensions', 'other', 'global_other', 'rate_plan_other', 'additional_details', 'amenities'];
const LEFT_OUT = "left out: the booking's details exceeded 64 KB (the whole message is in channel.inbound_messages)";

/**
 * Details that fit: a legal booking is never refused for the size of what we keep about it. The
 * elements kept as sent go first, then, if still too large, everything but a note; the message
 * itself stays in the message log either way.
 */
export function fitDetails(d: Record<string, unknown>): Record<string, unknown> {
  if (JSON.stringify(d).length <= DETAILS_BUDGET) return d;
  const slim = (o: unknown) =>
    o && typeof o === 'object' && !Array.isArray(o) ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, BULKY.includes(k) ? LEFT_OUT : v])) : o;
  const out = { ...(slim(d) as Record<string, unknown>), ...(Array.isArray(d.rooms) ? { rooms: d.rooms.map(slim) } : {}), details_trimmed: true };
  return JSON.stringify(out).length <= DETAILS_BUDGET ? out : { details_trimmed: true, note: LEFT_OUT };
}
