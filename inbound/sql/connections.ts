/**
 * Which connection an inbound message belongs to, with its credentials decrypted for the check
 * (never returned further) and the property's today (bounds the stay dates). A deleted or
 * disabled connection is no connection: its hotel is unknown to us.
 */

export interface InboundConnection {
  id: string;
  propertyId: string;
  channel: 'booking_com' | 'expedia' | 'opentravel';
  hotelCode: string;
  endpointUrl: string;
  /** Booking.com's reservation queues (NULL in the column: the ARI base URL serves them too, as a sandbox does). */
  reservationsUrl: string;
  status: string;
  settings: Record<string, unknown>;
  credentials: Record<string, unknown> | null;
  today: string;
}

const SELECT = `
SELECT c.id, c.property_id AS "propertyId", c.channel_code AS channel, c.ota_hotel_code AS "hotelCode", c.endpoint_url AS "endpointUrl",
       COALESCE(c.reservations_url, c.endpoint_url) AS "reservationsUrl", c.status, c.settings, shared.decrypt_pii(c.credentials, $1)::jsonb AS credentials,
       (now() AT TIME ZONE p.timezone)::date::text AS today
FROM channel.channel_connections c JOIN property_mgmt.properties p ON p.id = c.property_id
WHERE c.deleted_at IS NULL AND c.status <> 'disabled'`;

export function connectionByHotel(channel: string, hotelCode: string, key: string) {
  return { text: `${SELECT} AND c.channel_code = $2 AND c.ota_hotel_code = $3`, values: [key, channel, hotelCode] };
}

export function connectionById(id: string, key: string) {
  return { text: `${SELECT} AND c.id = $2::uuid`, values: [key, id] };
}

/** The live connections of a channel (the Booking.com pollers). */
export function connectionsOfChannel(channel: string, key: string) {
  return { text: `${SELECT} AND c.channel_code = $2 ORDER BY c.created_at`, values: [key, channel] };
}
