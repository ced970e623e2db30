/**
 * inbound/ — the inbound engine: OTA bookings into the PMS (OTA → an adapter's webhook or poller,
 * which parses the message into the normalised booking → here → reservation, guest, channel). One
 * normalised booking, one idempotent transaction, one message log. It imports no OTA folder: what
 * differs per OTA comes in the adapter's InboundRules (./rules.ts).
 */
export { bookingSchema, checkBooking, type Booking, type InboundChannel, type RoomStay } from './booking.ts';
export { basicAuth, credentialsMatch, sameSecret } from './auth.ts';
export type { InboundRules, WebhookDeps } from './rules.ts';
export { deliver, type Delivered, type Replies } from './deliver.ts';
export { ingestBooking, recordRefusal, type Answer, type Delivery, type IngestResult, type Outcome } from './ingest.ts';
export { InboundRefusal, REFUSAL_REASONS, refuse, type RefusalReason } from './refusal.ts';
export { connectionById, connectionByHotel, connectionsOfAccount, connectionsOfChannel, type InboundConnection } from './sql/connections.ts';
export { parseInboundXml } from './xml.ts';
export { at, attr, kid, kids, textOf, type XmlNode } from '../core/xml.ts';
