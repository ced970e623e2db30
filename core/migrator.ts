/**
 * A Flyway-compatible migration runner for plain SQL files.
 *
 * - Files: migrations/V<version>__<description>.sql and, beside each, its undo
 *   U<version>__<description>.sql. Versions compare numerically part by part (1.10.0 > 1.9.0).
 * - History: public.flyway_schema_history with Flyway's columns. `type` is SQL for a migration and
 *   UNDO_SQL for an undo; a version is applied when its latest successful row is SQL.
 * - Each file runs in one transaction; the whole run holds a session advisory lock, so a second
 *   migrator waits and then finds nothing left to do.
 * - A migration that was applied and whose file changed since is refused (checksum): landed
 *   migrations are never edited, a new one is added instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { Pool, PoolClient } from './db.ts';
import { StayosError } from './errors.ts';

export const DEFAULT_MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

/** Advisory-lock key for migrations ("STAYOS" in ASCII, as a number): one migrator at a time. */
const MIGRATION_LOCK_KEY = 0x53_54_41_59_4f_53;

interface SqlFile {
  script: string;
  file: string;
  sql: string;
  checksum: number;
}

export interface Migration extends SqlFile {
  version: string;
  description: string;
  undo: SqlFile | undefined;
}

export interface MigrationState {
  version: string;
  description: string;
  applied: boolean;
  installedOn: Date | undefined;
}

/**
 * Flyway's checksum: CRC32 updated with each line's UTF-8 bytes, line terminators excluded and a
 * leading BOM stripped, as a signed int32 — so `flyway validate` agrees with this runner.
 */
export function checksumOf(sql: string): number {
  let crc = 0;
  for (const line of sql.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) crc = crc32(Buffer.from(line, 'utf8'), crc);
  return crc | 0;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function readSql(dir: string, script: string): SqlFile {
  const file = path.join(dir, script);
  const sql = fs.readFileSync(file, 'utf8');
  return { script, file, sql, checksum: checksumOf(sql) };
}

const NAME = /^([VU])(\d+(?:\.\d+)*)__([A-Za-z0-9_]+)\.sql$/;

export function loadMigrations(dir = DEFAULT_MIGRATIONS_DIR): Migration[] {
  const names = fs.readdirSync(dir).filter((n) => n.endsWith('.sql'));
  const undos = new Map<string, string>();
  const migrations: Migration[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m) {
      throw new StayosError('ERR_VALIDATION', `${name} in ${dir} is not named V<version>__<description>.sql or U<version>__<description>.sql`);
    }
    const [, kind, version, description] = m as unknown as [string, 'V' | 'U', string, string];
    if (kind === 'U') undos.set(version, name);
    else migrations.push({ ...readSql(dir, name), version, description: description.replace(/_/g, ' '), undo: undefined });
  }
  migrations.sort((a, b) => compareVersions(a.version, b.version));
  for (let i = 1; i < migrations.length; i++) {
    if (compareVersions(migrations[i - 1]!.version, migrations[i]!.version) === 0) {
      throw new StayosError('ERR_VALIDATION', `two migrations have version ${migrations[i]!.version}`);
    }
  }
  for (const m of migrations) {
    const undo = undos.get(m.version);
    if (undo) m.undo = readSql(dir, undo);
  }
  return migrations;
}

const HISTORY_DDL = `
CREATE TABLE IF NOT EXISTS public.flyway_schema_history (
  installed_rank integer PRIMARY KEY,
  version        varchar(50),
  description    varchar(200) NOT NULL,
  type           varchar(20)  NOT NULL,
  script         varchar(1000) NOT NULL,
  checksum       integer,
  installed_by   varchar(100) NOT NULL,
  installed_on   timestamp    NOT NULL DEFAULT now(),
  execution_time integer      NOT NULL,
  success        boolean      NOT NULL
);
CREATE INDEX IF NOT EXISTS flyway_schema_history_s_idx ON public.flyway_schema_history (success);`;

interface HistoryRow {
  installed_rank: number;
  version: string;
  type: string;
  script: string;
  checksum: number | null;
  installed_on: Date;
  success: boolean;
}

/** Applied versions and the history row that applied each, derived from the history in rank order. */
async function appliedVersions(client: PoolClient): Promise<Map<string, HistoryRow>> {
  const { rows } = await client.query<HistoryRow>(
    `SELECT installed_rank, version, type, script, checksum, installed_on, success
       FROM public.flyway_schema_history WHERE success ORDER BY installed_rank`,
  );
  const applied = new Map<string, HistoryRow>();
  for (const row of rows) {
    if (row.type === 'SQL') applied.set(row.version, row);
    else if (row.type === 'UNDO_SQL') applied.delete(row.version);
  }
  return applied;
}

async function withMigrationLock<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(HISTORY_DDL);
      return await fn(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

function validateApplied(migrations: Migration[], applied: Map<string, HistoryRow>): void {
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  for (const [version, row] of applied) {
    const m = byVersion.get(version);
    if (!m) {
      throw new StayosError(
        'ERR_MIGRATION_MISSING',
        `version ${version} (${row.script}) is applied in this database but its file is not in the migrations folder. ` +
          `Fix: restore the file, or run a StayOS release that has it.`,
      );
    }
    if (row.checksum !== m.checksum) {
      throw new StayosError(
        'ERR_MIGRATION_CHECKSUM',
        `${m.script} was changed after it was applied (checksum ${row.checksum} in flyway_schema_history, ${m.checksum} on disk). ` +
          `Fix: restore the file as it was applied and put the change in a new migration.`,
      );
    }
  }
}

async function record(
  client: PoolClient,
  row: { version: string; description: string; type: 'SQL' | 'UNDO_SQL'; script: string; checksum: number; ms: number; success: boolean },
): Promise<void> {
  await client.query(
    `INSERT INTO public.flyway_schema_history
       (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
     SELECT COALESCE(max(installed_rank), 0) + 1, $1, $2, $3, $4, $5, current_user, $6, $7 FROM public.flyway_schema_history`,
    [row.version, row.description, row.type, row.script, row.checksum, row.ms, row.success],
  );
}

/** Runs one SQL file in its own transaction and records it; on failure rolls back and records the failure. */
async function runFile(client: PoolClient, file: SqlFile, meta: { version: string; description: string; type: 'SQL' | 'UNDO_SQL' }): Promise<void> {
  const started = performance.now();
  await client.query('BEGIN');
  try {
    await client.query(file.sql);
    await record(client, { ...meta, script: file.script, checksum: file.checksum, ms: Math.round(performance.now() - started), success: true });
    await client.query('COMMIT');
  } catch (cause) {
    await client.query('ROLLBACK').catch(() => undefined);
    // The failure is kept in history (success = false) for operators; it does not count as applied.
    await record(client, { ...meta, script: file.script, checksum: file.checksum, ms: Math.round(performance.now() - started), success: false }).catch(
      () => undefined,
    );
    const pgErr = cause as { message?: string; position?: string; where?: string };
    throw new StayosError(
      'ERR_MIGRATION_FAILED',
      `${file.script} failed and was rolled back: ${pgErr.message ?? String(cause)}` +
        (pgErr.position ? ` (at character ${pgErr.position})` : '') +
        (pgErr.where ? `\n  where: ${pgErr.where}` : ''),
      { cause },
    );
  }
}

export interface MigrateOptions {
  dir?: string;
  /** Apply up to and including this version. */
  to?: string;
  onApply?: (m: Migration, ms: number) => void;
}

/** Applies the pending migrations (up to `to`). Returns the versions applied now. */
export async function migrate(pool: Pool, options: MigrateOptions = {}): Promise<string[]> {
  const migrations = loadMigrations(options.dir);
  if (options.to !== undefined && !migrations.some((m) => m.version === options.to)) {
    throw new StayosError('ERR_VALIDATION', `--to ${options.to}: no migration has that version (known: ${migrations.map((m) => m.version).join(', ')})`);
  }
  return withMigrationLock(pool, async (client) => {
    const applied = await appliedVersions(client);
    validateApplied(migrations, applied);
    const done: string[] = [];
    for (const m of migrations) {
      if (options.to !== undefined && compareVersions(m.version, options.to) > 0) break;
      if (applied.has(m.version)) continue;
      const started = performance.now();
      await runFile(client, m, { version: m.version, description: m.description, type: 'SQL' });
      options.onApply?.(m, Math.round(performance.now() - started));
      done.push(m.version);
    }
    return done;
  });
}

/** Undoes applied migrations newer than `to` ('0' undoes all), newest first. Returns the versions undone. */
export async function undo(pool: Pool, options: { to: string; dir?: string; onUndo?: (m: Migration) => void }): Promise<string[]> {
  const migrations = loadMigrations(options.dir);
  if (options.to !== '0' && !migrations.some((m) => m.version === options.to)) {
    throw new StayosError('ERR_VALIDATION', `undo --to ${options.to}: no migration has that version (use 0 to undo all)`);
  }
  return withMigrationLock(pool, async (client) => {
    const applied = await appliedVersions(client);
    validateApplied(migrations, applied);
    const done: string[] = [];
    for (const m of [...migrations].reverse()) {
      if (options.to !== '0' && compareVersions(m.version, options.to) <= 0) break;
      if (!applied.has(m.version)) continue;
      if (!m.undo) {
        throw new StayosError('ERR_MIGRATION_MISSING', `${m.script} has no undo file U${m.version}__*.sql; nothing was undone past it`);
      }
      await runFile(client, m.undo, { version: m.version, description: m.description, type: 'UNDO_SQL' });
      options.onUndo?.(m);
      done.push(m.version);
    }
    return done;
  });
}

/** Every known migration with whether it is applied here. */
export async function migrationStatus(pool: Pool, dir?: string): Promise<MigrationState[]> {
  const migrations = loadMigrations(dir);
  return withMigrationLock(pool, async (client) => {
    const applied = await appliedVersions(client);
    return migrations.map((m) => ({
      version: m.version,
      description: m.description,
      applied: applied.has(m.version),
      installedOn: applied.get(m.version)?.installed_on,
    }));
  });
}
