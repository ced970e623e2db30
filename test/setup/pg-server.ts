/**
 * PostgreSQL servers for the test suites: the embedded PostgreSQL 18 (default), Debian's
 * PostgreSQL 15 (to prove "PostgreSQL 15+"), or TEST_DATABASE_URL. Each gets a template database
 * migrated once; test files clone it (CREATE DATABASE … TEMPLATE), so every file owns its data.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, withDatabase } from '../../core/embedded-postgres.ts';
import { createPool } from '../../core/db.ts';
import { migrate } from '../../core/migrator.ts';

export const TEMPLATE_DB = 'stayos_template';
export const PG15_BIN = '/usr/lib/postgresql/15/bin';

export interface TestServer {
  /** URL of the server's maintenance database (postgres). */
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startEmbeddedTestServer(): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stayos-test-pg18-'));
  fs.chmodSync(dir, 0o755);
  const server = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
  return {
    url: server.url,
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresIds(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0) throw new Error('running as root needs a `postgres` system user for PostgreSQL 15 (Debian creates it with postgresql-15)');
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

/** Debian's PostgreSQL 15: initdb into a temporary directory, logical decoding on. */
export async function startPg15TestServer(options: { walLevel?: 'logical' | 'replica' } = {}): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stayos-test-pg15-'));
  const ids = postgresIds();
  if ('uid' in ids) fs.chownSync(dir, ids.uid, ids.gid);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const run = (bin: string, args: string[]) => {
    const r = spawnSync(path.join(PG15_BIN, bin), args, { ...ids, encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${bin} failed: ${r.stderr || r.stdout}`);
  };
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
  run('pg_ctl', [
    '-D',
    data,
    '-l',
    path.join(dir, 'log'),
    '-w',
    '-t',
    '60',
    'start',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c wal_level=${options.walLevel ?? 'logical'} -c max_replication_slots=32 -c max_wal_senders=32 -c max_connections=200 -c fsync=off`,
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      spawnSync(path.join(PG15_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { ...ids, stdio: 'ignore' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** (Re)creates the template database and migrates it. */
export async function prepareTemplate(serverUrl: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const pool = createPool(withDatabase(serverUrl, TEMPLATE_DB), { max: 2 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  return TEMPLATE_DB;
}
