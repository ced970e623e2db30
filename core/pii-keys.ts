/**
 * PII key rotation (`stayos keys status`, `stayos keys rotate`). Every ciphertext names its key
 * (migration V1.19.0); a rotation re-encrypts, in small batches of their own transaction, every
 * ciphertext not under the current key — online: the application keeps reading and writing, as
 * its sessions hold the current key and the keys being replaced (STAYOS_ENCRYPTION_PREVIOUS_KEYS).
 * The keys never appear in a statement: the pool's sessions carry them (core/db.ts).
 */
import { ident, type Pool } from './db.ts';

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

export interface RotationResult {
  currentKeyId: string;
  rewritten: number;
  /** Left behind (rows locked by a writer through every pass, or written meanwhile under an old key by a process not yet given the new one). */
  remaining: number;
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
const stale = (column: string) => `${column} IS NOT NULL AND length(${column}) > 0 AND shared.ciphertext_key_id(${column}) IS DISTINCT FROM shared.pii_current_key_id()`;

export async function keyStatus(pool: Pool): Promise<KeyStatus> {
  const { rows: [current] } = await pool.query<{ id: string }>('SELECT shared.pii_current_key_id() AS id');
  const columns: KeyCount[] = [];
  let remaining = 0;
  for (const c of await piiColumns(pool)) {
    const col = ident(c.column);
    const { rows } = await pool.query<{ key: string; n: number }>(
      `SELECT shared.ciphertext_key_id(${col}) AS key, count(*)::int AS n FROM ${c.table} WHERE length(${col}) > 0 GROUP BY 1 ORDER BY 1`);
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
export async function rotateKeys(pool: Pool, o: { batchSize: number; passes?: number; onProgress?: (p: RotationProgress) => void; signal?: AbortSignal }): Promise<RotationResult> {
  const columns = await piiColumns(pool);
  let rewritten = 0;
  for (let pass = 0; pass < (o.passes ?? 3); pass++) {
    let thisPass = 0;
    for (const c of columns) {
      const col = ident(c.column);
      // The fingerprint is recomputed from the plaintext the old ciphertext holds (SET sees the old
      // row). Fingerprints are of text values only (documents, cards).
      const fingerprint = c.fingerprint ? `, ${ident(c.fingerprint)} = shared.pii_fingerprint(shared.decrypt_pii(x.${col}))` : '';
      const sql = `
        WITH batch AS (SELECT id FROM ${c.table} WHERE id > $2 AND ${stale(col)} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED),
        done AS (UPDATE ${c.table} x SET ${col} = shared.reencrypt_pii(x.${col}, ${c.binary})${fingerprint} FROM batch WHERE x.id = batch.id RETURNING x.id)
        SELECT (SELECT id FROM done ORDER BY id DESC LIMIT 1) AS last, (SELECT count(*)::int FROM done) AS n`;
      let after = '00000000-0000-0000-0000-000000000000';
      for (;;) {
        if (o.signal?.aborted) return { currentKeyId: await currentKeyId(pool), rewritten, remaining: (await keyStatus(pool)).remaining };
        const { rows: [r] } = await pool.query<{ last: string | null; n: number }>(sql, [o.batchSize, after]);
        if (!r!.n) break;
        after = r!.last!;
        rewritten += r!.n;
        thisPass += r!.n;
        o.onProgress?.({ table: c.table, column: c.column, rewritten: r!.n });
      }
    }
    if (!thisPass) break;
  }
  return { currentKeyId: await currentKeyId(pool), rewritten, remaining: (await keyStatus(pool)).remaining };
}

async function currentKeyId(pool: Pool): Promise<string> {
  return (await pool.query<{ id: string }>('SELECT shared.pii_current_key_id() AS id')).rows[0]!.id;
}
