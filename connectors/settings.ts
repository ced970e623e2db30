/**
 * What a connection may be given, beyond the API's shapes, checked where it is set (API and CLI)
 * so that a bad value is a clear 400 / exit 2 there, not a failing push later: Booking.com alone
 * has a reservations host; an Expedia connection's pricing settings must say a rate Expedia can be
 * sent (connectors/expedia/pricing.ts).
 */
import { StayosError } from '../core/errors.ts';
import { expediaPricingOf } from './expedia/pricing.ts';

export function checkConnectionInput(channel: string, input: { reservationsUrl?: string | undefined; settings?: Record<string, unknown> | undefined }): void {
  if (input.reservationsUrl !== undefined && channel !== 'booking_com') {
    throw new StayosError('ERR_VALIDATION', `reservationsUrl is for booking_com connections only (this one is ${channel})`);
  }
  if (channel === 'expedia' && input.settings) {
    try {
      expediaPricingOf(input.settings);
    } catch (err) {
      throw new StayosError('ERR_VALIDATION', (err as Error).message, { cause: err });
    }
  }
}
