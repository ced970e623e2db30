/**
 * `npm run bench:scale` — a thousand hotels on one machine (issue 19). Seeds N hotels directly
 * (bench/scale-seed.ts: 3–20 room types, 1–5 rate plans, 365 days, a Booking.com and an Expedia
 * connection each, already in sync), starts StayOS as `stayos start` does (its own process: API,
 * dashboard, CDC, sync workers, Booking.com polling) against the OTA sandboxes in a process of
 * their own, and measures:
 *  1. idle: CPU of StayOS and of PostgreSQL with nothing changing (target < 5 % of one core);
 *  2. one change at one hotel while the others are idle: commit → both OTAs acknowledged, p50/p99
 *     (target p99 ≤ 1 s), beside one OTA request's round trip measured in the same run;
 *  3. fairness: the same while 20 hotels run full syncs (target p99 ≤ 2 s: no hotel starves);
 *  4. the API with 2 connections per hotel: the channel list (a page, a status filter, the
 *     summary), the history and the dashboard page, p99 (target ≤ 200 ms);
 *  5. memory (RSS) of StayOS, the sandboxes and PostgreSQL's processes over a steady run with a
 *     change a second (target: flat).
 * Options: --hotels N (default 1000), --days N (365), --fair N (20), --minutes M (10, phase 5),
 * --ci (100 hotels × 60 days, 10 Expedia connections in full sync, a 20-second phase 5: under 2
 * minutes; compares each figure with bench/scale-reference.json and exits 1 when one is more than
 * 2× worse).
 * Writes bench/out/scale.json (or scale-ci.json).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { Command, InvalidArgumentError } from 'commander';
import axios from 'axios';
import { BENCH_KEY, benchDatabase, cpuSnapshot, machine, percentile, startSandboxProcess, type CapturedRequest } from './common.ts';
import { seedScale } from './scale-seed.ts';
import { createApiKey } from '../api/keys.ts';
import { requestFullSync } from '../connectors/index.ts';
import type { Pool } from '../core/db.ts';

const count = (min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
  return n;
};
const cli = new Command('bench:scale')
  .option('--ci', 'the reduced form for CI: 100 hotels, under 2 minutes, fails on a 2× regression against bench/scale-reference.json')
  .option('--hotels <n>', 'hotels to seed', count(2, 5000))
  .option('--days <n>', 'nights of ARI per hotel (default 365; --ci: 60)', count(30, 730))
  .option('--fair <n>', 'hotels in full sync during the fairness phase', count(1, 100))
  .option('--minutes <m>', 'length of the memory phase', count(1, 120))
  .option('--samples <n>', 'single changes per latency phase', count(5, 10_000))
  .option('--write-reference', 'with --ci: record this run as bench/scale-reference.json (the CI gate compares with it)')
  .parse();
const opts = cli.opts<{ ci?: boolean; hotels?: number; days?: number; fair?: number; minutes?: number; samples?: number; writeReference?: boolean }>();
const REFERENCE = 'bench/scale-reference.json';
const CI = !!opts.ci;
const DAYS = opts.days ?? (CI ? 60 : 365);
const HOTELS = opts.hotels ?? (CI ? 100 : 1000);
const FAIR = Math.min(opts.fair ?? (CI ? 10 : 20), Math.floor(HOTELS / 2));
const MEMORY_SECONDS = opts.minutes !== undefined ? opts.minutes * 60 : CI ? 20 : 600;
const SAMPLES = opts.samples ?? (CI ? 25 : 100);
const IDLE_SECONDS = CI ? 10 : 30;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(probe: () => Promise<T | false | null | undefined>, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}
const summary = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: Math.round(percentile(s, 50)), p99: Math.round(percentile(s, 99)), max: Math.round(s.at(-1) ?? NaN) };
};

/** CPU seconds (utime + stime) and RSS of one process, from /proc. */
function procStat(pid: number): { cpu: number; rssMb: number } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpu: (Number(f[11]) + Number(f[12])) / 100, rssMb: rss / 1024 };
  } catch {
    return null;
  }
}
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer().on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
const postgresPids = () => [...(cpuSnapshot()?.postgres.keys() ?? [])].map(Number);
/** Private memory of PostgreSQL's processes (RSS less the shared buffers they mapped), summed. */
function postgresPrivateMb(): number {
  let kb = 0;
  for (const pid of postgresPids()) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      kb += Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) - Number(/RssShmem:\s+(\d+)/.exec(s)?.[1] ?? 0);
    } catch {
      // a backend that ended meanwhile
    }
  }
  return kb / 1024;
}

async function startStayos(url: string, sandboxBase: string): Promise<{ base: string; pid: number; stop: () => Promise<void> }> {
  const port = await freePort();
  fs.mkdirSync('bench/out', { recursive: true });
  // Its log (warnings and errors) for the operator reading a failed run.
  const log = fs.openSync('bench/out/scale-stayos.log', 'w');
  const child = spawn(process.execPath, ['bin/stayos.js', 'start'], {
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      DATABASE_URL: url,
      STAYOS_ENCRYPTION_KEY: BENCH_KEY,
      STAYOS_SEED_DEMO: 'false',
      STAYOS_SANDBOXES: 'true', // outbound calls may reach the sandbox process (its origin below)
      STAYOS_SANDBOX_URL: sandboxBase,
      STAYOS_HTTP_HOST: '127.0.0.1',
      STAYOS_HTTP_PORT: String(port),
      STAYOS_LOG_LEVEL: process.env.BENCH_STAYOS_LOG_LEVEL ?? 'warn',
      STAYOS_CDC_SLOT: 'stayos_scale',
    },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const base = `http://127.0.0.1:${port}`;
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`stayos start exited with ${child.exitCode}`);
      return (await axios.get(`${base}/healthz`, { validateStatus: () => true }).catch(() => null))?.status === 200;
    },
    'stayos start serving /healthz',
    180_000,
  );
  return {
    base,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGINT');
      await exited;
    },
  };
}

interface Cell {
  rateId: string;
  propertyId: string;
  roomTypeId: string;
  ratePlanId: string;
  stayDate: string;
}

/** One random rate cell of one of `hotels` (property ids). */
async function randomCell(pool: Pool, hotels: string[], n: number): Promise<Cell> {
  const property = hotels[n % hotels.length]!;
  const { rows } = await pool.query<Cell>(
    `SELECT id AS "rateId", property_id AS "propertyId", room_type_id AS "roomTypeId", rate_plan_id AS "ratePlanId", stay_date::text AS "stayDate"
     FROM property_mgmt.daily_rates WHERE property_id = $1 AND stay_date = current_date + $2::int ORDER BY room_type_id, rate_plan_id OFFSET $3 LIMIT 1`,
    [property, (n * 37) % Math.min(300, DAYS), (n * 13) % 3],
  );
  return rows[0]!;
}

let marker = 1000;
/**
 * Changes one rate to a value no other change writes and returns commit → acknowledged at each
 * of the hotel's two connections (from the acknowledgement's own time, so the probe's pace does
 * not count).
 */
async function oneChange(pool: Pool, cell: Cell): Promise<number> {
  const value = (marker += 0.01).toFixed(2);
  await pool.query(`UPDATE property_mgmt.daily_rates SET amount = $2::numeric WHERE id = $1`, [cell.rateId, value]);
  const committed = Date.now();
  const acked = await until(
    async () => {
      const { rows } = await pool.query<{ at: Date }>(
        `SELECT a.rate_acked_at AS at FROM channel.ari_acknowledged a JOIN channel.channel_connections c ON c.id = a.connection_id
         WHERE c.property_id = $1 AND a.room_type_id = $2 AND a.rate_plan_id = $3 AND a.stay_date = $4::date AND a.rate = $5::numeric AND a.deleted_at IS NULL`,
        [cell.propertyId, cell.roomTypeId, cell.ratePlanId, cell.stayDate, value],
      );
      return rows.length === 2 ? rows : null;
    },
    'a change acknowledged by both OTAs',
    60_000,
  ).catch(async (err) => {
    // What the operator needs to see why: the cell's queue, the connections' state and errors.
    const q = async (sql: string) => JSON.stringify((await pool.query(sql, [cell.propertyId])).rows);
    console.error('dirty cells:', await q(`SELECT connection_id, stay_date, claimed_at, held_by FROM channel.ari_dirty_cells WHERE property_id = $1 LIMIT 5`));
    console.error('connections:', await q(`SELECT id, channel_code, status, status_reason FROM channel.channel_connections WHERE property_id = $1`));
    console.error('errors:', await q(`SELECT kind, message FROM channel.sync_errors WHERE property_id = $1 AND resolved_at IS NULL`));
    console.error(
      'log:',
      await q(`SELECT channel_code, status, cells, message, created_at FROM channel.sync_log WHERE property_id = $1 ORDER BY created_at DESC LIMIT 4`),
    );
    console.error(
      'slot:',
      JSON.stringify((await pool.query(`SELECT slot_name, active, confirmed_flush_lsn, pg_current_wal_lsn() FROM pg_replication_slots`)).rows),
    );
    console.error('progress:', JSON.stringify((await pool.query(`SELECT * FROM channel.cdc_progress`)).rows));
    console.error(
      'cell acks:',
      JSON.stringify(
        (
          await pool.query(
            `SELECT connection_id, rate, rate_acked_at FROM channel.ari_acknowledged WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3::date`,
            [cell.roomTypeId, cell.ratePlanId, cell.stayDate],
          )
        ).rows,
      ),
    );
    console.error(
      'rate now:',
      JSON.stringify((await pool.query(`SELECT amount, updated_at FROM property_mgmt.daily_rates WHERE id = $1`, [cell.rateId])).rows),
    );
    console.error('acks:', await q(`SELECT connection_id, rate, rate_acked_at FROM channel.ari_acknowledged WHERE property_id = $1 AND rate > 999`));
    throw err;
  });
  // Both OTAs acknowledged: the later of the two.
  return Math.max(0, ...acked.map((r) => r.at.getTime() - committed));
}

async function timed(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return ms;
}

async function main(): Promise<void> {
  const started = performance.now();
  const db = await benchDatabase(CI ? 'stayos_bench_scale_ci' : 'stayos_bench_scale');
  const { pool, url } = db;
  const sandbox = await startSandboxProcess({ BENCH_HOTELS: String(HOTELS) });
  let stayos: Awaited<ReturnType<typeof startStayos>> | undefined;
  try {
    console.log(`seeding ${HOTELS} hotels × ${DAYS} days …`);
    const seeded = await seedScale(pool, { hotels: HOTELS, days: DAYS, sandboxBase: sandbox.base });
    console.log(
      `seeded ${seeded.cellsPerOta.toLocaleString('en')} cells per OTA in ${seeded.seconds.toFixed(1)} s (${Object.entries(seeded.steps)
        .map(([k, v]) => `${k} ${v} s`)
        .join(', ')})`,
    );
    const { rows: props } = await pool.query<{ id: string; code: string }>(
      `SELECT id, code FROM property_mgmt.properties WHERE code ~ '^S[0-9]{5}$' ORDER BY code`,
    );
    const { key } = await createApiKey(pool, { email: 'scale@bench.example', role: 'admin', properties: props.map((p) => p.code), name: 'bench:scale' });
    const api = (path: string) => axios.get(`${stayos!.base}${path}`, { headers: { authorization: `Bearer ${key}` }, validateStatus: (s) => s === 200 });

    stayos = await startStayos(url, sandbox.base);
    // /healthz answers before the CDC has made its slot on a first start: a change committed
    // before that is before the CDC's time. Wait for the slot to be made (the CDC records it once
    // PostgreSQL has finished creating it; a slot being created already shows as active) and streamed.
    await until(
      async () =>
        (
          await pool.query(
            `SELECT 1 FROM channel.cdc_slots s JOIN pg_replication_slots r ON r.slot_name = s.slot_name WHERE s.slot_name = 'stayos_scale' AND s.deleted_at IS NULL AND r.active`,
          )
        ).rowCount,
      'the CDC streaming',
    );
    const fairHotels = props.slice(0, FAIR).map((p) => p.id);
    const others = props.slice(FAIR).map((p) => p.id);
    // What the start-up queued (the window's last night at every connection: the seed leaves
    // connection_sync_state empty) is pushed before anything is measured: at 1,000 hotels it is
    // some 2,000 pushes, and a change made meanwhile waits for its turn among them.
    const startup = performance.now();
    // The horizon is scheduled after boot, not awaited by it: first every connection's window.
    await until(
      async () =>
        !(
          await pool.query(`SELECT 1 FROM channel.channel_connections c WHERE c.deleted_at IS NULL AND c.channel_code IN ('booking_com', 'expedia')
            AND NOT EXISTS (SELECT 1 FROM channel.connection_sync_state s WHERE s.connection_id = c.id AND s.window_end IS NOT NULL) LIMIT 1`)
        ).rowCount,
      'the start-up horizon marked',
      600_000,
    );
    const {
      rows: [queued],
    } = await pool.query<{ cells: number; connections: number }>(
      `SELECT count(*)::int AS cells, count(DISTINCT connection_id)::int AS connections FROM channel.ari_dirty_cells`,
    );
    await until(async () => !(await pool.query(`SELECT 1 FROM channel.ari_dirty_cells LIMIT 1`)).rowCount, 'the start-up pushes done', 600_000);
    const startupSeconds = +((performance.now() - startup) / 1000).toFixed(1);
    console.log(
      `start-up: the window's last night marked at every connection (${queued!.cells} cells of ${queued!.connections} connections still waiting then), all pushed ${startupSeconds} s after the CDC streamed`,
    );
    // Warm-up (not measured): a change through the whole path. Its requests, as the sandboxes
    // received them, are the round-trip baseline.
    await axios.post(`${sandbox.base}/_bench/capture`, { on: true });
    await oneChange(pool, await randomCell(pool, others, 0));
    await axios.post(`${sandbox.base}/_bench/capture`, { on: false });
    const captured = (await axios.get<CapturedRequest[]>(`${sandbox.base}/_bench/captured`)).data;

    // 1. Idle: once the database has written out what the seeding left (no checkpoint or vacuum
    // of the seed inside the measured seconds).
    await pool.query('VACUUM (ANALYZE)');
    await pool.query('CHECKPOINT');
    const idleFrom = { stayos: procStat(stayos.pid)!, postgres: cpuSnapshot()! };
    await sleep(IDLE_SECONDS * 1000);
    const idleTo = { stayos: procStat(stayos.pid)!, postgres: cpuSnapshot()! };
    let pgIdle = 0;
    for (const [pid, t] of idleTo.postgres.postgres) pgIdle += t - (idleFrom.postgres.postgres.get(pid) ?? 0);
    const idle = {
      seconds: IDLE_SECONDS,
      stayosPercentOfCore: +((100 * (idleTo.stayos.cpu - idleFrom.stayos.cpu)) / IDLE_SECONDS).toFixed(1),
      postgresPercentOfCore: +((100 * pgIdle) / IDLE_SECONDS).toFixed(1),
    };
    console.log(`idle: StayOS ${idle.stayosPercentOfCore} %, PostgreSQL ${idle.postgresPercentOfCore} % of one core`);

    // Baseline: the round trip of the change's own Expedia request, replayed to the sandbox.
    const sample = captured.find((r) => r.url.includes('/sandbox/expedia/'));
    if (!sample) throw new Error('the warm-up change sent no Expedia request');
    const trips = summary(await timed(100, () => axios.post(`${sandbox.base}${sample.url}`, sample.body, { headers: sample.headers, responseType: 'text' })));

    // 2. One change at a time at the idle hotels.
    const single: number[] = [];
    for (let i = 0; i < SAMPLES; i++) single.push(await oneChange(pool, await randomCell(pool, others, i + 1)));
    const singleLatency = summary(single);
    console.log(`single change → both OTAs: p50 ${singleLatency.p50} ms, p99 ${singleLatency.p99} ms (round trip p99 ${trips.p99} ms)`);

    // 3. Fairness: FAIR hotels in full sync (both connections), single changes elsewhere meanwhile.
    // Booking.com takes no full sync shorter than 365 days: the CI form full-syncs Expedia only,
    // over 150 nights (past the seeded ones a night is sent closed: still a cell to send), so that
    // each is several pushes and the backlogs outnumber the worker's slots.
    const { rows: fairConns } = await pool.query<{ id: string }>(
      `SELECT id FROM channel.channel_connections WHERE property_id = ANY ($1::uuid[]) AND (channel_code = 'expedia' OR $2::int >= 365)`,
      [fairHotels, DAYS],
    );
    const syncStarted = performance.now();
    await Promise.all(fairConns.map((c) => requestFullSync(pool, c.id, CI ? 150 : DAYS)));
    const fairMs: number[] = [];
    const stillSyncing = async () =>
      (await pool.query(`SELECT 1 FROM channel.ari_dirty_cells WHERE connection_id = ANY ($1::uuid[]) LIMIT 1`, [fairConns.map((c) => c.id)])).rowCount! > 0;
    let n = 0;
    const fairAt: number[] = []; // when each change was made, seconds into the full syncs
    while ((await stillSyncing()) && n < SAMPLES) {
      fairAt.push(+((performance.now() - syncStarted) / 1000).toFixed(1));
      fairMs.push(await oneChange(pool, await randomCell(pool, others, 1000 + n++)));
    }
    const duringSync = n;
    if (duringSync < 3) throw new Error(`only ${duringSync} change(s) went through while the full syncs ran: too few to judge fairness (more --fair hotels)`);
    await until(async () => !(await stillSyncing()), 'the full syncs finished', 900_000);
    const fairness = {
      hotelsInFullSync: FAIR,
      fullSyncSeconds: +((performance.now() - syncStarted) / 1000).toFixed(1),
      ...summary(fairMs),
      changesDuringSync: duringSync,
      samples: fairMs.map((ms, i) => ({ at: fairAt[i], ms: Math.round(ms) })),
    };
    console.log(
      `fairness: ${FAIR} hotels in full sync (${fairness.fullSyncSeconds} s); single changes elsewhere p50 ${fairness.p50} ms, p99 ${fairness.p99} ms`,
    );

    // 4. The API and the dashboard with 2 connections per hotel. A route this build does not have
    // (a run of an older build, for the before/after) is reported as such, not timed.
    const apiFigures: Record<string, ReturnType<typeof summary>> = {};
    for (const [name, path] of [
      ['channel list, first page', '/api/v1/channels?limit=50'],
      ['channel list, filtered by status', '/api/v1/channels?status=attention&limit=50'],
      ['channel list, the request the dashboard sent before paging (no parameters)', '/api/v1/channels'],
      ['channel summary', '/api/v1/channels/summary'],
      ['history (all hotels)', '/api/v1/history'],
      ['dashboard page', '/'],
    ] as const) {
      const first = await axios.get(`${stayos.base}${path}`, { headers: { authorization: `Bearer ${key}` }, validateStatus: () => true });
      if (first.status !== 200) {
        // The CI form runs this build: every route must answer.
        if (CI) throw new Error(`API ${name}: ${path} answered HTTP ${first.status}`);
        console.log(`API ${name}: HTTP ${first.status} (not in this build)`);
        continue;
      }
      apiFigures[name] = summary(await timed(CI ? 30 : 100, () => api(path)));
      console.log(`API ${name}: p50 ${apiFigures[name]!.p50} ms, p99 ${apiFigures[name]!.p99} ms`);
    }

    //    The dashboard's refresh as the browser makes it (api/dashboard/dashboard.js): the summary,
    //    then the page of connections, the chart's history, the CDC, bookings and errors together.
    if (apiFigures['channel summary']) {
      const refresh = async () => {
        await api('/api/v1/channels/summary');
        await Promise.all(
          [
            '/api/v1/channels?status=attention&limit=24&offset=0',
            '/api/v1/history?hours=1',
            '/api/v1/cdc',
            '/api/v1/bookings?limit=15',
            '/api/v1/errors?hours=24&limit=20',
          ].map(api),
        );
      };
      apiFigures['dashboard refresh (summary, then 5 requests at once)'] = summary(await timed(CI ? 20 : 60, refresh));
      console.log(`API dashboard refresh: p99 ${apiFigures['dashboard refresh (summary, then 5 requests at once)']!.p99} ms`);
    }

    // 5. Memory over a steady run: a change a second at a random idle hotel.
    const memory: Array<{ at: number; stayos: number; sandboxes: number; postgresPrivate: number }> = [];
    const memFrom = performance.now();
    let k = 0;
    while (performance.now() - memFrom < MEMORY_SECONDS * 1000) {
      if (k % 5 === 0) {
        memory.push({
          at: Math.round((performance.now() - memFrom) / 1000),
          stayos: Math.round(procStat(stayos.pid)!.rssMb),
          sandboxes: Math.round(procStat(sandbox.pid)!.rssMb),
          postgresPrivate: Math.round(postgresPrivateMb()),
        });
      }
      const cell = await randomCell(pool, others, 5000 + k++);
      await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 0.01 WHERE id = $1`, [cell.rateId]);
      await sleep(1000);
    }
    const firstHalf = memory.slice(0, Math.ceil(memory.length / 2));
    const secondHalf = memory.slice(Math.ceil(memory.length / 2));
    if (memory.length < 2) throw new Error('the memory phase needs at least 10 seconds (--minutes 1 or more, or --ci)');
    const mem = (key: 'stayos' | 'sandboxes' | 'postgresPrivate') => ({
      startMb: memory[0]?.[key] ?? NaN,
      endMb: memory.at(-1)?.[key] ?? NaN,
      maxFirstHalfMb: Math.max(...firstHalf.map((m) => m[key])),
      maxSecondHalfMb: Math.max(...secondHalf.map((m) => m[key])),
    });
    const memoryFigures = { seconds: MEMORY_SECONDS, stayos: mem('stayos'), sandboxes: mem('sandboxes'), postgresPrivate: mem('postgresPrivate') };
    console.log(`memory over ${MEMORY_SECONDS} s: StayOS ${memoryFigures.stayos.startMb} → ${memoryFigures.stayos.endMb} MB`);

    const result = {
      machine: machine(),
      postgres: (await pool.query('SHOW server_version')).rows[0].server_version as string,
      form: CI ? 'ci' : 'full',
      hotels: HOTELS,
      connections: HOTELS * 2,
      cellsPerOta: seeded.cellsPerOta,
      seedSeconds: +seeded.seconds.toFixed(1),
      seedSteps: seeded.steps,
      startup: { cells: queued!.cells, connections: queued!.connections, seconds: startupSeconds },
      idle,
      roundTrip: trips,
      singleChange: singleLatency,
      fairness,
      api: apiFigures,
      memory: memoryFigures,
      totalSeconds: Math.round((performance.now() - started) / 1000),
    };
    fs.mkdirSync('bench/out', { recursive: true });
    fs.writeFileSync(`bench/out/${CI ? 'scale-ci' : 'scale'}.json`, JSON.stringify(result, null, 2));
    printTable(result);
    if (CI && opts.writeReference) {
      fs.writeFileSync(REFERENCE, `${JSON.stringify(result, null, 2)}\n`);
      console.log(`\nwritten ${REFERENCE}`);
    } else if (CI) process.exitCode = compareWithReference(result);
  } finally {
    await stayos?.stop();
    await sandbox.stop();
    await db.close();
  }
}

type Result = {
  machine: string;
  postgres: string;
  hotels: number;
  connections: number;
  cellsPerOta: number;
  idle: { stayosPercentOfCore: number; postgresPercentOfCore: number; seconds: number };
  roundTrip: ReturnType<typeof summary>;
  singleChange: ReturnType<typeof summary>;
  fairness: ReturnType<typeof summary> & { hotelsInFullSync: number; fullSyncSeconds: number };
  api: Record<string, ReturnType<typeof summary>>;
  memory: Record<'stayos' | 'sandboxes' | 'postgresPrivate', { startMb: number; endMb: number; maxFirstHalfMb: number; maxSecondHalfMb: number }> & {
    seconds: number;
  };
  totalSeconds: number;
};

function printTable(r: Result): void {
  const ok = (b: boolean) => (b ? 'met' : '**not met**');
  console.log(
    `\nScale benchmark — ${r.hotels} hotels, ${r.connections} connections, ${r.cellsPerOta.toLocaleString('en')} cells per OTA; ${r.machine}; PostgreSQL ${r.postgres}\n`,
  );
  console.log('| measure | baseline (same run) | StayOS | target |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| idle CPU over ${r.idle.seconds} s | — | StayOS ${r.idle.stayosPercentOfCore} %, PostgreSQL ${r.idle.postgresPercentOfCore} % of one core | < 5 % each — ${ok(r.idle.stayosPercentOfCore < 5 && r.idle.postgresPercentOfCore < 5)} |`,
  );
  console.log(
    `| one change at one hotel → both OTAs acknowledged | one OTA request's round trip: p50 ${r.roundTrip.p50} ms, p99 ${r.roundTrip.p99} ms | p50 ${r.singleChange.p50} ms, p99 ${r.singleChange.p99} ms (${r.singleChange.n} acks) | p99 ≤ 1 s — ${ok(r.singleChange.p99 <= 1000)} |`,
  );
  console.log(
    `| the same while ${r.fairness.hotelsInFullSync} hotels run full syncs (${r.fairness.fullSyncSeconds} s) | — | p50 ${r.fairness.p50} ms, p99 ${r.fairness.p99} ms (${r.fairness.n} acks) | p99 ≤ 2 s — ${ok(r.fairness.n > 0 && r.fairness.p99 <= 2000)} |`,
  );
  for (const [name, s] of Object.entries(r.api)) console.log(`| ${name} | — | p50 ${s.p50} ms, p99 ${s.p99} ms | p99 ≤ 200 ms — ${ok(s.p99 <= 200)} |`);
  for (const [name, m] of Object.entries(r.memory)) {
    if (typeof m === 'number') continue;
    console.log(
      `| RSS of ${name} over ${r.memory.seconds} s | — | ${m.startMb} → ${m.endMb} MB (max ${m.maxFirstHalfMb} in the first half, ${m.maxSecondHalfMb} in the second) | flat — ${ok(m.maxSecondHalfMb <= m.maxFirstHalfMb * 1.1 + 10)} |`,
    );
  }
  console.log(`\n(${r.totalSeconds} s in all)`);
}

/**
 * The CI gate: each figure against bench/scale-reference.json (a run of the CI form on this
 * machine), failing when one is more than 2× worse. Each has a floor, so that the noise of a small
 * figure on a shared 2-core machine does not fail the run (2× of almost nothing is still almost
 * nothing): 5 % of a core, 250 ms for a change's latency (the p99 of 25 samples is their maximum),
 * 50 ms for an API request, 30 MB of memory growth, 60 s for the whole run (the CI form's time is
 * gated too: it must stay near its 2 minutes).
 */
function compareWithReference(r: Result): number {
  if (!fs.existsSync(REFERENCE)) {
    console.log(`\nno ${REFERENCE}: record one on this machine with \`npm run bench:scale -- --ci --write-reference\``);
    return 1;
  }
  const ref = JSON.parse(fs.readFileSync(REFERENCE, 'utf8')) as Result;
  const growth = (m: Result['memory']['stayos']) => m.maxSecondHalfMb - m.maxFirstHalfMb;
  const checks: Array<[string, number, number, number]> = [
    ['idle CPU of StayOS (% of a core)', r.idle.stayosPercentOfCore, ref.idle.stayosPercentOfCore, 5],
    ['idle CPU of PostgreSQL (% of a core)', r.idle.postgresPercentOfCore, ref.idle.postgresPercentOfCore, 5],
    ['single change p50 (ms)', r.singleChange.p50, ref.singleChange.p50, 250],
    ['single change p99 (ms)', r.singleChange.p99, ref.singleChange.p99, 250],
    ['single change p50 during full syncs (ms)', r.fairness.p50, ref.fairness.p50, 250],
    ['single change p99 during full syncs (ms)', r.fairness.p99, ref.fairness.p99, 250],
    // Every route the reference timed: one missing now is a failure, not a skip.
    ...Object.entries(ref.api).map(([name, s]): [string, number, number, number] => [`API ${name} p99 (ms)`, r.api[name]?.p99 ?? NaN, s.p99, 50]),
    ['RSS growth of StayOS (MB)', growth(r.memory.stayos), growth(ref.memory.stayos), 30],
    ['the whole run (s)', r.totalSeconds, ref.totalSeconds, 60],
  ];
  let failed = 0;
  console.log('\n| CI gate: figure | reference | now | limit (2×, floor) | |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [name, now, was, floor] of checks) {
    const limit = 2 * Math.max(was, floor);
    const bad = !(now <= limit);
    if (bad) failed++;
    console.log(`| ${name} | ${was} | ${now} | ${limit} | ${bad ? 'REGRESSED' : 'ok'} |`);
  }
  console.log(failed ? `\n${failed} figure(s) regressed more than 2× against bench/scale-reference.json` : '\nno figure regressed more than 2×');
  return failed ? 1 : 0;
}

await main();
process.exit(process.exitCode ?? 0);
