/**
 * The demo property as the tests seed it: with the Booking.com and Expedia demo connections
 * (each test owns its data; a test of another channel adds that channel's connection itself).
 */
import { demoConnections } from '../../connectors/demo.ts';
import { seedDemo as seed, type SeedResult } from '../../core/demo/seed-demo.ts';
import type { Pool } from '../../core/db.ts';

export const TEST_DEMO_CHANNELS: readonly string[] = ['booking_com', 'expedia'];

/** Their demo connections (codes, credentials, sandbox paths; settings as seeded under no base URL). */
export const DEMO_CONNECTIONS = demoConnections('', TEST_DEMO_CHANNELS);

/** `channels`: the demo connections to seed (default TEST_DEMO_CHANNELS). */
export function seedDemo(pool: Pool, options: { sandboxBaseUrl: string; days?: number; channels?: readonly string[] }): Promise<SeedResult> {
  const { channels = TEST_DEMO_CHANNELS, ...rest } = options;
  return seed(pool, { ...rest, connections: demoConnections(options.sandboxBaseUrl, channels) });
}
