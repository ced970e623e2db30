/**
 * PII key rotation (`stayos keys status`, `stayos keys rotate`). Every ciphertext names its key
 * (migration V1.19.0); a rotation re-encrypts, in small batches of their own transaction, every
 * ciphertext not under the current key — online: the application keeps reading and writing, as
 * its sessions hold the current key and the keys being replaced (STAYOS_ENCRYPTION_PREVIOUS_KEYS).
 * The keys never appear in a statement: the pool's sessions carry them (core/db.ts).
 */
import { ident, isInputError, type Pool } from './db.ts';
import { StayosError } from './errors.ts';

/** Rows a rotation names and goes past before it stops: more is a cause of its own (a key not given?), not a few odd rows. */
const MAX_SKIPPED = 100;

/** One ciphertext column: found through its domain (shared.pgp_ciphertext), so a new one needs no list here. */
export interface PiiColumn {
  table: string;
  column: string;
  /** Bytes, not text (a stored OTA message): re-encrypted as bytes. */
  binary: boolean;
  /** The keyed fingerprint written with it (of a text value), recomputed under the new key. */
  fingerprint: string | null;
}

export interface KeyCount {
  table: string;
  column: string;
  /** Rows per key id ('legacy': written before key ids, V1.19.0). Erased and NULL values are not counted. */
  byKey: Record<string, number>;
}

export interface KeyStatus {
  currentKeyId: string;
  columns: KeyCount[];
  /** Ciphertexts not under the current key: what a rotation still has to do. */
  remaining: number;
}

export interface RotationProgress {
  table: string;
  column: string;
  rewritten: number;
}

/** A row the rotation could not rewrite, left as it was and named. */
export interface RotationSkip {
  table: string;
  column: string;
  id: string;
  error: string;
}

export interface RotationResult {
  currentKeyId: string;
  rewritten: number;
  /** Left behind (rows locked by a writer through every pass, written meanwhile under an old key by a process not yet given the new one, or skipped). */
  remaining: number;
  /**
   * Rows that cannot be rewritten: under a key none of the session's keys is (SK002), not opening
   * (corrupt), or clashing with a row already under the new key (the same card or document
   * stored twice by writers on different keys: a unique index refuses the second fingerprint).
   */
  skipped: RotationSkip[];
}

/** A row's own problem: rewriting it again fails again, the others go on. */
function isRowProblem(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return isInputError(err) || code === 'SK002' || code === '39000';
}

export async function piiColumns(pool: Pool): Promise<PiiColumn[]> {
  const { rows } = await pool.query<PiiColumn>(`
    SELECT a.attrelid::regclass::text AS "table", a.attname AS "column", COALESCE(n.is_binary, false) AS binary, n.fingerprint_column AS fingerprint
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN shared.pii_column_notes() n ON n.table_name = a.attrelid AND n.ciphertext_column = a.attname
    WHERE t.typname = 'pgp_ciphertext' AND t.typnamespace = 'shared'::regnamespace
      AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY 1, 2`);
  return rows;
}

/** The ciphertexts a rotation has to rewrite: not erased, not under the current key. */
const stale = (column: string) =>
  `${column} IS NOT NULL AND length(${column}) > 0 AND shared.ciphertext_key_id(${column}) IS DISTINCT FROM shared.pii_current_key_id()`;

export async function keyStatus(pool: Pool): Promise<KeyStatus> {
  const {
    rows: [current],
  } = await pool.query<{ id: string }>('SELECT shared.pii_current_key_id() AS id');
  const columns: KeyCount[] = [];
  let remaining = 0;
  for (const c of await piiColumns(pool)) {
    const col = ident(c.column);
    const { rows } = await pool.query<{ key: string; n: number }>(
      `SELECT shared.ciphertext_key_id(${col}) AS key, count(*)::int AS n FROM ${c.table} WHERE length(${col}) > 0 GROUP BY 1 ORDER BY 1`,
    );
    const byKey = Object.fromEntries(rows.map((r) => [r.key, r.n]));
    remaining += rows.filter((r) => r.key !== current!.id).reduce((s, r) => s + r.n, 0);
    columns.push({ table: c.table, column: c.column, byKey });
  }
  return { currentKeyId: current!.id, columns, remaining };
}

/**
 * Re-encrypts every ciphertext not under the current key, `batchSize` rows per transaction in key
 * order (each batch locks only its rows, skipping those a writer holds), then passes again for
 * what was skipped, up to `passes` times. Safe to stop and run again at any point.
 */
export async function rotateKeys(
  pool: Pool,
  o: { batchSize: number; passes?: number; onProgress?: (p: RotationProgress) => void; signal?: AbortSignal },
): Promise<RotationResult> {
  const columns = await piiColumns(pool);
  const skipped: RotationSkip[] = [];
  let rewritten = 0;
  const result = async (): Promise<RotationResult> => {
    const { currentKeyId, remaining } = await keyStatus(pool);
    return { currentKeyId, rewritten, remaining, skipped };
  };
  for (let pass = 0; pass < (o.passes ?? 3); pass++) {
    let thisPass = 0;
    for (const c of columns) {
      const col = ident(c.column);
      // The fingerprint is recomputed from the plaintext the old ciphertext holds (SET sees the old
      // row). Fingerprints are of text values only (documents, cards).
      const fingerprint = c.fingerprint ? `, ${ident(c.fingerprint)} = shared.pii_fingerprint(shared.decrypt_pii(x.${col}))` : '';
      const rows = `SELECT id FROM ${c.table} WHERE id > $2 AND ${stale(col)} AND id <> ALL ($3::uuid[]) ORDER BY id LIMIT $1`;
      const rewrite = (ids: string) => `
        WITH batch AS (${ids}),
        done AS (UPDATE ${c.table} x SET ${col} = shared.reencrypt_pii(x.${col}, ${c.binary})${fingerprint} FROM batch WHERE x.id = batch.id RETURNING x.id)
        SELECT (SELECT id FROM done ORDER BY id DESC LIMIT 1) AS last, (SELECT count(*)::int FROM done) AS n`;
      const left = () => skipped.filter((k) => k.table === c.table && k.column === c.column).map((k) => k.id);
      let after = '00000000-0000-0000-0000-000000000000';
      for (;;) {
        if (o.signal?.aborted) return result();
        let done: { last: string | null; n: number };
        try {
          done = (await pool.query<{ last: string | null; n: number }>(rewrite(`${rows} FOR UPDATE SKIP LOCKED`), [o.batchSize, after, left()])).rows[0]!;
        } catch (err) {
          if (!isRowProblem(err)) throw err;
          // One row spoils the batch: the batch again row by row, naming the rows that fail.
          const { rows: ids } = await pool.query<{ id: string }>(rows, [o.batchSize, after, left()]);
          done = { last: ids.at(-1)?.id ?? null, n: 0 };
          for (const { id } of ids) {
            try {
              done.n += (
                await pool.query<{ n: number }>(rewrite(`SELECT id FROM ${c.table} WHERE id = $1::uuid AND ${stale(col)} FOR UPDATE SKIP LOCKED`), [id])
              ).rows[0]!.n;
            } catch (e) {
              if (!isRowProblem(e)) throw e;
              skipped.push({ table: c.table, column: c.column, id, error: (e as Error).message });
              if (skipped.length > MAX_SKIPPED) {
                throw new StayosError(
                  'ERR_CONFIG',
                  `key rotation stopped: over ${MAX_SKIPPED} rows cannot be rewritten, the first ${c.table}.${c.column} row ${skipped[0]!.id}: ` +
                    `${skipped[0]!.error}. Fix the cause (a key missing from STAYOS_ENCRYPTION_PREVIOUS_KEYS?) and run it again; what is done stays done.`,
                );
              }
            }
          }
        }
        if (!done.last) break;
        after = done.last;
        rewritten += done.n;
        thisPass += done.n;
        if (done.n) o.onProgress?.({ table: c.table, column: c.column, rewritten: done.n });
      }
    }
    if (!thisPass) break;
  }
  return result();
}
