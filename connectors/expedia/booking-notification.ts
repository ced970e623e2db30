/**
 * Expedia Booking Notification (push, SOAP 1.1): the envelope Expedia POSTs to our webhook and
 * every answer it accepts, validated by the tests against Expedia's schemas (vendored in ./xsd).
 *  - In: header `Interface Name="ExpediaDirectConnect"` with `PayloadInfo` (RequestId, RequestorId,
 *    ResponderId), `CommDescriptor/Authentication Username Password`, `RetryIndicator`,
 *    `PayloadDescriptor/PayloadReference SupplierHotelCode`; body `OTA_HotelResNotifRQ` (new),
 *    `OTA_HotelResModifyNotifRQ` (modify) or `OTA_CancelRQ` (cancel), one reservation each.
 *  - Out, HTTP 200: the matching RS with `Success` and our confirmation number as
 *    `HotelReservationID ResID_Type="3"` beside Expedia's `ResID_Type="8"` (cancel: `UniqueID
 *    Type="10"` and a `CancelInfoRS` cancellation number), or `Errors` with a code of Expedia's
 *    fixed list in `ShortText` (final: Expedia e-mails the booking to the hotel).
 *  - Out, a SOAP Fault (a Nack; Expedia resends until the message expires), always with HTTP 500
 *    ("HTTP/1.1 500 Internal Server Error", BN reference "Response Headers - Temporary System
 *    Failure"): when we cannot take it now, cannot read the envelope, or do not accept the
 *    credentials (`Client.2001` "Invalid header": Expedia documents no code of its own for that).
 * The answer is a pure function of the request and the booking's stored state, so a resend gets
 * the very same answer.
 */
import { buildXml, OTA_NAMESPACE as OTA_NS } from '../../core/xml.ts';
import { type IngestResult, type Booking, InboundRefusal, refuse, at, attr, kid, kids, type XmlNode } from '../../inbound/index.ts';
import { parseCancel, parseReservation } from '../opentravel/reservation.ts';

export const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
export const EXPEDIA_HEADER_NS = 'http://www.newtrade.com/expedia/R14/header';
/** Who we are in Expedia's header (`ResponderId` echoes what Expedia calls us; this is our name as a source). */
const OUR_SOURCE = 'StayOS';

export const BN_MESSAGES = {
  OTA_HotelResNotifRQ: { kind: 'new', rs: 'OTA_HotelResNotifRS' },
  OTA_HotelResModifyNotifRQ: { kind: 'modify', rs: 'OTA_HotelResModifyNotifRS' },
  OTA_CancelRQ: { kind: 'cancel', rs: 'OTA_CancelRS' },
} as const;
export type BnRoot = keyof typeof BN_MESSAGES;

export interface BnEnvelope {
  requestId: string;
  requestorId: string;
  responderId: string;
  username: string | undefined;
  password: string | undefined;
  retry: boolean;
  hotelCode: string | undefined;
  root: BnRoot;
  body: XmlNode;
  echoToken: string | undefined;
  timeStamp: string | undefined;
}

/** What the answers need of the request; known as soon as the header is read. */
export type BnReplyTo = Pick<BnEnvelope, 'requestId' | 'requestorId' | 'responderId' | 'hotelCode' | 'echoToken'> & { root: BnRoot | undefined };

/** The parsed envelope → its header facts and body; a missing header or body is refused. */
export function readEnvelope(root: string, node: XmlNode): BnEnvelope {
  if (root !== 'Envelope') refuse('missing_header', `expected a SOAP <Envelope>, got <${root.slice(0, 64)}>`);
  const info = at(node, 'Header', 'Interface', 'PayloadInfo');
  const requestId = attr(info, 'RequestId');
  if (!info || !requestId) refuse('missing_header', 'the SOAP header has no Interface/PayloadInfo with a RequestId');
  const comm = kid(info, 'CommDescriptor');
  const auth = kid(comm, 'Authentication');
  const body = kid(node, 'Body');
  const bodyRoot = body ? Object.keys(body).find((k) => k !== '$') : undefined;
  const replyTo = { requestId: requestId!, requestorId: attr(info, 'RequestorId') ?? 'Expedia.com', responderId: attr(info, 'ResponderId') ?? OUR_SOURCE };
  if (!bodyRoot || !(bodyRoot in BN_MESSAGES)) {
    throw new InboundRefusal(
      'wrong_root',
      `the SOAP body must hold OTA_HotelResNotifRQ, OTA_HotelResModifyNotifRQ or OTA_CancelRQ, not ${bodyRoot ? `<${bodyRoot.slice(0, 64)}>` : 'nothing'}`,
      { details: { replyTo: { ...replyTo, root: undefined, hotelCode: undefined, echoToken: undefined } } },
    );
  }
  const rq = kid(body, bodyRoot!)!;
  return {
    ...replyTo,
    username: attr(auth, 'Username'),
    password: auth?.$?.Password, // not trimmed: a password is compared exactly
    retry: attr(comm, 'RetryIndicator') === 'true',
    hotelCode: attr(at(info, 'PayloadDescriptor', 'PayloadReference'), 'SupplierHotelCode'),
    root: bodyRoot as BnRoot,
    body: rq,
    echoToken: attr(rq, 'EchoToken')?.slice(0, 20), // the answers' schemas allow 0–20 characters
    timeStamp: attr(rq, 'TimeStamp'),
  };
}

/** The one booking an envelope carries (Expedia sends one reservation per notification). */
export function bookingOfEnvelope(env: BnEnvelope, connection: { hotelCode: string; today: string }): Booking {
  const ctx = {
    channel: 'expedia' as const,
    kind: BN_MESSAGES[env.root].kind,
    timeStamp: env.timeStamp,
    hotelCode: connection.hotelCode,
    today: connection.today,
    root: env.body,
  };
  if (env.root === 'OTA_CancelRQ') return parseCancel(env.body, ctx);
  const list =
    env.root === 'OTA_HotelResNotifRQ'
      ? kids(kid(env.body, 'HotelReservations'), 'HotelReservation')
      : kids(kid(env.body, 'HotelResModifies'), 'HotelResModify');
  if (list.length !== 1) throw new InboundRefusal('missing_field', `${env.root} must carry exactly one reservation (it has ${list.length})`);
  return parseReservation(list[0]!, ctx);
}

function header(to: Pick<BnReplyTo, 'requestId' | 'requestorId' | 'responderId' | 'hotelCode'>, rs: string) {
  return {
    Interface: {
      $: { xmlns: EXPEDIA_HEADER_NS, Name: 'ExpediaDirectConnect', Version: '4.0' },
      PayloadInfo: {
        $: { RequestId: to.requestId, RequestorId: to.requestorId, ResponderId: to.responderId, Location: 'Body' },
        CommDescriptor: { $: { SourceId: to.responderId, DestinationId: 'ExpediaDC', RetryIndicator: 'false' } },
        PayloadDescriptor: { $: { Name: rs, Version: '2003A' }, ...(to.hotelCode ? { PayloadReference: { $: { SupplierHotelCode: to.hotelCode } } } : {}) },
      },
    },
  };
}

function envelope(head: unknown, body: Record<string, unknown>): string {
  return buildXml({ 'soap-env:Envelope': { $: { 'xmlns:soap-env': SOAP_ENV }, 'soap-env:Header': head ?? '', 'soap-env:Body': body } });
}

const stamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, '+00:00');

/** The success RS for a result (created, modified, cancelled, duplicate or stale alike). */
export function bnSuccess(to: BnReplyTo & { root: BnRoot }, r: IngestResult, at: Date): string {
  const rs = BN_MESSAGES[to.root].rs;
  const base = {
    xmlns: OTA_NS,
    ...(to.echoToken ? { EchoToken: to.echoToken } : {}),
    TimeStamp: stamp(at),
    Target: 'Production',
    Version: '2.000',
    PrimaryLangID: 'en-us',
  };
  const ours = r.confirmationNumber ?? `X${r.externalId}`.slice(0, 50);
  if (to.root === 'OTA_CancelRQ') {
    // A cancellation that came before its booking was answered without our number; its resends too.
    const cancelled = r.cancelledFirst ? `X${r.externalId}`.slice(0, 50) : ours;
    return envelope(header(to, rs), {
      [rs]: {
        $: { ...base, Status: 'Cancelled' },
        Success: '',
        UniqueID: [
          { $: { Type: '14', ID: r.externalId }, CompanyName: 'Expedia' },
          { $: { Type: '10', ID: cancelled }, CompanyName: to.responderId },
        ],
        CancelInfoRS: { UniqueID: { $: { Type: '10', ID: `${cancelled}-CX`.slice(0, 64) }, CompanyName: to.responderId } },
      },
    });
  }
  const ids = {
    ResGlobalInfo: {
      HotelReservationIDs: {
        HotelReservationID: [
          // Named as Expedia names us (its ResponderId), as samples bn_01 and bn_05 do.
          { $: { ResID_Type: '3', ResID_Value: ours, ResID_Source: to.responderId, ResID_Date: stamp(r.createdAt ?? at) } },
          { $: { ResID_Type: '8', ResID_Value: r.externalId, ResID_Source: 'Expedia' } },
        ],
      },
    },
  };
  const modify = to.root === 'OTA_HotelResModifyNotifRQ';
  return envelope(header(to, rs), {
    [rs]: {
      $: { ...base, ResResponseType: modify ? 'Modified' : 'Committed' },
      Success: '',
      ...(modify ? { HotelResModifies: { HotelResModify: ids } } : { HotelReservations: { HotelReservation: ids } }),
    },
  });
}

/** A business error from Expedia's list (HTTP 200: the answer is final for Expedia). */
export function bnError(to: BnReplyTo & { root: BnRoot }, code: string, text: string, at: Date): string {
  const rs = BN_MESSAGES[to.root].rs;
  const base = {
    xmlns: OTA_NS,
    ...(to.echoToken ? { EchoToken: to.echoToken } : {}),
    TimeStamp: stamp(at),
    Target: 'Production',
    Version: '2.000',
    PrimaryLangID: 'en-us',
  };
  const status = to.root === 'OTA_CancelRQ' ? { Status: 'Ignored' } : { ResResponseType: 'Ignored' };
  return envelope(header(to, rs), {
    [rs]: { $: { ...base, ...status }, Errors: { Error: { $: { Language: 'en-us', Type: '3', Code: '450', ShortText: code }, _: text.slice(0, 512) } } },
  });
}

/** A SOAP Fault (Nack): `Client.*` for what is wrong in the request, `Server.*` for what is wrong here. */
export function bnFault(code: string, text: string): string {
  return envelope(undefined, {
    // faultstring and faultactor: at most 128 characters (BN reference, Fault).
    'soap-env:Fault': {
      faultcode: `soap-env:${code}`,
      faultstring: text.slice(0, 128),
      faultactor: code.startsWith('Client') ? 'MessageReceiver.MessageParser' : 'MessageReceiver',
    },
  });
}

/** A Booking Notification as Expedia sends it: for the sandbox's demo traffic, tests and benchmarks. */
export interface BnRequest {
  kind: 'new' | 'modify' | 'cancel';
  requestId: string;
  hotelCode: string;
  username: string;
  password: string;
  externalId: string;
  timeStamp: string; // ISO with offset
  retry?: boolean;
  ourConfirmation?: string;
  currency: string;
  room?: { roomCode: string; rateCode: string; arrival: string; departure: string; adults: number; nights: Array<{ date: string; amount: string }> };
  guest: { firstName: string; lastName: string; email?: string };
  card?: { code: string; number: string; expire: string; holder: string };
}

export function buildBnRequest(r: BnRequest): string {
  const root = r.kind === 'new' ? 'OTA_HotelResNotifRQ' : r.kind === 'modify' ? 'OTA_HotelResModifyNotifRQ' : 'OTA_CancelRQ';
  const head = {
    Interface: {
      $: { xmlns: EXPEDIA_HEADER_NS, Name: 'ExpediaDirectConnect', Version: '4.0' },
      PayloadInfo: {
        $: { RequestId: r.requestId, RequestorId: 'Expedia.com', ResponderId: OUR_SOURCE, Location: 'Body' },
        CommDescriptor: {
          $: { SourceId: 'ExpediaDC', DestinationId: OUR_SOURCE, RetryIndicator: String(!!r.retry) },
          Authentication: { $: { Username: r.username, Password: r.password } },
        },
        PayloadDescriptor: {
          $: { Name: root, Version: '2003A' },
          PayloadReference: { $: { SupplierHotelCode: r.hotelCode, DistributorHotelId: r.hotelCode } },
        },
      },
    },
  };
  const attrs = { xmlns: OTA_NS, EchoToken: r.requestId, TimeStamp: r.timeStamp, Target: 'Production', Version: '1.000', PrimaryLangID: 'en-us' };
  const pos = { Source: { RequestorID: { $: { Type: '18', ID: 'Expedia' } }, BookingChannel: { $: { Type: '2', Primary: 'true' }, CompanyName: 'Expedia' } } };
  if (r.kind === 'cancel') {
    return envelope(head, {
      [root]: {
        $: { ...attrs, CancelType: 'Commit' },
        POS: pos,
        UniqueID: [
          { $: { Type: '14', ID: r.externalId }, CompanyName: 'Expedia' },
          ...(r.ourConfirmation ? [{ $: { Type: '10', ID: r.ourConfirmation }, CompanyName: OUR_SOURCE }] : []),
        ],
        Verification: {
          PersonName: { GivenName: r.guest.firstName, Surname: r.guest.lastName },
          Vendor: [
            { $: { Code: '1', CodeContext: 'ChainCode' } },
            { $: { Code: '2', CodeContext: 'BrandCode' } },
            { $: { Code: '3', CodeContext: 'HotelCode' }, _: r.hotelCode },
          ],
          ...(r.room ? { ReservationTimeSpan: { $: { Start: r.room.arrival, End: r.room.departure } } } : {}),
          AssociatedQuantity: [
            { $: { Code: '1', CodeContext: 'Number of rooms', Quantity: '1' } },
            { $: { Code: '2', CodeContext: 'Number of guests', Quantity: String(r.room?.adults ?? 1) } },
          ],
        },
      },
    });
  }
  const room = r.room!;
  const total = (room.nights.reduce((s, n) => s + Math.round(Number(n.amount) * 100), 0) / 100).toFixed(2);
  const reservation = {
    $: { RoomStayReservation: 'true', CreateDateTime: r.timeStamp, CreatorID: 'Expedia' },
    UniqueID: { $: { Type: '14', ID: r.externalId } },
    RoomStays: {
      RoomStay: {
        RoomTypes: { RoomType: { $: { RoomTypeCode: room.roomCode, IsRoom: 'true' } } },
        RatePlans: { RatePlan: { $: { RatePlanCode: room.rateCode } } },
        RoomRates: {
          RoomRate: room.nights.map((n, i) => ({
            $: {
              EffectiveDate: n.date,
              ExpireDate: room.nights[i + 1]?.date ?? room.departure,
              RoomTypeCode: room.roomCode,
              NumberOfUnits: '1',
              RatePlanCode: room.rateCode,
            },
            Rates: {
              Rate: {
                $: { EffectiveDate: n.date, ExpireDate: room.nights[i + 1]?.date ?? room.departure, RateTimeUnit: 'Day', UnitMultiplier: '1' },
                Base: { $: { AmountBeforeTax: n.amount, CurrencyCode: r.currency } },
              },
            },
          })),
        },
        GuestCounts: { $: { IsPerRoom: 'true' }, GuestCount: { $: { AgeQualifyingCode: '10', Count: String(room.adults) } } },
        TimeSpan: { $: { Start: room.arrival, End: room.departure } },
        ...(r.card
          ? {
              Guarantee: {
                GuaranteesAccepted: {
                  GuaranteeAccepted: {
                    PaymentCard: {
                      $: { CardCode: r.card.code, CardNumber: r.card.number, ExpireDate: r.card.expire },
                      CardHolderName: r.card.holder,
                    },
                  },
                },
              },
            }
          : {}),
        Total: { $: { AmountAfterTax: total, CurrencyCode: r.currency } },
        BasicPropertyInfo: { $: { HotelCode: r.hotelCode } },
        ResGuestRPHs: { ResGuestRPH: { $: { RPH: '1' } } },
      },
    },
    ResGuests: {
      ResGuest: {
        $: { ResGuestRPH: '1', AgeQualifyingCode: '10' },
        Profiles: {
          ProfileInfo: {
            Profile: {
              $: { ProfileType: '1' },
              Customer: {
                PersonName: { GivenName: r.guest.firstName, Surname: r.guest.lastName },
                ...(r.guest.email ? { Email: r.guest.email } : {}),
              },
            },
          },
        },
      },
    },
    ResGlobalInfo: {
      HotelReservationIDs: {
        HotelReservationID: [
          { $: { ResID_Type: '8', ResID_Value: r.externalId, ResID_Source: 'Expedia', ResID_Date: r.timeStamp } },
          ...(r.ourConfirmation ? [{ $: { ResID_Type: '3', ResID_Value: r.ourConfirmation, ResID_Source: OUR_SOURCE } }] : []),
        ],
      },
    },
  };
  const body =
    r.kind === 'new'
      ? { $: { ...attrs, ResStatus: 'Commit' }, POS: pos, HotelReservations: { HotelReservation: reservation } }
      : { $: { ...attrs, ResStatus: 'Commit' }, POS: pos, HotelResModifies: { HotelResModify: reservation } };
  return envelope(head, { [root]: body });
}
