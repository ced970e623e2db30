/** Compliance & privacy: PII encrypted with pgcrypto, secrets hashed with bcrypt, GDPR anonymisation. */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPool } from '../../core/db.ts';
import { TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { createProperty, createReservation } from '../helpers/fixtures.ts';

const db = useTestDatabase();

describe('PII protection', () => {
  it('stores identity-document numbers encrypted under the key it names, readable only with that key', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool);
    const {
      rows: [g],
    } = await pool.query(`INSERT INTO guest.profiles (property_id, first_name, last_name) VALUES ($1, 'Ada', 'Lovelace') RETURNING id`, [f.propertyId]);
    await pool.query(
      `INSERT INTO guest.identity_documents (profile_id, property_id, document_type, document_number_encrypted, document_number_fingerprint)
       VALUES ($1, $2, 'passport', shared.encrypt_pii($3), shared.pii_fingerprint($3))`,
      [g.id, f.propertyId, 'P1234 5678NL'],
    );
    const {
      rows: [doc],
    } = await pool.query(`SELECT document_number_encrypted AS c, document_number_fingerprint AS fp FROM guest.identity_documents WHERE profile_id = $1`, [
      g.id,
    ]);
    expect(Buffer.isBuffer(doc.c)).toBe(true);
    expect(doc.c.includes(Buffer.from('P1234'))).toBe(false);
    // The format, recomputed here: 0x01, the key id (SHA-256 of the labelled key, 4 bytes), then an
    // OpenPGP message that pgcrypto opens with the key itself.
    expect(doc.c[0]).toBe(1);
    expect(doc.c.subarray(1, 5).toString('hex')).toBe(createHash('sha256').update(`stayos-pii-key-id:${TEST_KEY}`).digest('hex').slice(0, 8));
    const {
      rows: [raw],
    } = await pool.query(`SELECT shared.pgp_sym_decrypt(substring($1::bytea FROM 6), $2) AS v`, [doc.c, TEST_KEY]);
    expect(raw.v).toBe('P1234 5678NL');
    // The fingerprint: HMAC-SHA256 under the key of the number without spaces, upper-cased.
    expect(doc.fp).toBe(createHmac('sha256', TEST_KEY).update('P12345678NL').digest('hex'));
    // The column refuses anything that is not a ciphertext: a plaintext written by mistake.
    await expect(
      pool.query(
        `INSERT INTO guest.identity_documents (profile_id, property_id, document_type, document_number_encrypted, document_number_fingerprint)
       VALUES ($1, $2, 'id_card', convert_to('ID998877', 'UTF8'), 'x')`,
        [g.id, f.propertyId],
      ),
    ).rejects.toMatchObject({ code: '23514' });
    const {
      rows: [plain],
    } = await pool.query(`SELECT shared.decrypt_pii($1) AS v`, [doc.c]);
    expect(plain.v).toBe('P1234 5678NL');
    // A session with another key cannot read it and says which key it would need; one without a key says so.
    const other = createPool(db.current.url, { max: 1, encryptionKeys: ['another-key-another-key-another-key!'] });
    const none = createPool(db.current.url, { max: 1 });
    try {
      await expect(other.query(`SELECT shared.decrypt_pii($1)`, [doc.c])).rejects.toMatchObject({
        code: 'SK002',
        message: expect.stringContaining(doc.c.subarray(1, 5).toString('hex')),
      });
      await expect(none.query(`SELECT shared.decrypt_pii($1)`, [doc.c])).rejects.toMatchObject({ code: 'SK001' });
      await expect(none.query(`SELECT shared.encrypt_pii('x')`)).rejects.toMatchObject({ code: 'SK001' });
    } finally {
      await other.end();
      await none.end();
    }
    // The audit log holds neither ciphertext nor fingerprint.
    const {
      rows: [a],
    } = await pool.query(`SELECT new_data FROM audit.audit_log WHERE table_name = 'identity_documents' AND new_data ->> 'profile_id' = $1`, [g.id]);
    expect(Object.keys(a.new_data)).not.toContain('document_number_encrypted');
    expect(JSON.stringify(a.new_data)).not.toContain('P1234');
  });

  it('stores card data encrypted and OTA credentials encrypted', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool);
    const {
      rows: [card],
    } = await pool.query(
      `INSERT INTO billing.payment_methods (property_id, guest_id, card_number_encrypted, cardholder_name_encrypted, card_last4, card_brand, expiry_month, expiry_year, card_fingerprint)
       VALUES ($1, shared.new_id(), shared.encrypt_pii('4111111111111111'), shared.encrypt_pii('ADA LOVELACE'), '1111', 'visa', 12, 2031, shared.pii_fingerprint('4111111111111111'))
       RETURNING card_number_encrypted AS c`,
      [f.propertyId],
    );
    expect(card.c.includes(Buffer.from('4111111111111111'))).toBe(false);
    const {
      rows: [conn],
    } = await pool.query(
      `INSERT INTO channel.channel_connections (property_id, channel_code, ota_hotel_code, endpoint_url, credentials)
       VALUES ($1, 'expedia', '123', 'http://127.0.0.1:1/x', shared.encrypt_pii('{"username":"hotel","password":"s3cret!"}')) RETURNING id, credentials, account_fingerprint`,
      [f.propertyId],
    );
    expect(conn.credentials.includes(Buffer.from('s3cret!'))).toBe(false);
    // The username's keyed fingerprint (how an unknown hotel code finds its account), recomputed here.
    expect(conn.account_fingerprint).toBe(createHmac('sha256', TEST_KEY).update('HOTEL').digest('hex'));
    const { rows: audit } = await pool.query(`SELECT new_data FROM audit.audit_log WHERE table_name IN ('channel_connections', 'payment_methods')`);
    expect(JSON.stringify(audit)).not.toMatch(/credentials|account_fingerprint|card_number_encrypted|card_fingerprint|s3cret/);
    // … nor do the domain events published to subscribers.
    const { rows: events } = await pool.query(
      `SELECT payload FROM compliance.domain_events WHERE aggregate_type = 'channel_connection' AND aggregate_id = $1`,
      [conn.id],
    );
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toMatch(/credentials|account_fingerprint|s3cret/);
  });

  it('hashes passwords and API keys with bcrypt', async () => {
    const { pool } = db.current;
    const {
      rows: [u],
    } = await pool.query(
      `INSERT INTO shared.users (email, full_name, password_hash) VALUES ('rm@example.com', 'Rev Manager', shared.hash_secret('correct horse')) RETURNING id, password_hash`,
    );
    expect(u.password_hash).toMatch(/^\$2[aby]\$10\$/);
    const check = async (pw: string) =>
      (await pool.query(`SELECT shared.verify_secret($1, password_hash) AS ok FROM shared.users WHERE id = $2`, [pw, u.id])).rows[0].ok;
    expect(await check('correct horse')).toBe(true);
    expect(await check('wrong horse')).toBe(false);
    await expect(
      pool.query(`INSERT INTO shared.api_keys (user_id, name, key_prefix, key_hash) VALUES ($1, 'k', 'sok_12345', 'plaintext')`, [u.id]),
    ).rejects.toMatchObject({ code: '23514' });
  });
});

describe('GDPR anonymisation', () => {
  it('erases a deleted guest’s personal data everywhere, keeping the stay and the amounts', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool);
    const {
      rows: [g],
    } = await pool.query(
      `INSERT INTO guest.profiles (property_id, first_name, last_name, email, phone, preferences) VALUES ($1, 'Grace', 'Hopper', 'grace@example.com', '+1 555 0100', '{"diet": "nut allergy"}') RETURNING id`,
      [f.propertyId],
    );
    await pool.query(`UPDATE guest.profiles SET preferences = '{"diet": "nut allergy", "floor": "high"}' WHERE id = $1`, [g.id]);
    const { reservationId, roomId } = await createReservation(pool, f, { arrival: '2031-07-01', departure: '2031-07-03', amount: 310 });
    await pool.query(`UPDATE reservation.reservations SET guest_id = $1, special_requests = 'Grace needs a wheelchair-accessible room' WHERE id = $2`, [
      g.id,
      reservationId,
    ]);
    await pool.query(`UPDATE reservation.reservation_rooms SET guest_name = 'Grace Hopper' WHERE id = $1`, [roomId]);
    await pool.query(
      `INSERT INTO reservation.reservation_guests (reservation_id, property_id, guest_id, first_name, last_name, is_primary) VALUES ($1, $2, $3, 'Grace', 'Hopper', true)`,
      [reservationId, f.propertyId, g.id],
    );
    await pool.query(`UPDATE guest.profiles SET deleted_at = now() - interval '40 days' WHERE id = $1`, [g.id]);

    const {
      rows: [n],
    } = await pool.query(`SELECT compliance.anonymize_deleted_guests(interval '30 days') AS n`);
    expect(n.n).toBeGreaterThanOrEqual(1);

    const {
      rows: [p],
    } = await pool.query(`SELECT first_name, last_name, email, phone, anonymized_at FROM guest.profiles WHERE id = $1`, [g.id]);
    expect(p).toMatchObject({ first_name: null, last_name: 'Anonymised', email: null, phone: null });
    expect(p.anonymized_at).toBeInstanceOf(Date);
    const {
      rows: [rg],
    } = await pool.query(`SELECT first_name, last_name FROM reservation.reservation_guests WHERE guest_id = $1`, [g.id]);
    expect(rg).toEqual({ first_name: null, last_name: 'Anonymised' });
    const {
      rows: [r],
    } = await pool.query(`SELECT total_amount, check_in_date FROM reservation.reservations WHERE id = $1`, [reservationId]);
    expect(r).toEqual({ total_amount: '310.00', check_in_date: '2031-07-01' });
    // No trace left in past row images.
    const { rows: traces } = await pool.query(
      `SELECT 'audit' AS w, table_name FROM audit.audit_log WHERE (coalesce(old_data::text, '') || coalesce(new_data::text, '')) ~ 'Hopper|grace@example|nut allergy|wheelchair'
       UNION ALL SELECT 'events', event_type FROM reservation.reservation_events WHERE payload::text ~ 'Hopper|wheelchair'
       UNION ALL SELECT 'outbox', event_type FROM compliance.domain_events WHERE payload::text ~ 'Hopper|nut allergy|wheelchair'`,
    );
    expect(traces).toEqual([]);
    // Not a second time.
    expect((await pool.query(`SELECT compliance.anonymize_deleted_guests(interval '30 days') AS n`)).rows[0].n).toBe(0);
  });
});
