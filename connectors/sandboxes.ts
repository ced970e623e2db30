/**
 * The Booking.com, Expedia and Google Hotels sandboxes with the options the tests and benchmarks set (products,
 * accounts, per-hotel behaviour), mounted where the demo connections point (`/sandbox/booking-com`,
 * `/sandbox/expedia`, `/sandbox/google-hotels`) on the tests' and benchmarks' own ports. Accounts are the demo connections'
 * credentials and hotels unless given. (`stayos start` mounts every adapter's sandbox as its
 * adapter builds it: connectors/demo.ts.)
 */
import type { FastifyInstance } from 'fastify';
import { demoConnections } from './demo.ts';
import { BookingSandbox } from './booking-com/sandbox.ts';
import type { Products as BookingProducts } from './booking-com/sandbox-ari.ts';
import { ExpediaSandbox, type ExpediaSandboxOptions } from './expedia/sandbox.ts';
import type { ExpediaProduct } from './expedia/sandbox-rules.ts';
import { GoogleHotelsSandbox, type GoogleSandboxOptions } from './google-hotels/sandbox.ts';

export interface Sandboxes {
  booking: BookingSandbox;
  expedia: ExpediaSandbox;
  google: GoogleHotelsSandbox;
  /** Route plugin for buildApp({ plugins }). */
  plugin: (app: FastifyInstance) => Promise<void>;
}

const demo = (channel: string) => demoConnections('', [channel])[0]!;

export function createSandboxes(
  options: {
    faults?: unknown;
    expediaProducts?: Record<string, ExpediaProduct>;
    bookingProducts?: BookingProducts;
    bookingAccounts?: Array<{ clientId: string; clientSecret: string; hotels: string[] }>;
    expediaAccounts?: Array<{ username: string; password: string; hotels: string[] }>;
    googleProducts?: GoogleSandboxOptions['products'];
    /** The hotels Google's account holds (default the demo's). */
    googleHotels?: string[];
    /** Expedia's per-hotel behaviour the publisher documents: rate thresholds, rate acquisition type, base allocation, maximum occupancy (7009). */
    expediaHotels?: Pick<ExpediaSandboxOptions, 'thresholds' | 'rateAcquisition' | 'baseAllocation' | 'maxOccupancy'>;
  } = {},
): Sandboxes {
  const b = demo('booking_com');
  const e = demo('expedia');
  const booking = new BookingSandbox({
    accounts: options.bookingAccounts ?? [
      { clientId: String(b.credentials.client_id), clientSecret: String(b.credentials.client_secret), hotels: [b.hotelCode] },
    ],
    faults: options.faults,
    ...(options.bookingProducts ? { products: options.bookingProducts } : {}),
  });
  const expedia = new ExpediaSandbox({
    accounts: options.expediaAccounts ?? [{ username: String(e.credentials.username), password: String(e.credentials.password), hotels: [e.hotelCode] }],
    faults: options.faults,
    ...(options.expediaProducts ? { products: options.expediaProducts } : {}),
    ...options.expediaHotels,
  });
  const g = demo('google_hotels');
  const google = new GoogleHotelsSandbox({
    accounts: [{ hotels: options.googleHotels ?? [g.hotelCode] }],
    faults: options.faults,
    ...(options.googleProducts ? { products: options.googleProducts } : {}),
  });
  return {
    booking,
    expedia,
    google,
    plugin: async (app) => {
      await app.register(booking.plugin, { prefix: b.sandboxPath });
      await app.register(expedia.plugin, { prefix: e.sandboxPath });
      await app.register(google.plugin, { prefix: g.sandboxPath });
    },
  };
}
