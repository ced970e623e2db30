/**
 * One booking delivery, the same for every source: parse it, ingest it, answer; or, when it is
 * refused, record the refusal (and any unknown OTA code) and answer the refusal. A failure of ours
 * (database down) is thrown: nothing was written or recorded, and the caller tells the sender to
 * try again in its protocol's way.
 */
import type { Pool } from '../core/db.ts';
import type { Booking } from './booking.ts';
import { ingestBooking, recordRefusal, type Answer, type Delivery, type IngestResult } from './ingest.ts';
import { InboundRefusal } from './refusal.ts';
import { inboundBookings } from '../core/metrics.ts';
import type { InboundConnection } from './sql/connections.ts';

export interface Replies {
  ok(result: IngestResult): Answer;
  refused(refusal: InboundRefusal): Answer;
}

export type Delivered = { answer: Answer; result: IngestResult; refusal?: undefined } | { answer: Answer; refusal: InboundRefusal; result?: undefined };

export async function deliver(
  deps: { pool: Pool },
  connection: InboundConnection,
  delivery: Delivery,
  parse: () => Booking,
  replies: Replies,
): Promise<Delivered> {
  let booking: Booking | undefined;
  try {
    booking = parse();
    if (booking.hotelCode !== connection.hotelCode) {
      throw new InboundRefusal('unknown_hotel', `the booking names hotel ${booking.hotelCode}, which is not this connection's`, {
        details: { hotelCode: booking.hotelCode },
      });
    }
    const done = await ingestBooking(deps.pool, connection, booking, delivery, replies.ok);
    inboundBookings.inc({ channel: connection.channel, result: done.result.outcome });
    return done;
  } catch (err) {
    if (!(err instanceof InboundRefusal)) throw err;
    inboundBookings.inc({ channel: connection.channel, result: 'refused' });
    const answer = replies.refused(err);
    const d = err.details ?? {};
    await recordRefusal(deps.pool, connection, connection.channel, err, delivery, answer, booking?.externalId ?? null, {
      roomCode: d.roomCode as string | undefined,
      rateCode: d.rateCode as string | undefined,
      hotelCode: d.hotelCode as string | undefined,
    });
    return { answer, refusal: err };
  }
}
