/**
 * The Expedia sandbox over real HTTP: Expedia's published AR requests and the builder's messages
 * change its state; limits, credentials, dates and the catalogue give Expedia's error codes with
 * nothing applied; one connection per hotel is watched; faults change nothing; every AR answer
 * validates against AvailRateUpdateRS.xsd.
 */
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addDays } from '../../core/dates.ts';
import { buildAvailRateUpdateRQ, type ArUpdate } from '../../connectors/expedia/ar-message.ts';
import { arErrorFamily, parseAvailRateUpdateRS, type ArResponse } from '../../connectors/expedia/parser.ts';
import { ExpediaSandbox } from '../../connectors/expedia/sandbox.ts';
import { sandboxKey } from '../../connectors/types.ts';
import { waitFor } from '../helpers/wait.ts';
import { schemaErrors } from '../helpers/xml.ts';

const RS_XSD = path.resolve(import.meta.dirname, '../../connectors/expedia/xsd/AvailRateUpdateRS.xsd');
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/expedia');
const NOW = new Date('2027-03-10T09:30:00Z'); // today 2027-03-10: window 2027-03-09 … 2029-03-10
const H1 = '7654321';
const H2 = '7654322';
const ACCOUNT = { username: 'stayosdemo', password: 'demo-pass-expedia', hotels: [H1, H2] };
const auth = (hotelId = H1) => ({ username: ACCOUNT.username, password: ACCOUNT.password, hotelId });

const sandbox = new ExpediaSandbox({ accounts: [ACCOUNT], now: () => NOW });
const catalogue = new ExpediaSandbox({ accounts: [ACCOUNT], now: () => NOW, products: { [H1]: { rooms: ['200101'], rates: ['300101', '300102'] } } });
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  app = Fastify();
  await app.register(sandbox.plugin, { prefix: '/sandbox/expedia' });
  await app.register(catalogue.plugin, { prefix: '/sandbox/expedia-catalogue' });
  base = `${await app.listen({ port: 0, host: '127.0.0.1' })}/sandbox`;
});
afterAll(async () => {
  await app.close();
});
beforeEach(() => {
  sandbox.reset();
  catalogue.reset();
});

/** POSTs an AR message; an XML answer must validate against Expedia's RS schema. */
async function post(xml: string, init: { signal?: AbortSignal; to?: string; type?: string } = {}) {
  const res = await fetch(`${base}/${init.to ?? 'expedia'}/eqc/ar`, { method: 'POST', headers: { 'content-type': init.type ?? 'text/xml; charset=utf-8' }, body: xml, signal: init.signal ?? null });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
async function ar(xml: string, init: Parameters<typeof post>[1] = {}): Promise<ArResponse> {
  const res = await post(xml, init);
  expect(res.status).toBe(200);
  expect(schemaErrors(RS_XSD, res.text)).toBeNull();
  return parseAvailRateUpdateRS(res.text);
}
const codes = (rs: ArResponse) => (rs.kind === 'error' ? rs.errors.map((e) => e.code) : []);
const control = async (what: string, body?: unknown) => {
  const res = await fetch(`${base}/expedia/_control/${what}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON under test, asserted field by field
  return { status: res.status, body: (res.status === 204 ? null : await res.json()) as any };
};

const updates: ArUpdate[] = [
  { from: '2027-03-10', to: '2027-03-20', roomTypeId: '200101', availability: 4 },
  { from: '2027-03-10', to: '2027-03-14', roomTypeId: '200101', ratePlan: { id: '300101', closed: false, rate: { amount: '129.50', currency: 'EUR' }, restrictions: { minLos: 2, maxLos: 14, closedToArrival: true, closedToDeparture: false } } },
  { from: '2027-03-15', to: '2027-03-15', roomTypeId: '200101', availability: 0, ratePlan: { id: '300102', closed: true } },
];
const message = (hotelId = H1, u: ArUpdate[] = updates) => buildAvailRateUpdateRQ(auth(hotelId), u);
const untouched = (sb = sandbox, hotel = H1) => {
  expect(sb.cells(hotel).size).toBe(0);
  expect(sb.roomAvailability(hotel).size).toBe(0);
};

// Expedia's samples are from 2012: shift them by whole weeks (so sun…sat flags keep their meaning)
// into the accepted window, and give them our account and hotel.
const WEEK = 7 * 86_400_000;
const SHIFT = Math.ceil((Date.parse('2027-03-17') - Date.parse('2012-08-01')) / WEEK) * WEEK;
const d = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + SHIFT).toISOString().slice(0, 10);
const sample = (n: number) => fs.readFileSync(path.join(FIXTURES, fs.readdirSync(FIXTURES).find((f) => f.startsWith(`ar_${String(n).padStart(2, '0')}_`))!), 'utf8')
  .replace(/(from|to)="(\d{4}-\d\d-\d\d)"/g, (_, k: string, v: string) => `${k}="${d(v)}"`)
  .replace(/<Authentication [^>]*\/>/, `<Authentication username="${ACCOUNT.username}" password="${ACCOUNT.password}"/>`)
  .replace(/<Hotel id="\d+"\/>/, `<Hotel id="${H1}"/>`);

describe('published requests and builder messages', () => {
  const cell = (room: string, rate: string, night: string) => sandbox.cells(H1).get(sandboxKey(room, rate, d(night)));
  const avail = (room: string, night: string) => sandbox.roomAvailability(H1).get(`${room}|${d(night)}`);
  // One telling check per sample (ar_19 is a request despite its title); 2012-08-03 was a Friday.
  const expectations: Record<number, () => void> = {
    0: () => expect(avail('558945', '2012-08-31')).toBe(10), // flexibleAllocation: no base allocation here
    1: () => expect([avail('558945', '2012-08-15'), avail('558945', '2012-08-16')]).toEqual([10, 20]),
    2: () => expect(avail('16818', '2012-09-26')).toBe(3),
    3: () => expect([avail('16818', '2012-09-27'), avail('16818', '2012-09-28')]).toEqual([2, 1]),
    4: () => expect([avail('43223', '2012-09-26'), avail('65223', '2012-09-26')]).toEqual([4, 2]),
    5: () => expect(cell('558025', '556895', '2012-08-31')).toEqual({ closed: false, rate: '60.00', currency: 'EUR' }), // PerOccupancy: first value
    6: () => expect([cell('558025', '556895', '2012-08-03')?.rate, cell('558025', '556895', '2012-08-02')]).toEqual(['60.00', undefined]),
    7: () => expect(cell('558945', '556887', '2012-08-01')).toEqual({ closed: false, minLos: 2, maxLos: 14 }),
    8: () => expect(cell('87655', '224454', '2012-12-31')).toEqual({ closedToDeparture: true }),
    9: () => expect([cell('558945', '556895', '2012-12-25'), cell('558945', '556895', '2012-12-26')]).toEqual([{ closedToArrival: true }, { closedToArrival: false }]),
    10: () => {
      expect(cell('9989', '556895', '2012-08-03')).toEqual({ availability: 10, closed: false, rate: '60.00', currency: 'EUR', minLos: 2, maxLos: 14, closedToArrival: false, closedToDeparture: true });
      expect(cell('9989', '556895', '2012-08-06')).toBeUndefined(); // a Monday: mon="false"
    },
    11: () => expect(cell('87655', '543334', '2012-08-04')).toEqual({ availability: 40, closed: false, rate: '59.00', currency: 'EUR', minLos: 2, maxLos: 7, closedToArrival: true, closedToDeparture: false }),
    12: () => expect([cell('32241', '52333', '2012-08-08')?.rate, cell('32241', '23123', '2012-08-02')?.rate]).toEqual(['61.00', '75.00']),
    13: () => expect(cell('558875', '556895', '2012-08-15')).toEqual({ closed: true }),
    14: () => expect(cell('558875', '556895', '2012-08-15')).toEqual({ closed: true }), // the room type closed: its rates show closed
    15: () => {
      expect(cell('558875', '556895', '2012-08-05')).toEqual({ closed: false, rate: '80.50', currency: 'EUR' });
      expect(cell('558875', '556895', '2012-08-15')).toEqual({ closed: false, minLos: 2, maxLos: 7, closedToArrival: false, closedToDeparture: false });
      expect(cell('558875', '644891', '2012-08-02')).toEqual({ availability: 10, closed: false });
    },
    16: () => expect(cell('32241', '23123', '2012-08-05')).toEqual({ rate: '100.00', currency: 'EUR', closedToArrival: false, closedToDeparture: true }),
    17: () => expect(cell('32241', '23123', '2012-08-01')?.rate).toBe('111.00'), // length-of-stay: the 1-night price
    19: () => expect([cell('32241', '52333', '2012-08-01')?.rate, cell('32241', '52333', '2012-08-15')?.rate]).toEqual(['0.00', '61.00']),
  };

  it('accepts every published AR request and shows what it said', async () => {
    for (const [n, check] of Object.entries(expectations)) {
      sandbox.reset();
      // ar_14 closes a room type: open one of its rates first so the closure has something to show on.
      if (n === '14') expect((await ar(sample(13).replace('closed="true"', 'closed="false"'))).kind).toBe('success');
      const rs = await ar(sample(Number(n)));
      expect(rs, `ar_${n}`).toEqual({ kind: 'success', warnings: [] });
      check();
    }
    expect(sandbox.overlaps).toEqual([]);
  });

  it('a builder message sets cells; room-level availability shows on every rate of the room', async () => {
    expect(await ar(message(), { type: 'application/xml' })).toEqual({ kind: 'success', warnings: [] });
    const cells = sandbox.cells(H1);
    expect(cells.get(sandboxKey('200101', '300101', '2027-03-12'))).toEqual({ availability: 4, rate: '129.50', currency: 'EUR', closed: false, minLos: 2, maxLos: 14, closedToArrival: true, closedToDeparture: false });
    expect(cells.get(sandboxKey('200101', '300101', '2027-03-15'))).toEqual({ availability: 0 }); // the later update wins
    expect(cells.get(sandboxKey('200101', '300102', '2027-03-15'))).toEqual({ availability: 0, closed: true });
    expect(cells.get(sandboxKey('200101', '300102', '2027-03-20'))).toEqual({ availability: 4 });
    expect(sandbox.roomAvailability(H1).size).toBe(11);
    expect(sandbox.stats).toMatchObject({ requests: 1, accepted: 1, rejected: 0, updates: 3 });
    const state = await control(`state?hotel=${H1}`);
    expect(state.body.cells[sandboxKey('200101', '300101', '2027-03-10')]).toMatchObject({ rate: '129.50', availability: 4 });
    expect(state.body.rooms['200101|2027-03-20']).toBe(4);
  });

  it('warns (7xxx) on a rate moving more than 50 %, and applies it all the same', async () => {
    const rate = (amount: string): ArUpdate[] => [{ from: '2027-03-10', to: '2027-03-11', roomTypeId: '200101', ratePlan: { id: '300101', rate: { amount, currency: 'EUR' } } }];
    expect(await ar(message(H1, rate('100.00')))).toEqual({ kind: 'success', warnings: [] });
    expect(await ar(message(H1, rate('150.00')))).toEqual({ kind: 'success', warnings: [] }); // exactly 50 %
    const rs = await ar(message(H1, rate('74.00')));
    expect(rs.kind === 'success' && rs.warnings.map((w) => [w.code, w.message.split(']')[0]])).toEqual([
      [7013, '[Room Type ID 200101; Rate Plan ID 300101; Stay Date 2027-03-10'], [7013, '[Room Type ID 200101; Rate Plan ID 300101; Stay Date 2027-03-11'],
    ]);
    expect(sandbox.cells(H1).get(sandboxKey('200101', '300101', '2027-03-11'))?.rate).toBe('74.00');
  });
});

describe('errors: nothing applied', () => {
  it('wrong credentials or a hotel not the account\'s → 1001', async () => {
    expect(codes(await ar(buildAvailRateUpdateRQ({ ...auth(), password: 'wrong-password' }, updates)))).toEqual([1001]);
    expect(codes(await ar(buildAvailRateUpdateRQ({ ...auth(), username: 'someoneelse' }, updates)))).toEqual([1001]);
    expect(codes(await ar(message('1111111')))).toEqual([1001]);
    untouched();
    untouched(sandbox, '1111111');
    expect(sandbox.stats).toMatchObject({ requests: 3, accepted: 0, rejected: 3 });
  });

  it('5,001 updates → 3107; more than 100 KB → 3405, and 102,400 bytes still pass', async () => {
    // 5,001 AvailRateUpdate elements: each update its own date range (the builder writes updates
    // of one range together).
    const many = Array.from({ length: 5_001 }, (_, i): ArUpdate => {
      const from = addDays('2027-03-10', Math.floor(i / 700));
      return { from, to: addDays(from, i % 700), roomTypeId: String(i + 1), availability: 1 };
    });
    expect(codes(await ar(message(H1, many)))).toContain(3107);
    expect(codes(await ar(message(H1, many.slice(0, 1_000))))).toEqual([3405]); // 1,000 is fine by count, not by size
    untouched();
    const small = message();
    const padded = (bytes: number) => small.replace('?>', `?><!--${'x'.repeat(bytes - Buffer.byteLength(small) - 7)}-->`);
    expect(Buffer.byteLength(padded(102_401))).toBe(102_401);
    expect(codes(await ar(padded(102_401)))).toEqual([3405]);
    untouched();
    expect((await ar(padded(102_400))).kind).toBe('success');
  });

  it('dates from yesterday to 2 years ahead; before → 3020, after → 3022', async () => {
    const on = (from: string, to = from): ArUpdate[] => [{ from, to, roomTypeId: '200101', availability: 2 }];
    expect(codes(await ar(message(H1, on('2027-03-08'))))).toEqual([3020]);
    expect(codes(await ar(message(H1, on('2029-03-10', '2029-03-11'))))).toEqual([3022]);
    untouched();
    expect((await ar(message(H1, on('2027-03-09')))).kind).toBe('success');
    expect((await ar(message(H1, on('2029-03-10')))).kind).toBe('success');
    expect(sandbox.roomAvailability(H1)).toEqual(new Map([['200101|2027-03-09', 2], ['200101|2029-03-10', 2]]));
  });

  it('one bad item spoils the whole message', async () => {
    const rs = await ar(message(H1, [...updates, { from: '2020-01-01', to: '2020-01-01', roomTypeId: '200101', availability: 1 }]));
    expect(codes(rs)).toEqual([3020]);
    untouched();
  });

  it('not XML → 2002; against the schema (a non-numeric id) → 3010', async () => {
    expect(codes(await ar('<AvailRateUpdateRQ><oops'))).toEqual([2002]);
    const rs = await ar(message().replace('id="200101"', 'id="DBL"'));
    expect(codes(rs)).toEqual([3010]);
    expect(rs.kind === 'error' && rs.errors[0]!.message).toMatch(/RoomType\[0\]\/@id/);
    untouched();
  });

  it('with a catalogue: unknown hotel 3202, room 3203, rate 3204', async () => {
    const to = 'expedia-catalogue';
    expect(codes(await ar(message(H2), { to }))).toEqual([3202]);
    const rs = await ar(message(H1, [...updates, { from: '2027-03-10', to: '2027-03-10', roomTypeId: '999', ratePlan: { id: '888', closed: true } }]), { to });
    expect(rs).toEqual({ kind: 'error', errors: [
      { code: 3203, message: 'The following RoomTypeIDs do not belong to the given hotel: 999.' },
      { code: 3204, message: 'The following RatePlanIDs do not belong to the given hotel: 888.' },
    ] });
    untouched(catalogue);
    expect((await ar(message(H1, updates.slice(0, 1)), { to })).kind).toBe('success');
    // Availability alone shows on every catalogue rate of the room.
    expect(catalogue.cells(H1).get(sandboxKey('200101', '300102', '2027-03-10'))).toEqual({ availability: 4 });
  });
});

describe('one connection per hotel', () => {
  const slow = async (slowMs: number) => expect((await control('faults', { rates: { slow: 1 }, slowMs })).status).toBe(200);

  it('a request overlapping another for the same hotel is recorded and gets 3210', async () => {
    await slow(1_000);
    const first = ar(message());
    await waitFor(() => sandbox.inFlight(H1) === 1, { what: 'the first request in flight' });
    const second = await ar(message(H1, [{ from: '2027-03-10', to: '2027-03-10', roomTypeId: '200101', availability: 9 }]));
    expect(codes(second)).toEqual([3210]);
    expect(sandbox.overlaps).toEqual([{ hotel: H1, at: expect.any(String) }]);
    expect(await first).toEqual({ kind: 'success', warnings: [] });
    expect(sandbox.roomAvailability(H1).get('200101|2027-03-10')).toBe(4); // the first's value, not the second's
    expect(sandbox.inFlight(H1)).toBe(0);
    expect((await control('stats')).body).toMatchObject({ overlaps: [{ hotel: H1 }], accepted: 1, rejected: 1 });
  });

  it('requests for two hotels in parallel do not overlap', async () => {
    await slow(800);
    const both = Promise.all([ar(message(H1)), ar(message(H2))]);
    await waitFor(() => sandbox.inFlight(H1) === 1 && sandbox.inFlight(H2) === 1, { what: 'both in flight at once' });
    expect((await both).map((r) => r.kind)).toEqual(['success', 'success']);
    expect(sandbox.overlaps).toEqual([]);
    expect(sandbox.cells(H2).size).toBeGreaterThan(0);
  });

  it('a client that gives up ends its slot; its update is not applied', async () => {
    await slow(60_000);
    const abort = new AbortController();
    const gaveUp = post(message(H1, [{ from: '2027-03-10', to: '2027-03-10', roomTypeId: '200101', availability: 9 }]), { signal: abort.signal });
    await waitFor(() => sandbox.inFlight(H1) === 1, { what: 'the request in flight' });
    abort.abort();
    await expect(gaveUp).rejects.toThrow(/abort/i);
    await waitFor(() => sandbox.inFlight(H1) === 0, { what: 'the slot released' });
    await control('faults', {});
    expect((await ar(message())).kind).toBe('success');
    expect(sandbox.overlaps).toEqual([]);
    expect(sandbox.roomAvailability(H1).get('200101|2027-03-10')).toBe(4);
  });
});

describe('faults', () => {
  it('each fault kind answers as planned and changes nothing', async () => {
    const cases = [
      { kind: 'http5xx', check: (r: Awaited<ReturnType<typeof post>>) => expect([r.status, r.headers.get('content-type')]).toEqual([503, 'text/html']) },
      { kind: 'tooMany', check: (r: Awaited<ReturnType<typeof post>>) => expect([r.status, r.headers.get('retry-after')]).toEqual([429, '7']) },
      { kind: 'timeout', check: (r: Awaited<ReturnType<typeof post>>) => expect(r.status).toBe(504) },
      { kind: 'malformed', check: async (r: Awaited<ReturnType<typeof post>>) => {
        expect(r.status).toBe(200);
        expect(schemaErrors(RS_XSD, r.text)).not.toBeNull();
        await expect(parseAvailRateUpdateRS(r.text)).rejects.toMatchObject({ code: 'ERR_OTA_INVALID_RESPONSE' });
      } },
      { kind: 'otaError', check: async (r: Awaited<ReturnType<typeof post>>) => {
        expect(schemaErrors(RS_XSD, r.text)).toBeNull();
        const rs = await parseAvailRateUpdateRS(r.text);
        expect(codes(rs).map(arErrorFamily)).toEqual(['retry']);
      } },
    ];
    for (const { kind, check } of cases) {
      expect((await control('faults', { rates: { [kind]: 1 }, retryAfterSeconds: 7, timeoutMs: 30 })).status).toBe(200);
      await check(await post(message()));
      untouched();
      expect(sandbox.faults.injected[kind as keyof typeof sandbox.faults.injected]).toBe(1);
    }
    await control('faults', { authFailure: true });
    expect(codes(await ar(message()))).toEqual([1001]);
    untouched();
    expect(sandbox.stats.accepted).toBe(0);
  });

  it('the control API refuses a bad plan, resets, and needs a hotel for state', async () => {
    const bad = await control('faults', { rates: { http5xx: 0.7, tooMany: 0.7 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/add up to at most 1/);
    expect((await control('state')).status).toBe(400);
    expect((await ar(message())).kind).toBe('success');
    expect((await control('reset', {})).status).toBe(204);
    untouched();
    expect((await control('stats')).body).toMatchObject({ requests: 0, accepted: 0, overlaps: [], inFlight: {} });
  });

  it('closing the server ends a held request at once (no hanging app.close)', async () => {
    const held = new ExpediaSandbox({ accounts: [ACCOUNT], now: () => NOW, faults: { rates: { timeout: 1 }, timeoutMs: 600_000 } });
    const other = Fastify();
    await other.register(held.plugin, { prefix: '/x' });
    const url = await other.listen({ port: 0, host: '127.0.0.1' });
    const pending = fetch(`${url}/x/eqc/ar`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: message() });
    await waitFor(() => held.inFlight(H1) === 1, { what: 'the held request' });
    await other.close();
    expect((await pending).status).toBe(504);
    expect(held.inFlight(H1)).toBe(0);
    untouched(held);
  }, 10_000);
});
