/**
 * Expedia's side of the inbound engine's rules: its codes for each refusal reason, its Hotel
 * Collect rate plan ids, and its free-text requests on modifications.
 */
import type { InboundRefusal, InboundRules, RefusalReason } from '../../inbound/index.ts';

/**
 * Expedia Booking Notification: a business error from its fixed list (final: Expedia e-mails the
 * booking to the hotel), or `fault` for what Expedia must resend (a Nack, SOAP Fault; its code from
 * Expedia's Nack list: 2000 missing header, 2001 invalid header, 2002 unparseable). The list: 2002
 * message body cannot be parsed, 3202 property id, 3203 room type code, 3204 rate plan code, 3205
 * guest name, 3206 check-in date, 3207 check-out date, 3208 guest count, 3300 credit card cannot be
 * processed.
 */
export const EXPEDIA_REFUSALS: Record<RefusalReason, { error: string } | { fault: string }> = {
  auth: { fault: 'Client.2001' },
  too_large: { fault: 'Client.2002' },
  forbidden_xml: { fault: 'Client.2002' },
  malformed_xml: { fault: 'Client.2002' },
  missing_header: { fault: 'Client.2000' },
  wrong_root: { error: '2002' },
  missing_field: { error: '2002' },
  invalid_value: { error: '2002' },
  missing_guest_name: { error: '3205' },
  invalid_guest_name: { error: '3205' },
  invalid_arrival: { error: '3206' },
  invalid_dates: { error: '3207' },
  dates_out_of_range: { error: '3206' },
  invalid_amount: { error: '2002' },
  currency_mismatch: { error: '2002' },
  no_rooms: { error: '3203' },
  invalid_occupancy: { error: '3208' },
  invalid_card: { error: '3300' },
  unknown_hotel: { error: '3202' },
  unknown_room: { error: '3203' },
  unknown_rate: { error: '3204' },
  rate_limited: { fault: 'Server.4000' },
};

export const expediaRefusal = (refusal: InboundRefusal) => EXPEDIA_REFUSALS[refusal.reason];

export const EXPEDIA_INBOUND_RULES: InboundRules = {
  refusalCode(refusal) {
    const e = expediaRefusal(refusal);
    return 'error' in e ? e.error : e.fault;
  },
  // Hotel Collect bookings carry the rate plan id with an "A" suffix ("Equal to the internal
  // Expedia rate plan ID + 'A'", BN enumerations), which the mapping may hold with or without it.
  rateCodeForms: (code) => (/\dA$/.test(code) ? [code, code.slice(0, -1)] : [code, `${code}A`]),
  // Expedia sends the guest's own request only when it is new: "append the new free-form text
  // special request to the existing one saved in the partner system" (BN reference).
  modifyAppendsFreeText: true,
};
