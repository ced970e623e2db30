/** Outbound Expedia AR: nights compressed into ranges, the message valid against Expedia's schema (xmllint). */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { parseStringPromise } from 'xml2js';
import { compressNights } from '../../connectors/outbound/ranges.ts';
import { buildAvailRateUpdateRQ, type ArUpdate } from '../../connectors/expedia/ar-message.ts';
import { schemaErrors as validate } from '../helpers/xml.ts';

const XSD = path.resolve(import.meta.dirname, '../../connectors/expedia/xsd/AvailRateUpdateRQ.xsd');
const schemaErrors = (xml: string) => validate(XSD, xml);

const day = (n: number) => new Date(Date.UTC(2027, 2, 1 + n)).toISOString().slice(0, 10);
const auth = { username: 'stayosdemo', password: 'demo-pass-expedia', hotelId: '7654321' };

describe('compressNights', () => {
  it('joins consecutive nights of equal values per series, and nothing else', () => {
    const cells = [
      ...[0, 1, 2].map((n) => ({ series: 'A', night: day(n), value: { a: 3 } })),
      { series: 'A', night: day(3), value: { a: 2 } }, // value changes
      { series: 'A', night: day(5), value: { a: 2 } }, // gap
      ...[0, 1].map((n) => ({ series: 'B', night: day(n), value: { a: 3 } })),
    ].reverse();
    expect(compressNights(cells)).toEqual([
      { series: 'A', from: day(0), to: day(2), value: { a: 3 } },
      { series: 'A', from: day(3), to: day(3), value: { a: 2 } },
      { series: 'A', from: day(5), to: day(5), value: { a: 2 } },
      { series: 'B', from: day(0), to: day(1), value: { a: 3 } },
    ]);
    expect(() =>
      compressNights([
        { series: 'A', night: day(0), value: 1 },
        { series: 'A', night: day(0), value: 1 },
      ]),
    ).toThrow(/twice/);
  });
});

describe('AvailRateUpdateRQ', () => {
  const updates: ArUpdate[] = [
    { from: day(0), to: day(9), roomTypeId: '200101', availability: 4 },
    {
      from: day(0),
      to: day(3),
      roomTypeId: '200101',
      ratePlan: {
        id: '300101',
        closed: false,
        rate: { amount: '129.50', currency: 'EUR' },
        restrictions: { minLos: 2, maxLos: 14, closedToArrival: true, closedToDeparture: false },
      },
    },
    { from: day(4), to: day(4), roomTypeId: '200102', availability: 0, ratePlan: { id: '300102', closed: true } },
  ];

  it("validates against Expedia's schema and carries every value given", async () => {
    const xml = buildAvailRateUpdateRQ(auth, updates);
    expect(schemaErrors(xml)).toBeNull();
    const doc = await parseStringPromise(xml);
    const msgs = doc.AvailRateUpdateRQ.AvailRateUpdate;
    expect(doc.AvailRateUpdateRQ.Hotel[0].$.id).toBe('7654321');
    expect(msgs).toHaveLength(3);
    expect(msgs[0].RoomType[0].Inventory[0].$.totalInventoryAvailable).toBe('4');
    expect(msgs[1].RoomType[0].RatePlan[0].Rate[0].PerDay[0].$.rate).toBe('129.50');
    expect(msgs[1].RoomType[0].RatePlan[0].Restrictions[0].$).toEqual({ minLOS: '2', maxLOS: '14', closedToArrival: 'true', closedToDeparture: 'false' });
    expect(msgs[2].DateRange[0].$).toEqual({ from: day(4), to: day(4) });
    expect(msgs[2].RoomType[0].RatePlan[0].$).toEqual({ id: '300102', closed: 'true' });
  });

  it('the schema check catches what Expedia would refuse (a non-numeric hotel id, a short password)', () => {
    expect(schemaErrors(buildAvailRateUpdateRQ({ ...auth, hotelId: 'DEMO' }, updates))).toMatch(/id/);
    expect(schemaErrors(buildAvailRateUpdateRQ({ ...auth, password: 'x' }, updates))).toMatch(/password/);
  });

  it('escapes what it is given', async () => {
    const xml = buildAvailRateUpdateRQ({ ...auth, password: 'p<&>"ss' }, updates);
    expect((await parseStringPromise(xml)).AvailRateUpdateRQ.Authentication[0].$.password).toBe('p<&>"ss');
  });
});
