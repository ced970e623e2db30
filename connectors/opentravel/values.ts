/**
 * Reading the small values of an OpenTravel reservation, the same way for every sender: amounts
 * (with `@DecimalPlaces`), date-times, night ranges, people, payment cards. What a value can never
 * mean is refused naming the element; what is legal but unusual is taken.
 */
import { addDays } from '../../core/dates.ts';
import { isEmail, isPhone, type Booking } from '../../inbound/booking.ts';
import { refuse } from '../../inbound/refusal.ts';
import { at, attr, kid, kids, textOf, type XmlNode } from '../../core/xml.ts';

/**
 * An amount attribute as an exact decimal string. OpenTravel's `@DecimalPlaces` is the ISO 4217
 * minor unit "typically used when the amount provided includes the minor unit of currency without a
 * decimal point (e.g., USD 8500 needs DecimalPlaces="2" to represent $85)" (OTA 2015A,
 * OTA_CommonTypes.xsd CurrencyAmountGroup). Booking.com always writes reservation amounts that way
 * (developers.booking.com/connectivity/docs/api-reference/total: `AmountAfterTax="13350"` with
 * `DecimalPlaces="2"` is 133.50). An amount written with a decimal point is taken as written (the
 * 2015A note speaks of amounts "without a decimal point"; Expedia writes `178.64`).
 */
export function scaledAmount(raw: string, decimalPlaces: string | undefined, where: string): string {
  if (/^-/.test(raw)) refuse('invalid_amount', `${where} must not be negative`);
  if (!/^\d{1,13}(\.\d{1,3})?$/.test(raw)) refuse('invalid_amount', `${where} must be a decimal amount (e.g. 120.50, or 12050 with DecimalPlaces="2")`);
  if (decimalPlaces === undefined || raw.includes('.')) return raw;
  if (!/^[0-3]$/.test(decimalPlaces)) refuse('invalid_amount', `${where}: DecimalPlaces must be 0–3 (got a value of ${decimalPlaces.length} characters)`);
  const n = Number(decimalPlaces);
  if (n === 0) return raw;
  const digits = raw.padStart(n + 1, '0');
  const whole = digits.slice(0, -n).replace(/^0+(?=\d)/, '');
  if (whole.length > 10) refuse('invalid_amount', `${where} must have at most 10 integer digits`);
  return `${whole}.${digits.slice(-n)}`;
}

export interface Money {
  amount: string;
  currency: string | undefined;
  /** Which attribute held it: AmountAfterTax (taxes included) or AmountBeforeTax, or Amount. */
  kind: 'after_tax' | 'before_tax' | 'amount';
}

const KIND = { AmountAfterTax: 'after_tax', AmountBeforeTax: 'before_tax', Amount: 'amount' } as const;

/** The first of `names` present on `node`, scaled by its `@DecimalPlaces`. */
export function money(node: XmlNode | undefined, where: string, ...names: Array<keyof typeof KIND>): Money | undefined {
  for (const name of names) {
    const raw = attr(node, name);
    if (raw === undefined) continue;
    return { amount: scaledAmount(raw, attr(node, 'DecimalPlaces'), `${where}/@${name}`), currency: attr(node, 'CurrencyCode'), kind: KIND[name] };
  }
  return undefined;
}

/** Exact sum of decimal strings (thousandths), as a decimal string with 2 or 3 places. */
export function sumMoney(amounts: string[]): string {
  const milli = amounts.reduce((s, a) => s + Math.round(Number(a) * 1000), 0);
  const text = (milli / 1000).toFixed(3);
  return text.endsWith('0') ? text.slice(0, -1) : text;
}

/** An OTA date-time; without an offset it is read as UTC (Booking.com's ResID_Date has none). */
export function parseTime(v: string | undefined, what: string): Date {
  if (!v) return refuse('missing_field', `${what} is required (the time of this version of the booking)`);
  const m = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(v);
  const t = m ? Date.parse(m[3] ? v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2') : `${v}Z`) : NaN;
  if (Number.isNaN(t)) refuse('invalid_value', `${what} must be an ISO date-time (YYYY-MM-DDThh:mm:ss±hh:mm)`);
  return new Date(t);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The nights an `@EffectiveDate`/`@ExpireDate` pair covers. OpenTravel 2015A: ExpireDate is the
 * last day of the period unless `@ExpireDateExclusiveInd="true"` ("indicates that the ExpireDate is
 * the first day after the applicable period"; OTA_CommonTypes.xsd EffectiveExpireOptionalDateGroup).
 * Expedia writes one Rate per night with ExpireDate = the next day (samples bn_00…bn_12: Effective
 * 2016-05-31, Expire 2016-06-01 prices the night of 05-31), i.e. exclusive: `exclusive` says so.
 * Without ExpireDate the element prices one night (Booking.com's RoomRate has only EffectiveDate).
 */
export function nightsOf(from: string, to: string | undefined, exclusive: boolean, where: string): string[] {
  if (!DATE.test(from) || (to !== undefined && !DATE.test(to))) refuse('invalid_dates', `${where}: EffectiveDate/ExpireDate must be YYYY-MM-DD`);
  if (to === undefined) return [from];
  const last = exclusive ? addDays(to, -1) : to;
  const n = Math.round((Date.parse(`${last}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
  if (!(n >= 1 && n <= 366)) refuse('invalid_dates', `${where}: a rate may cover 1–366 nights`);
  return Array.from({ length: n }, (_, i) => addDays(from, i));
}

/** A person's name (`PersonName`); undefined without a surname. Booking.com often puts the whole
 * name in Surname (shared/ota/README.md): it is kept as sent. */
export function personOf(customer: XmlNode | undefined): { firstName?: string; lastName: string } | undefined {
  const name = kid(customer, 'PersonName');
  const lastName = textOf(kid(name, 'Surname'));
  if (!lastName) return undefined;
  // GivenName alone: a middle name (Expedia's MiddleName, up to 64 more characters) would make a
  // legal name too long for the profile; it is kept in the details (customerOf).
  const first = textOf(kid(name, 'GivenName'));
  return { ...(first ? { firstName: first } : {}), lastName };
}

/**
 * The guest profile of a `Customer`: name, contact, language, country, address. A contact value
 * the PMS's checks would refuse (an e-mail without "@", a phone with letters) is not a reason to
 * refuse a paid booking: it goes to `asGiven` and the profile field stays empty.
 */
export function customerOf(customer: XmlNode | undefined): { guest: Booking['guest']; asGiven: Record<string, string> } {
  const person = personOf(customer);
  const asGiven: Record<string, string> = {};
  if (!person) return { guest: undefined, asGiven };
  const email = textOf(kid(customer, 'Email'));
  const tel = kid(customer, 'Telephone');
  const phone =
    tel &&
    [attr(tel, 'CountryAccessCode') ? `+${attr(tel, 'CountryAccessCode')}` : '', attr(tel, 'AreaCityCode') ?? '', attr(tel, 'PhoneNumber') ?? '']
      .filter(Boolean)
      .join(' ');
  // The profile's phone holds digits only (its CHECK); an extension and a middle name go to the details.
  if (attr(tel, 'Extension')) asGiven.phone_extension = attr(tel, 'Extension')!.slice(0, 20);
  const middle = textOf(kid(kid(customer, 'PersonName'), 'MiddleName'));
  if (middle) asGiven.middle_name = middle.slice(0, 100);
  const address = kid(customer, 'Address');
  // Booking.com: <CountryName Code="NL"/>; OpenTravel also allows the code as text.
  const countryNode = kid(address, 'CountryName');
  const country = (attr(countryNode, 'Code') ?? textOf(countryNode))?.toUpperCase();
  const lines = kids(address, 'AddressLine').map(textOf).filter(Boolean).join(', ');
  const addr = address
    ? {
        ...(lines ? { line1: lines.slice(0, 200) } : {}),
        ...(textOf(kid(address, 'CityName')) ? { city: textOf(kid(address, 'CityName'))!.slice(0, 100) } : {}),
        ...(textOf(kid(address, 'PostalCode')) ? { postalCode: textOf(kid(address, 'PostalCode'))!.slice(0, 20) } : {}),
        ...((attr(kid(address, 'StateProv'), 'StateCode') ?? textOf(kid(address, 'StateProv')))
          ? { region: (attr(kid(address, 'StateProv'), 'StateCode') ?? textOf(kid(address, 'StateProv')))!.slice(0, 100) }
          : {}),
        ...(country && /^[A-Z]{2}$/.test(country) ? { country } : {}),
        ...(textOf(kid(address, 'CompanyName')) ? { company: textOf(kid(address, 'CompanyName'))!.slice(0, 200) } : {}),
      }
    : undefined;
  if (email && !isEmail(email)) asGiven.email = email.slice(0, 254);
  if (phone && !isPhone(phone)) asGiven.phone = phone.slice(0, 64);
  if (country && !/^[A-Z]{2}$/.test(country)) asGiven.country = country.slice(0, 60);
  return {
    guest: {
      ...person,
      ...(email && isEmail(email) ? { email } : {}),
      ...(phone && isPhone(phone) ? { phone } : {}),
      ...(language(attr(customer, 'Language')) ? { language: language(attr(customer, 'Language')) } : {}),
      ...(addr?.country ? { country: addr.country } : {}),
      ...(addr && Object.keys(addr).length ? { address: addr } : {}),
    },
    asGiven,
  };
}

function language(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const m = /^([a-zA-Z]{2})(?:[-_]([a-zA-Z]{2}))?$/.exec(v);
  return m ? (m[2] ? `${m[1]!.toLowerCase()}-${m[2].toUpperCase()}` : m[1]!.toLowerCase()) : undefined;
}

// OpenTravel payment card codes → StayOS card brands.
const CARD_BRANDS: Record<string, NonNullable<Booking['card']>['brand']> = {
  VI: 'visa',
  MC: 'mastercard',
  CA: 'mastercard',
  AX: 'amex',
  DS: 'discover',
  DC: 'diners',
  DN: 'diners',
  JC: 'jcb',
  CU: 'unionpay',
  UP: 'unionpay',
  MA: 'maestro',
};

/**
 * A `PaymentCard` → the card, or `unavailable` when the OTA says it could not hand the card over
 * (Booking.com: CardCode "XX", a number or expiry of zeros, holder "-": "retrieval failed, try
 * later"; api-reference/paymentcard). The CVC (`@SeriesCode`) is never read: it is never stored.
 */
export function cardOf(node: XmlNode, virtual: boolean, lenient = false): { card: NonNullable<Booking['card']> } | { unavailable: string } {
  const number = (attr(node, 'CardNumber') ?? textOf(at(node, 'CardNumber', 'PlainText')) ?? '').replace(/\s/g, '');
  // OpenTravel lets a sender give the number encrypted or as a token only (CardNumber/@EncryptedValue,
  // @Token), or no number at all: a legal booking, taken without a card we could store.
  if (!number) return { unavailable: 'the card number was not sent in clear (encrypted, tokenised or absent); it is not stored' };
  // `lenient` (Booking.com): "Card number as entered by the booker" — a refusal there sends the paid
  // booking to the hotel's e-mail, so a card we cannot store is noted and the booking taken.
  if (lenient && (!/^\d{12,19}$/.test(number) || !/^(0[1-9]|1[0-2])\d{2}$/.test(attr(node, 'ExpireDate') ?? ''))) {
    return { unavailable: 'the card as entered by the booker is not a card number and expiry we can store; ask the guest' };
  }
  const expire = attr(node, 'ExpireDate') ?? '';
  if (attr(node, 'CardCode') === 'XX' || /^0+$/.test(number) || /^0+$/.test(expire) || textOf(kid(node, 'CardHolderName')) === '-') {
    return { unavailable: 'the OTA could not hand over the card details (retrieval failed); ask the OTA or the guest' };
  }
  if (!/^(0[1-9]|1[0-2])\d{2}$/.test(expire)) refuse('invalid_card', 'PaymentCard/@ExpireDate must be MMYY');
  const activation = attr(node, 'CardActivation') ?? attr(node, 'EffectiveDate');
  return {
    card: {
      brand: CARD_BRANDS[attr(node, 'CardCode') ?? ''] ?? 'other',
      number,
      holder: textOf(kid(node, 'CardHolderName')),
      expiryMonth: Number(expire.slice(0, 2)),
      expiryYear: 2000 + Number(expire.slice(2)),
      virtual,
      activationDate: activation && /^\d{4}-\d{2}-\d{2}/.test(activation) ? activation.slice(0, 10) : undefined,
    },
  };
}

/** The last day of a card's expiry month (MMYY): a virtual card is chargeable until then. */
export function cardExpiryDay(card: { expiryMonth: number; expiryYear: number }): string {
  return new Date(Date.UTC(card.expiryYear, card.expiryMonth, 0)).toISOString().slice(0, 10);
}
