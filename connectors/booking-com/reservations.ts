/**
 * Booking.com reservations are pulled, not pushed: for each Booking.com connection, every poll
 * interval (~20 s), `GET …/OTA_HotelResNotif` (new bookings) then `GET …/OTA_HotelResModifyNotif`
 * (modifications and cancellations), each reservation ingested in its own transaction
 * (inbound/deliver.ts), then acknowledged.
 *
 * The invariant: a reservation is acknowledged only after its transaction committed. So:
 *  - a poll that fails (5xx, timeout, a body that is not the protocol) waits for the next poll;
 *  - an acknowledgement that fails is retried with backoff, and if it still fails the reservation
 *    stays queued at Booking.com, comes again on the next poll, is recognised (duplicate: same
 *    answer, nothing written) and acknowledged then;
 *  - a restart between the commit and the acknowledgement is the same case;
 *  - a reservation we refuse (unknown room …) is reported as a failure and stays queued; after 30
 *    minutes Booking.com e-mails it to the hotel, and the refusal is in channel.inbound_messages
 *    and channel.mapping_problems for the revenue team.
 * Booking.com asks for ~5 s between an acknowledgement and the next poll (`ackPauseMs`).
 */
import type { Pool } from '../../core/db.ts';
import { StayosError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { deliver, connectionsOfChannel, type InboundConnection, kid, kids, parseInboundXml } from '../../inbound/index.ts';
import { parseReservation } from '../opentravel/reservation.ts';
import { insertSyncLog, recordSyncErrors, resolveReservationPolling } from '../outbound/sql/sync.ts';
import { claimReservationPoll, delayReservationPoll, pollLock, pollUnlock } from '../outbound/sql/connections.ts';
import { get, post, withRetries } from '../outbound/resilience.ts';
import { bookingToken, forgetToken, type TokenContext } from './auth.ts';
import { buildReservationAck, buildReservationNack, RESERVATION_QUEUES, type ReservationQueueName } from './messages.ts';

export interface PollerOptions {
  pool: Pool;
  log: Logger;
  intervalMs: number;
  /** Pause after an acknowledgement before the connection's next poll (Booking.com: ~5 s). */
  ackPauseMs: number;
  timeoutMs: number;
  /** Attempts per acknowledgement, with exponential backoff between them. */
  ackAttempts: number;
}

export interface PollResult {
  connectionId: string;
  queue: ReservationQueueName;
  received: number;
  stored: number; // created, modified, cancelled, duplicate or stale: acknowledged
  refused: number;
  acknowledged: boolean;
  error?: string;
}

export class BookingReservationPoller {
  readonly #o: PollerOptions;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: PollerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  /** One round over every live Booking.com connection (the loop's body; tests call it directly). */
  async pollOnce(): Promise<PollResult[]> {
    const { rows } = await this.#o.pool.query<InboundConnection>(connectionsOfChannel('booking_com'));
    const results: PollResult[] = [];
    for (const c of rows) {
      if (this.#abort.signal.aborted) break;
      const lock = await this.#o.pool.connect();
      try {
        // Another process polls this connection now: its turn, not ours.
        if (!(await lock.query<{ locked: boolean }>(pollLock(c.id))).rows[0]?.locked) continue;
        try {
          // Polled by another replica within the interval (or in Booking.com's pause after an
          // acknowledgement): not due. One poll per interval per hotel, however many replicas.
          if (!(await lock.query(claimReservationPoll(c.id, c.propertyId, this.#o.intervalMs))).rowCount) continue;
          let fetched = true;
          for (const queue of ['new', 'modify'] as const) {
            const r = await this.#pollQueue(c, queue);
            results.push(r);
            if (r.error) {
              fetched = false;
              break; // the next poll tries again
            }
          }
          // Both queues answered: a problem of fetching them (recorded by #pollQueue) is over.
          if (fetched && !this.#abort.signal.aborted) await this.#o.pool.query(resolveReservationPolling(c.id));
        } finally {
          await lock.query(pollUnlock(c.id));
        }
      } finally {
        lock.release();
      }
    }
    return results;
  }

  async #run(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      try {
        await this.pollOnce();
      } catch (err) {
        this.#o.log.error({ err }, 'booking.com reservations: poll round failed; next round as usual');
      }
      await sleep(this.#o.intervalMs, this.#abort.signal);
    }
  }

  async #pollQueue(c: InboundConnection, queue: ReservationQueueName): Promise<PollResult> {
    const q = RESERVATION_QUEUES[queue];
    const result: PollResult = { connectionId: c.id, queue, received: 0, stored: 0, refused: 0, acknowledged: false };
    const ctx: TokenContext = {
      pool: this.#o.pool,
      signal: this.#abort.signal,
      connection: c,
      settings: { timeoutMs: this.#o.timeoutMs },
      logRequest: async (e) =>
        (await this.#o.pool.query<{ id: string }>(insertSyncLog({ ...e, connectionId: c.id, propertyId: c.propertyId, channel: c.channel }))).rows[0]?.id ??
        null,
    };
    // Reservations come from Booking.com's PCI host, not the ARI one (the connection's reservations_url).
    const url = `${c.reservationsUrl.replace(/\/+$/, '')}${q.path}`;
    const headers = async () => ({ authorization: `Bearer ${await bookingToken(ctx, url)}`, accept: 'application/xml', 'content-type': 'application/xml' });
    let list;
    let body: string;
    try {
      const res = await get(`${url}?hotel_ids=${encodeURIComponent(c.hotelCode)}`, await headers(), this.#o.timeoutMs, 'booking_com', this.#abort.signal);
      if (res.status === 401) await forgetToken(ctx);
      if (res.status !== 200)
        throw new StayosError(res.status === 401 ? 'ERR_OTA_AUTH' : 'ERR_OTA_REJECTED', `booking_com: ${q.path} answered HTTP ${res.status}`);
      body = res.body;
      const doc = await parseInboundXml(body);
      if (doc.root !== q.rq) throw new StayosError('ERR_OTA_INVALID_RESPONSE', `booking_com: ${q.path} answered <${doc.root.slice(0, 64)}>, not <${q.rq}>`);
      list = kids(kid(doc.node, q.list), q.item);
    } catch (err) {
      result.error = (err as Error).message;
      if (this.#abort.signal.aborted) return result;
      this.#o.log.warn({ err, connection: c.id, queue }, 'booking.com reservations: poll failed; waiting for the next poll');
      // Bookings not fetched is the revenue team's business, not only the log's: an error on the
      // connection, an alert when it cannot pass by itself (a URL not allowed, credentials refused).
      const code = err instanceof StayosError ? err.code : 'ERR_OTA_UNAVAILABLE';
      await this.#o.pool
        .query(
          recordSyncErrors(c.id, c.propertyId, null, [
            {
              severity: code === 'ERR_OTA_HOST_NOT_ALLOWED' || code === 'ERR_OTA_AUTH' ? 'alert' : 'warning',
              kind: 'reservations',
              errorCode: code,
              message: `Booking.com reservations (${queue}) could not be fetched: ${result.error}`,
            },
          ]),
        )
        .catch((e: unknown) => this.#o.log.error({ err: e, connection: c.id }, 'booking.com reservations: could not record the poll failure'));
      return result;
    }
    result.received = list.length;
    if (!list.length) return result;

    // An id is acknowledged only when every message of it in this batch was stored: Booking.com's
    // acknowledgement clears all of them (a refused modification or one not reached must stay).
    const stored = new Set<string>();
    const unsettled = new Set<string>();
    const failed: Array<{ id: string; type: string; code: string; text: string }> = [];
    const started = performance.now();
    for (const [i, item] of list.entries()) {
      const ctxRes = {
        channel: 'booking_com' as const,
        kind: queue === 'new' ? ('new' as const) : ('modify' as const),
        hotelCode: c.hotelCode,
        today: c.today,
      };
      const id = idOf(item);
      let done;
      try {
        done = await deliver(this.#o, c, { source: 'booking_com_poll', messageType: q.rq, body, started }, () => parseReservation(item, ctxRes), {
          ok: (r) => ({ status: 200, body: buildReservationAck(queue, [r.externalId]) }),
          refused: (e) => ({
            status: 200,
            body: buildReservationNack(queue, [{ id: id ?? '?', type: e.spec.otaType, code: e.spec.otaCode, text: e.message }]),
          }),
        });
      } catch (err) {
        // Ours (database): stop here; what was not stored is not acknowledged and comes again.
        for (const rest of list.slice(i)) {
          const rid = idOf(rest);
          if (rid) unsettled.add(rid);
        }
        result.error = (err as Error).message;
        this.#o.log.error({ err, connection: c.id }, 'booking.com reservations: could not store a reservation; it stays queued at Booking.com');
        break;
      }
      if (done.result) {
        stored.add(done.result.externalId);
        result.stored += 1;
      } else {
        if (id) {
          unsettled.add(id);
          failed.push({ id, type: done.refusal.spec.otaType, code: done.refusal.spec.otaCode, text: done.refusal.message });
        }
        result.refused += 1;
      }
    }
    const ok = [...stored].filter((id) => !unsettled.has(id));
    if (ok.length) result.acknowledged = await this.#send(ctx, url, headers, buildReservationAck(queue, ok), c.id, 'acknowledgement');
    if (failed.length) await this.#send(ctx, url, headers, buildReservationNack(queue, failed), c.id, 'failure report');
    if (ok.length || failed.length) await this.#o.pool.query(delayReservationPoll(c.id, this.#o.ackPauseMs));
    return result;
  }

  /** POSTs an acknowledgement with retries; false when it could not be delivered (the next poll brings the reservations again). */
  async #send(
    ctx: TokenContext,
    url: string,
    headers: () => Promise<Record<string, string>>,
    xml: string,
    connectionId: string,
    what: string,
  ): Promise<boolean> {
    try {
      await withRetries(
        { maxAttempts: this.#o.ackAttempts, initialDelayMs: 200, maxDelayMs: 5000 },
        async () => {
          const res = await post(url, xml, await headers(), this.#o.timeoutMs, 'booking_com', this.#abort.signal);
          if (res.status === 401) {
            await forgetToken(ctx);
            throw new StayosError('ERR_OTA_UNAVAILABLE', 'booking_com: token refused on acknowledgement; exchanging a new one');
          }
          if (res.status !== 200) throw new StayosError('ERR_OTA_REJECTED', `booking_com: ${what} answered HTTP ${res.status}`);
        },
        this.#abort.signal,
      );
      return true;
    } catch (err) {
      if (!this.#abort.signal.aborted)
        this.#o.log.warn({ err, connection: connectionId }, `booking.com reservations: ${what} not delivered; the next poll brings the reservations again`);
      return false;
    }
  }
}

/** The Booking.com reservation id of an element (for a failure report when parsing it failed). */
function idOf(item: unknown): string | undefined {
  const id = kids(kid(kid(item, 'ResGlobalInfo'), 'HotelReservationIDs'), 'HotelReservationID')[0]?.$?.ResID_Value;
  return typeof id === 'string' && id.length <= 64 ? id : undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
