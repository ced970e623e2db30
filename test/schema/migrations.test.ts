/** The migration runner: Flyway history, undo, checksums, one migrator at a time. */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.ts';
import { crc32 } from 'node:zlib';
import { checksumOf, DEFAULT_MIGRATIONS_DIR, loadMigrations, migrate, migrationStatus, undo } from '../../core/migrator.ts';
import type { Pool } from '../../core/db.ts';

/** Everything a migration can create, as comparable text: relations, columns, constraints, indexes, functions, triggers, policies, grants. */
async function catalogSnapshot(pool: Pool): Promise<string[]> {
  const schemas = `('shared','property_mgmt','reservation','guest','operations','billing','fb','procurement','compliance','channel','audit')`;
  const queries = [
    `SELECT 'rel ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' rls=' || c.relrowsecurity || c.relforcerowsecurity || ' acl=' || coalesce(c.relacl::text, '')
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ${schemas}`,
    `SELECT 'col ' || c.oid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE n.nspname IN ${schemas} AND a.attnum > 0 AND NOT a.attisdropped`,
    `SELECT 'con ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(k.oid)
       FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname IN ${schemas}`,
    `SELECT 'idx ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ${schemas}`,
    `SELECT 'fn ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid)) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname IN ${schemas} AND p.prokind IN ('f', 'p') AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`,
    `SELECT 'trg ' || tgrelid::regclass || ' ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ${schemas} AND NOT t.tgisinternal`,
    `SELECT 'pol ' || polrelid::regclass || ' ' || polname || ' ' || coalesce(pg_get_expr(polqual, polrelid), '') || ' ' || coalesce(pg_get_expr(polwithcheck, polrelid), '')
       FROM pg_policy`,
    `SELECT 'ext ' || extname || ' ' || extnamespace::regnamespace FROM pg_extension WHERE extname <> 'plpgsql'`,
    `SELECT 'view ' || c.oid::regclass || ' ' || md5(pg_get_viewdef(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname IN ${schemas} AND c.relkind IN ('v', 'm')`,
    `SELECT 'replident ' || c.oid::regclass || ' ' || c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname IN ${schemas} AND c.relkind IN ('r', 'p')`,
    `SELECT 'pub ' || p.pubname || ' ' || p.pubinsert || p.pubupdate || p.pubdelete || p.pubviaroot || ' ' || coalesce(string_agg(pr.prrelid::regclass::text, ',' ORDER BY pr.prrelid::regclass::text), '')
       FROM pg_publication p LEFT JOIN pg_publication_rel pr ON pr.prpubid = p.oid GROUP BY p.pubname, p.pubinsert, p.pubupdate, p.pubdelete, p.pubviaroot`,
    `SELECT 'nsp ' || nspname || ' ' || coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname IN ${schemas}`,
  ];
  if ((await pool.query(`SELECT to_regclass('compliance.retention_policies') AS t`)).rows[0].t) {
    // rows the migrations seed
    queries.push(`SELECT 'seed ' || (SELECT count(*) FROM shared.users WHERE kind <> 'human') || ' ' ||
      (SELECT string_agg(table_name || '=' || retention, ',' ORDER BY table_name) FROM compliance.retention_policies)`);
  }
  const out: string[] = [];
  for (const q of queries) out.push(...(await pool.query<{ '?column?': string }>(q)).rows.map((r) => Object.values(r)[0] as string));
  return out.sort();
}

function copyMigrations(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stayos-migrations-'));
  for (const f of fs.readdirSync(DEFAULT_MIGRATIONS_DIR)) fs.copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, f), path.join(dir, f));
  return dir;
}

describe('migrations', () => {
  it('migrate up → undo to 0 → up leaves the same catalog, and history follows Flyway', async () => {
    const db = await createTestDatabase({ empty: true });
    try {
      const all = loadMigrations().map((m) => m.version);
      expect(await migrate(db.pool)).toEqual(all);
      const first = await catalogSnapshot(db.pool);
      expect(first.length).toBeGreaterThan(1000);

      const undone = await undo(db.pool, { to: '0' });
      expect(undone).toEqual([...all].reverse());
      const empty = await catalogSnapshot(db.pool);
      expect(empty.filter((l) => !l.startsWith('nsp ') && !l.startsWith('ext '))).toEqual([]);
      expect(empty.filter((l) => l.startsWith('ext '))).toEqual([]);

      expect(await migrate(db.pool)).toEqual(all);
      expect(await catalogSnapshot(db.pool)).toEqual(first);

      const { rows } = await db.pool.query(
        `SELECT installed_rank, version, type, script, checksum, installed_by, installed_on, execution_time, success
         FROM public.flyway_schema_history ORDER BY installed_rank`,
      );
      expect(rows).toHaveLength(all.length * 3);
      expect(rows.map((r) => r.installed_rank)).toEqual(rows.map((_, i) => i + 1));
      expect(rows.filter((r) => r.type === 'UNDO_SQL').map((r) => r.script)[0]).toMatch(/^U\d/);
      expect(rows.every((r) => r.success && typeof r.checksum === 'number')).toBe(true);
      expect((await migrationStatus(db.pool)).every((s) => s.applied)).toBe(true);
    } finally {
      await dropTestDatabase(db);
    }
  });

  it('applies up to a version, undoes down to one, in reverse order', async () => {
    const db = await createTestDatabase({ empty: true });
    try {
      expect(await migrate(db.pool, { to: '1.2.0' })).toEqual(['1.0.0', '1.1.0', '1.2.0']);
      expect(await undo(db.pool, { to: '1.0.0' })).toEqual(['1.2.0', '1.1.0']);
      const status = await migrationStatus(db.pool);
      expect(status.filter((s) => s.applied).map((s) => s.version)).toEqual(['1.0.0']);
      await expect(migrate(db.pool, { to: '9.9.9' })).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    } finally {
      await dropTestDatabase(db);
    }
  });

  it('refuses to run when an applied migration file was changed', async () => {
    const db = await createTestDatabase({ empty: true });
    const dir = copyMigrations();
    try {
      await migrate(db.pool, { dir, to: '1.1.0' });
      fs.appendFileSync(path.join(dir, 'V1.1.0__property_mgmt.sql'), '\n-- an innocent-looking edit\n');
      const err = await migrate(db.pool, { dir }).catch((e) => e);
      expect(err.code).toBe('ERR_MIGRATION_CHECKSUM');
      expect(err.message).toContain('V1.1.0__property_mgmt.sql');
      expect((await migrationStatus(db.pool, dir)).find((s) => s.version === '1.2.0')!.applied).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await dropTestDatabase(db);
    }
  });

  it('rolls a failing migration back whole and records the failure', async () => {
    const db = await createTestDatabase({ empty: true });
    const dir = copyMigrations();
    try {
      fs.writeFileSync(path.join(dir, 'V9.0.0__broken.sql'), 'CREATE TABLE shared.half_done (id int);\nSELECT 1/0;\n');
      const err = await migrate(db.pool, { dir }).catch((e) => e);
      expect(err.code).toBe('ERR_MIGRATION_FAILED');
      expect(err.message).toMatch(/V9\.0\.0__broken\.sql.*division by zero/);
      const { rows } = await db.pool.query(`SELECT to_regclass('shared.half_done') AS t`);
      expect(rows[0].t).toBeNull();
      const { rows: h } = await db.pool.query(`SELECT success FROM public.flyway_schema_history WHERE version = '9.0.0'`);
      expect(h).toEqual([{ success: false }]);
      // the earlier migrations of the same run stay applied
      expect((await migrationStatus(db.pool, dir)).filter((s) => s.applied)).toHaveLength(loadMigrations().length);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await dropTestDatabase(db);
    }
  });

  it('lets two migrators race: one waits for the other’s lock, each version runs once', async () => {
    const db = await createTestDatabase({ empty: true });
    try {
      const [a, b] = await Promise.all([migrate(db.pool), migrate(db.pool)]);
      expect([...a!, ...b!].sort()).toEqual(
        loadMigrations()
          .map((m) => m.version)
          .sort(),
      );
      expect(a!.length === 0 || b!.length === 0).toBe(true);
      const { rows } = await db.pool.query(`SELECT version, count(*)::int AS n FROM public.flyway_schema_history GROUP BY version HAVING count(*) > 1`);
      expect(rows).toEqual([]);
    } finally {
      await dropTestDatabase(db);
    }
  });

  it('computes Flyway’s checksum: CRC32 over the lines without their terminators', () => {
    expect(checksumOf('SELECT 1;\nSELECT 2;\n')).toBe(checksumOf('SELECT 1;\r\nSELECT 2;'));
    expect(checksumOf('\uFEFFSELECT 1;')).toBe(checksumOf('SELECT 1;'));
    expect(checksumOf('SELECT 1;\nSELECT 2;')).toBe(crc32(Buffer.from('SELECT 1;SELECT 2;')) | 0);
    expect(checksumOf('SELECT 1;')).not.toBe(checksumOf('SELECT 2;'));
  });

  it('names files the Flyway way, each with an undo', () => {
    for (const m of loadMigrations()) {
      expect(m.script).toMatch(/^V\d+\.\d+\.\d+__[a-z_]+\.sql$/);
      expect(m.undo?.script).toBe(m.script.replace(/^V/, 'U'));
    }
  });
});
