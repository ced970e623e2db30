/** Event sourcing for Reservation (and Payment): append-only stores, gapless sequences, state as of a time. */
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { createProperty, createReservation } from '../helpers/fixtures.ts';

const db = useTestDatabase();

async function now(pool: import('../../core/db.ts').Pool): Promise<Date> {
  return (await pool.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]!.t;
}

describe('reservation event store', () => {
  it('appends one event per change with a gapless sequence, and folds to the state as of any time', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool);
    const { reservationId, roomId } = await createReservation(pool, f, { arrival: '2031-03-01', departure: '2031-03-04' });
    const t1 = await now(pool);
    await pool.query(`UPDATE reservation.reservation_rooms SET departure_date = '2031-03-06' WHERE id = $1`, [roomId]);
    await pool.query(`UPDATE reservation.reservations SET check_out_date = '2031-03-06', total_amount = 500 WHERE id = $1`, [reservationId]);
    const t2 = await now(pool);
    await pool.query(`UPDATE reservation.reservations SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, [reservationId]);

    const { rows: events } = await pool.query(`SELECT sequence, event_type FROM reservation.reservation_events WHERE aggregate_id = $1 ORDER BY sequence`, [
      reservationId,
    ]);
    expect(events).toEqual([
      { sequence: 1, event_type: 'created' },
      { sequence: 2, event_type: 'room_added' },
      { sequence: 3, event_type: 'room_changed' },
      { sequence: 4, event_type: 'modified' },
      { sequence: 5, event_type: 'cancelled' },
    ]);

    const stateAt = async (t: Date) => (await pool.query(`SELECT reservation.reservation_state_at($1, $2) AS s`, [reservationId, t])).rows[0].s;
    const s1 = await stateAt(t1);
    expect(s1).toMatchObject({ status: 'confirmed', check_out_date: '2031-03-04', total_amount: 200 });
    expect(s1.rooms).toHaveLength(1);
    expect(s1.rooms[0]).toMatchObject({ id: roomId, departure_date: '2031-03-04' });
    const s2 = await stateAt(t2);
    expect(s2).toMatchObject({ status: 'confirmed', check_out_date: '2031-03-06', total_amount: 500 });
    expect(s2.rooms[0].departure_date).toBe('2031-03-06');
    expect((await stateAt(await now(pool))).status).toBe('cancelled');
    expect(await stateAt(new Date('2000-01-01'))).toBeNull();
  });

  it('refuses updates, deletes and truncation of events, and a duplicate sequence', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool);
    const { reservationId } = await createReservation(pool, f, { arrival: '2031-04-01', departure: '2031-04-02' });
    await expect(pool.query(`UPDATE reservation.reservation_events SET event_type = 'x' WHERE aggregate_id = $1`, [reservationId])).rejects.toMatchObject({
      code: 'SV002',
    });
    await expect(pool.query(`DELETE FROM reservation.reservation_events WHERE aggregate_id = $1`, [reservationId])).rejects.toMatchObject({ code: 'SV002' });
    await expect(pool.query(`TRUNCATE reservation.reservation_events CASCADE`)).rejects.toMatchObject({ code: 'SV002' });
    await expect(
      pool.query(`INSERT INTO reservation.reservation_events (aggregate_id, sequence, event_type, payload, property_id) VALUES ($1, 1, 'x', '{}', $2)`, [
        reservationId,
        f.propertyId,
      ]),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('keeps sequences gapless when writers of one reservation race', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool);
    const { reservationId } = await createReservation(pool, f, { arrival: '2031-05-01', departure: '2031-05-03' });
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        pool.query(`INSERT INTO reservation.reservation_guests (reservation_id, property_id, last_name) VALUES ($1, $2, $3)`, [
          reservationId,
          f.propertyId,
          `Guest ${i}`,
        ]),
      ),
    );
    const { rows } = await pool.query(`SELECT sequence FROM reservation.reservation_events WHERE aggregate_id = $1 ORDER BY sequence`, [reservationId]);
    expect(rows.map((r) => Number(r.sequence))).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1));
    expect(rows).toHaveLength(2 + 8);
  });

  it('publishes domain events to the outbox for the reservation aggregate', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool);
    const { reservationId } = await createReservation(pool, f, { arrival: '2031-06-01', departure: '2031-06-02' });
    await pool.query(`UPDATE reservation.reservations SET status = 'checked_in' WHERE id = $1`, [reservationId]);
    const { rows } = await pool.query(
      `SELECT event_type, property_id, payload FROM compliance.domain_events WHERE aggregate_type = 'reservation' AND aggregate_id = $1 ORDER BY created_at, event_type`,
      [reservationId],
    );
    expect(rows.map((r) => r.event_type).sort()).toEqual(['checked_in', 'created']);
    expect(rows.find((r) => r.event_type === 'checked_in')!.payload).toMatchObject({ changes: { status: 'checked_in' }, before: { status: 'confirmed' } });
    expect(rows[0]!.property_id).toBe(f.propertyId);
  });
});

describe('payment event store', () => {
  it('records a payment lifecycle and folds it', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool);
    const {
      rows: [folio],
    } = await pool.query(`INSERT INTO billing.folios (property_id, folio_number, folio_type, currency) VALUES ($1, 'F-1', 'incidental', 'EUR') RETURNING id`, [
      f.propertyId,
    ]);
    const {
      rows: [pay],
    } = await pool.query(
      `INSERT INTO billing.payments (property_id, folio_id, amount, currency, method, status) VALUES ($1, $2, 120.50, 'EUR', 'card', 'pending') RETURNING id`,
      [f.propertyId, folio.id],
    );
    const t1 = await now(pool);
    await pool.query(`UPDATE billing.payments SET status = 'authorized', authorized_at = now() WHERE id = $1`, [pay.id]);
    const { rows } = await pool.query(`SELECT sequence, event_type FROM billing.payment_events WHERE aggregate_id = $1 ORDER BY sequence`, [pay.id]);
    expect(rows).toEqual([
      { sequence: 1, event_type: 'created' },
      { sequence: 2, event_type: 'authorized' },
    ]);
    const at1 = (await pool.query(`SELECT billing.payment_state_at($1, $2) AS s`, [pay.id, t1])).rows[0].s;
    expect(at1.status).toBe('pending');
    const atNow = (await pool.query(`SELECT billing.payment_state_at($1, clock_timestamp()) AS s`, [pay.id])).rows[0].s;
    expect(atNow.status).toBe('authorized');
    await expect(pool.query(`DELETE FROM billing.payment_events WHERE aggregate_id = $1`, [pay.id])).rejects.toMatchObject({ code: 'SV002' });
  });
});
