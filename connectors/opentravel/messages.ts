/**
 * OpenTravel 2015A answers to a reservation push (`OTA_HotelResNotifRQ`, as OpenTravel and
 * AlpineBits senders push it), validated by the tests against the 2015A schema: `Success` with one
 * `HotelReservation` per booking taken (its `UniqueID Type="14"`, and our confirmation number as
 * `HotelReservationID ResID_Type="10"`), a `Warning` per booking refused in a message that had
 * others (AlpineBits: `RecordID` = the refused booking's id); or `Errors` when nothing was taken.
 * (Booking.com's acknowledgements are built by connectors/booking-com/messages.ts.)
 */
import { buildXml, OTA_NAMESPACE as OTA_NS } from '../../core/xml.ts';

export interface TakenBooking {
  externalId: string;
  confirmationNumber: string | null;
  hotelCode: string;
}

export interface OtaIssue {
  type: string; // EWT
  code: string; // ERR
  text: string;
  recordId?: string | undefined;
}

const base = (timeStamp: Date, echoToken?: string) => ({
  xmlns: OTA_NS,
  ...(echoToken ? { EchoToken: echoToken } : {}),
  TimeStamp: timeStamp.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  Version: '1.000',
});

const issue = (i: OtaIssue) => ({ $: { Type: i.type, Code: i.code, ...(i.recordId ? { RecordID: i.recordId.slice(0, 64) } : {}) }, _: i.text.slice(0, 500) });

/** `root` is OTA_HotelResNotifRS or OTA_HotelResModifyNotifRS (their success branches differ in the list element). */
export function resNotifSuccess(
  root: 'OTA_HotelResNotifRS' | 'OTA_HotelResModifyNotifRS',
  taken: TakenBooking[],
  warnings: OtaIssue[],
  at: Date,
  echoToken?: string,
): string {
  const item = (t: TakenBooking) => ({
    UniqueID: { $: { Type: '14', ID: t.externalId } },
    ...(t.confirmationNumber
      ? {
          ResGlobalInfo: {
            HotelReservationIDs: { HotelReservationID: { $: { ResID_Type: '10', ResID_Value: t.confirmationNumber, ResID_Source: 'StayOS' } } },
            BasicPropertyInfo: { $: { HotelCode: t.hotelCode } },
          },
        }
      : {}),
  });
  const list =
    root === 'OTA_HotelResNotifRS' ? { HotelReservations: { HotelReservation: taken.map(item) } } : { HotelResModifies: { HotelResModify: taken.map(item) } };
  return buildXml({
    [root]: {
      $: base(at, echoToken),
      Success: '',
      ...(warnings.length ? { Warnings: { Warning: warnings.slice(0, 99).map(issue) } } : {}),
      ...(taken.length ? list : {}),
    },
  });
}

export function resNotifErrors(root: 'OTA_HotelResNotifRS' | 'OTA_HotelResModifyNotifRS', errors: OtaIssue[], at: Date, echoToken?: string): string {
  return buildXml({ [root]: { $: base(at, echoToken), Errors: { Error: errors.slice(0, 99).map(issue) } } });
}
