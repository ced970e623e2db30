/**
 * PII key rotation (`stayos keys rotate`, core/pii-keys.ts) against its baseline, in one run:
 *  - workload: 20,000 passports (ciphertext + keyed fingerprint) and 20,000 cards (number, holder,
 *    fingerprint) under one key, as the application writes them;
 *  - baseline: the same re-encryption as one UPDATE per table in one transaction (what an offline
 *    rotation does: every row locked until the end), then rolled back;
 *  - StayOS: the online rotation (500 rows per transaction, SKIP LOCKED, passes until done).
 * Ratio = baseline time ÷ StayOS time (1.0: online costs nothing more). Prints a table and writes
 * bench/out/keys.json; results are kept in bench/RESULTS.md.
 */
import fs from 'node:fs';
import { benchDatabase, BENCH_KEY, machine } from './common.ts';
import { createPool } from '../core/db.ts';
import { keyStatus, rotateKeys } from '../core/pii-keys.ts';

const ROWS = Number(process.env.BENCH_KEY_ROWS ?? 20_000);
const NEW_KEY = 'bench-rotation-new-key-0123456789-abcdefghijkl';

async function main(): Promise<void> {
  const db = await benchDatabase('stayos_bench_keys');
  const rotating = createPool(db.url, { max: 2, applicationName: 'stayos-bench-rotate', encryptionKeys: [NEW_KEY, BENCH_KEY] });
  try {
    console.log(`machine: ${machine()}`);
    const {
      rows: [p],
    } = await db.pool.query(`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('KEYS', 'Key bench hotel', 'EUR') RETURNING id`);
    await db.pool.query(`INSERT INTO guest.profiles (property_id, first_name, last_name) SELECT $1, 'Guest', 'N' || n FROM generate_series(1, $2) n`, [
      p.id,
      ROWS,
    ]);
    await db.pool.query(
      `INSERT INTO guest.identity_documents (profile_id, property_id, document_type, document_number_encrypted, document_number_fingerprint)
      SELECT g.id, g.property_id, 'passport', shared.encrypt_pii('P' || g.last_name), shared.pii_fingerprint('P' || g.last_name) FROM guest.profiles g WHERE g.property_id = $1`,
      [p.id],
    );
    await db.pool.query(
      `INSERT INTO billing.payment_methods (property_id, guest_id, card_number_encrypted, cardholder_name_encrypted, card_last4, card_brand, expiry_month, expiry_year, card_fingerprint)
      SELECT g.property_id, g.id, shared.encrypt_pii(n), shared.encrypt_pii('GUEST ' || g.last_name), right(n, 4), 'visa', 12, 2031, shared.pii_fingerprint(n)
      FROM guest.profiles g, LATERAL (SELECT (4000000000000000 + substring(g.last_name FROM 2)::bigint)::text AS n) x WHERE g.property_id = $1`,
      [p.id],
    );
    await db.pool.query('VACUUM (ANALYZE)');
    const before = await keyStatus(rotating);
    console.log(`${before.remaining} ciphertexts under the old key`);

    // Baseline: one statement per table, one transaction, rolled back.
    const client = await rotating.connect();
    let baselineMs: number;
    try {
      const t0 = performance.now();
      await client.query('BEGIN');
      await client.query(`UPDATE guest.identity_documents SET document_number_encrypted = shared.reencrypt_pii(document_number_encrypted, false),
        document_number_fingerprint = shared.pii_fingerprint(shared.decrypt_pii(document_number_encrypted))`);
      await client.query(`UPDATE billing.payment_methods SET card_number_encrypted = shared.reencrypt_pii(card_number_encrypted, false),
        cardholder_name_encrypted = shared.reencrypt_pii(cardholder_name_encrypted, false), card_fingerprint = shared.pii_fingerprint(shared.decrypt_pii(card_number_encrypted))`);
      baselineMs = performance.now() - t0;
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    await db.pool.query('VACUUM (ANALYZE)');

    const t1 = performance.now();
    const r = await rotateKeys(rotating, { batchSize: 500 });
    const rotateMs = performance.now() - t1;
    if (r.remaining !== 0 || r.skipped.length) throw new Error(`rotation left ${r.remaining} (${r.skipped.length} skipped)`);

    const perSecond = (ms: number) => Math.round(before.remaining / (ms / 1000));
    const rows = [
      ['measure', 'baseline (one UPDATE per table, offline)', 'StayOS (`stayos keys rotate`, online)', 'ratio'],
      [
        `${before.remaining} ciphertexts re-encrypted`,
        `${perSecond(baselineMs)}/s (${(baselineMs / 1000).toFixed(2)} s)`,
        `${perSecond(rotateMs)}/s (${(rotateMs / 1000).toFixed(2)} s, ${Math.ceil(before.remaining / 500)}+ transactions)`,
        (baselineMs / rotateMs).toFixed(2),
      ],
    ];
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
    fs.mkdirSync('bench/out', { recursive: true });
    fs.writeFileSync(
      'bench/out/keys.json',
      `${JSON.stringify({ machine: machine(), at: new Date().toISOString(), ciphertexts: before.remaining, baselineMs, rotateMs, ratio: baselineMs / rotateMs }, null, 2)}\n`,
    );
  } finally {
    await rotating.end();
    await db.close();
  }
}

await main();
