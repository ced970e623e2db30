/**
 * Why an inbound message is refused, once, for every protocol: each reason names its error-registry
 * code and HTTP status, Expedia's Booking Notification code (Expedia accepts business errors from
 * its fixed list only, and they are final: the booking goes to the hotel by e-mail), and the
 * OpenTravel error type (EWT) and code (ERR) that Booking.com acknowledgements and the OpenTravel
 * webhook answer with. Refusal texts name the field and the rule, never the value (they are stored
 * and logged; values can be personal data).
 */
import { StayosError, type ErrorCode } from '../core/errors.ts';

interface ReasonSpec {
  error: ErrorCode;
  /** OpenTravel EWT (Type) and ERR (Code) code-list values. */
  otaType: string;
  otaCode: string;
}

// (An OTA with codes of its own maps the reasons to them in its adapter's InboundRules, as
// connectors/expedia/inbound-rules.ts does.) OpenTravel code lists — EWT: 3 business rule, 4
// authentication, 7 protocol violation, 10 required field missing, 12 processing exception. ERR:
// 15 invalid date, 61 invalid currency code, 249 invalid rate code, 320 invalid value, 321
// required field missing, 361 invalid hotel code, 402 invalid room type, 450 unable to process,
// 497 authorization error.
export const REFUSAL_REASONS = {
  auth: { error: 'ERR_AUTH', otaType: '4', otaCode: '497' },
  too_large: { error: 'ERR_PAYLOAD_TOO_LARGE', otaType: '7', otaCode: '450' },
  forbidden_xml: { error: 'ERR_VALIDATION', otaType: '7', otaCode: '450' },
  malformed_xml: { error: 'ERR_VALIDATION', otaType: '7', otaCode: '450' },
  missing_header: { error: 'ERR_VALIDATION', otaType: '7', otaCode: '450' },
  wrong_root: { error: 'ERR_VALIDATION', otaType: '7', otaCode: '450' },
  missing_field: { error: 'ERR_VALIDATION', otaType: '10', otaCode: '321' },
  invalid_value: { error: 'ERR_VALIDATION', otaType: '3', otaCode: '320' },
  missing_guest_name: { error: 'ERR_VALIDATION', otaType: '10', otaCode: '321' },
  invalid_guest_name: { error: 'ERR_VALIDATION', otaType: '3', otaCode: '320' },
  invalid_arrival: { error: 'ERR_VALIDATION', otaType: '3', otaCode: '15' },
  invalid_dates: { error: 'ERR_VALIDATION', otaType: '3', otaCode: '15' },
  dates_out_of_range: { error: 'ERR_VALIDATION', otaType: '3', otaCode: '15' },
  invalid_amount: { error: 'ERR_VALIDATION', otaType: '3', otaCode: '320' },
  currency_mismatch: { error: 'ERR_VALIDATION', otaType: '3', otaCode: '61' },
  no_rooms: { error: 'ERR_VALIDATION', otaType: '10', otaCode: '321' },
  invalid_occupancy: { error: 'ERR_VALIDATION', otaType: '3', otaCode: '320' },
  invalid_card: { error: 'ERR_VALIDATION', otaType: '3', otaCode: '320' },
  unknown_hotel: { error: 'ERR_NOT_FOUND', otaType: '3', otaCode: '361' },
  unknown_room: { error: 'ERR_NOT_FOUND', otaType: '3', otaCode: '402' },
  unknown_rate: { error: 'ERR_NOT_FOUND', otaType: '3', otaCode: '249' },
  // Too many messages now: the sender is told to resend (HTTP 429, or its protocol's way).
  rate_limited: { error: 'ERR_RATE_LIMITED', otaType: '12', otaCode: '450' },
} as const satisfies Record<string, ReasonSpec>;

export type RefusalReason = keyof typeof REFUSAL_REASONS;

/** A message we refuse: nothing of it is applied. `field` points at the offending part. */
export class InboundRefusal extends StayosError {
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(REFUSAL_REASONS[reason].error, message, { cause: options.cause, details: { reason, ...options.details } });
    this.name = 'InboundRefusal';
    this.reason = reason;
  }
  get spec(): ReasonSpec {
    return REFUSAL_REASONS[this.reason];
  }
}

export const refuse = (reason: RefusalReason, message: string, details?: Record<string, unknown>): never => {
  throw new InboundRefusal(reason, message, details ? { details } : {});
};
