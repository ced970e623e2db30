/**
 * A booking's history and the replay of a stored message. Every inbound message is kept
 * (encrypted) in channel.inbound_messages; replaying one runs its reservations through the same
 * parsing and ingestion again, as source `replay`: idempotent like any delivery (a version already
 * held is a duplicate or stale), so a replay is safe, and useful after a fix (a mapping added for
 * a refused booking, a bug corrected).
 */
import type { Pool } from '../core/db.ts';
import { StayosError } from '../core/errors.ts';
import type { XmlNode } from '../core/xml.ts';
import type { Booking } from './booking.ts';
import { deliver } from './deliver.ts';
import type { InboundRules } from './rules.ts';
import { connectionById, type InboundConnection } from './sql/connections.ts';
import { storedMessage } from './sql/messages.ts';
import { parseInboundXml } from './xml.ts';

/** A stored message as its adapter reads it again: the reservations it holds, each parsed on demand. */
export interface StoredMessage {
  root: string;
  node: XmlNode;
  /** As recorded (for a SOAP envelope, the OTA message inside). */
  messageType: string;
}

/** What replay needs of a channel's adapter (the start-up code passes the registry's lookup). */
export type ReplayerOf = (
  channel: string,
) => { replay(message: StoredMessage, connection: InboundConnection): Array<() => Booking>; rules: InboundRules } | undefined;

export interface ReplayOutcome {
  externalId: string | null;
  outcome: string;
  error?: string;
}

export async function replayMessage(pool: Pool, messageId: string, replayerOf: ReplayerOf): Promise<ReplayOutcome[]> {
  if (!/^[0-9a-f-]{36}$/i.test(messageId)) throw new StayosError('ERR_VALIDATION', `message id must be a UUID, got "${messageId.slice(0, 40)}"`);
  const {
    rows: [m],
  } = await pool.query<{ connectionId: string | null; channel: string; source: string; messageType: string; body: Buffer | null }>(storedMessage(messageId));
  if (!m) throw new StayosError('ERR_NOT_FOUND', `no inbound message ${messageId}`);
  if (!m.connectionId || !m.body)
    throw new StayosError('ERR_VALIDATION', `message ${messageId} belongs to no connection (an unknown hotel): nothing to replay it into`);
  const {
    rows: [connection],
  } = await pool.query<InboundConnection>(connectionById(m.connectionId));
  if (!connection) throw new StayosError('ERR_NOT_FOUND', `the connection of message ${messageId} no longer exists`);
  const body = m.body.toString('utf8');
  const { root, node } = await parseInboundXml(body);
  const replayer = replayerOf(connection.channel);
  if (!replayer) throw new StayosError('ERR_VALIDATION', `message ${messageId} is of channel ${connection.channel}, which has no adapter to read it`);
  const parsers = replayer.replay({ root, node, messageType: m.messageType }, connection);
  if (!parsers.length) throw new StayosError('ERR_VALIDATION', `message ${messageId} is a <${root}>, which holds no reservations to replay`);
  const out: ReplayOutcome[] = [];
  for (const parse of parsers) {
    const done = await deliver(
      { pool },
      connection,
      { source: 'replay', messageType: m.messageType, body, started: performance.now(), rules: replayer.rules },
      parse,
      {
        ok: (r) => ({ status: 200, body: JSON.stringify({ replayOf: messageId, outcome: r.outcome, confirmationNumber: r.confirmationNumber }) }),
        refused: (e) => ({ status: 400, body: JSON.stringify({ replayOf: messageId, refused: e.reason }) }),
      },
    );
    out.push(
      done.result
        ? { externalId: done.result.externalId, outcome: done.result.outcome }
        : { externalId: null, outcome: 'refused', error: done.refusal.message },
    );
  }
  return out;
}

/** Every message of one OTA booking, oldest first (no bodies: they stay encrypted). */
export async function bookingHistory(pool: Pool, channel: string, externalId: string) {
  const { rows } = await pool.query<{
    id: string;
    receivedAt: Date;
    source: string;
    messageType: string;
    outcome: string;
    otaErrorCode: string | null;
    errorMessage: string | null;
  }>(
    `SELECT id, created_at AS "receivedAt", source, message_type AS "messageType", outcome, ota_error_code AS "otaErrorCode", error_message AS "errorMessage"
     FROM channel.inbound_messages WHERE channel_code = $1 AND external_reservation_id = $2 ORDER BY created_at, id`,
    [channel, externalId],
  );
  return rows;
}
