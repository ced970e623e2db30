/**
 * What a connection may be given, checked where it is set (API and CLI) so that a bad value is a
 * clear 400 / exit 2 there and nothing is stored — not a failing push later, nor a CDC batch that
 * fails on every retry (a `sync_days` of "400d" once stalled the marking of every hotel).
 *
 * `settings`, per channel (unknown keys are refused: a misspelt key would silently do nothing):
 *  - every OTA: `sync_days` (the window the CDC keeps current; Booking.com wants ≥ 365 days in sync,
 *    Expedia takes ≤ 730 days ahead), `rate_limit_per_minute`, `timeout_ms`, `max_attempts`,
 *    `markup_pct` (on the PMS rate), `max_availability` (a cap on what is shown);
 *  - Booking.com: `auth_url` (its token exchange host);
 *  - Expedia: the pricing set-up (connectors/expedia/pricing.ts).
 * Booking.com alone has a reservations host.
 */
import { z } from 'zod';
import { StayosError } from '../core/errors.ts';
import { expediaPricingOf, expediaPricingSettings } from './expedia/pricing.ts';
import { outboundUrlProblem } from './outbound/hosts.ts';

const int = (min: number, max: number, what: string) =>
  z.number({ error: `must be a whole number from ${min} to ${max} (${what})` }).int({ error: `must be a whole number from ${min} to ${max} (${what})` })
    .min(min, { error: `must be at least ${min} (${what})` }).max(max, { error: `must be at most ${max} (${what})` });

const common = {
  rate_limit_per_minute: int(1, 100_000, 'requests a minute to this OTA hotel'),
  timeout_ms: int(100, 120_000, 'milliseconds to wait for one OTA answer'),
  max_attempts: int(1, 10, 'attempts per request'),
  markup_pct: z.number({ error: 'must be a number above -100 (percent added to the PMS rate)' }).gt(-100, { error: 'must be above -100 (percent added to the PMS rate)' })
    .max(1000, { error: 'must be at most 1000 (percent added to the PMS rate)' }),
  max_availability: int(0, 9999, 'rooms shown at most'),
};

/** The settings each channel accepts (every key optional; unknown keys refused). */
export const CONNECTION_SETTINGS: Record<string, z.ZodType<Record<string, unknown>>> = {
  booking_com: z.object({
    ...common,
    sync_days: int(365, 1095, 'Booking.com asks for at least 12 months in sync'),
    auth_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL (Booking.com\'s token exchange host)' }),
  }).partial().strict(),
  expedia: z.object({
    ...common,
    sync_days: int(1, 730, 'Expedia takes dates up to 2 years ahead'),
    ...expediaPricingSettings.shape,
  }).partial().strict(),
  opentravel: z.object({}).strict(),
};

/** `settings` of a connection of `channel`, or a StayosError naming every problem. */
export function checkSettings(channel: string, settings: Record<string, unknown>): void {
  const schema = CONNECTION_SETTINGS[channel];
  if (!schema) throw new StayosError('ERR_VALIDATION', `no settings are known for channel ${channel}`);
  const parsed = schema.safeParse(settings);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => (i.code === 'unrecognized_keys'
      ? `settings: unknown ${i.keys.length > 1 ? 'keys' : 'key'} ${i.keys.map((k) => JSON.stringify(k)).join(', ')} (${channel} accepts ${Object.keys((schema as z.ZodObject).shape).join(', ') || 'none'})`
      : `settings.${i.path.join('.')}: ${i.message} (got ${JSON.stringify(i.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k as PropertyKey], settings))})`));
    throw new StayosError('ERR_VALIDATION', problems.join('; '));
  }
  if (channel === 'expedia') {
    try {
      expediaPricingOf(settings);
    } catch (err) {
      throw new StayosError('ERR_VALIDATION', (err as Error).message, { cause: err });
    }
  }
}

export function checkConnectionInput(channel: string, input: { endpointUrl?: string | undefined; reservationsUrl?: string | undefined; settings?: Record<string, unknown> | undefined }): void {
  if (input.reservationsUrl !== undefined && channel !== 'booking_com') {
    throw new StayosError('ERR_VALIDATION', `reservationsUrl is for booking_com connections only (this one is ${channel})`);
  }
  if (input.settings) checkSettings(channel, input.settings);
  // Every URL StayOS will call for this connection names a host of its OTA (outbound/hosts.ts).
  // (An OpenTravel connection is called by its sender, never by StayOS.)
  if (channel === 'opentravel') return;
  const urls: Array<[string, unknown]> = [['endpointUrl', input.endpointUrl], ['reservationsUrl', input.reservationsUrl], ['settings.auth_url', input.settings?.auth_url]];
  const problems = urls.filter(([, v]) => typeof v === 'string').map(([name, v]) => [name, outboundUrlProblem(channel, v as string)] as const).filter(([, p]) => p);
  if (problems.length) throw new StayosError('ERR_OTA_HOST_NOT_ALLOWED', problems.map(([name, p]) => `${name}: ${p}`).join('; '));
}
