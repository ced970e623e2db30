/**
 * One reservation rendered as Booking.com's element reference shows it
 * (developers.booking.com/connectivity/docs/api-reference/<element>, cited per element below):
 * `HotelReservation` (new queue) or `HotelResModify` (modify queue) as an xml2js object.
 *
 * What the reference has, and so what this does: no attributes on HotelReservation / HotelResModify
 * (no ResStatus, CreateDateTime or LastModifyDateTime; the only timestamp is ResID_Date); no
 * TimeSpan on a RoomStay (the stay is its RoomRates, one per night); money in Rate/Total,
 * RoomStay/Total, ResGlobalInfo/Total and CommissionPayableAmount as an integer "before applying
 * decimals" with DecimalPlaces (api-reference/total: "13350 with DecimalPlaces="2" results in
 * 133.50"); service prices as plain decimals (api-reference/price); the booker in
 * ResGlobalInfo/Profiles, the people per room in ResGuests. Element order follows the reference's
 * XML examples.
 */
import type { ReservationContent } from './sandbox-reservations.ts';

export interface RenderOptions {
  element: 'HotelReservation' | 'HotelResModify';
  createdAt: string; // ResID_Date
  card: boolean; // the Guarantee goes out once (see ReservationQueue.poll)
  /**
   * A cancellation (the reference does not show how one is marked): `status` puts
   * ResStatus="Cancelled" on HotelResModify and keeps the content; `empty` sends `<RoomStays/>`.
   */
  cancelled?: 'status' | 'empty';
}

/** "13350" for 133.5 with 2 decimal places (the schema guarantees the amount fits). */
const minor = (amount: string, decimals: number): bigint => {
  const [int, frac = ''] = amount.split('.');
  return BigInt(int! + frac.padEnd(decimals, '0'));
};

/** units × a plain decimal, as a plain decimal with the price's own decimals. */
function times(price: string, units: number): string {
  const decimals = price.split('.')[1]?.length ?? 0;
  const v = (minor(price, decimals) * BigInt(units)).toString().padStart(decimals + 1, '0');
  return decimals ? `${v.slice(0, -decimals)}.${v.slice(-decimals)}` : v;
}

export function renderReservation(r: ReservationContent, o: RenderOptions): Record<string, unknown> {
  const dp = r.decimalPlaces;
  // Rate/Total: AmountAfterTax "returned if VAT and/or other regional taxes are marked included", else AmountBeforeTax.
  const amountAttr = r.amounts === 'AfterTax' ? 'AmountAfterTax' : 'AmountBeforeTax';
  const total = (v: bigint) => ({ $: { [amountAttr]: String(v), CurrencyCode: r.currency, DecimalPlaces: String(dp) } });
  // "VCC with rate plan ID": the letters VCC after the rate plan id (api-reference/roomrate).
  const vcc = r.card?.virtual?.ratePlanSuffix ? 'VCC' : '';
  const cancelledEmpty = o.cancelled === 'empty';

  let rph = 0;
  const guestsOf = r.rooms.map((room) => (room.guests ?? [{ firstName: r.booker.firstName, lastName: r.booker.lastName }]).map((g) => ({ ...g, rph: ++rph })));
  const roomTotals = r.rooms.map((room) => (room.total !== undefined ? minor(room.total, dp) : room.nights.reduce((s, n) => s + minor(n.amount, dp), 0n)));
  const services = r.services.map((s, i) => ({ ...s, rph: i + 1 }));

  const roomStays = r.rooms.map((room, i) => ({
    $: { IndexNumber: room.index ?? String(i + 1) }, // api-reference/roomstay
    RoomTypes: {
      RoomType: {
        $: { RoomTypeCode: room.roomCode }, // api-reference/roomtype: RoomDescription, AdditionalDetails, Amenities
        RoomDescription: { $: { Name: room.name }, MaxChildren: String(room.maxChildren), MealPlan: room.mealPlan, Text: room.description },
        ...(room.details.length ? { AdditionalDetails: { AdditionalDetail: room.details.map((t) => ({ DetailDescription: { Text: t } })) } } : {}),
        Amenities: room.amenities.length ? { Amenity: room.amenities } : '', // Amenity is element text (api-reference/amenities)
      },
    },
    // api-reference/rateplan: no attributes, only Commission/CommissionPayableAmount (api-reference/commissionpayableamount).
    RatePlans:
      room.commission !== undefined
        ? {
            RatePlan: {
              Commission: {
                CommissionPayableAmount: { $: { Amount: String(minor(room.commission, dp)), CurrencyCode: r.currency, DecimalPlaces: String(dp) } },
              },
            },
          }
        : '',
    RoomRates: {
      RoomRate: room.nights.map((n) => ({
        $: { EffectiveDate: n.date, RatePlanCode: `${n.rateCode ?? room.rateCode}${vcc}` }, // api-reference/roomrate
        Rates: { Rate: { Total: total(minor(n.amount, dp)) } }, // api-reference/rate, api-reference/total
      })),
    },
    // api-reference/guestcount documents @Count only: the guests of the room. Asked for, the children
    // variant counts the adults first, then one GuestCount AgeQualifyingCode="8" with Age per child
    // (ours): in both, the Counts add up to the guests of the room.
    GuestCounts: {
      GuestCount: room.childAges
        ? [{ $: { Count: String(room.adults) } }, ...room.childAges.map((age) => ({ $: { Count: '1', AgeQualifyingCode: '8', Age: String(age) } }))]
        : [{ $: { Count: String(room.adults + room.children) } }],
    },
    Total: total(roomTotals[i]!),
    BasicPropertyInfo: { $: { HotelCode: r.hotel } }, // api-reference/basicpropertyinfo
    ResGuestRPHs: { ResGuestRPH: guestsOf[i]!.map((g) => ({ $: { RPH: String(g.rph) } })) }, // api-reference/resguestrph
    // Comment is 1..1 inside Comments (api-reference/comments): no comment, no Comments (ours).
    ...(room.comment ? { Comments: { Comment: { Text: room.comment } } } : {}),
    SpecialRequests: room.specialRequests.length ? { SpecialRequest: room.specialRequests.map((s) => ({ $: { Name: s.name }, Text: s.text })) } : '',
    ...(services.some((s) => s.room === i + 1)
      ? { ServiceRPHs: { ServiceRPH: services.filter((s) => s.room === i + 1).map((s) => ({ $: { RPH: String(s.rph) } })) } }
      : {}),
  }));

  const serviceElements = services.map((s) => {
    const details = {
      ...(s.guests !== undefined ? { GuestCounts: { GuestCount: { $: { Count: String(s.guests) } } } } : {}),
      ...(s.nights !== undefined ? { TimeSpan: { $: { Duration: String(s.nights) } } } : {}), // api-reference/timespan
      ...(s.fee !== undefined ? { Fees: { Fee: { $: { Amount: s.fee } } } } : {}), // api-reference/fee
    };
    return {
      $: { ServiceRPH: String(s.rph), ServiceInventoryCode: s.code }, // api-reference/service
      Price: {
        $: { NumberOfUnits: String(s.units) },
        Total: { $: { AmountAfterTax: s.total ?? times(s.unitPrice, s.units), CurrencyCode: r.currency } },
        Base: { $: { AmountAfterTax: s.unitPrice, CurrencyCode: r.currency } },
        ...(s.description ? { RateDescription: { Text: s.description } } : {}),
      },
      ServiceDetails: Object.keys(details).length ? details : '',
    };
  });

  const resGuests = {
    ResGuest: guestsOf.flat().map((g) => ({
      $: { ResGuestRPH: String(g.rph) }, // api-reference/resguest
      Profiles: { ProfileInfo: { Profile: { Customer: { PersonName: { ...(g.firstName ? { GivenName: g.firstName } : {}), Surname: g.lastName } } } } },
    })),
  };

  const b = r.booker;
  const card = r.card;
  const shownRooms = cancelledEmpty ? 0n : roomTotals.reduce((s, t) => s + t, 0n);
  const resGlobalInfo = {
    ...(r.comment ? { Comments: { Comment: { Text: r.comment } } } : {}),
    ...(o.card && card
      ? {
          Guarantee: {
            GuaranteesAccepted: {
              GuaranteeAccepted: {
                PaymentCard: {
                  // api-reference/paymentcard
                  $: {
                    CardCode: card.code,
                    CardNumber: card.number,
                    SeriesCode: card.cvc,
                    ExpireDate: card.expire,
                    ...(card.virtual?.activation ? { EffectiveDate: card.virtual.activation } : {}),
                  },
                  CardHolderName: card.holder,
                },
              },
            },
          },
        }
      : {}),
    Total: total(r.total !== undefined ? minor(r.total, dp) : shownRooms),
    HotelReservationIDs: { HotelReservationID: { $: { ResID_Value: r.id, ResID_Date: o.createdAt } } }, // api-reference/hotelreservationid
    Profiles: {
      ProfileInfo: {
        Profile: {
          Customer: {
            // api-reference/customer: PersonName, Telephone, Email, Address
            PersonName: { GivenName: b.firstName, Surname: b.lastName },
            ...(b.phone ? { Telephone: { $: { PhoneNumber: b.phone } } } : {}),
            ...(b.email ? { Email: b.email } : {}),
            ...(b.address
              ? {
                  Address: {
                    AddressLine: b.address.line,
                    CityName: b.address.city,
                    PostalCode: b.address.postalCode,
                    CountryName: { $: { Code: b.address.country } },
                    ...(b.address.company ? { CompanyName: b.address.company } : {}),
                  },
                }
              : {}),
          },
        },
      },
    },
  };

  const parts = {
    RoomStays: cancelledEmpty ? '' : { RoomStay: roomStays },
    Services: cancelledEmpty || !serviceElements.length ? '' : { Service: serviceElements },
    ResGuests: resGuests,
    ResGlobalInfo: resGlobalInfo,
  };
  // api-reference/hotelreservation: RoomStays, Services, ResGuests, ResGlobalInfo;
  // api-reference/hotelresmodify: ResGuests, RoomStays, Services, ResGlobalInfo.
  if (o.element === 'HotelReservation') return parts;
  return {
    ...(o.cancelled === 'status' ? { $: { ResStatus: 'Cancelled' } } : {}),
    ResGuests: parts.ResGuests,
    RoomStays: parts.RoomStays,
    Services: parts.Services,
    ResGlobalInfo: parts.ResGlobalInfo,
  };
}
