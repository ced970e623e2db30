/** Small builders for schema tests: a property with one room type, rooms and a rate plan. */
import type { Pool, PoolClient } from '../../core/db.ts';

type Q = Pool | PoolClient;

export interface PropertyFixture {
  propertyId: string;
  roomTypeId: string;
  ratePlanId: string;
}

let counter = 0;

export async function createProperty(q: Q, options: { rooms?: number; code?: string } = {}): Promise<PropertyFixture> {
  const code = options.code ?? `P${process.pid % 1000}X${++counter}`;
  const {
    rows: [p],
  } = await q.query<{ id: string }>(
    `INSERT INTO property_mgmt.properties (code, name, timezone, currency) VALUES ($1, $2, 'Europe/Amsterdam', 'EUR') RETURNING id`,
    [code, `Hotel ${code}`],
  );
  const {
    rows: [rt],
  } = await q.query<{ id: string }>(
    `INSERT INTO property_mgmt.room_types (property_id, code, name, max_occupancy) VALUES ($1, 'DBL', 'Double', 2) RETURNING id`,
    [p!.id],
  );
  await q.query(`INSERT INTO property_mgmt.rooms (property_id, room_type_id, number) SELECT $1, $2, n::text FROM generate_series(1, $3) n`, [
    p!.id,
    rt!.id,
    options.rooms ?? 3,
  ]);
  const {
    rows: [rp],
  } = await q.query<{ id: string }>(
    `INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency) VALUES ($1, 'BAR', 'Best rate', 'EUR') RETURNING id`,
    [p!.id],
  );
  return { propertyId: p!.id, roomTypeId: rt!.id, ratePlanId: rp!.id };
}

export async function createReservation(
  q: Q,
  f: PropertyFixture,
  stay: { arrival: string; departure: string; status?: string; amount?: number },
): Promise<{ reservationId: string; roomId: string }> {
  const {
    rows: [r],
  } = await q.query<{ id: string }>(
    `INSERT INTO reservation.reservations (property_id, status, check_in_date, check_out_date, total_amount, currency)
     VALUES ($1, $2, $3, $4, $5, 'EUR') RETURNING id`,
    [f.propertyId, stay.status ?? 'confirmed', stay.arrival, stay.departure, stay.amount ?? 200],
  );
  const {
    rows: [room],
  } = await q.query<{ id: string }>(
    `INSERT INTO reservation.reservation_rooms (reservation_id, property_id, room_type_id, rate_plan_id, arrival_date, departure_date, currency, total_amount)
     VALUES ($1, $2, $3, $4, $5, $6, 'EUR', $7) RETURNING id`,
    [r!.id, f.propertyId, f.roomTypeId, f.ratePlanId, stay.arrival, stay.departure, stay.amount ?? 200],
  );
  return { reservationId: r!.id, roomId: room!.id };
}
