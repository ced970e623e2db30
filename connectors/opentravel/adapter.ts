/**
 * OpenTravel (generic senders, AlpineBits-style): bookings pushed as OTA_HotelResNotifRQ to
 * /webhooks/ota/:connectionId with HTTP Basic credentials (./webhook.ts). No outbound ARI, no
 * production host (the sender calls us), no sandbox.
 */
import { z } from 'zod';
import type { OtaAdapter } from '../adapter.ts';
import { parseReservation, reservationsIn } from './reservation.ts';
import { opentravelWebhook } from './webhook.ts';

export const opentravelAdapter: OtaAdapter = {
  code: 'opentravel',
  name: 'OpenTravel',
  hosts: [],
  settings: z.object({}),
  inbound: {
    webhook: opentravelWebhook,
    // (Each sender numbers its own reservations: its channel.channels row says ids_per_connection.)
    rules: {},
    replay: ({ root, node }, connection) =>
      reservationsIn(root, node).map((r) => () => parseReservation(r, { channel: 'opentravel', hotelCode: connection.hotelCode, today: connection.today })),
  },
};
