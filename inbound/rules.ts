/**
 * What an OTA's adapter tells the inbound engine about its bookings, beyond the normalised booking
 * itself: the engine never branches on a channel code (issue 17).
 */
import type { Pool } from '../core/db.ts';
import type { InboundRefusal } from './refusal.ts';

export interface InboundRules {
  /**
   * The OTA's own code for a refusal, as stored with the message (inbound_messages.ota_error_code)
   * and answered; default: the OpenTravel ERR code of the reason.
   */
  refusalCode?(refusal: InboundRefusal): string;
  /** The forms of one rate plan code the mapping may hold it in (default: the code itself). */
  rateCodeForms?(code: string): string[];
  /**
   * A modification carries only the guest's new free-text request, which is appended to the one
   * held (default: a modification's text replaces it).
   */
  modifyAppendsFreeText?: boolean;
}

/** What an adapter's webhook route gets from the webhook skeleton (api/webhooks). */
export interface WebhookDeps {
  pool: Pool;
  /** Counts a message against the connection's budget: 0 when within it, else seconds to wait. */
  limit(connectionId: string): Promise<number>;
  /**
   * A failed authentication of a client address at one target (an Expedia hotel code, an
   * OpenTravel connection): lockouts are per (address, target), so one misbehaving sender — or a
   * stranger guessing — never locks another sender, or another hotel, out.
   */
  authFailed(ip: string, target: string): Promise<void>;
  /** 0 while the address may still try at that target, else seconds until it may. */
  authBlocked(ip: string, target: string): Promise<number>;
}
