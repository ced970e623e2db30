/**
 * Issue 16, points 6 and 7: the PII key never travels in a statement (a server that logs every
 * statement with its parameters never sees it), every ciphertext names its key, `stayos keys
 * rotate` re-encrypts online in batches, and an Expedia message naming a hotel we do not connect
 * decrypts only the credentials of the account it names.
 *
 * Oracles: the ciphertext format and the fingerprints are recomputed here with node:crypto (SHA-256
 * of the labelled key, HMAC-SHA256 of the normalised value); plaintexts are the values the test
 * wrote or the published Expedia sample (bn_00) carries.
 */
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../../core/db.ts';
import { seedDemo } from '../helpers/demo.ts';
import { keyStatus, rotateKeys } from '../../core/pii-keys.ts';
import { createApiKey } from '../../api/keys.ts';
import { buildApp } from '../../api/app.ts';
import { insertDocument } from '../../inbound/sql/ingest.ts';
import { replayMessage } from '../../inbound/replay.ts';
import { adapterOf } from '../../connectors/registry.ts';
import { TEST_KEY } from '../helpers/db.ts';
import { useDedicatedDatabase } from '../helpers/dedicated-server.ts';
import { addConnection, fixture, post, startInboundApp } from '../helpers/inbound.ts';
import { runCli } from '../helpers/process.ts';

// Every statement logged with its parameters, every connection logged: what a DBA's slow-query
// logging or auto_explain would write, at its most talkative.
const db = useDedicatedDatabase({ log_min_duration_statement: '0', log_parameter_max_length: '-1', log_connections: 'on' });

/** Keys with what breaks naive quoting (spaces, quotes, a backslash): the sessions get them hex-encoded. */
const NEW_KEY = `the new key: "spaces", 'quotes' and a \\ backslash 0123456789`;
/** The key of ciphertexts written before key ids (V1.19.0), by the old code. */
const OLD_KEY = 'legacy-key-before-key-ids-0123456789abcdef';
/** A key this process never had: another tenant's connection written by another deployment. */
const STRANGER_KEY = 'stranger-key-stranger-key-stranger-key-0123';

const keyId = (key: string) => createHash('sha256').update(`stayos-pii-key-id:${key}`).digest('hex').slice(0, 8);
const fingerprint = (key: string, value: string) => createHmac('sha256', key).update(value.replace(/\s/g, '').toUpperCase()).digest('hex');
const BN00 = fixture('expedia/bn_00_New_reservation_Request.xml');
const BN00_CARD = /CardNumber="(\d+)"/.exec(BN00)![1]!;

let inbound: Awaited<ReturnType<typeof startInboundApp>>;
let api: Awaited<ReturnType<typeof buildApp>>;
let admin: string;

beforeAll(async () => {
  const { pool, url } = db.current;
  await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 5 });
  await addConnection(pool, {
    channel: 'expedia',
    hotelCode: '1154286',
    credentials: { username: 'Expedia', password: 'Password' },
    mappings: [{ room: '50292', rate: '113712', roomType: 'STD', ratePlan: 'BAR' }],
  });
  // Another Expedia account, encrypted under a key this process does not hold.
  const stranger = createPool(url, { max: 1, encryptionKeys: [STRANGER_KEY] });
  try {
    await addConnection(stranger, { channel: 'expedia', hotelCode: '7770001', credentials: { username: 'someone-else', password: 'x' }, mappings: [] });
  } finally {
    await stranger.end();
  }
  admin = (await createApiKey(pool, { email: 'admin@demo.example', role: 'admin', properties: ['DEMO'] })).key;
  api = await buildApp({ pool, logLevel: 'silent' });
  inbound = await startInboundApp(pool);
}, 60_000);
afterAll(async () => {
  await inbound?.close();
  await api?.close();
});

describe('an Expedia message naming a hotel we do not connect (point 7)', () => {
  it('is matched to its account by the username fingerprint: only that account is decrypted, the mapping problem is reported', async () => {
    // Before, every Expedia credential was decrypted to find the account: the stranger's, which no
    // key of ours opens, made that a 500 for everyone.
    const unknown = BN00.replaceAll('1154286', '9999999');
    const res = await post(`${inbound.url}/webhooks/expedia`, unknown);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/<Error [^>]*ShortText="3202"/); // Expedia's "hotel not mapped to this account"
    const {
      rows: [m],
    } = await db.current.pool.query(
      `SELECT m.ota_error_code AS code, c.ota_hotel_code AS hotel FROM channel.inbound_messages m JOIN channel.channel_connections c ON c.id = m.connection_id
       WHERE m.outcome = 'refused' ORDER BY m.created_at DESC LIMIT 1`,
    );
    expect(m).toEqual({ code: '3202', hotel: '1154286' });
    // Wrong password for a made-up hotel: authentication fails (a Nack), nothing is recorded on the account.
    const wrong = await post(`${inbound.url}/webhooks/expedia`, unknown.replace('Password="Password"', 'Password="nope"'));
    expect(wrong.status).toBe(500);
    expect(wrong.body).toContain('Client.2001');
  });
});

describe('the PII key and the server log (point 6)', () => {
  it('never reaches PostgreSQL in a statement: a server logging every statement and its parameters never sees it', async () => {
    const { pool } = db.current;
    // Writes and reads of every kind: credentials through the API, a booking with a card and the
    // stored message, a replay that decrypts the message.
    const created = await api.inject({
      method: 'POST',
      url: '/api/v1/connections',
      headers: { authorization: `Bearer ${admin}` },
      payload: {
        channel: 'expedia',
        hotelCode: '4440001',
        endpointUrl: 'https://services.expediapartnercentral.com',
        credentials: { username: 'apiuser', password: 's3cret-pass' },
      },
    });
    expect(created.statusCode).toBe(201);
    expect((await post(`${inbound.url}/webhooks/expedia`, BN00)).status).toBe(200);
    const {
      rows: [msg],
    } = await pool.query(`SELECT id FROM channel.inbound_messages WHERE external_reservation_id = '13357395' AND outcome = 'created'`);
    expect(await replayMessage(pool, msg.id, (channel) => adapterOf(channel)?.inbound)).toEqual([{ externalId: '13357395', outcome: 'duplicate' }]);
    const {
      rows: [card],
    } = await pool.query(`SELECT shared.decrypt_pii(card_number_encrypted) AS number, card_fingerprint AS fp FROM billing.payment_methods
      WHERE reservation_id = (SELECT reservation_id FROM channel.channel_reservations WHERE external_reservation_id = '13357395')`);
    expect(card).toEqual({ number: BN00_CARD, fp: fingerprint(TEST_KEY, BN00_CARD) });

    const log = fs.readFileSync(db.current.logFile, 'utf8');
    // The log did record the statements that encrypt and decrypt, with their parameters …
    expect(log).toMatch(/LOG: {2}duration: [\d.]+ ms {2}(execute|statement)[^]*?shared\.encrypt_pii\(/);
    expect(log).toContain('shared.decrypt_pii(');
    expect(log).toMatch(/DETAIL: {2}parameters: \$1 = /i);
    expect(log).toContain('s3cret-pass'); // a plaintext parameter: the log does show parameters
    // … and never the key, in any spelling.
    expect(log).not.toContain(TEST_KEY);
    expect(log).not.toContain(Buffer.from(TEST_KEY).toString('hex'));
  });
});

describe('stayos keys rotate (point 6)', () => {
  it('re-encrypts legacy and keyed ciphertexts under the new key in batches while the application writes; fingerprints follow', async () => {
    const { pool, url } = db.current;
    // A passport written by the old code (no key id, the key a bind parameter), as before V1.19.0.
    const {
      rows: [legacy],
    } = await pool.query(
      `UPDATE guest.identity_documents SET document_number_encrypted = shared.pgp_sym_encrypt('LEGACY 123', $1, 'cipher-algo=aes256, compress-algo=0'),
         document_number_fingerprint = $2
       WHERE id = (SELECT id FROM guest.identity_documents ORDER BY id LIMIT 1) RETURNING id, property_id, document_type`,
      [OLD_KEY, fingerprint(OLD_KEY, 'LEGACY 123')],
    );
    const during: Pool = createPool(url, { max: 2, encryptionKeys: [NEW_KEY, TEST_KEY, OLD_KEY, STRANGER_KEY] });
    const after: Pool = createPool(url, { max: 2, encryptionKeys: [NEW_KEY] });
    try {
      const before = await keyStatus(during);
      expect(before.currentKeyId).toBe(keyId(NEW_KEY));
      const flat = (s: typeof before) =>
        s.columns.reduce<Record<string, number>>((acc, c) => {
          for (const [k, n] of Object.entries(c.byKey)) acc[k] = (acc[k] ?? 0) + n;
          return acc;
        }, {});
      expect(flat(before)).toMatchObject({ legacy: 1, [keyId(TEST_KEY)]: expect.any(Number), [keyId(STRANGER_KEY)]: 1 });
      expect(before.remaining).toBeGreaterThan(20);

      // While a rotation is under way, a document already held under an older key's fingerprint is
      // recognised: no second copy (the unique index alone compares only one fingerprint).
      const {
        rows: [held],
      } = await pool.query(
        `SELECT profile_id, property_id, shared.decrypt_pii(document_number_encrypted) AS number FROM guest.identity_documents
        WHERE id <> $1 AND length(document_number_encrypted) > 0 ORDER BY id LIMIT 1`,
        [legacy.id],
      );
      const count = async () => (await pool.query(`SELECT count(*)::int AS n FROM guest.identity_documents`)).rows[0].n as number;
      const docs = await count();
      await during.query(insertDocument(held.property_id, held.profile_id, { type: 'passport', number: held.number }));
      expect(await count()).toBe(docs);

      const env = { DATABASE_URL: url, STAYOS_ENCRYPTION_KEY: NEW_KEY, STAYOS_ENCRYPTION_PREVIOUS_KEYS: [TEST_KEY, OLD_KEY, STRANGER_KEY].join(',') };
      expect((await runCli(['keys', 'rotate', '--batch-size', '0'], env).exited).code).toBe(2);
      const rotation = runCli(['keys', 'rotate', '--batch-size', '3'], env);
      // The application goes on writing and reading meanwhile (its sessions hold the new key first).
      const written: string[] = [];
      let done = false;
      void rotation.exited.then(() => (done = true));
      while (!done) {
        if (written.length >= 40) {
          await rotation.exited;
          break;
        }
        const number = `W${written.length} ${Date.now()}`;
        await during.query(insertDocument(held.property_id, held.profile_id, { type: 'passport', number }));
        written.push(number);
        await during.query(`SELECT shared.decrypt_pii(credentials) FROM channel.channel_connections WHERE credentials IS NOT NULL`);
      }
      expect(written.length).toBeGreaterThan(0);
      const { code } = await rotation.exited;
      expect(rotation.output()).toMatch(/re-encrypted \d+ ciphertexts under key [0-9a-f]{8}; 0 left under older keys/);
      expect(code).toBe(0);

      // Everything is under the new key now: a session holding only it reads every value, and the
      // ids, recomputed here, are the new key's.
      const status = await keyStatus(after);
      expect(status.remaining).toBe(0);
      expect(Object.keys(flat(status))).toEqual([keyId(NEW_KEY)]);
      const {
        rows: [doc],
      } = await after.query(
        `SELECT shared.decrypt_pii(document_number_encrypted) AS number, document_number_fingerprint AS fp FROM guest.identity_documents WHERE id = $1`,
        [legacy.id],
      );
      expect(doc).toEqual({ number: 'LEGACY 123', fp: fingerprint(NEW_KEY, 'LEGACY 123') });
      for (const number of written) {
        const { rows } = await after.query(
          `SELECT document_number_fingerprint AS fp FROM guest.identity_documents WHERE shared.decrypt_pii(document_number_encrypted) = $1`,
          [number],
        );
        expect(rows).toEqual([{ fp: fingerprint(NEW_KEY, number) }]);
      }
      const {
        rows: [card],
      } = await after.query(`SELECT shared.decrypt_pii(card_number_encrypted) AS number, card_fingerprint AS fp FROM billing.payment_methods
        WHERE reservation_id = (SELECT reservation_id FROM channel.channel_reservations WHERE external_reservation_id = '13357395')`);
      expect(card).toEqual({ number: BN00_CARD, fp: fingerprint(NEW_KEY, BN00_CARD) });
      const { rows: conns } =
        await after.query(`SELECT ota_hotel_code AS hotel, shared.decrypt_pii(credentials)::jsonb ->> 'username' AS username, account_fingerprint AS fp
        FROM channel.channel_connections WHERE channel_code = 'expedia' AND ota_hotel_code IN ('1154286', '7770001') ORDER BY 1`);
      expect(conns).toEqual([
        { hotel: '1154286', username: 'Expedia', fp: fingerprint(NEW_KEY, 'Expedia') },
        { hotel: '7770001', username: 'someone-else', fp: fingerprint(NEW_KEY, 'someone-else') },
      ]);
      const {
        rows: [body],
      } = await after.query(`SELECT convert_from(shared.decrypt_pii_bytes(body_encrypted), 'UTF8') AS xml FROM channel.inbound_messages
        WHERE external_reservation_id = '13357395' AND outcome = 'created'`);
      expect(body.xml).toBe(BN00);
      // The old key reads nothing any more.
      await expect(
        pool.query(`SELECT shared.decrypt_pii(document_number_encrypted) FROM guest.identity_documents WHERE id = $1`, [legacy.id]),
      ).rejects.toMatchObject({ code: 'SK002' });

      const shown = runCli(['keys', 'status'], { ...env, STAYOS_ENCRYPTION_PREVIOUS_KEYS: '' });
      expect((await shown.exited).code).toBe(0);
      expect(shown.output()).toContain(`current key: ${keyId(NEW_KEY)}`);
      expect(shown.output()).toContain('every ciphertext is under the current key');
      expect(fs.readFileSync(db.current.logFile, 'utf8')).not.toContain(NEW_KEY);
    } finally {
      await during.end();
      await after.end();
    }
  }, 120_000);
});

describe('a rotation meeting what a live database holds (point 6)', () => {
  /** The key after NEW_KEY: this test rotates the database the previous test left under NEW_KEY. */
  const NEXT_KEY = 'next-key-after-the-new-one-0123456789-abcdefgh';

  it('takes a row locked by a writer on its next pass, and names (never blocks on) a row under a key it lacks or a copy already under the new key', async () => {
    const { url } = db.current;
    const rotating = createPool(url, { max: 3, encryptionKeys: [NEXT_KEY, NEW_KEY] });
    const stranger = createPool(url, { max: 1, encryptionKeys: [STRANGER_KEY] });
    const writer = await rotating.connect();
    try {
      // A card holder written by a process on a key this rotation is not given.
      const {
        rows: [card],
      } = await stranger.query(`UPDATE billing.payment_methods SET cardholder_name_encrypted = shared.encrypt_pii('FROM ELSEWHERE')
        WHERE id = (SELECT id FROM billing.payment_methods ORDER BY id LIMIT 1) RETURNING id`);
      // A passport stored twice: once under NEW_KEY, once by a writer already on NEXT_KEY (the
      // unique index cannot see it: the two fingerprints differ until the first is rewritten).
      const {
        rows: [twin],
      } = await rotating.query(`SELECT id, profile_id, property_id, shared.decrypt_pii(document_number_encrypted) AS number
        FROM guest.identity_documents WHERE deleted_at IS NULL AND length(document_number_encrypted) > 0 ORDER BY id DESC LIMIT 1`);
      await rotating.query(
        `INSERT INTO guest.identity_documents (profile_id, property_id, document_type, document_number_encrypted, document_number_fingerprint)
        SELECT profile_id, property_id, document_type, shared.encrypt_pii($2), shared.pii_fingerprint($2) FROM guest.identity_documents WHERE id = $1`,
        [twin.id, twin.number],
      );
      // The first passport in key order, held by a writer's open transaction.
      const {
        rows: [held],
      } = await rotating.query(`SELECT id FROM guest.identity_documents WHERE shared.ciphertext_key_id(document_number_encrypted) = $1 ORDER BY id LIMIT 1`, [
        keyId(NEW_KEY),
      ]);
      await writer.query('BEGIN');
      await writer.query(`SELECT 1 FROM guest.identity_documents WHERE id = $1 FOR UPDATE`, [held.id]);
      let released = false;
      const result = await rotateKeys(rotating, {
        batchSize: 4,
        // The writer commits once the rotation has gone past its row (which it skipped).
        onProgress: (p) => {
          if (p.table === 'guest.identity_documents' && !released) {
            released = true;
            void writer.query('COMMIT');
          }
        },
      });
      expect(released).toBe(true);
      expect(result.skipped).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            table: 'billing.payment_methods',
            column: 'cardholder_name_encrypted',
            id: card.id,
            error: expect.stringContaining(keyId(STRANGER_KEY)),
          }),
          expect.objectContaining({
            table: 'guest.identity_documents',
            column: 'document_number_encrypted',
            id: twin.id,
            error: expect.stringMatching(/duplicate key|unique/),
          }),
        ]),
      );
      expect(result.skipped).toHaveLength(2);
      expect(result.remaining).toBe(2);
      // The held row was taken on the next pass; everything else is under the next key.
      const {
        rows: [h],
      } = await rotating.query(`SELECT shared.ciphertext_key_id(document_number_encrypted) AS k FROM guest.identity_documents WHERE id = $1`, [held.id]);
      expect(h.k).toBe(keyId(NEXT_KEY));
      const status = await keyStatus(rotating);
      const old = status.columns.flatMap((c) =>
        Object.entries(c.byKey)
          .filter(([k]) => k !== keyId(NEXT_KEY))
          .map(([k, n]) => `${c.table}.${c.column} ${k} ${n}`),
      );
      expect(old.sort()).toEqual([
        `billing.payment_methods.cardholder_name_encrypted ${keyId(STRANGER_KEY)} 1`,
        `guest.identity_documents.document_number_encrypted ${keyId(NEW_KEY)} 1`,
      ]);
    } finally {
      await writer.query('ROLLBACK').catch(() => undefined);
      writer.release();
      await rotating.end();
      await stranger.end();
    }
  });

  it('the stored OTA messages stay append-only: only a re-encryption of the same plaintext passes', async () => {
    const keyed = createPool(db.current.url, { max: 1, encryptionKeys: [NEXT_KEY, NEW_KEY] });
    try {
      const {
        rows: [m],
      } = await keyed.query(`SELECT id FROM channel.inbound_messages WHERE body_encrypted IS NOT NULL ORDER BY id LIMIT 1`);
      const update = async (set: string) => {
        const r = await keyed.query(`UPDATE channel.inbound_messages SET ${set} WHERE id = $1`, [m.id]);
        expect(r.rowCount).toBe(1); // an update that matched nothing would pass for a refusal's absence
      };
      await expect(update(`body_encrypted = NULL`)).rejects.toMatchObject({ code: 'SV002' });
      await expect(update(`body_encrypted = '\\x'::bytea`)).rejects.toMatchObject({ code: 'SV002' });
      await expect(update(`body_encrypted = shared.encrypt_pii_bytes(convert_to('<forged/>', 'UTF8'))`)).rejects.toMatchObject({ code: 'SV002' });
      await expect(
        update(`body_encrypted = shared.encrypt_pii_bytes(shared.decrypt_pii_bytes(body_encrypted)), answer_status = answer_status + 1`),
      ).rejects.toMatchObject({ code: 'SV002' });
      await expect(keyed.query(`DELETE FROM channel.inbound_messages WHERE id = $1`, [m.id])).rejects.toMatchObject({ code: 'SV002' });
      // The one update it takes: the same bytes under another encryption.
      await update(`body_encrypted = shared.encrypt_pii_bytes(shared.decrypt_pii_bytes(body_encrypted))`);
    } finally {
      await keyed.end();
    }
  });
});
