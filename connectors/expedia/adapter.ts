/**
 * Expedia (EQC): ARI pushed as AvailRateUpdateRQ (./client.ts), bookings pushed to our SOAP
 * webhook as Booking Notification messages (./webhook.ts, ./booking-notification.ts).
 */
import { z } from 'zod';
import type { OtaAdapter } from '../adapter.ts';
import { commonSettings, settingInt } from '../outbound/settings.ts';
import { bookingOfEnvelope, readEnvelope } from './booking-notification.ts';
import { expediaConnector } from './client.ts';
import { EXPEDIA_INBOUND_RULES } from './inbound-rules.ts';
import { expediaPricingOf, expediaPricingSettings } from './pricing.ts';
import { ExpediaSandbox } from './sandbox.ts';
import { expediaWebhook } from './webhook.ts';

/** The nights a full sync and the sync window may cover (also the sync_days setting's bounds). */
const DAYS = { min: 1, max: 730, why: 'Expedia accepts dates up to 2 years (730 days) ahead' };

const demo = {
  hotelCode: '7654321',
  credentials: { username: 'stayosdemo', password: 'demo-pass-expedia' },
  settings: { rate_limit_per_minute: 60 },
  roomCodes: { STD: '200101', DLX: '200102', STE: '200103' },
  rateCodes: { BAR: '300101', NRF: '300102', BB: '300103', FAM: '300104' },
};

export const expediaAdapter: OtaAdapter = {
  code: 'expedia',
  name: 'Expedia',
  // Expedia QuickConnect (EQC) AR and booking retrieval; the AR endpoint is
  // services.expediapartnercentral.com/eqc/ar (developers.expediagroup.com/supply/lodging/docs/
  // avail_and_rate_apis/avail_rates/reference/request).
  hosts: ['services.expediapartnercentral.com'],
  production: { endpointUrl: 'https://services.expediapartnercentral.com' },
  settings: z.object({
    ...commonSettings,
    sync_days: settingInt(DAYS.min, DAYS.max, DAYS.why),
    ...expediaPricingSettings.shape,
    // Which minimum/maximum stay the Expedia property applies its minLOS/maxLOS as: "Arrival VS
    // stay-through … This is a hotel-level setting in Expedia system" (EQC AR guides). Unset: arrival.
    // The PMS's values of that kind are sent (client.ts normalize); the other kind is not carried.
    los_basis: z.enum(['arrival', 'stay_through'], {
      error: "must be 'arrival' or 'stay_through' (how this Expedia property applies minimum and maximum stays)",
    }),
  }),
  checkSettings: (settings) => void expediaPricingOf(settings),
  outbound: {
    connector: expediaConnector,
    days: DAYS,
  },
  inbound: {
    webhook: expediaWebhook,
    rules: EXPEDIA_INBOUND_RULES,
    // A stored message is the whole SOAP envelope (one booking).
    replay: ({ root, node }, connection) => (root === 'Envelope' ? [() => bookingOfEnvelope(readEnvelope(root, node), connection)] : []),
  },
  sandbox: {
    path: 'expedia',
    demo,
    plugin: ({ faults }) =>
      new ExpediaSandbox({
        accounts: [{ username: demo.credentials.username, password: demo.credentials.password, hotels: [demo.hotelCode] }],
        faults,
      }).plugin,
  },
};
