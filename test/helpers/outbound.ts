/**
 * Outbound test kit: both OTA sandboxes on a real HTTP server, and the comparison every outbound
 * test ends with: for each mapped cell of the window, what the sandbox shows against the PMS
 * truth (currentAri, put in the OTA's terms by its connector).
 */
import Fastify from 'fastify';
import type { Pool } from '../../core/db.ts';
import { createSandboxes, type Sandboxes } from '../../connectors/sandbox/index.ts';
import { CONNECTORS, currentAri, sandboxKey, type AriValues, type CellKey } from '../../connectors/index.ts';

export async function startSandboxServer(options: Parameters<typeof createSandboxes>[0] = {}): Promise<Sandboxes & { url: string; close: () => Promise<void> }> {
  const sandboxes = createSandboxes(options);
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
  await app.register(sandboxes.plugin);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { ...sandboxes, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** The demo connections' ids by channel code. */
export async function connectionIds(pool: Pool): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ id: string; channel_code: string }>(`SELECT id, channel_code FROM channel.channel_connections`);
  return Object.fromEntries(rows.map((r) => [r.channel_code, r.id]));
}

export interface Mismatch {
  cell: string;
  field: string;
  pms: unknown;
  ota: unknown;
}

/** Every mapped cell of [today, today + days) of a connection, compared with what its sandbox holds. */
export async function mismatches(pool: Pool, connectionId: string, sandboxes: Sandboxes, days: number): Promise<Mismatch[]> {
  const { rows: [conn] } = await pool.query(`SELECT channel_code, ota_hotel_code, settings FROM channel.channel_connections WHERE id = $1`, [connectionId]);
  const { rows: keys } = await pool.query<CellKey & { room: string; rate: string }>(`
    SELECT m.connection_id AS "connectionId", m.room_type_id AS "roomTypeId", m.rate_plan_id AS "ratePlanId", d::date::text AS "stayDate",
           m.ota_room_code AS room, m.ota_rate_code AS rate
    FROM channel.channel_mappings m JOIN property_mgmt.properties p ON p.id = m.property_id
    CROSS JOIN generate_series((now() AT TIME ZONE p.timezone)::date, (now() AT TIME ZONE p.timezone)::date + ($2::int - 1), interval '1 day') d
    WHERE m.connection_id = $1 AND m.active AND m.deleted_at IS NULL`, [connectionId, days]);
  const codes = new Map(keys.map((k) => [`${k.roomTypeId}|${k.ratePlanId}`, k]));
  const truth = (await pool.query<AriValues>(currentAri(keys.map(({ connectionId: c, roomTypeId, ratePlanId, stayDate }) => ({ connectionId: c, roomTypeId, ratePlanId, stayDate }))))).rows;
  const connector = CONNECTORS.find((c) => c.channel === conn.channel_code)!;
  const sandbox = conn.channel_code === 'expedia' ? sandboxes.expedia : sandboxes.booking;
  const cells = sandbox.cells(conn.ota_hotel_code);
  const rooms = sandbox.roomAvailability(conn.ota_hotel_code);
  const out: Mismatch[] = [];
  for (const t of truth) {
    const k = codes.get(`${t.roomTypeId}|${t.ratePlanId}`)!;
    const want = connector.normalize(t, conn.settings);
    const got = cells.get(sandboxKey(k.room, k.rate, t.stayDate)) ?? {};
    const cell = `${k.room}/${k.rate}/${t.stayDate}`;
    const check = (field: string, pms: unknown, ota: unknown) => {
      if (pms !== ota) out.push({ cell, field, pms, ota });
    };
    check('availability', want.availability, rooms.get(`${k.room}|${t.stayDate}`));
    check('closed', want.closed, got.closed);
    if (want.rate !== null) {
      check('rate', Number(want.rate), got.rate === undefined ? undefined : Number(got.rate));
      check('currency', want.currency, got.currency);
    }
    check('minLos', want.minLos, got.minLos);
    check('maxLos', want.maxLos, got.maxLos);
    check('closedToArrival', want.closedToArrival, got.closedToArrival);
    check('closedToDeparture', want.closedToDeparture, got.closedToDeparture);
  }
  return out;
}
