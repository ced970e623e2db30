/**
 * Booking.com's own statements: its machine accounts' tokens (channel.ota_tokens), shared by every
 * worker and the poller.
 */

/** Booking.com's token of a machine account (its client_id hash): ensureToken first (a statement
 * cannot lock the row its own CTE inserts), then lockToken in the same transaction, so workers on
 * several machines exchange at most one at a time — and at most 30 an hour between them. */
export function ensureToken(accountHash: string) {
  return {
    text: `INSERT INTO channel.ota_tokens (channel_code, account_hash) VALUES ('booking_com', $1) ON CONFLICT (channel_code, account_hash) DO NOTHING`,
    values: [accountHash],
  };
}

export function lockToken(accountHash: string) {
  return {
    text: `
SELECT CASE WHEN expires_at > now() + interval '60 seconds' THEN shared.decrypt_pii(token) END AS token,
       expires_at AS "expiresAt",
       CASE WHEN window_start > now() - interval '1 hour' THEN exchanges ELSE 0 END AS "exchangesThisHour",
       window_start AS "windowStart"
FROM channel.ota_tokens WHERE channel_code = 'booking_com' AND account_hash = $1 FOR UPDATE`,
    values: [accountHash],
  };
}

/** Counts an exchange (a failed one counts against the hourly limit too) and stores its token. */
export function countExchange(accountHash: string, token: string | null, ttlSeconds: number) {
  return {
    text: `
UPDATE channel.ota_tokens SET
  token = CASE WHEN $2::text IS NULL THEN token ELSE shared.encrypt_pii($2) END,
  expires_at = CASE WHEN $2::text IS NULL THEN expires_at ELSE now() + make_interval(secs => $3) END,
  exchanges = CASE WHEN window_start > now() - interval '1 hour' THEN exchanges + 1 ELSE 1 END,
  window_start = CASE WHEN window_start > now() - interval '1 hour' THEN window_start ELSE now() END,
  updated_at = now(), version = version + 1
WHERE channel_code = 'booking_com' AND account_hash = $1`,
    values: [accountHash, token, ttlSeconds],
  };
}

/** Forgets a token the OTA refused (401 on a request): the next push exchanges a new one. */
export function dropToken(accountHash: string) {
  return {
    text: `UPDATE channel.ota_tokens SET token = NULL, expires_at = NULL, updated_at = now(), version = version + 1
           WHERE channel_code = 'booking_com' AND account_hash = $1`,
    values: [accountHash],
  };
}

/**
 * Which of these connections already holds a Booking.com reservation (by its id): where a message
 * that names no hotel belongs when one machine account serves several (reservations.ts).
 */
export function reservationHolder(externalId: string, connectionIds: string[]) {
  return {
    text: `SELECT connection_id AS "connectionId" FROM channel.channel_reservations
           WHERE channel_code = 'booking_com' AND id_scope = '' AND external_reservation_id = $1 AND connection_id = ANY ($2::uuid[]) AND deleted_at IS NULL
           LIMIT 1`,
    values: [externalId, connectionIds],
  };
}
