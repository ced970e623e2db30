/**
 * Google Hotels ARI messages, as the publisher's XML reference writes them (developers.google.com/
 * hotels/hotel-prices/xml-reference/ari-inv, …/ari-rate, …/ari-avail; the worked example
 * …/vacation-rentals/dev-guide/vr-ari-example):
 *  - OTA_HotelInvCountNotifRQ: rooms to sell per room type ("each … message is treated as an
 *    overlay update … any previously defined inventory count is replaced"), `CountType="2"`;
 *  - OTA_HotelRateAmountNotifRQ: the nightly rate per room type and package (rate plan), as a
 *    `BaseByGuestAmt` for two guests ("By default, double-occupancy (two adult occupants) prices
 *    are used as the base rates", support.google.com/hotelprices/answer/11190438);
 *    On a per-occupancy connection, one `BaseByGuestAmt` per number of guests with its
 *    `NumberOfGuests` ("Google supports occupancy-based pricing, enabling different nightly rates to
 *    be specified based on the maximum number of intended occupants", dev-guide/ari-rate-message);
 *  - OTA_HotelAvailNotifRQ: restrictions per room type and package, one per AvailStatusMessage
 *    (as the worked example): `Master` Open/Close (the night sells at all; "By default … closed",
 *    dev-guide/ari-availability-message), `Arrival` / `Departure` Close, the four length-of-stay
 *    types of the syntax (`MinMaxMessageType="[SetMaxLOS|SetMinLOS|SetForwardMaxStay|
 *    SetForwardMinStay]"`: minimum and maximum length of stay "Restricts length of stay for
 *    itineraries which have this arrival date", forward stay (or "stay-through") "Restricts length
 *    of stay for itineraries which contain this stay date"), and the booking offsets
 *    (`RestrictionStatus … MaxAdvancedBookingOffset="integer_or_duration"
 *    MinAdvancedBookingOffset="integer_or_duration"`: "Requires that the itinerary be purchased at
 *    least or at most a certain number of days before arrival"), written as whole days on the
 *    `Master` status the range sends anyway (so they never open or close a night by themselves).
 *    Each message is "a delta update … an update to any previously defined restriction only replaces
 *    the value of the same restriction", so every restriction of a range is stated each time; Google
 *    documents no way to remove one we could read, so "none" is stated as a value no stay or booking
 *    reaches (GOOGLE_NO_MAX_LOS, 1 night, 0 days, GOOGLE_NO_MAX_ADVANCE).
 * Root attributes: the OpenTravel namespace, `EchoToken` ("Allowed characters are a-z, A-Z, 0-9, _
 * (underscore), and - (dash)"), `TimeStamp`, `Version="3.0"`; the partner account, when given, in
 * POS/Source/RequestorID/@ID. Date ranges are inclusive of End (the worked example sends one night
 * as Start = End).
 */
import { randomBytes } from 'node:crypto';
import { buildXml, OTA_NAMESPACE } from '../../core/xml.ts';

/**
 * The paths each message is POSTed to under https://www.google.com ("Use the following base path
 * for the endpoints: https://www.google.com", dev-guide/ari-overview "Pushing messages"). The
 * availability path is on Google's availability-message page; the path list of the overview could
 * not be read, so the inventory and rate paths follow it as partners' published code uses them.
 */
export const GOOGLE_PATHS = {
  inv: '/travel/hotels/uploads/ota/hotel_inv_count_notif',
  rate: '/travel/hotels/uploads/ota/hotel_rate_amount_notif',
  avail: '/travel/hotels/uploads/ota/hotel_avail_notif',
} as const;
export type GoogleKind = keyof typeof GOOGLE_PATHS;

/**
 * Items per request, our bound: Google's ARI pages mention "recommended message size and upload
 * rate limits" without a number we could read, and an `<Errors>` answer may leave the whole
 * message unapplied ("An error in one part of a file could cause updates from other parts of the
 * file to not be processed", support.google.com/hotelprices/answer/11190438): smaller messages
 * lose less to one bad item. 1,000 items stay far below the 5 MB others report.
 */
export const GOOGLE_MAX_ITEMS = 1000;

/** A stay no PMS restriction reaches: how "no maximum stay" is stated (Google documents no way to clear SetMaxLOS). */
export const GOOGLE_NO_MAX_LOS = 365;

/**
 * How "no maximum advance booking" is stated: no arrival we sell is further ahead (the sync window
 * is at most 500 days; beyond it Google holds no open night of ours: Master is closed by default).
 */
export const GOOGLE_NO_MAX_ADVANCE = 500;

export interface GoogleInvUpdate {
  roomCode: string;
  from: string;
  to: string;
  count: number;
}
export interface GoogleRateUpdate {
  roomCode: string;
  rateCode: string;
  from: string;
  to: string;
  amount: string;
  currency: string;
  /**
   * A per-occupancy connection's prices: [number of guests, amount] ascending, one BaseByGuestAmt
   * each; absent on a per-day connection (its one price, for two guests).
   */
  occupancy?: Array<[number, string]>;
}
export interface GoogleRestrictionUpdate {
  roomCode: string;
  rateCode: string;
  from: string;
  to: string;
  closed: boolean;
  closedToArrival: boolean;
  closedToDeparture: boolean;
  minLos: number;
  maxLos: number;
  /** Stay-through (SetForwardMinStay / SetForwardMaxStay) and booking offsets in days: written when given. */
  minStayThrough?: number;
  maxStayThrough?: number;
  minAdvanceDays?: number;
  maxAdvanceDays?: number;
}

export interface GoogleMessageOptions {
  /** POS/Source/RequestorID/@ID: the partner account, for a backend that feeds several. */
  partnerKey?: string | undefined;
  /** The rate is the price the guest pays (taxes included, the default) or before taxes. */
  amounts?: 'after_tax' | 'before_tax';
  echoToken?: string;
  timeStamp?: Date;
}

/** How many AvailStatusMessages a restriction update writes at most (one per restriction: Google's worked example). */
export const RESTRICTIONS_PER_UPDATE = 7;

function root(opts: GoogleMessageOptions, extra: Record<string, string> = {}) {
  return {
    $: {
      xmlns: OTA_NAMESPACE,
      EchoToken: opts.echoToken ?? randomBytes(12).toString('base64url'),
      TimeStamp: (opts.timeStamp ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      Version: '3.0',
      ...extra,
    },
    ...(opts.partnerKey ? { POS: { Source: { RequestorID: { $: { ID: opts.partnerKey } } } } } : {}),
  };
}

const control = (u: { roomCode: string; rateCode?: string; from: string; to: string }) => ({
  $: { Start: u.from, End: u.to, InvTypeCode: u.roomCode, ...(u.rateCode ? { RatePlanCode: u.rateCode } : {}) },
});

export function buildInvCountNotifRQ(hotelCode: string, updates: GoogleInvUpdate[], opts: GoogleMessageOptions = {}): string {
  return buildXml({
    OTA_HotelInvCountNotifRQ: {
      ...root(opts),
      Inventories: {
        $: { HotelCode: hotelCode },
        Inventory: updates.map((u) => ({ StatusApplicationControl: control(u), InvCounts: { InvCount: { $: { Count: String(u.count), CountType: '2' } } } })),
      },
    },
  });
}

export function buildRateAmountNotifRQ(hotelCode: string, updates: GoogleRateUpdate[], opts: GoogleMessageOptions = {}): string {
  const amount = opts.amounts === 'before_tax' ? 'AmountBeforeTax' : 'AmountAfterTax';
  return buildXml({
    OTA_HotelRateAmountNotifRQ: {
      // Overlay: these nights of the product take exactly this rate (nothing else of ours lingers).
      ...root(opts, { NotifType: 'Overlay', NotifScopeType: 'ProductRate' }),
      RateAmountMessages: {
        $: { HotelCode: hotelCode },
        RateAmountMessage: updates.map((u) => ({
          StatusApplicationControl: control(u),
          Rates: {
            Rate: {
              BaseByGuestAmts: {
                BaseByGuestAmt: (u.occupancy ?? [[2, u.amount]]).map(([guests, price]) => ({
                  $: { [amount]: price, CurrencyCode: u.currency, NumberOfGuests: String(guests) },
                })),
              },
            },
          },
        })),
      },
    },
  });
}

export function buildAvailNotifRQ(hotelCode: string, updates: GoogleRestrictionUpdate[], opts: GoogleMessageOptions = {}): string {
  const status = (restriction: string, closed: boolean, offsets: Record<string, string> = {}) => ({
    RestrictionStatus: { $: { Restriction: restriction, Status: closed ? 'Close' : 'Open', ...offsets } },
  });
  const los = (type: 'SetMinLOS' | 'SetMaxLOS' | 'SetForwardMinStay' | 'SetForwardMaxStay', days: number | undefined) =>
    days === undefined ? [] : [{ LengthsOfStay: { LengthOfStay: { $: { Time: String(days), TimeUnit: 'Day', MinMaxMessageType: type } } } }];
  const offsets = (u: GoogleRestrictionUpdate) => ({
    ...(u.maxAdvanceDays !== undefined ? { MaxAdvancedBookingOffset: String(u.maxAdvanceDays) } : {}),
    ...(u.minAdvanceDays !== undefined ? { MinAdvancedBookingOffset: String(u.minAdvanceDays) } : {}),
  });
  return buildXml({
    OTA_HotelAvailNotifRQ: {
      ...root(opts),
      AvailStatusMessages: {
        $: { HotelCode: hotelCode },
        AvailStatusMessage: updates.flatMap((u) =>
          [
            status('Master', u.closed, offsets(u)),
            status('Arrival', u.closedToArrival),
            status('Departure', u.closedToDeparture),
            ...los('SetMinLOS', u.minLos),
            ...los('SetMaxLOS', u.maxLos),
            ...los('SetForwardMinStay', u.minStayThrough),
            ...los('SetForwardMaxStay', u.maxStayThrough),
          ].map((r) => ({ StatusApplicationControl: control(u), ...r })),
        ),
      },
    },
  });
}
