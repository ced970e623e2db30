/**
 * `stayos full-sync`, `stayos connection pause|resume`, and connection management
 * (`stayos connection list|create|update|delete|mappings`, below). The full sync marks the window dirty,
 * then (unless --no-wait) runs a sync worker for that connection in this process and shows the
 * progress until every cell is pushed; a running `stayos start` pushes alongside (the connection
 * lock lets one push at a time), so the count only goes down.
 */
import fs from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { z } from 'zod';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { withTransaction } from '../core/db.ts';
import { openDatabase } from '../core/runtime.ts';
import { withDb } from './db.ts';
import { fromPgError, StayosError } from '../core/errors.ts';
import { createConnectionBody, mappingsBody, patchConnectionBody, propertyCode } from '../api/schemas.ts';
import { connectionById, insertConnection, listConnections, listMappings, putMappings, updateConnection } from '../api/sql/connections.ts';
import { closeConnection, pendingCellCount, requestFullSync, setConnectionPaused, SyncWorker, workerOptions, type CloseResult } from '../connectors/index.ts';
import { checkConnectionInput } from '../connectors/outbound/settings.ts';
import { requireAdapter } from '../connectors/registry.ts';

export async function runFullSync(config: Config, log: Logger, opts: { connection: string; days: number; wait: boolean }): Promise<void> {
  await withDb(
    config,
    log,
    async (db) => {
      const req = await requestFullSync(db.pool, opts.connection, opts.days);
      console.log(`full sync of ${req.channel} connection ${req.connectionId}: ${req.cells} cells (${req.days} days) marked`);
      if (!opts.wait) return;
      const total = await pendingCellCount(db.pool, req.connectionId);
      const bar = new SingleBar({ format: 'pushing {bar} {percentage}% | {value}/{total} cells | {status}', hideCursor: true }, Presets.shades_classic);
      bar.start(total, 0, { status: 'starting' });
      const worker = new SyncWorker(workerOptions(config, { pool: db.pool, log }, { only: [req.connectionId], pollMs: 50, concurrency: 1 }));
      worker.start();
      try {
        for (;;) {
          const pending = await pendingCellCount(db.pool, req.connectionId);
          const {
            rows: [c],
          } = await db.pool.query<{ status: string; status_reason: string | null }>(
            `SELECT status, status_reason FROM channel.channel_connections WHERE id = $1`,
            [req.connectionId],
          );
          bar.update(Math.max(total - pending, 0), { status: c!.status });
          if (pending === 0) break;
          if (c!.status === 'down' || c!.status === 'paused' || c!.status === 'disabled') {
            bar.stop();
            throw new StayosError(
              'ERR_OTA_UNAVAILABLE',
              `connection is ${c!.status}${c!.status_reason ? ` (${c!.status_reason})` : ''}: ${pending} cells still wait; they go out when it recovers`,
            );
          }
          await new Promise((resolve) => setTimeout(resolve, 250)); // progress refresh, not a correctness wait
        }
        bar.stop();
        console.log('full sync done: the OTA acknowledged every cell');
      } finally {
        await worker.stop();
      }
    },
    { poolSize: 4 },
  );
}

export async function runPause(config: Config, log: Logger, connectionId: string, paused: boolean): Promise<void> {
  const db = await openDatabase(config, log, { poolSize: 2 });
  try {
    const r = await setConnectionPaused(db.pool, connectionId, paused);
    console.log(`connection ${connectionId} is ${r.status}`);
  } finally {
    await db.close();
  }
}

/**
 * `stayos connection list|create|update|mappings`: the operator's side of the connections API,
 * with the same zod shapes (api/schemas.ts) and the same SQL (api/sql/connections.ts), run as the
 * service (every property). Credentials come from a JSON file or stdin, never from the command
 * line (shell history, `ps`), and are never printed.
 */
/** Reads `--credentials-file PATH|-`: a JSON object of strings. */
export function readJsonInput(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${file === '-' ? 'stdin' : file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the input, which holds credentials.
    throw new InvalidArgumentError(`${file === '-' ? 'stdin' : file} is not valid JSON`);
  }
}

function valid<T>(schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (!r.success) throw new InvalidArgumentError(z.prettifyError(r.error).replace(/\n/g, '; '));
  return r.data;
}

/** checkConnectionInput's refusal as a usage error (exit 2), like every other bad argument. */
function checkInput(channel: string, input: Parameters<typeof checkConnectionInput>[1]): void {
  try {
    checkConnectionInput(requireAdapter(channel), input);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

const show = (c: Record<string, unknown>) =>
  `${c.id}  ${String(c.property ?? '').padEnd(8)} ${String(c.channel).padEnd(12)} hotel ${String(c.hotelCode).padEnd(10)} ${String(c.status).padEnd(9)} ` +
  `v${c.version}  ${c.hasCredentials ? 'credentials set' : 'no credentials'}  ${c.endpointUrl}${c.reservationsUrl ? `  reservations ${c.reservationsUrl}` : ''}` +
  `${c.closingFor ? `  closing at the OTA before it is ${c.closingFor === 'disable' ? 'disabled' : 'deleted'}` : ''}`;

export async function runConnectionList(config: Config, log: Logger, property?: string): Promise<void> {
  await withDb(config, log, async (db) => {
    const { rows } = await db.pool.query(
      `SELECT x.*, p.code AS property FROM (${listConnections().text}) x JOIN property_mgmt.properties p ON p.id = x."propertyId"
                                          WHERE $1::text IS NULL OR p.code = $1`,
      [property ?? null],
    );
    if (!rows.length) console.log('no connections');
    for (const r of rows) console.log(show(r));
  });
}

export async function runConnectionCreate(config: Config, log: Logger, input: Record<string, unknown>): Promise<void> {
  const body = valid(createConnectionBody.safeExtend({ property: propertyCode }), input);
  await withDb(config, log, async (db) => {
    const {
      rows: [p],
    } = await db.pool.query<{ id: string }>(`SELECT id FROM property_mgmt.properties WHERE code = $1 AND deleted_at IS NULL`, [body.property]);
    if (!p) throw new StayosError('ERR_NOT_FOUND', `no property ${body.property}`);
    checkInput(body.channel, body);
    const {
      rows: [c],
    } = await db.pool
      .query(
        insertConnection(
          {
            propertyId: p.id,
            channel: body.channel,
            hotelCode: body.hotelCode,
            endpointUrl: body.endpointUrl,
            reservationsUrl: body.reservationsUrl,
            credentials: body.credentials ?? null,
            settings: body.settings,
            status: body.status,
          },
          requireAdapter(body.channel).production,
        ),
      )
      .catch((err) => {
        throw fromPgError(err, 'connection not saved');
      });
    console.log(`created ${show({ ...c, property: body.property })}`);
  });
}

/** Says what closing a connection did: at once, or once the OTA confirmed its closures. */
const closing = (r: CloseResult, then: string) =>
  r.finished ? `${then} now` : `closing ${r.closures} OTA target(s) first (availability 0, rates closed); ${then} once the OTA confirmed them`;

export async function runConnectionUpdate(config: Config, log: Logger, id: string, input: Record<string, unknown>): Promise<void> {
  const body = valid(patchConnectionBody, input);
  await withDb(config, log, (db) =>
    withTransaction(db.pool, async (client) => {
      const {
        rows: [cur],
      } = await client.query<{ channel: string; closing: string | null }>(
        `SELECT channel_code AS channel, closing_for AS closing FROM channel.channel_connections WHERE id = $1 AND deleted_at IS NULL`,
        [id],
      );
      if (cur) checkInput(cur.channel, body);
      if (cur?.closing && body.status)
        throw new StayosError(
          'ERR_CONFLICT',
          `the connection is being closed at the OTA before it is ${cur.closing === 'disable' ? 'disabled' : 'deleted'}; its status changes when that is done`,
        );
      const { status, closeAtOta, ...rest } = body;
      const disabling = status === 'disabled';
      const {
        rows: [c],
      } = await client.query(updateConnection(id, disabling ? rest : { ...rest, status })).catch((err) => {
        throw fromPgError(err, 'connection not saved');
      });
      if (!c) throw new StayosError('ERR_NOT_FOUND', `no connection ${id}`);
      if (!disabling) return console.log(`updated ${show(c)}`);
      const r = await closeConnection(client, id, 'disable', closeAtOta ?? true);
      console.log(`updated ${show((await client.query(connectionById(id))).rows[0])}\n${closing(r, 'disabled')}`);
    }),
  );
}

export async function runConnectionDelete(config: Config, log: Logger, id: string, closeAtOta: boolean): Promise<void> {
  if (!z.uuid().safeParse(id).success) throw new InvalidArgumentError(`--connection must be a connection id (UUID), got ${JSON.stringify(id)}`);
  await withDb(config, log, (db) =>
    withTransaction(db.pool, async (client) => {
      const r = await closeConnection(client, id, 'delete', closeAtOta);
      console.log(`connection ${id}: ${closing(r, 'deleted')}`);
    }),
  );
}

/** Prints the mappings, or (with a file) replaces them whole, like PUT /api/v1/connections/:id/mappings. */
export async function runMappings(config: Config, log: Logger, id: string, file?: string): Promise<void> {
  const items = file === undefined ? undefined : valid(mappingsBody, readJsonInput(file));
  await withDb(config, log, (db) =>
    withTransaction(db.pool, async (client) => {
      const {
        rows: [c],
      } = await client.query(`SELECT 1 FROM channel.channel_connections WHERE id = $1 AND deleted_at IS NULL`, [id]);
      if (!c) throw new StayosError('ERR_NOT_FOUND', `no connection ${id}`);
      if (items) {
        const r = await putMappings(client, id, items);
        console.log(`mappings replaced: ${r.added} added, ${r.removed} removed, ${r.changed} changed (the CDC marks the cells they cover)`);
      }
      for (const m of (await client.query(listMappings(id))).rows) {
        const rules = Object.keys(m.settings ?? {}).length ? `  ${JSON.stringify(m.settings)}` : '';
        console.log(`${m.roomType}/${m.ratePlan} -> ${m.otaRoomCode}/${m.otaRateCode}${m.active ? '' : '  (inactive)'}${rules}`);
      }
    }).catch((err) => {
      throw fromPgError(err, 'mappings not saved');
    }),
  );
}
