/**
 * The two OTA sandboxes, mounted where the demo connections point (`/sandbox/booking-com`,
 * `/sandbox/expedia`): `stayos start` serves them on its own port, the tests and benchmarks on
 * theirs. Accounts are the demo connections' credentials and hotels unless given.
 */
import type { FastifyInstance } from 'fastify';
import { DEMO } from '../../core/demo/demo-data.ts';
import { BookingSandbox } from '../booking-com/sandbox.ts';
import { ExpediaSandbox, type ExpediaSandboxOptions } from '../expedia/sandbox.ts';

export interface Sandboxes {
  booking: BookingSandbox;
  expedia: ExpediaSandbox;
  /** Route plugin for buildApp({ plugins }). */
  plugin: (app: FastifyInstance) => Promise<void>;
}

const demo = (channel: string) => {
  const c = DEMO.connections.find((x) => x.channel === channel)!;
  return { ...c, credentials: c.credentials as Record<string, string> };
};

export function createSandboxes(options: { faults?: unknown; expediaProducts?: Record<string, { rooms: string[]; rates: string[] }>;
  bookingProducts?: Record<string, { rooms: string[]; rates: string[] }>; bookingAccounts?: Array<{ clientId: string; clientSecret: string; hotels: string[] }>;
  expediaAccounts?: Array<{ username: string; password: string; hotels: string[] }>;
  /** Expedia's per-hotel behaviour the publisher documents: rate thresholds, rate acquisition type, base allocation. */
  expediaHotels?: Pick<ExpediaSandboxOptions, 'thresholds' | 'rateAcquisition' | 'baseAllocation'> } = {}): Sandboxes {
  const b = demo('booking_com');
  const e = demo('expedia');
  const booking = new BookingSandbox({
    accounts: options.bookingAccounts ?? [{ clientId: String(b.credentials.client_id), clientSecret: String(b.credentials.client_secret), hotels: [b.hotelCode] }],
    faults: options.faults,
    ...(options.bookingProducts ? { products: options.bookingProducts } : {}),
  });
  const expedia = new ExpediaSandbox({
    accounts: options.expediaAccounts ?? [{ username: String(e.credentials.username), password: String(e.credentials.password), hotels: [e.hotelCode] }],
    faults: options.faults,
    ...(options.expediaProducts ? { products: options.expediaProducts } : {}),
    ...options.expediaHotels,
  });
  return {
    booking,
    expedia,
    plugin: async (app) => {
      await app.register(booking.plugin, { prefix: b.sandboxPath });
      await app.register(expedia.plugin, { prefix: e.sandboxPath });
    },
  };
}
