/**
 * Google Hotels (ARI): availability, rates and restrictions pushed as OpenTravel messages
 * (./client.ts, ./messages.ts). Outbound only: Google sends no bookings to the PMS. Google
 * authenticates by the sending server's address, so a connection has no credentials; its hotel
 * code is the Hotel List Feed id, its room and rate codes the room and package ids of the
 * property data (the Transaction message, which the hotel's Google set-up holds; StayOS does not
 * send it). developers.google.com/hotels/hotel-prices/dev-guide/ari-overview.
 */
import { z } from 'zod';
import type { OtaAdapter } from '../adapter.ts';
import { commonSettings, settingInt } from '../outbound/settings.ts';
import { googleHotelsConnector } from './client.ts';
import { GoogleHotelsSandbox } from './sandbox.ts';

/** The nights a full sync and the sync window may cover (also the sync_days setting's bounds). */
const DAYS = { min: 1, max: 500, why: 'Google publishes no ARI horizon; StayOS keeps at most 500 days current' };

const demo = {
  hotelCode: 'stayos-demo-amsterdam',
  credentials: {},
  // The demo's channel rules (issue 18) live on this connection: Google is shown 5 % above the PMS
  // and one room of each type less (docs/revenue-model.md, per-channel rules).
  settings: { rate_limit_per_minute: 120, markup_pct: 5, availability_offset: -1 },
  roomCodes: { STD: 'STD', DLX: 'DLX', STE: 'STE' },
  rateCodes: { BAR: 'BAR', NRF: 'NRF', BB: 'BB', FAM: 'FAM' },
};

export const googleHotelsAdapter: OtaAdapter = {
  code: 'google_hotels',
  name: 'Google Hotels',
  // "Use the following base path for the endpoints: https://www.google.com" (ari-overview).
  hosts: ['www.google.com'],
  production: { endpointUrl: 'https://www.google.com' },
  settings: z.object({
    ...commonSettings,
    sync_days: settingInt(DAYS.min, DAYS.max, DAYS.why),
    partner_key: z
      .string({ error: 'must be the partner account key (text)' })
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'must be 1–64 letters, digits, _ . - (the partner account key)' }),
    rate_amounts: z.enum(['after_tax', 'before_tax'], { error: 'must be after_tax (the price the guest pays) or before_tax' }),
  }),
  outbound: {
    connector: googleHotelsConnector,
    days: DAYS,
  },
  sandbox: {
    path: 'google-hotels',
    demo,
    // Any address: in docker-compose the connectors call the API's sandbox from another container.
    plugin: ({ faults }) => new GoogleHotelsSandbox({ accounts: [{ hotels: [demo.hotelCode], addresses: ['*'] }], faults }).plugin,
  },
};
