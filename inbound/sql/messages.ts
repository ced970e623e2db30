/** The inbound message log (channel.inbound_messages): one append-only row per delivery. */

export interface MessageRecord {
  connectionId: string | null;
  propertyId: string | null;
  channel: string;
  /** `<channel>_webhook`, `<channel>_poll`, or `replay`. */
  source: `${string}_webhook` | `${string}_poll` | 'replay';
  messageType: string;
  externalId: string | null;
  body: string;
  outcome: 'created' | 'modified' | 'cancelled' | 'duplicate' | 'stale' | 'refused' | 'failed';
  errorCode: string | null;
  otaErrorCode: string | null;
  errorMessage: string | null;
  answerStatus: number;
  answer: string | null;
  channelReservationId: string | null;
  reservationId: string | null;
  durationMs: number;
}

/** The body is stored encrypted (it carries personal and card data), its SHA-256 in clear; as
 * bytes, exactly as received (a refused body may hold what text columns cannot, such as NUL). */
export function insertMessage(m: MessageRecord) {
  return {
    text: `
INSERT INTO channel.inbound_messages (connection_id, property_id, channel_code, source, message_type, external_reservation_id, body_sha256, body_bytes,
  body_encrypted, outcome, error_code, ota_error_code, error_message, answer_status, answer, channel_reservation_id, reservation_id, duration_ms, created_by, updated_by)
VALUES ($1, $2, $3, $4, $5, $6, encode(shared.digest($7::bytea, 'sha256'), 'hex'), octet_length($7::bytea),
  shared.encrypt_pii_bytes($7::bytea), $8, $9, $10, $11, $12, $13, $14, $15, $16, shared.channel_user_id($3), shared.channel_user_id($3))
RETURNING id`,
    values: [
      m.connectionId,
      m.propertyId,
      m.channel,
      m.source,
      m.messageType,
      m.externalId?.slice(0, 64) ?? null,
      Buffer.from(m.body, 'utf8'),
      m.outcome,
      m.errorCode,
      m.otaErrorCode,
      m.errorMessage?.slice(0, 1000) ?? null,
      m.answerStatus,
      m.answer,
      m.channelReservationId,
      m.reservationId,
      Math.max(0, Math.round(m.durationMs)),
    ],
  };
}

/** A stored message, decrypted (bytes: a Buffer), for a replay. */
export function storedMessage(id: string) {
  return {
    text: `SELECT id, connection_id AS "connectionId", channel_code AS channel, source, message_type AS "messageType",
                  shared.decrypt_pii_bytes(body_encrypted) AS body
           FROM channel.inbound_messages WHERE id = $1::uuid`,
    values: [id],
  };
}

/** Records an OTA code that matched no mapping (counted up while open). */
export function recordUnknownCode(p: {
  connectionId: string;
  propertyId: string;
  kind: 'unknown_ota_room' | 'unknown_ota_rate' | 'unknown_ota_hotel';
  roomCode?: string | undefined;
  rateCode?: string | undefined;
  detail: string;
}) {
  return {
    text: `
INSERT INTO channel.mapping_problems AS p (connection_id, property_id, kind, ota_room_code, ota_rate_code, detail)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (connection_id, kind, coalesce(room_type_id::text, ''), coalesce(rate_plan_id::text, ''), coalesce(ota_room_code, ''), coalesce(ota_rate_code, ''))
  WHERE resolved_at IS NULL AND deleted_at IS NULL
DO UPDATE SET occurrences = p.occurrences + 1, last_seen_at = now(), detail = EXCLUDED.detail`,
    values: [p.connectionId, p.propertyId, p.kind, p.roomCode ?? null, p.rateCode ?? null, p.detail],
  };
}
