/** The Booking.com sandbox over real HTTP: tokens, ARI applied per item, v1.1 status codes, injected faults, control API. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildAvailNotifRQ, buildRateAmountNotifRQ, type BookingAvailUpdate } from '../../connectors/booking-com/messages.ts';
import { parseBookingResponse, parseTokenResponse } from '../../connectors/booking-com/parser.ts';
import { BookingSandbox } from '../../connectors/booking-com/sandbox.ts';
import { sandboxKey } from '../../connectors/types.ts';
import { schemaErrors } from '../helpers/xml.ts';
import { waitFor } from '../helpers/wait.ts';

const XSD_DIR = path.resolve(import.meta.dirname, '../../connectors/booking-com/xsd');
const T0 = new Date('2027-03-01T12:00:00Z');
const day = (n: number) => new Date(Date.UTC(2027, 2, 1 + n)).toISOString().slice(0, 10);
const HOTEL = '1001'; // has a product catalogue
const OPEN_HOTEL = '1002'; // no catalogue: any code accepted
const FOREIGN = '2002'; // belongs to another account
const PREFIX = '/sandbox/booking-com';

let now = T0;
const sandbox = new BookingSandbox({
  accounts: [
    { clientId: 'acme', clientSecret: 's3cret', hotels: [HOTEL, OPEN_HOTEL] },
    { clientId: 'other', clientSecret: 'other-secret', hotels: [FOREIGN] },
  ],
  products: { [HOTEL]: { rooms: ['DBL', 'SUI'], rates: ['BAR', 'NRF'] } },
  now: () => now,
});

async function startApp(s: BookingSandbox): Promise<{ app: FastifyInstance; base: string }> {
  const app = Fastify({ logger: false });
  await app.register(s.plugin, { prefix: PREFIX });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `${address}${PREFIX}` };
}

let app: FastifyInstance;
let base: string;
let jwt: string;

const exchange = (client_id = 'acme', client_secret = 's3cret', url = base) =>
  fetch(`${url}/token-based-authentication/exchange`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id, client_secret }) });
const push = (kind: 'avail' | 'rate', xml: string, headers: Record<string, string> = {}, init: RequestInit = {}, url = base) =>
  fetch(`${url}/hotels/ota/${kind === 'avail' ? 'OTA_HotelAvailNotif' : 'OTA_HotelRateAmountNotif'}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'accept-version': '1.1', 'content-type': 'application/xml', ...headers },
    body: xml,
    ...init,
  });
const control = (p: string, body?: unknown) =>
  fetch(`${base}/_control/${p}`, body === undefined ? { method: p === 'reset' ? 'POST' : 'GET' } : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
/** The body, checked against the vendored RS schema, then parsed as the client will. */
async function rs(res: Response, kind: 'avail' | 'rate' = 'avail') {
  const xml = await res.text();
  expect(schemaErrors(path.join(XSD_DIR, kind === 'avail' ? 'OTA_HotelAvailNotifRS.xsd' : 'OTA_HotelRateAmountNotifRS.xsd'), xml)).toBeNull();
  return { xml, parsed: await parseBookingResponse(xml) };
}
const availXml = (updates: BookingAvailUpdate[], hotel = HOTEL) => buildAvailNotifRQ(hotel, updates, { echoToken: 'echo-42' });
const simple = () => availXml([{ roomCode: 'DBL', from: day(0), to: day(1), bookingLimit: 3 }]);

beforeAll(async () => {
  ({ app, base } = await startApp(sandbox));
});
afterAll(async () => {
  await app?.close();
});
beforeEach(async () => {
  now = T0;
  sandbox.reset();
  jwt = parseTokenResponse(await (await exchange()).json()).jwt;
  sandbox.reset(); // issued tokens stay valid across a reset; the exchange is forgotten
});

describe('token exchange', () => {
  it('gives {jwt, ruid} for good credentials and 401 for bad ones', async () => {
    const ok = await exchange();
    expect(ok.status).toBe(200);
    expect(parseTokenResponse(await ok.json())).toEqual({ jwt: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/), ruid: expect.any(String) });
    expect((await exchange('acme', 'wrong')).status).toBe(401);
    expect((await exchange('nobody', 'x')).status).toBe(401);
    expect(sandbox.stats.tokenExchanges).toBe(1);
  });

  it('allows 30 tokens per hour per client_id, then 429 until the hour has passed', async () => {
    for (let i = 0; i < 30; i++) expect((await exchange()).status).toBe(200);
    const refused = await exchange();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBe(3600);
    expect((await exchange('other', 'other-secret')).status).toBe(200); // per client_id
    now = new Date(T0.getTime() + 3_600_001);
    expect((await exchange()).status).toBe(200);
    expect(sandbox.stats.tokenExchanges).toBe(32);
  });
});

describe('ARI pushes', () => {
  it('applies availability and rates; availability is room-level, shown on every rate of the room', async () => {
    const avail = await push('avail', availXml([
      { roomCode: 'DBL', from: day(0), to: day(2), bookingLimit: 5 },
      { roomCode: 'DBL', rateCode: 'BAR', from: day(0), to: day(1), minLos: 2, maxLos: null, closedToArrival: true, closedToDeparture: false, closed: false },
    ]));
    expect(avail.status).toBe(200);
    const { xml, parsed } = await rs(avail);
    expect(parsed).toEqual({ kind: 'success', warnings: [] });
    expect(xml).toContain('EchoToken="echo-42"');
    const rates = await push('rate', buildRateAmountNotifRQ(HOTEL, [
      { roomCode: 'DBL', rateCode: 'BAR', from: day(0), to: day(2), amount: '120.00', currency: 'EUR' },
      { roomCode: 'DBL', rateCode: 'NRF', from: day(1), to: day(1), amount: '99.00', currency: 'EUR' },
    ]));
    expect(rates.status).toBe(200);
    expect((await rs(rates, 'rate')).parsed).toEqual({ kind: 'success', warnings: [] });

    let cells = sandbox.cells(HOTEL);
    expect(cells.get(sandboxKey('DBL', 'BAR', day(0)))).toEqual({ availability: 5, rate: '120.00', currency: 'EUR', minLos: 2, maxLos: null, closedToArrival: true, closedToDeparture: false, closed: false });
    expect(cells.get(sandboxKey('DBL', 'BAR', day(2)))).toEqual({ availability: 5, rate: '120.00', currency: 'EUR' });
    expect(cells.get(sandboxKey('DBL', 'NRF', day(1)))).toEqual({ availability: 5, rate: '99.00', currency: 'EUR' });
    expect(cells.get(sandboxKey('DBL', 'NRF', day(0)))).toEqual({ availability: 5 }); // a catalogue rate, nothing pushed for it yet
    expect(cells.has(sandboxKey('DBL', 'BAR', day(3)))).toBe(false);
    expect(sandbox.roomAvailability(HOTEL)).toEqual(new Map([0, 1, 2].map((n) => [`DBL|${day(n)}`, 5])));

    // One BookingLimit for the room changes what every rate of it shows.
    expect((await push('avail', availXml([{ roomCode: 'DBL', from: day(1), to: day(1), bookingLimit: 2 }]))).status).toBe(200);
    cells = sandbox.cells(HOTEL);
    expect(['BAR', 'NRF'].map((r) => cells.get(sandboxKey('DBL', r, day(1)))?.availability)).toEqual([2, 2]);
    expect(cells.get(sandboxKey('DBL', 'BAR', day(0)))?.availability).toBe(5);

    // Time="0" removes a maximum; a later maximum replaces it.
    await push('avail', availXml([{ roomCode: 'DBL', rateCode: 'BAR', from: day(0), to: day(0), maxLos: 7, closed: true }]));
    expect(sandbox.cells(HOTEL).get(sandboxKey('DBL', 'BAR', day(0)))).toMatchObject({ maxLos: 7, closed: true, minLos: 2 });
    expect(sandbox.stats).toMatchObject({ requests: 4, accepted: 8, rejected: 0 });
  });

  it('401 without a token, with an unknown one, and with an expired one', async () => {
    expect((await push('avail', simple(), { authorization: '' })).status).toBe(401);
    expect((await push('avail', simple(), { authorization: 'Bearer not-a-token' })).status).toBe(401);
    now = new Date(T0.getTime() + 3_601_000);
    const expired = await push('avail', simple());
    expect(expired.status).toBe(401);
    expect((await rs(expired)).parsed).toMatchObject({ kind: 'errors', errors: [{ shortText: 'INVALID_TOKEN' }] });
    expect(sandbox.roomAvailability(HOTEL).size).toBe(0);
  });

  it('403 for a hotel of another account, 400 without Accept-Version 1.1; nothing applied', async () => {
    const foreign = await push('avail', availXml([{ roomCode: 'DBL', from: day(0), to: day(0), bookingLimit: 1 }], FOREIGN));
    expect(foreign.status).toBe(403);
    expect((await rs(foreign)).parsed).toMatchObject({ kind: 'errors', errors: [{ shortText: 'FORBIDDEN_HOTEL' }] });
    expect((await push('avail', simple(), { 'accept-version': '1.0' })).status).toBe(400);
    expect(sandbox.roomAvailability(FOREIGN).size + sandbox.roomAvailability(HOTEL).size).toBe(0);
  });

  it('a past date fails its item only: 200 with a Warning whose RPH is the update, the others applied', async () => {
    const res = await push('avail', availXml([
      { roomCode: 'DBL', from: day(-3), to: day(1), bookingLimit: 1 }, // more than a day in the past
      { roomCode: 'DBL', from: day(-1), to: day(-1), bookingLimit: 2 }, // yesterday is still accepted
      { roomCode: 'SUI', rateCode: 'BAR', from: day(0), to: day(0), bookingLimit: 3, minLos: 3 },
      { roomCode: 'XXX', from: day(0), to: day(0), bookingLimit: 3 }, // not in the catalogue
    ]));
    expect(res.status).toBe(200);
    const { parsed } = await rs(res);
    expect(parsed).toEqual({
      kind: 'success',
      warnings: [
        expect.objectContaining({ rph: 1, code: '15', shortText: 'NOT_A_VALID_DATE' }),
        expect.objectContaining({ rph: 4, code: '402', shortText: 'UNKNOWN_ROOM' }),
      ],
    });
    expect(sandbox.roomAvailability(HOTEL)).toEqual(new Map([[`DBL|${day(-1)}`, 2], [`SUI|${day(0)}`, 3]]));
    expect(sandbox.cells(HOTEL).get(sandboxKey('SUI', 'BAR', day(0)))).toEqual({ availability: 3, minLos: 3 });
    expect(sandbox.stats).toMatchObject({ accepted: 3, rejected: 2 });
  });

  it('all items failed: 400 with Errors, nothing applied', async () => {
    const res = await push('rate', buildRateAmountNotifRQ(OPEN_HOTEL, [
      { roomCode: 'DBL', rateCode: 'BAR', from: day(-5), to: day(0), amount: '10.00', currency: 'EUR' },
      { roomCode: 'DBL', rateCode: 'BAR', from: day(-9), to: day(-8), amount: '10.00', currency: 'EUR' },
    ]));
    expect(res.status).toBe(400);
    const { parsed } = await rs(res, 'rate');
    expect(parsed).toEqual({ kind: 'errors', errors: [1, 2].map((rph) => expect.objectContaining({ rph, shortText: 'NOT_A_VALID_DATE' })) });
    expect(sandbox.cells(OPEN_HOTEL).size).toBe(0);
  });

  it('rejects documents that are not the protocol: bad XML, wrong root, missing HotelCode, wrong content type', async () => {
    const bad = async (body: string, kind: 'avail' | 'rate', shortText: string) => {
      const res = await push(kind, body);
      expect(res.status).toBe(400);
      expect((await rs(res, kind)).parsed).toMatchObject({ kind: 'errors', errors: [{ shortText }] });
    };
    await bad('<OTA_HotelAvailNotifRQ', 'avail', 'INVALID_XML');
    await bad(simple(), 'rate', 'INVALID_ROOT');
    await bad(simple().replace(`HotelCode="${HOTEL}"`, ''), 'avail', 'INVALID_MESSAGE');
    expect((await push('avail', simple(), { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await push('avail', simple(), { 'content-type': 'text/xml; charset=utf-8' })).status).toBe(200);
  });
});

describe('faults', () => {
  const setFaults = async (plan: unknown) => expect((await control('faults', plan)).status).toBe(200);
  const nothingChanged = () => {
    expect(sandbox.roomAvailability(HOTEL).size).toBe(0);
    expect(sandbox.stats.accepted).toBe(0);
  };

  it.each([
    ['http5xx', 503, /<html>/],
    ['tooMany', 429, /<html>/],
    ['malformed', 200, /^<html>oops$/],
    ['otaError', 500, /<Errors><Error Type="12" Code="450"/],
  ] as const)('%s: HTTP %i, and nothing changes', async (kind, status, body) => {
    await setFaults({ rates: { [kind]: 1 }, retryAfterSeconds: 7 });
    const res = await push('avail', simple());
    expect(res.status).toBe(status);
    const text = await res.text();
    expect(text.replace(/\s+/g, '')).toMatch(new RegExp(body.source.replace(/\s+/g, '')));
    if (kind === 'tooMany') expect(res.headers.get('retry-after')).toBe('7');
    if (kind === 'otaError') await expect(parseBookingResponse(text)).resolves.toMatchObject({ kind: 'errors' });
    if (kind === 'malformed') await expect(parseBookingResponse(text)).rejects.toMatchObject({ code: 'ERR_OTA_INVALID_RESPONSE' });
    expect(sandbox.faults.injected[kind]).toBe(1);
    nothingChanged();
    // Token exchange draws too, and a faulted exchange issues nothing.
    expect((await exchange()).status).toBe(status);
    expect(sandbox.stats.tokenExchanges).toBe(0);
  });

  it('timeout: held for timeoutMs then 504; a client that gives up first gets nothing applied', async () => {
    await setFaults({ rates: { timeout: 1 }, timeoutMs: 200 });
    expect((await push('avail', simple())).status).toBe(504);
    await setFaults({ rates: { timeout: 1 }, timeoutMs: 60_000 });
    const aborter = new AbortController();
    const pending = push('avail', simple(), {}, { signal: aborter.signal });
    await waitFor(() => sandbox.faults.injected.timeout === 1, { what: 'the held request' });
    aborter.abort();
    await expect(pending).rejects.toThrow(/abort/i);
    nothingChanged();
  });

  it('timeout: closing the server releases a held request at once (tests never hang on close)', async () => {
    const own = new BookingSandbox({ accounts: [{ clientId: 'acme', clientSecret: 's3cret', hotels: [HOTEL] }], faults: { rates: { timeout: 1 }, timeoutMs: 600_000 } });
    const started = await startApp(own);
    const pending = exchange('acme', 's3cret', started.base);
    await waitFor(() => own.faults.injected.timeout === 1, { what: 'the held request' });
    await started.app.close();
    expect((await pending).status).toBe(504);
  });

  it('slow: answered normally after slowMs, and applied', async () => {
    await setFaults({ rates: { slow: 1 }, slowMs: 20 });
    expect((await push('avail', simple())).status).toBe(200);
    expect(sandbox.roomAvailability(HOTEL).get(`DBL|${day(0)}`)).toBe(3);
  });

  it('authFailure: 401 on everything, the token exchange included', async () => {
    await setFaults({ authFailure: true });
    expect((await exchange()).status).toBe(401);
    const res = await push('avail', simple());
    expect(res.status).toBe(401);
    expect((await rs(res)).parsed).toMatchObject({ kind: 'errors', errors: [{ type: '4' }] });
    nothingChanged();
  });
});

describe('control API', () => {
  it('rejects a bad fault plan with 400 and keeps the old one', async () => {
    expect((await control('faults', { rates: { http5xx: 1 } })).status).toBe(200);
    for (const plan of [{ rates: { http5xx: 0.7, timeout: 0.7 } }, { rates: { http5xx: 2 } }, { bogus: true }]) {
      const res = await control('faults', plan);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/rates|bogus|Unrecognized/i);
    }
    expect(sandbox.faults.plan.rates.http5xx).toBe(1);
  });

  it('reports state and stats, and resets', async () => {
    await push('avail', availXml([{ roomCode: 'DBL', rateCode: 'BAR', from: day(0), to: day(0), bookingLimit: 4, closed: true }]));
    const state = (await (await control(`state?hotel=${HOTEL}`)).json()) as { cells: Record<string, unknown>; rooms: Record<string, number> };
    expect(state.cells[sandboxKey('DBL', 'BAR', day(0))]).toEqual({ availability: 4, closed: true });
    expect(state.rooms).toEqual({ [`DBL|${day(0)}`]: 4 });
    expect((await control('state')).status).toBe(400);
    const stats = await (await control('stats')).json();
    expect(stats).toMatchObject({ requests: 1, accepted: 2, rejected: 0, byPath: { '/hotels/ota/OTA_HotelAvailNotif': 1 }, faults: { http5xx: 0 } });
    expect((await control('reset')).status).toBe(204);
    expect(sandbox.cells(HOTEL).size).toBe(0);
    expect(sandbox.stats.requests).toBe(0); // control routes are not counted, and draw no faults
  });
});
