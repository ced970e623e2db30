/** Outbound Booking.com ARI: builders valid against the vendored OpenTravel 2015A schemas (xmllint), and the response parser. */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { parseStringPromise } from 'xml2js';
import {
  availStatusMessageCount,
  BOOKING_MAX_MESSAGES,
  buildAvailNotifRQ,
  buildRateAmountNotifRQ,
  OTA_NAMESPACE,
  type BookingAvailUpdate,
  type BookingRateUpdate,
} from '../../connectors/booking-com/messages.ts';
import { parseBookingResponse, parseTokenResponse } from '../../connectors/booking-com/parser.ts';
import { StayosError } from '../../core/errors.ts';
import { schemaErrors } from '../helpers/xml.ts';

// The vendored copies only: CI clones this repository without ../shared.
const XSD_DIR = path.resolve(import.meta.dirname, '../../connectors/booking-com/xsd');
const xsd = (root: string) => path.join(XSD_DIR, `${root}.xsd`);
const availErrors = (xml: string) => schemaErrors(xsd('OTA_HotelAvailNotifRQ'), xml);
const rateErrors = (xml: string) => schemaErrors(xsd('OTA_HotelRateAmountNotifRQ'), xml);

const day = (n: number) => new Date(Date.UTC(2027, 2, 1 + n)).toISOString().slice(0, 10);
const opts = { timeStamp: '2027-03-01T10:00:00Z' };
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const messagesOf = async (xml: string) =>
  (await parseStringPromise(xml)).OTA_HotelAvailNotifRQ.AvailStatusMessages[0].AvailStatusMessage as Array<Record<string, any>>;

// A missing include would only show as "failed to load schema" in CI, far from the cause.
describe('vendored schemas', () => {
  it('are a closed set: every include resolves inside connectors/booking-com/xsd', () => {
    const files = fs.readdirSync(XSD_DIR).filter((f) => f.endsWith('.xsd'));
    for (const root of ['OTA_HotelAvailNotifRQ', 'OTA_HotelAvailNotifRS', 'OTA_HotelRateAmountNotifRQ', 'OTA_HotelRateAmountNotifRS'])
      expect(files).toContain(`${root}.xsd`);
    for (const f of files) {
      for (const [, loc] of fs.readFileSync(path.join(XSD_DIR, f), 'utf8').matchAll(/schemaLocation="([^"]+)"/g))
        expect(files, `${f} includes ${loc}`).toContain(loc);
    }
  });
});

describe('OTA_HotelAvailNotifRQ', () => {
  it('availability only: room-level BookingLimit without RatePlanCode, one message per update', async () => {
    const updates: BookingAvailUpdate[] = [
      { roomCode: 'DBL', from: day(0), to: day(9), bookingLimit: 4 },
      { roomCode: 'SGL', rateCode: 'BAR', from: day(3), to: day(3), bookingLimit: 0 }, // rateCode ignored for availability
      { roomCode: 'DBL', from: day(10), to: day(40), bookingLimit: 254 },
    ];
    const xml = buildAvailNotifRQ('1234567', updates, opts);
    expect(availErrors(xml)).toBeNull();
    const doc = await parseStringPromise(xml);
    const rq = doc.OTA_HotelAvailNotifRQ;
    // The root of Booking.com's example, "fixed and mandatory, except: timestamp … target"
    // (developers.booking.com/connectivity/docs/ota-hotelavailnotif): Version="1.005", Target.
    expect(rq.$).toEqual({
      xmlns: OTA_NAMESPACE,
      'xmlns:xsi': XSI,
      'xsi:schemaLocation': `${OTA_NAMESPACE} OTA_HotelAvailNotifRQ.xsd`,
      TimeStamp: '2027-03-01T10:00:00Z',
      Target: 'Production',
      Version: '1.005',
    });
    expect(rq.AvailStatusMessages).toHaveLength(1);
    expect(rq.AvailStatusMessages[0].$).toBeUndefined(); // no HotelCode, as in the example: the rooms name the hotel
    const msgs = await messagesOf(xml);
    // LocatorID is the update's 1-based index: what an Error's RecordID points at.
    expect(msgs.map((m) => [m.$.LocatorID, m.$.BookingLimit])).toEqual([
      ['1', '4'],
      ['2', '0'],
      ['3', '254'],
    ]);
    expect(msgs[1]!.StatusApplicationControl[0].$).toEqual({ Start: day(3), End: day(3), InvTypeCode: 'SGL' });
    expect(msgs.every((m) => !m.LengthsOfStay && !m.RestrictionStatus)).toBe(true);
  });

  it('restrictions with every flag: one RestrictionStatus per message (the schema allows one), all sharing the LocatorID', async () => {
    const u: BookingAvailUpdate = {
      roomCode: 'DBL',
      rateCode: 'BAR',
      from: day(0),
      to: day(6),
      minLos: 2,
      maxLos: 7,
      closed: false,
      closedToArrival: true,
      closedToDeparture: false,
    };
    const xml = buildAvailNotifRQ('1234567', [u], opts);
    expect(availErrors(xml)).toBeNull();
    const msgs = await messagesOf(xml);
    expect(msgs).toHaveLength(3);
    expect(availStatusMessageCount(u)).toBe(3);
    expect(msgs.map((m) => m.$.LocatorID)).toEqual(['1', '1', '1']);
    expect(msgs.map((m) => m.StatusApplicationControl[0].$.RatePlanCode)).toEqual(['BAR', 'BAR', 'BAR']);
    // Arrival-based min/max stay: OpenTravel's SetForward pair (our inference: Booking.com's page
    // names only SetMinLOS/SetMaxLOS, glossed "Minimum/Maximum Stay Through").
    expect(msgs[0]!.LengthsOfStay[0].LengthOfStay.map((l: any) => l.$)).toEqual([
      { MinMaxMessageType: 'SetForwardMinStay', Time: '2' },
      { MinMaxMessageType: 'SetForwardMaxStay', Time: '7' },
    ]);
    expect(msgs.map((m) => m.RestrictionStatus[0].$)).toEqual([
      { Status: 'Open' }, // the room-rate itself, as Booking.com's example writes it
      { Status: 'Close', Restriction: 'Arrival' },
      { Status: 'Open', Restriction: 'Departure' },
    ]);
    expect(msgs.slice(1).every((m) => !m.LengthsOfStay && m.$.BookingLimit === undefined)).toBe(true);
  });

  it('closed, maxLos null as Time="0", and availability with restrictions in one update', async () => {
    const updates: BookingAvailUpdate[] = [
      { roomCode: 'DBL', rateCode: 'NRF', from: day(0), to: day(0), closed: true },
      { roomCode: 'DBL', rateCode: 'BAR', from: day(1), to: day(2), maxLos: null },
      { roomCode: 'SUI', rateCode: 'BAR', from: day(1), to: day(30), bookingLimit: 1, minLos: 1, closedToDeparture: true },
    ];
    const xml = buildAvailNotifRQ('1234567', updates, opts);
    expect(availErrors(xml)).toBeNull();
    const msgs = await messagesOf(xml);
    // Update 3 splits into a room-level limit and a rate-level restriction, both LocatorID 3.
    expect(msgs.map((m) => m.$.LocatorID)).toEqual(['1', '2', '3', '3']);
    expect(msgs[0]!.RestrictionStatus[0].$).toEqual({ Status: 'Close' });
    expect(msgs[1]!.LengthsOfStay[0].LengthOfStay[0].$).toEqual({ MinMaxMessageType: 'SetForwardMaxStay', Time: '0' });
    expect(msgs[2]!.$.BookingLimit).toBe('1');
    expect(msgs[2]!.StatusApplicationControl[0].$.RatePlanCode).toBeUndefined(); // room-level
    expect(msgs[3]!.StatusApplicationControl[0].$).toEqual({ Start: day(1), End: day(30), RatePlanCode: 'BAR', InvTypeCode: 'SUI' });
    expect(msgs[3]!.RestrictionStatus[0].$).toEqual({ Status: 'Close', Restriction: 'Departure' });
  });

  it('refuses what Booking.com would refuse, before sending', () => {
    const base = { roomCode: 'DBL', from: day(0), to: day(1) };
    expect(() => buildAvailNotifRQ('1234567', [])).toThrow(/at least one update/);
    for (const bookingLimit of [-1, 255, 1.5, Number.NaN]) expect(() => buildAvailNotifRQ('1234567', [{ ...base, bookingLimit }])).toThrow(/bookingLimit/);
    expect(() => buildAvailNotifRQ('1234567', [{ ...base, closed: true }])).toThrow(/rateCode/);
    expect(() => buildAvailNotifRQ('1234567', [base])).toThrow(/nothing/);
    expect(() => buildAvailNotifRQ('1234567', [{ ...base, from: day(2), bookingLimit: 1 }])).toThrow(/before it starts/);
    // The per-request cap counts messages, not updates; exactly the cap is fine.
    const many = Array.from({ length: BOOKING_MAX_MESSAGES + 1 }, () => ({ ...base, bookingLimit: 1 }));
    expect(() => buildAvailNotifRQ('1234567', many)).toThrow(/at most 1000/);
    expect(() => buildAvailNotifRQ('1234567', many.slice(1))).not.toThrow();
  });

  // Proves the xmllint check is live: InvTypeCode is StringLength1to16.
  it('the schema check can fail (a room code over 16 characters)', () => {
    expect(availErrors(buildAvailNotifRQ('1234567', [{ roomCode: '12345678901234567', from: day(0), to: day(0), bookingLimit: 1 }]))).toMatch(/InvTypeCode/);
  });
});

describe('OTA_HotelRateAmountNotifRQ', () => {
  const updates: BookingRateUpdate[] = [
    { roomCode: 'DBL', rateCode: 'BAR', from: day(0), to: day(13), amount: '129.00', currency: 'EUR' },
    { roomCode: 'DBL', rateCode: 'NRF', from: day(0), to: day(0), amount: '99.5', currency: 'EUR' },
    { roomCode: 'SUI', rateCode: 'BAR', from: day(14), to: day(20), amount: '1250.125', currency: 'CHF' },
  ];

  it('validates and carries StatusApplicationControl before Rates/Rate/BaseByGuestAmts/BaseByGuestAmt', async () => {
    const xml = buildRateAmountNotifRQ('1234567', updates, opts);
    expect(rateErrors(xml)).toBeNull();
    const rq = (await parseStringPromise(xml)).OTA_HotelRateAmountNotifRQ;
    // Booking.com's rate example: Target="Production" Version="3.000" (ota-rateamountnotif).
    expect(rq.$).toMatchObject({ Target: 'Production', Version: '3.000' });
    expect(rq.RateAmountMessages[0].$.HotelCode).toBe('1234567');
    const msgs = rq.RateAmountMessages[0].RateAmountMessage;
    expect(msgs.map((m: any) => m.$.LocatorID)).toEqual(['1', '2', '3']);
    expect(msgs[0].StatusApplicationControl[0].$).toEqual({ Start: day(0), End: day(13), RatePlanCode: 'BAR', InvTypeCode: 'DBL' });
    expect(msgs[2].Rates[0].Rate[0].BaseByGuestAmts[0].BaseByGuestAmt[0].$).toEqual({ AmountAfterTax: '1250.125', CurrencyCode: 'CHF' });
  });

  it('refuses bad amounts, currencies and empty lists', () => {
    expect(() => buildRateAmountNotifRQ('1234567', [])).toThrow(/at least one update/);
    // OTA Money allows 3 fraction digits at most; Booking.com would refuse the whole message.
    expect(() => buildRateAmountNotifRQ('1234567', [{ ...updates[0]!, amount: '12.3456' }])).toThrow(/amount/);
    expect(() => buildRateAmountNotifRQ('1234567', [{ ...updates[0]!, amount: '-1' }])).toThrow(/amount/);
    expect(() => buildRateAmountNotifRQ('1234567', [{ ...updates[0]!, currency: 'eur' }])).toThrow(/currency/);
  });

  it('stamps the current time when none is given ("timestamp: Should contain the current time and date")', async () => {
    const before = Date.now() - 1000;
    const rq = (await parseStringPromise(buildRateAmountNotifRQ('1234567', updates))).OTA_HotelRateAmountNotifRQ;
    expect(Date.parse(rq.$.TimeStamp)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(rq.$.TimeStamp)).toBeLessThanOrEqual(Date.now());
  });
});

describe('parseBookingResponse', () => {
  const rs = (inner: string, root = 'OTA_HotelAvailNotifRS') =>
    `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns="${OTA_NAMESPACE}" EchoToken="e" TimeStamp="2027-03-01T10:00:00Z" Version="1.0">${inner}</${root}>`;
  const rsErrors = (xml: string, root = 'OTA_HotelAvailNotifRS') => schemaErrors(xsd(root), xml);
  const invalid = async (xml: string, pattern: RegExp) => {
    const err = await parseBookingResponse(xml).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StayosError);
    expect((err as StayosError).code).toBe('ERR_OTA_INVALID_RESPONSE');
    expect((err as StayosError).details).toEqual({ ota: 'booking_com' });
    expect((err as StayosError).message).toMatch(pattern);
  };

  it('success, with and without warnings (RPH points at the update)', async () => {
    const plain = rs('<Success/>', 'OTA_HotelRateAmountNotifRS');
    expect(rsErrors(plain, 'OTA_HotelRateAmountNotifRS')).toBeNull();
    expect(await parseBookingResponse(plain)).toEqual({ kind: 'success', warnings: [] });
    const warned = rs(
      '<Success/><Warnings><Warning Type="3" Code="15" ShortText="NOT_A_VALID_DATE" Status="NotProcessed" RPH="2">Start is in the past</Warning><Warning Type="3" Code="402" RPH="5"/></Warnings>',
    );
    expect(rsErrors(warned)).toBeNull();
    expect(await parseBookingResponse(warned)).toEqual({
      kind: 'success',
      warnings: [
        { code: '15', type: '3', shortText: 'NOT_A_VALID_DATE', status: 'NotProcessed', rph: 2, text: 'Start is in the past' },
        { code: '402', type: '3', rph: 5 },
      ],
    });
  });

  it('errors (the index in RecordID, as the 2015A ErrorType has no RPH), with a namespace prefix', async () => {
    const xml = rs('<Errors><Error Type="12" Code="450" ShortText="INTERNAL_ERROR" RecordID="3">try later</Error><Error Type="4" Code="497"/></Errors>');
    expect(rsErrors(xml)).toBeNull();
    expect(await parseBookingResponse(xml)).toEqual({
      kind: 'errors',
      errors: [
        { code: '450', type: '12', shortText: 'INTERNAL_ERROR', rph: 3, text: 'try later' },
        { code: '497', type: '4' },
      ],
    });
    // Namespace prefixes are dropped before zod sees the document.
    const prefixed = `<ota:OTA_HotelAvailNotifRS xmlns:ota="${OTA_NAMESPACE}" Version="1.0"><ota:Errors><ota:Error Type="3" Code="15"/></ota:Errors></ota:OTA_HotelAvailNotifRS>`;
    expect((await parseBookingResponse(prefixed)).kind).toBe('errors');
  });

  it('anything else is ERR_OTA_INVALID_RESPONSE naming the problem', async () => {
    // What a proxy or a failing OTA sends instead of the protocol.
    await invalid('<html>oops', /not well-formed XML/);
    await invalid('Service Unavailable', /not well-formed XML/);
    await invalid('', /empty/);
    await invalid(rs('<Success/><Errors><Error Type="3"/></Errors>'), /both <Success> and <Errors>/);
    await invalid(rs(''), /neither <Success> nor <Errors>/);
    await invalid(rs('<Warnings><Warning Type="3"/></Warnings><Errors><Error Type="3"/></Errors>'), /<Warnings> without <Success>/);
    await invalid(rs('<Success/><Warnings><Warning Type="3" RPH="two"/></Warnings>'), /RPH/);
    await invalid(rs('<Success/>', 'OTA_HotelResNotifRS'), /unexpected root element <OTA_HotelResNotifRS>/);
  });
});

describe('parseTokenResponse', () => {
  it('takes {jwt, ruid} and refuses anything without a jwt', () => {
    expect(parseTokenResponse({ jwt: 'a.b.c', ruid: 'r-1', extra: true })).toEqual({ jwt: 'a.b.c', ruid: 'r-1' });
    expect(parseTokenResponse({ jwt: 'a.b.c' })).toEqual({ jwt: 'a.b.c' });
    for (const bad of [null, 'a.b.c', {}, { jwt: '' }, { jwt: 1 }]) {
      expect(() => parseTokenResponse(bad)).toThrow(expect.objectContaining({ code: 'ERR_OTA_INVALID_RESPONSE', message: expect.stringMatching(/jwt/) }));
    }
  });
});
