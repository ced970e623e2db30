/**
 * The one error registry: a closed set of codes, each mapped once to an HTTP status (and, as the
 * connectors and webhooks arrive, to each OTA's own error format). Throw `new StayosError(code, msg,
 * { cause })`; handlers translate by code, never by message text. docs/errors.md documents every
 * code, and a test keeps the two in step.
 */

export const errorRegistry = {
  ERR_VALIDATION: { http: 400, summary: 'Input does not match the expected shape or a business rule.' },
  ERR_AUTH: { http: 401, summary: 'Missing or wrong credentials.' },
  ERR_FORBIDDEN: { http: 403, summary: 'Authenticated, but not allowed to touch this resource.' },
  ERR_NOT_FOUND: { http: 404, summary: 'No such resource visible to the caller.' },
  ERR_CONFLICT: {
    http: 409,
    summary: 'Optimistic-lock failure (stale version, SQLSTATE SV001) or a unique rule broken.',
  },
  ERR_CONFIG: { http: 500, summary: 'Bad configuration; the message names the variable and the fix.' },
  ERR_DB_UNAVAILABLE: { http: 503, summary: 'PostgreSQL cannot be reached now; safe to retry.' },
  ERR_DB_NOT_LOGICAL: {
    http: 500,
    summary: 'The PostgreSQL server does not have wal_level=logical, which the CDC pipeline needs.',
  },
  ERR_MIGRATION_CHECKSUM: {
    http: 500,
    summary: 'An applied migration file was edited after it ran; add a new migration instead.',
  },
  ERR_MIGRATION_MISSING: { http: 500, summary: 'A migration or undo file that history needs is not on disk.' },
  ERR_MIGRATION_FAILED: { http: 500, summary: 'A migration file failed; its transaction was rolled back.' },
  // Outbound to an OTA. `details` carries { ota, code } where the OTA gave a code.
  ERR_OTA_AUTH: { http: 502, summary: 'The OTA refused our credentials or token; the connection is marked down.' },
  ERR_OTA_REJECTED: { http: 502, summary: 'The OTA refused the update for a reason retrying cannot fix (schema, date, mapping).' },
  ERR_OTA_UNAVAILABLE: { http: 503, summary: 'The OTA is failing, throttling or timing out now; retried with backoff.' },
  ERR_OTA_HOST_NOT_ALLOWED: {
    http: 400,
    summary: "A connection URL names a host that is not its OTA's (nor an operator-allowed or sandbox host); nothing is sent there.",
  },
  ERR_OTA_INVALID_RESPONSE: { http: 502, summary: 'The OTA answered with a body that is not its protocol; treated as a failed attempt.' },
  ERR_ARI_HELD: {
    http: 409,
    summary: 'A guardrail held updates for approval (a rate moving too far, too much of the window closing at once); they were not sent.',
  },
  ERR_PRICING_MODEL_MISMATCH: {
    http: 409,
    summary:
      "A rate plan is priced per day and the connection per occupancy, or the other way round: its rates are not sent until the PMS's model and the connection's pricing_model agree.",
  },
  // Inbound (OTA → StayOS). `details.reason` names the refusal (inbound/refusal.ts), which each
  // webhook translates into its protocol's own error.
  ERR_PAYLOAD_TOO_LARGE: { http: 413, summary: 'The request body is over the size limit; nothing was read further.' },
  ERR_RATE_LIMITED: { http: 429, summary: 'Too many requests for this connection now; retry after the delay given.' },
  ERR_NOT_IMPLEMENTED: { http: 501, summary: 'The request uses an HTTP feature StayOS does not implement (a transfer coding other than chunked).' },
  ERR_INTERNAL: { http: 500, summary: 'A bug: an invariant did not hold.' },
} as const satisfies Record<string, { http: number; summary: string }>;

export type ErrorCode = keyof typeof errorRegistry;

export class StayosError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause });
    this.name = 'StayosError';
    this.code = code;
    this.details = options.details;
  }
  get httpStatus(): number {
    return errorRegistry[this.code].http;
  }
}

/** SQLSTATEs we translate; everything else is ERR_INTERNAL. */
const pgCodeToError: Record<string, ErrorCode> = {
  SV001: 'ERR_CONFLICT', // raised by shared.enforce_optimistic_lock(): the caller's version is stale
  SV002: 'ERR_FORBIDDEN', // raised by shared.reject_mutation(): the table is append-only
  SK001: 'ERR_CONFIG', // raised by shared.pii_session_keys(): the session holds no encryption key (STAYOS_ENCRYPTION_KEY)
  SK002: 'ERR_CONFIG', // raised by shared.pii_key_for(): a ciphertext under a key not given (STAYOS_ENCRYPTION_PREVIOUS_KEYS)
  '23505': 'ERR_CONFLICT', // unique_violation
  '23514': 'ERR_VALIDATION', // check_violation: a business rule in a CHECK constraint or domain
  '23502': 'ERR_VALIDATION', // not_null_violation
  '23503': 'ERR_VALIDATION', // foreign_key_violation: a referenced id does not exist
  '22P02': 'ERR_VALIDATION', // invalid_text_representation (bad uuid, bad number)
  '42501': 'ERR_FORBIDDEN', // insufficient_privilege, incl. RLS WITH CHECK failures
  '57P01': 'ERR_DB_UNAVAILABLE', // admin_shutdown
  '57P03': 'ERR_DB_UNAVAILABLE', // cannot_connect_now (server starting up)
};

/** Wraps an error from `pg` into the registry, keeping it as the cause. */
export function fromPgError(err: unknown, context = 'database operation failed'): StayosError {
  if (err instanceof StayosError) return err;
  const e = err as { code?: string; message?: string };
  const mapped: ErrorCode | undefined = e.code ? pgCodeToError[e.code] : undefined;
  const code: ErrorCode = mapped ?? (e.code?.startsWith('08') || e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' ? 'ERR_DB_UNAVAILABLE' : 'ERR_INTERNAL');
  return new StayosError(code, `${context}: ${e.message ?? String(err)}`, { cause: err, details: { sqlstate: e.code } });
}
