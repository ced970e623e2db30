/**
 * A booking's history and the replay of a stored message. Every inbound message is kept
 * (encrypted) in channel.inbound_messages; replaying one runs its reservations through the same
 * parsing and ingestion again, as source `replay`: idempotent like any delivery (a version already
 * held is a duplicate or stale), so a replay is safe, and useful after a fix (a mapping added for
 * a refused booking, a bug corrected).
 */
import type { Pool } from '../core/db.ts';
import { StayosError } from '../core/errors.ts';
import { bookingOfEnvelope, readEnvelope } from '../connectors/expedia/booking-notification.ts';
import { RESERVATION_QUEUES } from '../connectors/booking-com/messages.ts';
import type { Booking } from './booking.ts';
import { deliver } from './deliver.ts';
import { parseReservation } from './ota-reservation.ts';
import { connectionById, type InboundConnection } from './sql/connections.ts';
import { storedMessage } from './sql/messages.ts';
import { kid, kids, parseInboundXml } from './xml.ts';

export interface ReplayOutcome {
  externalId: string | null;
  outcome: string;
  error?: string;
}

/** Where each OTA_*NotifRQ holds its reservations (the same two roots Booking.com's queues hand out). */
const LISTS = new Map(Object.values(RESERVATION_QUEUES).map((q) => [q.rq as string, [q.list, q.item] as const]));

export async function replayMessage(pool: Pool, messageId: string): Promise<ReplayOutcome[]> {
  if (!/^[0-9a-f-]{36}$/i.test(messageId)) throw new StayosError('ERR_VALIDATION', `message id must be a UUID, got "${messageId.slice(0, 40)}"`);
  const { rows: [m] } = await pool.query<{ connectionId: string | null; channel: string; source: string; messageType: string; body: Buffer | null }>(storedMessage(messageId));
  if (!m) throw new StayosError('ERR_NOT_FOUND', `no inbound message ${messageId}`);
  if (!m.connectionId || !m.body) throw new StayosError('ERR_VALIDATION', `message ${messageId} belongs to no connection (an unknown hotel): nothing to replay it into`);
  const { rows: [connection] } = await pool.query<InboundConnection>(connectionById(m.connectionId));
  if (!connection) throw new StayosError('ERR_NOT_FOUND', `the connection of message ${messageId} no longer exists`);
  const body = m.body.toString('utf8');
  const { root, node } = await parseInboundXml(body);
  let parsers: Array<() => Booking>;
  if (root === 'Envelope') {
    const env = readEnvelope(root, node);
    parsers = [() => bookingOfEnvelope(env, connection)];
  } else {
    const [list, item] = LISTS.get(root) ?? [];
    if (!list || !item) throw new StayosError('ERR_VALIDATION', `message ${messageId} is a <${root}>, which holds no reservations to replay`);
    const kind = connection.channel === 'booking_com' ? (root === 'OTA_HotelResNotifRQ' ? 'new' : 'modify') : undefined;
    parsers = kids(kid(node, list), item).map((r) => () => parseReservation(r, { channel: connection.channel, ...(kind ? { kind } : {}), hotelCode: connection.hotelCode, today: connection.today }));
  }
  const out: ReplayOutcome[] = [];
  for (const parse of parsers) {
    const done = await deliver({ pool }, connection, { source: 'replay', messageType: root === 'Envelope' ? m.messageType : root, body, started: performance.now() }, parse, {
      ok: (r) => ({ status: 200, body: JSON.stringify({ replayOf: messageId, outcome: r.outcome, confirmationNumber: r.confirmationNumber }) }),
      refused: (e) => ({ status: 400, body: JSON.stringify({ replayOf: messageId, refused: e.reason }) }),
    });
    out.push(done.result ? { externalId: done.result.externalId, outcome: done.result.outcome } : { externalId: null, outcome: 'refused', error: done.refusal.message });
  }
  return out;
}

/** Every message of one OTA booking, oldest first (no bodies: they stay encrypted). */
export async function bookingHistory(pool: Pool, channel: string, externalId: string) {
  const { rows } = await pool.query<{ id: string; receivedAt: Date; source: string; messageType: string; outcome: string; otaErrorCode: string | null; errorMessage: string | null }>(
    `SELECT id, created_at AS "receivedAt", source, message_type AS "messageType", outcome, ota_error_code AS "otaErrorCode", error_message AS "errorMessage"
     FROM channel.inbound_messages WHERE channel_code = $1 AND external_reservation_id = $2 ORDER BY created_at, id`, [channel, externalId]);
  return rows;
}
