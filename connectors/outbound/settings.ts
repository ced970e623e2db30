/**
 * What a connection may be given, checked where it is set (API and CLI) so that a bad value is a
 * clear 400 / exit 2 there and nothing is stored — not a failing push later, nor a CDC batch that
 * fails on every retry (a `sync_days` of "400d" once stalled the marking of every hotel).
 *
 * `settings`, per channel, are its adapter's schema (unknown keys are refused: a misspelt key would
 * silently do nothing). Every OTA with outbound ARI takes the common ones below plus `sync_days`
 * (the window the CDC keeps current, within the OTA's bounds); an adapter adds its own (Booking.com
 * `auth_url`, its token exchange host; Expedia its pricing set-up).
 */
import { z } from 'zod';
import { StayosError } from '../../core/errors.ts';
import type { OtaAdapter } from '../adapter.ts';
import { outboundUrlProblem } from './hosts.ts';

/** A whole-number setting, its bounds and their reason in every message. */
export const settingInt = (min: number, max: number, what: string) =>
  z
    .number({ error: `must be a whole number from ${min} to ${max} (${what})` })
    .int({ error: `must be a whole number from ${min} to ${max} (${what})` })
    .min(min, { error: `must be at least ${min} (${what})` })
    .max(max, { error: `must be at most ${max} (${what})` });

/**
 * The channel's rules, settable on a connection (every cell of it) and on a mapping (one room type
 * and rate plan): what the OTA is shown differs from what the PMS says by these, applied in the one
 * ARI statement (sql/ari.ts). A mapping's markup replaces the connection's, a close-out on either
 * closes; offsets and caps are the OTA room's: it shows the lowest any active mapping of its room
 * type asks for (each with its own offset, else the connection's, and the lower cap).
 */
export const channelRules = {
  markup_pct: z
    .number({ error: 'must be a number above -100 (percent added to the PMS rate)' })
    .gt(-100, { error: 'must be above -100 (percent added to the PMS rate)' })
    .max(1000, { error: 'must be at most 1000 (percent added to the PMS rate)' }),
  availability_offset: settingInt(-9999, 9999, 'rooms added to what the PMS has free; negative holds rooms back'),
  max_availability: settingInt(0, 9999, 'rooms shown at most'),
  close_out: z.boolean({ error: 'must be true or false (true closes every cell it covers)' }),
  // The pricing model the OTA is set up for — the property's (Booking.com Standard or occupancy-
  // based pricing), or one rate plan's (Expedia's PerDay or OccupancyBasedPricing, Google's
  // per-guest prices): the mapping's replaces the connection's. A mapped plan priced otherwise is
  // an error on the connection and its rates are not sent (worker.ts).
  pricing_model: z.enum(['per_day', 'per_occupancy'], { error: "must be 'per_day' or 'per_occupancy' (how the OTA prices this rate)" }),
};

/** The settings every OTA with outbound ARI accepts (the engine reads them: worker.ts, sql/ari.ts). */
export const commonSettings = {
  rate_limit_per_minute: settingInt(1, 100_000, 'requests a minute to this OTA hotel'),
  // How long a single change waits for others to share its request (worker.ts, sql/connections.ts
  // connectionsWithWork): fewer, fuller requests for a later acknowledgement. A backlog never waits.
  coalesce_ms: settingInt(0, 60_000, 'milliseconds a change waits for others to share its request'),
  timeout_ms: settingInt(100, 120_000, 'milliseconds to wait for one OTA answer'),
  max_attempts: settingInt(1, 10, 'attempts per request'),
  ...channelRules,
  // Guardrails (guard.ts): unset, nothing is held.
  guard_rate_change_pct: z
    .number({ error: 'must be a number above 0 (a rate moving by more than this percent is held for approval)' })
    .gt(0, { error: 'must be above 0 (a rate moving by more than this percent is held for approval)' })
    .max(10_000, { error: 'must be at most 10000 (a rate moving by more than this percent is held for approval)' }),
  guard_close_share_pct: z
    .number({ error: 'must be a number above 0 and at most 100 (percent of the window closing at once that is held for approval)' })
    .gt(0, { error: 'must be above 0 (percent of the window closing at once that is held for approval)' })
    .max(100, { error: 'must be at most 100 (percent of the window closing at once that is held for approval)' }),
};

/** A mapping's `settings`: the channel's rules for its one room type and rate plan. */
export const mappingSettings = z.object(channelRules).partial().strict();

/** `settings` of a connection of the adapter's channel, or a StayosError naming every problem. */
export function checkSettings(adapter: OtaAdapter, settings: Record<string, unknown>): void {
  const schema = adapter.settings.partial().strict();
  const parsed = schema.safeParse(settings);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) =>
      i.code === 'unrecognized_keys'
        ? `settings: unknown ${i.keys.length > 1 ? 'keys' : 'key'} ${i.keys.map((k) => JSON.stringify(k)).join(', ')} (${adapter.code} accepts ${Object.keys(adapter.settings.shape).join(', ') || 'none'})`
        : `settings.${i.path.join('.')}: ${i.message} (got ${JSON.stringify(i.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k as PropertyKey], settings))})`,
    );
    throw new StayosError('ERR_VALIDATION', problems.join('; '));
  }
  try {
    adapter.checkSettings?.(settings);
  } catch (err) {
    throw new StayosError('ERR_VALIDATION', (err as Error).message, { cause: err });
  }
}

export function checkConnectionInput(
  adapter: OtaAdapter,
  input: { endpointUrl?: string | undefined; reservationsUrl?: string | undefined; settings?: Record<string, unknown> | undefined },
): void {
  if (input.reservationsUrl !== undefined && !adapter.reservationsUrl) {
    throw new StayosError('ERR_VALIDATION', `reservationsUrl is not used by ${adapter.code} connections`);
  }
  if (input.settings) checkSettings(adapter, input.settings);
  // Every URL StayOS will call for this connection names a host of its OTA (outbound/hosts.ts).
  // (A channel StayOS never calls — OpenTravel senders call us — has no URL to check.)
  if (!adapter.outbound && !adapter.inbound?.poller) return;
  const urls: Array<[string, unknown]> = [
    ['endpointUrl', input.endpointUrl],
    ['reservationsUrl', input.reservationsUrl],
    ['settings.auth_url', input.settings?.auth_url],
  ];
  const problems = urls
    .filter(([, v]) => typeof v === 'string')
    .map(([name, v]) => [name, outboundUrlProblem(adapter, v as string)] as const)
    .filter(([, p]) => p);
  if (problems.length) throw new StayosError('ERR_OTA_HOST_NOT_ALLOWED', problems.map(([name, p]) => `${name}: ${p}`).join('; '));
}
