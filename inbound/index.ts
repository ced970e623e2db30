/**
 * inbound/ — OTA bookings into the PMS (OTA → api/webhooks or the Booking.com poller → here →
 * reservation, guest, channel). One normalised booking, one idempotent transaction, one message
 * log. (`replay.ts`, which reads Expedia envelopes through connectors/, is imported directly by
 * the CLI: exporting it here would make connectors/ and inbound/ import each other.)
 */
export { bookingSchema, checkBooking, CHANNELS as INBOUND_CHANNELS, type Booking, type InboundChannel, type RoomStay } from './booking.ts';
export { basicAuth, credentialsMatch, sameSecret } from './auth.ts';
export { deliver, type Delivered, type Replies } from './deliver.ts';
export { ingestBooking, recordRefusal, type Answer, type Delivery, type IngestResult, type Outcome } from './ingest.ts';
export { cancelHotelCode, parseCancel, parseReservation, type ReservationContext } from './ota-reservation.ts';
export { InboundRefusal, REFUSAL_REASONS, refuse, type RefusalReason } from './refusal.ts';
export { connectionById, connectionByHotel, connectionsOfAccount, connectionsOfChannel, type InboundConnection } from './sql/connections.ts';
export { at, attr, kid, kids, parseInboundXml, textOf, type XmlNode } from './xml.ts';
