/**
 * Outbound test kit: both OTA sandboxes on a real HTTP server, and the comparison every outbound
 * test ends with: for each mapped cell of the window, what the sandbox shows against the PMS
 * truth — recomputed here from the raw tables by the StayOS availability contract (pmsTruth), not
 * by the ARI statement under test — put in the OTA's terms by its connector.
 */
import Fastify from 'fastify';
import type { Pool } from '../../core/db.ts';
import { createSandboxes, type Sandboxes } from '../../connectors/sandboxes.ts';
import { CONNECTORS, otaValuesOf, sandboxKey, SyncWorker, type AriValues, type WorkerOptions } from '../../connectors/index.ts';
import { seedDemo } from './demo.ts';
import { createLogger } from '../../core/logger.ts';
import { ariOracle, cellId, mappedCells } from './ari-oracle.ts';

export async function startSandboxServer(
  options: Parameters<typeof createSandboxes>[0] = {},
): Promise<Sandboxes & { url: string; close: () => Promise<void> }> {
  const sandboxes = createSandboxes(options);
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
  await app.register(sandboxes.plugin);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { ...sandboxes, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/**
 * The demo hotel calling `sandboxUrl`: ARI seeded for `days` + 5 days, every connection syncing
 * `days` without a rate limit. Returns the connections' ids by channel code.
 */
export async function seedSandboxedDemo(pool: Pool, sandboxUrl: string, days: number, channels?: readonly string[]): Promise<Record<string, string>> {
  await seedDemo(pool, { sandboxBaseUrl: sandboxUrl, days: days + 5, ...(channels ? { channels } : {}) });
  await pool.query(`UPDATE channel.channel_connections SET settings = settings || jsonb_build_object('sync_days', $1::int, 'rate_limit_per_minute', 100000)`, [
    days,
  ]);
  return connectionIds(pool);
}

/** A sync worker for tests: silent, no rate limit, pushing only `only`; the rest as given. */
export function testWorker(
  pool: Pool,
  o: { only: string[] } & Partial<Pick<WorkerOptions, 'concurrency' | 'batchSize' | 'timeoutMs' | 'maxAttempts'>>,
): SyncWorker {
  return new SyncWorker({
    pool,
    log: createLogger(process.env.TEST_LOG ?? 'silent'),
    connectors: CONNECTORS,
    pollMs: 20,
    concurrency: o.concurrency ?? 2,
    batchSize: o.batchSize ?? 5000,
    timeoutMs: o.timeoutMs ?? 2000,
    maxAttempts: o.maxAttempts ?? 1,
    defaultRatePerMinute: 100_000,
    only: o.only,
  });
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
  const {
    rows: [conn],
  } = await pool.query(`SELECT channel_code, ota_hotel_code, settings FROM channel.channel_connections WHERE id = $1`, [connectionId]);
  // The OTA codes per mapping; the cells themselves are the oracle's (pmsTruth).
  const { rows: maps } = await pool.query<{ roomTypeId: string; ratePlanId: string; room: string; rate: string }>(
    `SELECT room_type_id AS "roomTypeId", rate_plan_id AS "ratePlanId", ota_room_code AS room, ota_rate_code AS rate
     FROM channel.channel_mappings WHERE connection_id = $1 AND active AND deleted_at IS NULL`,
    [connectionId],
  );
  const codes = new Map(maps.map((k) => [`${k.roomTypeId}|${k.ratePlanId}`, k]));
  const truth = await pmsTruth(pool, connectionId, days);
  const connector = CONNECTORS.find((c) => c.channel === conn.channel_code)!;
  const sandbox = { expedia: sandboxes.expedia, booking_com: sandboxes.booking, google_hotels: sandboxes.google }[conn.channel_code as string]!;
  const cells = sandbox.cells(conn.ota_hotel_code);
  const rooms = sandbox.roomAvailability(conn.ota_hotel_code);
  const out: Mismatch[] = [];
  for (const t of truth) {
    const k = codes.get(`${t.roomTypeId}|${t.ratePlanId}`)!;
    const want = otaValuesOf(connector, conn.settings, t);
    const got = cells.get(sandboxKey(k.room, k.rate, t.stayDate)) ?? {};
    const cell = `${k.room}/${k.rate}/${t.stayDate}`;
    const check = (field: string, pms: unknown, ota: unknown) => {
      if (pms !== ota) out.push({ cell, field, pms, ota });
    };
    check('availability', want.availability, rooms.get(`${k.room}|${t.stayDate}`));
    check('closed', want.closed, got.closed);
    // A plan priced in another model than the OTA's rate is closed there and sent no rate (worker.ts otaValuesOf).
    if (want.rate !== null && t.pricingModel === t.otaPricingModel) {
      // A per-occupancy rate has no one price at the OTA: its prices per guest are compared below.
      if (want.occupancyRates === null) check('rate', Number(want.rate), got.rate === undefined ? undefined : Number(got.rate));
      check('currency', want.currency, got.currency);
    }
    check('minLos', want.minLos, got.minLos);
    check('maxLos', want.maxLos, got.maxLos);
    check('closedToArrival', want.closedToArrival, got.closedToArrival);
    check('closedToDeparture', want.closedToDeparture, got.closedToDeparture);
    // Issue 18's values, where this OTA carries them (its normalize() says null / false where not).
    if (want.occupancyRates !== null) check('occupancyRates', occupancyText(want.occupancyRates), occupancyText(got.occupancyRates));
    check('minStayThrough', want.minStayThrough, got.minStayThrough ?? null);
    check('maxStayThrough', want.maxStayThrough, got.maxStayThrough ?? null);
    check('minAdvanceDays', want.minAdvanceDays, got.minAdvanceDays ?? null);
    check('maxAdvanceDays', want.maxAdvanceDays, got.maxAdvanceDays ?? null);
    check('roomClosed', want.roomClosed, got.roomClosed ?? false);
  }
  return out;
}

/** Occupancy prices as one comparable text: "guests=amount" pairs, amounts as numbers, sorted. */
const occupancyText = (o: Record<string, string> | undefined) =>
  o === undefined
    ? undefined
    : Object.entries(o)
        .map(([k, v]) => `${Number(k)}=${Number(v).toFixed(2)}`)
        .sort()
        .join(',');

/**
 * What the PMS says for every mapped cell of [today, today + days) of a connection, recomputed
 * from the raw tables by the independent oracle (test/helpers/ari-oracle.ts), not by
 * connectors/outbound/sql/ari.ts.
 */
export async function pmsTruth(pool: Pool, connectionId: string, days: number): Promise<AriValues[]> {
  const cells = await mappedCells(pool, connectionId, days);
  const values = await ariOracle(pool, cells);
  return cells.map((c) => ({ ...c, ...values.get(cellId(c))! }));
}
