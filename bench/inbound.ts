/**
 * `npm run bench:inbound` — new Expedia bookings through the HTTP webhook (OTA → api → inbound →
 * reservation), the API in a process of its own (`stayos start --only api`), the load generated
 * here, in one run:
 *  1. a fixed 500 bookings/s for 10 s (open loop: latency counted from each booking's scheduled
 *     send time, so a slow answer cannot hide the queue behind it). Target p99 ≤ 50 ms.
 *  2. saturation: 32 concurrent senders for 10 s: bookings/s and latency.
 *  3. the baseline, in the same run: `pgbench` replaying the very SQL transactions the ingestion
 *     ran (captured from 48 bookings of different room types and dates, each a script, with a new
 *     OTA reservation id per transaction), at the same concurrency, and at 500/s. The ratio
 *     bookings/s ÷ pgbench transactions/s is what HTTP, XML, validation and the Node side cost on
 *     top of the database's own work. Target ≥ 0.9 (issue 19).
 *  4. the same at 40 bookings/s, a rate this 2-core machine's database sustains (the latency of
 *     an ingestion that does not queue).
 * Prints a table and writes bench/out/inbound.json; results are kept in bench/RESULTS.md.
 * BENCH_SECONDS shortens the runs; BENCH_PROFILE=1 prints each statement's time in the last
 * captured transactions.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import http from 'node:http';
import { BENCH_KEY as KEY, BENCH_OTA_ACCOUNTS, benchDatabase, benchProperty, cpuBetween, cpuSnapshot, machine, percentile } from './common.ts';
import { withSessionKeys, type Pool, type PoolClient } from '../core/db.ts';
import { addDays } from '../core/dates.ts';
import { buildBnRequest, readEnvelope, bookingOfEnvelope } from '../connectors/expedia/booking-notification.ts';
import { ingestBooking, parseInboundXml, connectionByHotel, type InboundConnection } from '../inbound/index.ts';

const PGBENCH = process.env.PGBENCH ?? '/usr/lib/postgresql/15/bin/pgbench';
const RATE = 500;
/** A rate this machine's database sustains, for the latency of an ingestion that does not queue. */
const LOW_RATE = 40;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = 32;
const ROOM_TYPES = 20;
const DAYS = 400;
const today = new Date().toISOString().slice(0, 10);
const { username, password, hotel } = BENCH_OTA_ACCOUNTS.expedia;

let seq = 0;
/** The Expedia (room, rate) code pairs mapped at the bench property: 20 room types × 3 rate plans. */
let pairs: Array<{ room: string; rate: string }> = [];
/** A new booking: one of the mapped room and rate pairs, 1–3 nights within the next 400 days. */
function booking(tag: string): string {
  const n = ++seq;
  const arrival = addDays(today, 1 + ((n * 7919) % (DAYS - 5)));
  const nights = 1 + (n % 3);
  return buildBnRequest({
    kind: 'new',
    requestId: `${tag}${n}`,
    hotelCode: hotel,
    username,
    password,
    externalId: `${tag}${n}`,
    timeStamp: '2026-11-20T10:00:00+00:00',
    currency: 'EUR',
    room: {
      roomCode: pairs[n % pairs.length]!.room,
      rateCode: pairs[n % pairs.length]!.rate,
      arrival,
      departure: addDays(arrival, nights),
      adults: 2,
      nights: Array.from({ length: nights }, (_, k) => ({ date: addDays(arrival, k), amount: '120.00' })),
    },
    guest: { firstName: 'Bench', lastName: `Guest${n}`, email: `g${n}@example.com` },
    card: { code: 'VI', number: '4111111111111111', expire: '1230', holder: `Bench Guest${n}` },
  });
}

async function startApi(url: string): Promise<{ base: string; pid: number; stop: () => Promise<void> }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, ['bin/stayos.js', 'start', '--only', 'api'], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      STAYOS_ENCRYPTION_KEY: KEY,
      STAYOS_SEED_DEMO: 'false',
      STAYOS_SANDBOXES: 'false',
      STAYOS_HTTP_PORT: String(port),
      STAYOS_LOG_LEVEL: 'error',
      STAYOS_WEBHOOK_RATE_PER_MINUTE: '1000000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = /running \(api\): dashboard (http:\/\/[^\s/#]+)/.exec(l);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the API exited with ${code} before serving`)));
  });
  return {
    base,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Run {
  sent: number;
  ok: number;
  failed: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
}

function summary(latencies: number[], failed: number, seconds: number): Run {
  const s = [...latencies].sort((a, b) => a - b);
  return { sent: s.length + failed, ok: s.length, failed, seconds, p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
}

// node:http with kept-alive sockets: the load generator shares the cores, so it stays lean.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function send(url: string, body: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'text/xml; charset=utf-8', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(res.statusCode === 200 && text.includes('ResID_Type="3"')));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Open loop: booking i is due at start + i/rate; its latency counts from then. */
async function fixedRate(url: string, rate: number, seconds: number, tag: string): Promise<Run> {
  const total = rate * seconds;
  const bodies = Array.from({ length: total }, () => booking(tag));
  const latencies: number[] = [];
  let failed = 0;
  const start = performance.now() + 50;
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(
      send(url, bodies[i]!).then(
        (ok) => {
          if (ok) latencies.push(performance.now() - due);
          else failed += 1;
        },
        () => {
          failed += 1;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return summary(latencies, failed, (performance.now() - start) / 1000);
}

/** Closed loop: `concurrency` senders, each sending its next booking when the last is answered. */
async function saturate(url: string, concurrency: number, seconds: number, tag: string): Promise<Run> {
  const latencies: number[] = [];
  let failed = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const body = booking(tag);
        const t = performance.now();
        try {
          if (await send(url, body)) latencies.push(performance.now() - t);
          else failed += 1;
        } catch {
          failed += 1;
        }
      }
    }),
  );
  return summary(latencies, failed, (performance.now() - start) / 1000);
}

// ---- the pgbench baseline: the ingestion's own statements, captured and replayed ----

interface Captured {
  text: string;
  values: unknown[];
  rows: Array<Record<string, unknown>>;
  ms: number;
}

/** A pool whose one client records every statement of a transaction, with its values and result. */
function recordingPool(pool: Pool, log: Captured[]): Pool {
  return {
    connect: async () => {
      const client = await pool.connect();
      const query = async (q: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
        const text = typeof q === 'string' ? q : q.text;
        const vals = typeof q === 'string' ? (values ?? []) : (q.values ?? []);
        const t = performance.now();
        const res = await client.query(text, vals as unknown[]);
        log.push({ text, values: vals, rows: res.rows, ms: performance.now() - t });
        return res;
      };
      return new Proxy(client, { get: (t, p) => (p === 'query' ? query : Reflect.get(t, p)) }) as PoolClient;
    },
  } as unknown as Pool;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A parameter as the SQL literal node-postgres would have sent as text (untyped, like a parameter). */
const literal = (v: unknown): string => {
  if (v === null || v === undefined) return 'NULL';
  if (Buffer.isBuffer(v)) return `'\\x${v.toString('hex')}'`;
  const quote = (t: string) => `'${t.replace(/'/g, "''")}'`;
  if (v instanceof Date) return quote(v.toISOString());
  if (Array.isArray(v)) return quote(`{${v.map((x) => (x === null ? 'NULL' : `"${String(x).replace(/["\\]/g, '\\$&')}"`)).join(',')}}`);
  if (typeof v === 'object') return quote(JSON.stringify(v));
  return quote(String(v));
};

/**
 * One captured transaction → a pgbench script: values as literals, the booking's id made unique
 * per transaction (`-:xid`), ids the transaction itself created (RETURNING) passed on with \gset.
 */
function pgbenchScript(statements: Captured[], externalId: string): string {
  const produced = new Map<string, string>(); // returned uuid → pgbench variable
  const lines = ['\\set xid random(1, 2000000000)'];
  statements.forEach((s, i) => {
    const sql = s.text
      .replace(/\$(\d+)/g, (_, n: string) => {
        const v = s.values[Number(n) - 1];
        if (typeof v === 'string' && produced.has(v)) return `':${produced.get(v)}'`;
        return literal(v).replaceAll(externalId, `${externalId}-:xid`);
      })
      .replace(/\s*\n\s*/g, ' ')
      .trim();
    const row = s.rows.length === 1 ? s.rows[0]! : undefined;
    const ids = row ? Object.entries(row).filter(([, v]) => typeof v === 'string' && UUID.test(v)) : [];
    if (ids.length) {
      lines.push(sql, `\\gset q${i}_`);
      for (const [col, v] of ids) produced.set(v as string, `q${i}_${col}`);
    } else {
      lines.push(`${sql};`);
    }
  });
  return `${lines.join('\n')}\n`;
}

async function captureScripts(pool: Pool, dir: string, count: number): Promise<string[]> {
  const {
    rows: [connection],
  } = await pool.query<InboundConnection>(connectionByHotel('expedia', hotel));
  const files: string[] = [];
  for (let k = 0; k < count; k++) {
    const xml = booking('PGB');
    const { root, node } = await parseInboundXml(xml);
    const env = readEnvelope(root, node);
    const b = bookingOfEnvelope(env, connection!);
    const log: Captured[] = [];
    await ingestBooking(
      recordingPool(pool, log),
      connection!,
      b,
      { source: 'expedia_webhook', messageType: env.root, body: xml, started: performance.now() },
      () => ({ status: 200, body: '<answer/>' }),
    );
    const tx = log.filter((s) => s.text !== 'BEGIN' && s.text !== 'COMMIT');
    if (process.env.BENCH_PROFILE && k >= count - 3) for (const s of log) console.log(`${s.ms.toFixed(2)} ms  ${s.text.replace(/\s+/g, ' ').slice(0, 110)}`);
    const file = path.join(dir, `booking-${k}.sql`);
    fs.writeFileSync(file, `BEGIN;\n${pgbenchScript(tx, b.externalId).trimEnd()}\nCOMMIT;\n`);
    files.push(file);
  }
  return files;
}

function pgbench(url: string, files: string[], args: string[], logDir: string): { tps: number; p50: number; p99: number; failed: number } {
  fs.rmSync(logDir, { recursive: true, force: true });
  fs.mkdirSync(logDir, { recursive: true });
  const r = spawnSync(
    PGBENCH,
    [
      '-n',
      '-M',
      'simple',
      '-j',
      '2',
      '-T',
      String(SECONDS),
      '-l',
      '--log-prefix',
      path.join(logDir, 'tx'),
      // The replayed ingestion encrypts: pgbench's sessions get the key as StayOS's do (libpq options).
      ...files.flatMap((f) => ['-f', `${f}@1`]),
      ...args,
      url,
    ],
    { encoding: 'utf8', env: { ...process.env, PGOPTIONS: withSessionKeys(url, [KEY]).options } },
  );
  if (r.status !== 0) throw new Error(`pgbench failed (${r.status}): ${r.stderr}\n${r.stdout}`);
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(r.stdout)?.[1]);
  const failed = Number(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  const latencies = fs
    .readdirSync(logDir)
    .flatMap((f) => fs.readFileSync(path.join(logDir, f), 'utf8').trim().split('\n'))
    .map((l) => Number(l.split(' ')[2]) / 1000)
    .filter((x) => Number.isFinite(x))
    .sort((a, b) => a - b);
  return { tps, p50: percentile(latencies, 50), p99: percentile(latencies, 99), failed };
}

async function main(): Promise<void> {
  const out = path.resolve('bench/out');
  fs.mkdirSync(out, { recursive: true });
  const db = await benchDatabase('stayos_bench_inbound');
  const api = { stop: async () => undefined } as Awaited<ReturnType<typeof startApi>>;
  try {
    console.log(`machine: ${machine()}`);
    await benchProperty(db.pool, ROOM_TYPES, 3, 5);
    pairs = (
      await db.pool.query<{ room: string; rate: string }>(`SELECT m.ota_room_code AS room, m.ota_rate_code AS rate FROM channel.channel_mappings m
      JOIN channel.channel_connections c ON c.id = m.connection_id WHERE c.channel_code = 'expedia' ORDER BY 1, 2`)
    ).rows;
    // The property has 10 rooms per type; bookings spread over 400 days stay within them mostly.
    await db.pool.query(`UPDATE channel.channel_connections SET credentials = shared.encrypt_pii($1) WHERE channel_code = 'expedia'`, [
      JSON.stringify({ username, password }),
    ]);
    Object.assign(api, await startApi(db.url));
    const url = `${api.base}/webhooks/expedia`;

    console.log('warm-up …');
    await saturate(url, 8, 3, 'W');
    console.log(`${RATE} bookings/s for ${SECONDS} s …`);
    const cpu0 = cpuSnapshot([api.pid]);
    const fixed = await fixedRate(url, RATE, SECONDS, 'F');
    const cpu1 = cpuSnapshot([api.pid]);
    console.log(`${LOW_RATE} bookings/s for ${SECONDS} s …`);
    const low = await fixedRate(url, LOW_RATE, SECONDS, 'L');
    console.log(`saturation, ${CONCURRENCY} senders for ${SECONDS} s …`);
    const sat = await saturate(url, CONCURRENCY, SECONDS, 'S');
    const cpu2 = cpuSnapshot([api.pid]);
    await api.stop();

    console.log("pgbench: capturing the ingestion's transactions and replaying them …");
    const scripts = await captureScripts(db.pool, fs.mkdtempSync(path.join(os.tmpdir(), 'stayos-pgbench-')), 48);
    const pgSat = pgbench(db.url, scripts, ['-c', String(CONCURRENCY)], path.join(out, 'pgbench-sat'));
    const pgFixed = pgbench(db.url, scripts, ['-c', '8', '-R', String(RATE)], path.join(out, 'pgbench-rate'));
    const pgLow = pgbench(db.url, scripts, ['-c', '8', '-R', String(LOW_RATE)], path.join(out, 'pgbench-low'));

    const bookingsPerSecond = sat.ok / sat.seconds;
    const rows = [
      ['measure', 'baseline (pgbench, same SQL)', 'StayOS (HTTP webhook)', 'ratio', 'target'],
      [
        `${RATE}/s: p50 / p99 latency`,
        `${pgFixed.p50.toFixed(1)} / ${pgFixed.p99.toFixed(1)} ms`,
        `${fixed.p50.toFixed(1)} / ${fixed.p99.toFixed(1)} ms (${fixed.failed} failed)`,
        '',
        'p99 ≤ 50 ms',
      ],
      [
        `${LOW_RATE}/s: p50 / p99 latency`,
        `${pgLow.p50.toFixed(1)} / ${pgLow.p99.toFixed(1)} ms`,
        `${low.p50.toFixed(1)} / ${low.p99.toFixed(1)} ms (${low.failed} failed)`,
        '',
        '',
      ],
      [
        'saturation: bookings/s',
        `${pgSat.tps.toFixed(0)} tx/s (${pgSat.failed} failed)`,
        `${bookingsPerSecond.toFixed(0)} /s (${sat.failed} failed)`,
        `${(bookingsPerSecond / pgSat.tps).toFixed(2)}×`,
        `≥ 0.9× — ${bookingsPerSecond / pgSat.tps >= 0.9 ? 'met' : 'not met'}`,
      ],
      ['saturation: p50 / p99 latency', `${pgSat.p50.toFixed(1)} / ${pgSat.p99.toFixed(1)} ms`, `${sat.p50.toFixed(1)} / ${sat.p99.toFixed(1)} ms`, '', ''],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join(' | '));
    const cpu = cpu0 && cpu1 && cpu2 ? { fixed: cpuBetween(cpu0, cpu1), saturation: cpuBetween(cpu1, cpu2) } : null;
    if (cpu) console.log(`CPU-seconds (PostgreSQL / API process / load generator): ${RATE}/s ${fmt(cpu.fixed)}; saturation ${fmt(cpu.saturation)}`);
    fs.writeFileSync(
      path.join(out, 'inbound.json'),
      `${JSON.stringify({ machine: machine(), at: new Date().toISOString(), fixed, low, saturation: sat, bookingsPerSecond, pgbench: { saturation: pgSat, fixed: pgFixed, low: pgLow }, ratio: bookingsPerSecond / pgSat.tps, cpu }, null, 2)}\n`,
    );
  } finally {
    await api.stop().catch(() => undefined);
    agent.destroy();
    await db.close();
  }
}

const fmt = (c: { postgres: number; self: number; others: number }) => `${c.postgres.toFixed(1)} / ${c.others.toFixed(1)} / ${c.self.toFixed(1)}`;

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
