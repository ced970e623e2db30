/**
 * The corpus of bad and hostile messages (test/fixtures/hostile, ≥ 200, written by generate.ts):
 * each is refused over HTTP with the error its protocol has for it, fast, and the business tables
 * are unchanged afterwards (row counts and checksums). The two valid bases the corpus mutates are
 * then accepted, so each refusal is the mutation's doing.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { addConnection, businessFingerprint, FIXTURES, post, reservationOf, startInboundApp } from '../helpers/inbound.ts';
import { seedDemo } from '../helpers/demo.ts';
import { createApiKey } from '../../api/keys.ts';
import { setOutboundPolicy } from '../../connectors/outbound/hosts.ts';

interface Case {
  file: string;
  endpoint: 'expedia' | 'ota';
  auth?: 'wrong-password' | 'wrong-user' | 'none' | 'malformed';
  status: number;
  code: string;
}
const DIR = path.join(FIXTURES, 'hostile');
const corpus = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Case[];
interface UrlCase {
  name: string;
  channel: 'booking_com' | 'expedia';
  field: 'endpointUrl' | 'reservationsUrl' | 'settings.auth_url';
  url: string;
  code?: string;
}
interface HttpCase {
  name: string;
  rule: string;
  status: number[];
  request: string;
}
const requests = JSON.parse(fs.readFileSync(path.join(DIR, 'requests.json'), 'utf8')) as { urls: UrlCase[]; http: HttpCase[] };

/** Sends raw bytes (what fetch would refuse to send) and reads the status of the answer; 0 if the server only closed. */
function rawStatus(port: number, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.from(request, 'utf8')));
    let head = '';
    socket.on('data', (d) => {
      head += d.toString('latin1');
      const line = /^HTTP\/1\.1 (\d{3}) /.exec(head);
      if (line) {
        resolve(Number(line[1]));
        socket.destroy();
      }
    });
    socket.on('close', () => resolve(0));
    socket.on('error', reject);
  });
}
const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startInboundApp>>;
let otaUrl: string;
const OTA_USER = 'hostile-sender';
const OTA_PASS = 'hostile-secret-1';

function otaHeaders(auth: Case['auth']): Record<string, string> {
  const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
  if (auth === 'wrong-password') return basic(OTA_USER, 'hostile-secret-2');
  if (auth === 'wrong-user') return basic('hostile-sendr', OTA_PASS);
  if (auth === 'none') return {};
  if (auth === 'malformed') return { authorization: 'Basic %%%not-base64%%%' };
  return basic(OTA_USER, OTA_PASS);
}

function send(c: Pick<Case, 'endpoint' | 'auth'>, body: string) {
  return c.endpoint === 'expedia' ? post(`${server.url}/webhooks/expedia`, body) : post(otaUrl, body, otaHeaders(c.auth));
}

/** The refusal's code as the protocol carries it. */
function codeIn(c: Case, body: string): string | undefined {
  if (c.endpoint === 'expedia') return /<faultcode>soap-env:([^<]+)<\/faultcode>/.exec(body)?.[1] ?? /<Error [^>]*ShortText="([^"]+)"/.exec(body)?.[1];
  return /<Error [^>]*Code="([^"]+)"/.exec(body)?.[1];
}

beforeAll(async () => {
  await seedDemo(db.current.pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 5 });
  const id = await addConnection(db.current.pool, {
    channel: 'opentravel',
    hotelCode: 'HOSTILE1',
    credentials: { username: OTA_USER, password: OTA_PASS },
    mappings: [{ room: 'DBL', rate: 'FLEX', roomType: 'STD', ratePlan: 'BAR' }],
  });
  server = await startInboundApp(db.current.pool, { bodyLimit: 256 * 1024 });
  otaUrl = `${server.url}/webhooks/ota/${id}`;
});
afterAll(async () => server?.close());

describe(`${corpus.length} bad and hostile inputs`, () => {
  it('the corpus is large enough and covers both webhooks', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    expect(new Set(corpus.map((c) => c.endpoint))).toEqual(new Set(['expedia', 'ota']));
  });

  it("each is refused with its protocol's error, fast, and every business table is unchanged", async () => {
    const before = await businessFingerprint(db.current.pool);
    const {
      rows: [{ at: auditFrom }],
    } = await db.current.pool.query(`SELECT clock_timestamp() AS at`);
    const wrong: string[] = [];
    let slowest = { file: '', ms: 0 };
    for (const c of corpus) {
      const body = fs.readFileSync(path.join(DIR, c.file), 'utf8');
      const started = performance.now();
      const res = await send(c, body);
      const ms = performance.now() - started;
      if (ms > slowest.ms) slowest = { file: c.file, ms };
      const code = codeIn(c, res.body);
      if (res.status !== c.status || code !== c.code)
        wrong.push(`${c.file}: expected ${c.status} ${c.code}, got ${res.status} ${code} — ${res.body.slice(0, 300)}`);
    }
    expect(wrong).toEqual([]);
    expect(await businessFingerprint(db.current.pool)).toEqual(before);
    // Recorded refusals only: nothing else happened to any of them.
    const { rows } = await db.current.pool.query(`SELECT DISTINCT outcome FROM channel.inbound_messages`);
    expect(rows.map((r) => r.outcome).filter((o) => o !== 'refused')).toEqual([]);
    expect(slowest.ms, `slowest: ${slowest.file}`).toBeLessThan(2000);
    // What was audited meanwhile: the mapping problems the unknown codes opened, nothing else.
    const { rows: audited } = await db.current.pool.query(`SELECT DISTINCT schema_name || '.' || table_name AS t FROM audit.audit_log WHERE created_at >= $1`, [
      auditFrom,
    ]);
    expect(audited.map((r) => r.t)).toEqual(['channel.mapping_problems']);
  });

  it('bodies over the limit are cut off with 413 before they are read', async () => {
    const before = await businessFingerprint(db.current.pool);
    for (const endpoint of ['expedia', 'ota'] as const) {
      const huge = `<?xml version="1.0"?><r>${'<x>filler</x>'.repeat(30_000)}</r>`; // ~390 KB
      const res = await send({ endpoint }, huge);
      expect(res.status).toBe(endpoint === 'expedia' ? 500 : 413); // SOAP 1.1: a Fault travels with 500
      expect(codeIn({ endpoint } as Case, res.body)).toBe(endpoint === 'expedia' ? 'Client.2002' : '450');
    }
    expect(await businessFingerprint(db.current.pool)).toEqual(before);
  });

  it("URL attacks: every SSRF target, look-alike and scheme trick is refused as a connection URL, nothing stored; the OTA's own host is taken", async () => {
    const { pool } = db.current;
    const key = (await createApiKey(pool, { email: 'hostile-admin@demo.example', role: 'admin', properties: ['DEMO'] })).key;
    const count = async () => (await pool.query(`SELECT count(*)::int AS n FROM channel.channel_connections`)).rows[0].n as number;
    const before = await count();
    setOutboundPolicy({ sandboxOrigins: [], extraHosts: [] }); // production: no sandbox, no extra hosts
    try {
      const create = (u: UrlCase | { channel: UrlCase['channel']; field: UrlCase['field']; url: string }) => {
        const body: Record<string, unknown> = {
          channel: u.channel,
          hotelCode: '5550101',
          credentials: u.channel === 'booking_com' ? { client_id: 'machine', client_secret: 'secret' } : { username: 'user', password: 'pass' },
        };
        if (u.field === 'settings.auth_url') body.settings = { auth_url: u.url };
        else body[u.field] = u.url;
        return server.app.inject({ method: 'POST', url: '/api/v1/connections', headers: { authorization: `Bearer ${key}` }, payload: body });
      };
      const wrong: string[] = [];
      for (const u of requests.urls) {
        const res = await create(u);
        const code = res.json().error?.code;
        if (res.statusCode !== 400 || code !== (u.code ?? 'ERR_OTA_HOST_NOT_ALLOWED'))
          wrong.push(`${u.name} (${u.url}): ${res.statusCode} ${code} ${res.body.slice(0, 200)}`);
      }
      expect(wrong).toEqual([]);
      expect(await count()).toBe(before);
      // The control: the OTA's published host over https is taken (each refusal was its URL's doing).
      const ok = await create({ channel: 'booking_com', field: 'endpointUrl', url: 'https://supply-xml.booking.com/hotels/ota/' });
      expect(ok.statusCode).toBe(201);
      await pool.query(`DELETE FROM channel.channel_connections WHERE id = $1`, [ok.json().id]);
    } finally {
      setOutboundPolicy({ sandboxOrigins: ['http://127.0.0.1:*', 'http://localhost:*'], extraHosts: ['127.0.0.1:*'] });
    }
  });

  it('header attacks (raw HTTP: oversized headers, smuggling, two Hosts, forged X-Forwarded-For …) get the status the RFCs give, and change nothing', async () => {
    const before = await businessFingerprint(db.current.pool);
    const port = Number(new URL(server.url).port);
    const fill = (t: string) =>
      t
        .replaceAll('{{expedia}}', '/webhooks/expedia')
        .replaceAll('{{ota}}', new URL(otaUrl).pathname)
        .replaceAll('{{pad}}', 'a'.repeat(20_000))
        .replaceAll('{{xffchain}}', Array.from({ length: 2000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(', '));
    const wrong: string[] = [];
    for (const c of requests.http) {
      const status = await rawStatus(port, fill(c.request));
      if (!c.status.includes(status)) wrong.push(`${c.name}: expected ${c.status.join(' or ')} (${c.rule}), got ${status}`);
    }
    expect(wrong).toEqual([]);
    expect(await businessFingerprint(db.current.pool)).toEqual(before);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200); // still serving
  });

  it("the valid messages the corpus was made from are accepted (each refusal was its mutation's doing)", async () => {
    const e = await send({ endpoint: 'expedia' }, fs.readFileSync(path.join(DIR, 'base-expedia.xml'), 'utf8'));
    expect(e.status).toBe(200);
    expect(await reservationOf(db.current.pool, 'expedia', 'HOSTILE-1')).toMatchObject({ status: 'confirmed', check_in: '2027-03-10', total: '245.50' });
    const o = await send({ endpoint: 'ota' }, fs.readFileSync(path.join(DIR, 'base-ota.xml'), 'utf8'));
    expect(o.status).toBe(200);
    expect(await reservationOf(db.current.pool, 'opentravel', 'HOSTILE-OTA-1')).toMatchObject({ status: 'confirmed', check_in: '2027-03-10', total: '245.50' });
  });
});
