/**
 * Amounts, property-based (fast-check): for any amount and any `@DecimalPlaces` from 0 to 3, the
 * reservation parser reads back exactly the amount a sender wrote, in each OTA's own notation —
 * parse(render(x)) = x. The renderers here are the test's own, written from the publishers' rules,
 * not our builders: Booking.com writes integers before decimals with `@DecimalPlaces`
 * (developers.booking.com/connectivity/docs/api-reference/total: 13350 with DecimalPlaces="2" is
 * 133.50); Expedia writes decimals with a point and no DecimalPlaces (its samples, e.g. bn_00
 * `AmountBeforeTax="178.64"`, bn_11 KRW `84870`); OpenTravel 2015A allows both (CurrencyAmountGroup).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInboundXml, type Booking } from '../../inbound/index.ts';
import { parseReservation } from '../../connectors/opentravel/reservation.ts';

/** An amount as (minor units, decimal places), and its exact decimal text. */
const amount = fc
  .record({ minor: fc.bigInt({ min: 0n, max: 99_999_999_999n }), places: fc.integer({ min: 0, max: 3 }) })
  .filter(({ minor, places }) => minor / 10n ** BigInt(places) < 10_000_000_000n);
const decimalText = (minor: bigint, places: number) => {
  if (!places) return minor.toString();
  const s = minor.toString().padStart(places + 1, '0');
  return `${s.slice(0, -places)}.${s.slice(-places)}`;
};
/** Half up to the cent, in the test's own arithmetic (BigInt): what the PMS's numeric(14, 2) keeps. */
const centsText = (minor: bigint, places: number) => {
  if (places <= 2) return decimalText(minor, places);
  const c = (minor + 5n) / 10n;
  return decimalText(c, 2);
};
/** What the parser hands the PMS (cents) and what it keeps exactly (details.exact_amounts) for an amount with > 2 places. */
function readBack(b: Booking, pick: (x: { nights: Array<{ amount: string }>; total?: string | undefined }) => string | undefined, room = 0) {
  const exact = (b.details.exact_amounts as { rooms: Array<{ nights: Array<{ amount: string }>; total?: string }> } | undefined)?.rooms[room];
  return { stored: pick(b.rooms[room]!), exact: exact ? pick(exact) : pick(b.rooms[room]!) };
}

/** Two decimal strings are the same amount (trailing zeros aside). */
const same = (a: string, b: string) => {
  const norm = (x: string) => (x.includes('.') ? x.replace(/0+$/, '').replace(/\.$/, '') : x).replace(/^0+(?=\d)/, '');
  return norm(a) === norm(b);
};

async function booking(xml: string, channel: Booking['channel'], kind?: Booking['kind']): Promise<Booking> {
  const { node } = await parseInboundXml(xml);
  const list = (node.HotelReservations as Array<{ HotelReservation: unknown[] }>)[0]!.HotelReservation;
  return parseReservation(list[0] as never, { channel, kind, today: '2026-12-01' });
}

// Booking.com's reservation, reduced to the elements the amount rides in (api-reference pages).
const bookingCom = (
  night: string,
  places: number,
) => `<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="2.001"><HotelReservations><HotelReservation>
<RoomStays><RoomStay IndexNumber="1"><RoomTypes><RoomType RoomTypeCode="1"/></RoomTypes>
<RoomRates><RoomRate EffectiveDate="2027-01-10" RatePlanCode="2"><Rates><Rate><Total AmountAfterTax="${night}" CurrencyCode="EUR" DecimalPlaces="${places}"/></Rate></Rates></RoomRate></RoomRates>
<GuestCounts><GuestCount Count="1"/></GuestCounts><Total AmountAfterTax="${night}" CurrencyCode="EUR" DecimalPlaces="${places}"/><BasicPropertyInfo HotelCode="3"/></RoomStay></RoomStays>
<ResGuests/><ResGlobalInfo><Total AmountAfterTax="${night}" CurrencyCode="EUR" DecimalPlaces="${places}"/><HotelReservationIDs><HotelReservationID ResID_Value="4" ResID_Date="2026-11-01T10:00:00"/></HotelReservationIDs>
<Profiles><ProfileInfo><Profile><Customer><PersonName><Surname>X</Surname></PersonName></Customer></Profile></ProfileInfo></Profiles></ResGlobalInfo></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`;

// Expedia's Booking Notification body, reduced likewise (sample bn_00's elements).
const expedia = (
  base: string,
) => `<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" TimeStamp="2026-11-01T10:00:00-07:00"><HotelReservations><HotelReservation RoomStayReservation="true" CreateDateTime="2026-11-01T10:00:00-07:00" CreatorID="Expedia">
<UniqueID Type="14" ID="5"/><RoomStays><RoomStay><RoomTypes><RoomType RoomTypeCode="1"/></RoomTypes><RatePlans><RatePlan RatePlanCode="2"/></RatePlans>
<RoomRates><RoomRate EffectiveDate="2027-01-10" ExpireDate="2027-01-11" NumberOfUnits="1" RatePlanCode="2"><Rates><Rate EffectiveDate="2027-01-10" ExpireDate="2027-01-11" RateTimeUnit="Day" UnitMultiplier="1">
<Base AmountBeforeTax="${base}" CurrencyCode="EUR"/></Rate></Rates></RoomRate></RoomRates>
<GuestCounts IsPerRoom="true"><GuestCount AgeQualifyingCode="10" Count="1"/></GuestCounts><TimeSpan Start="2027-01-10" End="2027-01-11"/>
<Total AmountAfterTax="${base}" CurrencyCode="EUR"/><BasicPropertyInfo HotelCode="3"/></RoomStay></RoomStays>
<ResGuests><ResGuest ResGuestRPH="1"><Profiles><ProfileInfo><Profile><Customer><PersonName><Surname>X</Surname></PersonName></Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>
<ResGlobalInfo><HotelReservationIDs><HotelReservationID ResID_Type="8" ResID_Value="5"/></HotelReservationIDs></ResGlobalInfo></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`;

describe('amounts, parse(render(x)) = x', () => {
  it('Booking.com: integer minor units with DecimalPlaces 0–3, in Rate/Total, RoomStay/Total and ResGlobalInfo/Total', async () => {
    await fc.assert(
      fc.asyncProperty(amount, async ({ minor, places }) => {
        const b = await booking(bookingCom(minor.toString(), places), 'booking_com', 'new');
        const want = decimalText(minor, places);
        const night = readBack(b, (r) => r.nights[0]!.amount);
        expect(same(night.exact!, want), `${minor} / 10^${places}: read ${night.exact}`).toBe(true);
        expect(same(night.stored!, centsText(minor, places)), `${minor} / 10^${places}: stored ${night.stored}`).toBe(true);
        expect(same(readBack(b, (r) => r.total).exact!, want)).toBe(true);
        expect(same(b.total!, centsText(minor, places))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('Expedia: decimals as written (0–3 places), no DecimalPlaces', async () => {
    await fc.assert(
      fc.asyncProperty(amount, async ({ minor, places }) => {
        const want = decimalText(minor, places);
        const b = await booking(expedia(want), 'expedia', 'new');
        const night = readBack(b, (r) => r.nights[0]!.amount);
        expect(same(night.exact!, want), `${want}: read ${night.exact}`).toBe(true);
        expect(same(night.stored!, centsText(minor, places)), `${want}: stored ${night.stored}`).toBe(true);
        expect(same(readBack(b, (r) => r.total).exact!, want)).toBe(true); // Expedia's Total is the RoomStay's (one room per message)
      }),
      { numRuns: 300 },
    );
  });

  it('three decimals: nights rounded half up with the rounding carried, so they add up to the rounded sum of the exact nights', async () => {
    // 13.355 + 13.355 + 13.355 = 40.065: stored 13.36 + 13.35 + 13.36 = 40.07, the exact ones kept.
    const xml = bookingCom('13355', 3).replace(/<RoomRate [\s\S]*<\/RoomRate>/, (rr) =>
      [10, 11, 12].map((d) => rr.replace('2027-01-10', `2027-01-${d}`)).join(''),
    );
    const b = await booking(xml, 'booking_com', 'new');
    expect(b.rooms[0]!.nights.map((n) => n.amount)).toEqual(['13.36', '13.35', '13.36']);
    expect(readBack(b, (r) => r.nights.map((n) => n.amount).join(' ')).exact).toBe('13.355 13.355 13.355');
  });

  it('the edges: zero, one minor unit, the largest amount, every places count', async () => {
    for (const places of [0, 1, 2, 3]) {
      for (const minor of [0n, 1n, 10n ** BigInt(places), 9_999_999_999n * 10n ** BigInt(places)]) {
        const b = await booking(bookingCom(minor.toString(), places), 'booking_com', 'new');
        expect(same(readBack(b, (r) => r.nights[0]!.amount).exact!, decimalText(minor, places))).toBe(true);
      }
    }
  });
});
