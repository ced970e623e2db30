/**
 * Booking.com: ARI pushed (OTA_HotelAvailNotifRQ, OTA_HotelRateAmountNotifRQ; ./client.ts),
 * bookings pulled from its reservation queues and acknowledged (./reservations.ts), a Bearer token
 * exchanged for the machine account's credentials (./auth.ts).
 */
import { z } from 'zod';
import type { OtaAdapter } from '../adapter.ts';
import { commonSettings, settingInt } from '../outbound/settings.ts';
import { BOOKING_HOSTS } from './auth.ts';
import { bookingConnector } from './client.ts';
import { parseReservation, reservationsIn } from '../opentravel/reservation.ts';
import { BookingReservationPoller } from './reservations.ts';
import { BookingSandbox } from './sandbox.ts';

/** The nights a full sync and the sync window may cover (also the sync_days setting's bounds). */
const DAYS = { min: 365, max: 1095, why: 'Booking.com asks for at least 12 months (365 days) in sync' };

const demo = {
  hotelCode: '1234567',
  credentials: { client_id: 'stayos-demo-machine', client_secret: 'demo-secret-booking-com' },
  settings: { rate_limit_per_minute: 120 },
  roomCodes: { STD: '123456701', DLX: '123456702', STE: '123456703' },
  rateCodes: { BAR: '5001', NRF: '5002', BB: '5003', FAM: '5004' },
};

export const bookingComAdapter: OtaAdapter = {
  code: 'booking_com',
  name: 'Booking.com',
  hosts: BOOKING_HOSTS,
  production: { endpointUrl: 'https://supply-xml.booking.com', reservationsUrl: 'https://secure-supply-xml.booking.com' },
  reservationsUrl: true,
  settings: z.object({
    ...commonSettings,
    sync_days: settingInt(DAYS.min, DAYS.max, DAYS.why),
    auth_url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL (Booking.com's token exchange host)" }),
    // What SetMinLOS/SetMaxLOS restrict at this Booking.com property (client.ts normalize; docs/conformance.md I11).
    los_messages: z.enum(['stay_through', 'arrival'], {
      error: "must be 'stay_through' (SetMinLOS is stay-through, Booking.com's page) or 'arrival' (SetMinLOS is arrival-based)",
    }),
  }),
  outbound: {
    connector: bookingConnector,
    days: DAYS,
  },
  inbound: {
    poller: (deps) => new BookingReservationPoller({ ...deps, ackPauseMs: 5000, ackAttempts: 5 }),
    rules: {},
    replay: ({ root, node }, connection) =>
      reservationsIn(root, node).map(
        (r) => () =>
          parseReservation(r, {
            channel: 'booking_com',
            kind: root === 'OTA_HotelResNotifRQ' ? 'new' : 'modify',
            hotelCode: connection.hotelCode,
            today: connection.today,
          }),
      ),
  },
  sandbox: {
    path: 'booking-com',
    demo,
    // The sandbox's token exchange serves the demo connection too (a real one has its own host).
    demoSettings: (url: string) => ({ auth_url: url }),
    plugin: ({ faults }) =>
      new BookingSandbox({
        accounts: [{ clientId: demo.credentials.client_id, clientSecret: demo.credentials.client_secret, hotels: [demo.hotelCode] }],
        faults,
      }).plugin,
  },
};
