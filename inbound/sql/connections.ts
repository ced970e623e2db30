/**
 * Which connection an inbound message belongs to, with its credentials decrypted for the check
 * (never returned further) and the property's today (bounds the stay dates). A deleted or
 * disabled connection is no connection: its hotel is unknown to us.
 */

export interface InboundConnection {
  id: string;
  propertyId: string;
  channel: string;
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
       COALESCE(c.reservations_url, c.endpoint_url) AS "reservationsUrl", c.status, c.settings, shared.decrypt_pii(c.credentials)::jsonb AS credentials,
       (now() AT TIME ZONE p.timezone)::date::text AS today
FROM channel.channel_connections c JOIN property_mgmt.properties p ON p.id = c.property_id
WHERE c.deleted_at IS NULL AND c.status <> 'disabled'`;

export function connectionByHotel(channel: string, hotelCode: string) {
  return { text: `${SELECT} AND c.channel_code = $1 AND c.ota_hotel_code = $2`, values: [channel, hotelCode] };
}

export function connectionById(id: string) {
  return { text: `${SELECT} AND c.id = $1::uuid`, values: [id] };
}

/** The live connections of a channel (the Booking.com pollers). */
export function connectionsOfChannel(channel: string) {
  return { text: `${SELECT} AND c.channel_code = $1 ORDER BY c.created_at`, values: [channel] };
}

/**
 * The live connections of a channel whose credentials name this username, found by its keyed
 * fingerprint (under any key of a rotation under way): only they are decrypted.
 */
export function connectionsOfAccount(channel: string, username: string) {
  return {
    text: `${SELECT} AND c.channel_code = $1 AND c.account_fingerprint = ANY (shared.pii_fingerprints($2)) ORDER BY c.created_at`,
    values: [channel, username],
  };
}
