/** Shared by the benchmarks: a fresh PostgreSQL (embedded, or BENCH_DATABASE_URL), machine facts, percentiles. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../core/embedded-postgres.ts';
import { createPool, withDatabase, type Pool } from '../core/db.ts';
import { migrate } from '../core/migrator.ts';
import { setOutboundPolicy } from '../connectors/outbound/hosts.ts';

// The benchmarks' OTAs are the sandboxes on this machine (ephemeral ports, paths under /sandbox/):
// sandbox mode, as `stayos start` runs with STAYOS_SANDBOXES=true. Without it every connection
// refuses its sandbox URL and goes down (the allowlist of issue 16).
setOutboundPolicy({ sandboxOrigins: ['http://127.0.0.1:*'], extraHosts: [] });

export interface BenchDb {
  url: string;
  pool: Pool;
  close(): Promise<void>;
}

export async function benchDatabase(name: string): Promise<BenchDb> {
  let serverUrl = process.env.BENCH_DATABASE_URL;
  let stop = async () => undefined;
  if (!serverUrl) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stayos-bench-'));
    fs.chmodSync(dir, 0o755);
    const server = await startEmbeddedPostgres({ dataDir: dir, port: 54400 + Math.floor(Math.random() * 500) });
    serverUrl = server.url;
    stop = async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(serverUrl, name);
  const pool = createPool(url, { max: 8, applicationName: 'stayos-bench', encryptionKeys: [BENCH_KEY] });
  await migrate(pool);
  return {
    url,
    pool,
    close: async () => {
      await pool.end();
      await stop();
    },
  };
}

/** The PII key of the benchmark's databases (the StayOS processes it starts get it as STAYOS_ENCRYPTION_KEY). */
export const BENCH_KEY = 'bench-encryption-key-0123456789-abcdefghijkl';

/** The OTA accounts of the benchmark's sandboxes (bench/sandbox-process.ts) and connections. */
export const BENCH_OTA_ACCOUNTS = {
  booking: { clientId: 'bench-machine', clientSecret: 'bench-secret', hotel: '5550001' },
  expedia: { username: 'benchuser', password: 'bench-pass', hotel: '5550002' },
} as const;

/** The OTA hotel codes of bench:scale's hotels 1..n at each OTA (numeric, as both OTAs' ids are). */
export function scaleHotels(channel: 'booking_com' | 'expedia', n: number): string[] {
  return Array.from({ length: n }, (_, i) => String((channel === 'booking_com' ? 6_000_000 : 7_000_000) + i + 1));
}

/** An OTA request as the sandbox process received it, for the replay baselines. */
export interface CapturedRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** CPU seconds used so far per process (utime + stime, from /proc on Linux). */
export interface CpuSnapshot {
  self: number;
  others: number;
  postgres: Map<string, number>;
}

/**
 * CPU used so far by this process, by the processes in `pids` (a sandbox child) and by each
 * PostgreSQL process of the machine. Tells a CPU-bound run from a slow one. Null off Linux.
 */
export function cpuSnapshot(pids: number[] = []): CpuSnapshot | null {
  if (!fs.existsSync('/proc/self/stat')) return null;
  const ticks = (stat: string) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  };
  const read = (pid: string) => {
    try {
      return fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return null;
    }
  };
  const postgres = new Map<string, number>();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = read(pid);
    if (stat?.includes(' (postgres) ')) postgres.set(pid, ticks(stat));
  }
  let others = 0;
  for (const pid of pids) {
    const stat = read(String(pid));
    if (stat) others += ticks(stat);
  }
  return { self: ticks(read('self')!), others, postgres };
}

/** CPU seconds between two snapshots. A PostgreSQL process that exited in between (an idle pooled
 * connection closed) is not counted; one that started counts whole. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): { postgres: number; self: number; others: number } {
  let postgres = 0;
  for (const [pid, t] of b.postgres) postgres += t - (a.postgres.get(pid) ?? 0);
  return { postgres, self: b.self - a.self, others: b.others - a.others };
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A property of `roomTypes` × `ratePlans` with `days` of rates and restrictions, mapped at both OTAs. */
export async function benchProperty(pool: Pool, roomTypes: number, ratePlans: number, days: number): Promise<string> {
  const {
    rows: [p],
  } = await pool.query(`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('BENCH', 'Bench hotel', 'EUR') RETURNING id`);
  await pool.query(
    `INSERT INTO property_mgmt.room_types (property_id, code, name, max_occupancy) SELECT $1, 'RT' || n, 'Type ' || n, 2 FROM generate_series(1, $2) n`,
    [p.id, roomTypes],
  );
  await pool.query(
    `INSERT INTO property_mgmt.rooms (property_id, room_type_id, number) SELECT $1, rt.id, rt.code || '-' || n FROM property_mgmt.room_types rt, generate_series(1, 10) n WHERE rt.property_id = $1`,
    [p.id],
  );
  await pool.query(
    `INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency) SELECT $1, 'RP' || n, 'Plan ' || n, 'EUR' FROM generate_series(1, $2) n`,
    [p.id, ratePlans],
  );
  await pool.query(
    `INSERT INTO property_mgmt.daily_rates (property_id, room_type_id, rate_plan_id, stay_date, amount, currency)
    SELECT $1, rt.id, rp.id, current_date + d, 100, 'EUR' FROM property_mgmt.room_types rt, property_mgmt.rate_plans rp, generate_series(0, $2 - 1) d
    WHERE rt.property_id = $1 AND rp.property_id = $1`,
    [p.id, days],
  );
  await pool.query(
    `INSERT INTO property_mgmt.restrictions (property_id, room_type_id, rate_plan_id, stay_date, min_los)
    SELECT $1, rt.id, rp.id, current_date + d, 1 FROM property_mgmt.room_types rt, property_mgmt.rate_plans rp, generate_series(0, $2 - 1) d
    WHERE rt.property_id = $1 AND rp.property_id = $1`,
    [p.id, days],
  );
  for (const [channel, hotel] of [
    ['booking_com', BENCH_OTA_ACCOUNTS.booking.hotel],
    ['expedia', BENCH_OTA_ACCOUNTS.expedia.hotel],
  ] as const) {
    const {
      rows: [c],
    } = await pool.query(
      `INSERT INTO channel.channel_connections (property_id, channel_code, ota_hotel_code, endpoint_url) VALUES ($1, $2, $3, 'http://127.0.0.1:9') RETURNING id`,
      [p.id, channel, hotel],
    );
    await pool.query(
      `INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code)
      SELECT $1, $2, rt.id, rp.id, '1' || row_number() OVER (ORDER BY rt.code), '2' || row_number() OVER (ORDER BY rp.code, rt.code)
      FROM property_mgmt.room_types rt, property_mgmt.rate_plans rp WHERE rt.property_id = $2 AND rp.property_id = $2`,
      [c.id, p.id],
    );
  }
  return p.id;
}

/** Starts bench/sandbox-process.ts (with this process's loader flags) and waits for its URL. */
export async function startSandboxProcess(env: Record<string, string> = {}): Promise<{ base: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [...process.execArgv, 'bench/sandbox-process.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench/sandbox-process.ts exited with ${code} before serving`)));
  });
  const { url } = JSON.parse(first) as { url: string };
  return {
    base: url,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
