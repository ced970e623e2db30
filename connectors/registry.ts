/**
 * The OTA registry: the one list of channels. Every other list — the CDC's consumers, the sync
 * workers' connectors, the webhook routes, the pollers, API enums, CLI choices, dashboard labels,
 * the demo's connections and sandboxes — is derived from it. Adding an OTA is a folder with its
 * adapter, a line here, and a migration that inserts its channel.channels row
 * (docs/adding-an-ota.md); `checkRegistry` refuses to start when the two disagree.
 */
import type { Pool } from '../core/db.ts';
import { StayosError } from '../core/errors.ts';
import type { OtaAdapter } from './adapter.ts';
import { bookingComAdapter } from './booking-com/adapter.ts';
import { expediaAdapter } from './expedia/adapter.ts';
import { googleHotelsAdapter } from './google-hotels/adapter.ts';
import { opentravelAdapter } from './opentravel/adapter.ts';
import { registerOtas } from './outbound/registered.ts';

export const ADAPTERS: readonly OtaAdapter[] = [bookingComAdapter, expediaAdapter, googleHotelsAdapter, opentravelAdapter];

registerOtas(ADAPTERS);

/** Every channel code, in registry order. */
export const CHANNEL_CODES: readonly string[] = ADAPTERS.map((a) => a.code);
/** The channels StayOS pushes ARI to (their consumers turn changes into dirty cells). */
export const OUTBOUND_CHANNELS: readonly string[] = ADAPTERS.filter((a) => a.outbound).map((a) => a.code);

export function adapterOf(code: string): OtaAdapter | undefined {
  return ADAPTERS.find((a) => a.code === code);
}

/** The adapter of `code`, or ERR_VALIDATION naming the channels there are. */
export function requireAdapter(code: string, what: 'channel' | 'outbound' = 'channel'): OtaAdapter {
  const a = adapterOf(code);
  if (!a || (what === 'outbound' && !a.outbound)) {
    const known = what === 'outbound' ? OUTBOUND_CHANNELS : CHANNEL_CODES;
    throw new StayosError(
      'ERR_VALIDATION',
      `unknown ${what === 'outbound' ? 'outbound ' : ''}channel "${String(code).slice(0, 40)}" (use ${known.join(', ')})`,
    );
  }
  return a;
}

/**
 * The registry and the database agree: each adapter has its channel.channels row, with
 * outbound_ari as the adapter says, and no row lacks an adapter. Checked at start-up (after the
 * migrations): a missing migration is a clear refusal, not a foreign-key error on the first write.
 */
export async function checkRegistry(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ code: string; outbound: boolean }>(
    `SELECT code, outbound_ari AS outbound FROM channel.channels WHERE deleted_at IS NULL ORDER BY code`,
  );
  const problems: string[] = [];
  for (const a of ADAPTERS) {
    const row = rows.find((r) => r.code === a.code);
    if (!row) problems.push(`channel ${a.code} has an adapter but no channel.channels row (its migration is missing)`);
    else if (row.outbound !== Boolean(a.outbound))
      problems.push(`channel ${a.code}: channel.channels.outbound_ari is ${row.outbound}, its adapter ${a.outbound ? 'pushes' : 'pushes no'} ARI`);
  }
  for (const r of rows) if (!adapterOf(r.code)) problems.push(`channel ${r.code} is in channel.channels but has no adapter in connectors/registry.ts`);
  if (problems.length) throw new StayosError('ERR_CONFIG', `the OTA registry and the database disagree: ${problems.join('; ')}`);
}
