/**
 * Booking.com reservations are pulled, not pushed: every poll interval (~20 s), `GET
 * …/OTA_HotelResNotif` (new bookings) then `GET …/OTA_HotelResModifyNotif` (modifications and
 * cancellations), each reservation ingested in its own transaction (inbound/deliver.ts), then
 * acknowledged.
 *
 * One poll per queue, not per hotel: Booking.com keeps one queue per provider and asks for one GET
 * per twenty seconds, with `hotel_ids` used "sparingly and only while retrieving reservations
 * immediately after an unexpected outage" (developers.booking.com/connectivity/docs/
 * reservations-api/retrieving-new-reservations-ota). So the live connections are grouped by
 * machine account and reservations host (the token's identity: `accountKeyOf`), each group is polled
 * without `hotel_ids`, and each reservation goes to the group's connection of the hotel it names.
 * A reservation for a hotel no connection of the group has (disabled here, or not connected) is
 * left queued: Booking.com e-mails it to the hotel after 30 minutes, as before any connection.
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
import { deliver, connectionsOfChannel, type InboundConnection, kid, kids, parseInboundXml, type XmlNode } from '../../inbound/index.ts';
import { buildXml } from '../../core/xml.ts';
import { parseReservation, reservationHotelCode } from '../opentravel/reservation.ts';
import { insertSyncLog, recordSyncErrors, resolveReservationPolling } from '../outbound/sql/sync.ts';
import { claimReservationPoll, delayReservationPoll, pollLock, pollUnlock } from '../outbound/sql/connections.ts';
import { get, post, withRetries } from '../outbound/resilience.ts';
import { accountKeyOf, bookingToken, canonicalUrl, forgetToken, type TokenContext } from './auth.ts';
import { buildReservationAck, buildReservationNack, RESERVATION_QUEUES, type ReservationQueueName } from './messages.ts';
import { reservationHolder } from './sql.ts';

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

  /** One round over every live Booking.com connection, a poll per queue (the loop's body; tests call it directly). */
  async pollOnce(): Promise<PollResult[]> {
    const { rows } = await this.#o.pool.query<InboundConnection>(connectionsOfChannel('booking_com'));
    const results: PollResult[] = [];
    for (const group of queuesOf(rows)) {
      if (this.#abort.signal.aborted) break;
      const lock = await this.#o.pool.connect();
      try {
        // Another process polls this queue now: its turn, not ours.
        if (!(await lock.query<{ locked: boolean }>(pollLock(group.key))).rows[0]?.locked) continue;
        try {
          const ids = group.connections.map((c) => c.id);
          // Polled by another replica within the interval (or in Booking.com's pause after an
          // acknowledgement): not due. One poll per interval per queue, however many replicas.
          const claim = claimReservationPoll(
            ids,
            group.connections.map((c) => c.propertyId),
            this.#o.intervalMs,
          );
          if (!(await lock.query(claim)).rowCount) continue;
          let fetched = true;
          const stopped = new Set<string>();
          for (const queue of ['new', 'modify'] as const) {
            const r = await this.#pollQueue(group, queue, stopped);
            results.push(...r.results);
            if (r.error) {
              fetched = false;
              break; // the next poll tries again
            }
          }
          // Both queues answered: a problem of fetching them (recorded by #pollQueue) is over.
          // (Not for a hotel whose store failed: that problem was just recorded.)
          const ok = ids.filter((id) => !stopped.has(id));
          if (fetched && ok.length && !this.#abort.signal.aborted) await this.#o.pool.query(resolveReservationPolling(ok));
        } finally {
          await lock.query(pollUnlock(group.key));
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

  /**
   * One queue of one account: fetched, each reservation stored at its hotel's connection, then
   * acknowledged. `error`: the queue could not be fetched (the round ends). `stopped`: connections
   * whose store failed this round (their later messages, of this queue and the next, wait).
   */
  async #pollQueue(group: Queue, queue: ReservationQueueName, stopped: Set<string>): Promise<{ results: PollResult[]; error?: string }> {
    const q = RESERVATION_QUEUES[queue];
    const results = new Map(
      group.connections.map((c) => [c.id, { connectionId: c.id, queue, received: 0, stored: 0, refused: 0, acknowledged: false } as PollResult]),
    );
    const all = (error?: string) => {
      for (const r of results.values()) r.error = error;
      return { results: [...results.values()], error };
    };
    // One account, one token: the group's first connection speaks for it (and logs its exchanges).
    const lead = group.connections[0]!;
    const ctx: TokenContext = {
      pool: this.#o.pool,
      signal: this.#abort.signal,
      connection: lead,
      settings: { timeoutMs: this.#o.timeoutMs },
      logRequest: async (e) =>
        (await this.#o.pool.query<{ id: string }>(insertSyncLog({ ...e, connectionId: lead.id, propertyId: lead.propertyId, channel: lead.channel }))).rows[0]
          ?.id ?? null,
    };
    // Reservations come from Booking.com's PCI host, not the ARI one (the connection's reservations_url).
    const url = `${group.reservationsUrl}${q.path}`;
    const headers = async () => ({ authorization: `Bearer ${await bookingToken(ctx, url)}`, accept: 'application/xml', 'content-type': 'application/xml' });
    let list;
    let doc: Awaited<ReturnType<typeof parseInboundXml>>;
    try {
      const res = await get(url, await headers(), this.#o.timeoutMs, 'booking_com', this.#abort.signal);
      if (res.status === 401) await forgetToken(ctx);
      if (res.status !== 200)
        throw new StayosError(res.status === 401 ? 'ERR_OTA_AUTH' : 'ERR_OTA_REJECTED', `booking_com: ${q.path} answered HTTP ${res.status}`);
      doc = await parseInboundXml(res.body);
      if (doc.root !== q.rq) throw new StayosError('ERR_OTA_INVALID_RESPONSE', `booking_com: ${q.path} answered <${doc.root.slice(0, 64)}>, not <${q.rq}>`);
      list = kids(kid(doc.node, q.list), q.item);
    } catch (err) {
      const error = (err as Error).message;
      if (this.#abort.signal.aborted) return all(error);
      this.#o.log.warn({ err, connections: group.connections.length, queue }, 'booking.com reservations: poll failed; waiting for the next poll');
      // Bookings not fetched is each hotel's revenue team's business, not only the log's: an error
      // on every connection of the queue, an alert when it cannot pass by itself (a URL not
      // allowed, credentials refused).
      const code = err instanceof StayosError ? err.code : 'ERR_OTA_UNAVAILABLE';
      for (const c of group.connections) {
        await this.#o.pool
          .query(
            recordSyncErrors(c.id, c.propertyId, null, [
              {
                severity: code === 'ERR_OTA_HOST_NOT_ALLOWED' || code === 'ERR_OTA_AUTH' ? 'alert' : 'warning',
                kind: 'reservations',
                errorCode: code,
                message: `Booking.com reservations (${queue}) could not be fetched: ${error}`,
              },
            ]),
          )
          .catch((e: unknown) => this.#o.log.error({ err: e, connection: c.id }, 'booking.com reservations: could not record the poll failure'));
      }
      return all(error);
    }
    if (!list.length) return all();

    // An id is acknowledged only when every message of it in this batch was stored: Booking.com's
    // acknowledgement clears all of them (a refused modification or one not reached must stay).
    const stored = new Map<string, string>(); // reservation id → connection id
    const unsettled = new Set<string>();
    const failed: Array<{ id: string; type: string; code: string; text: string }> = [];
    const started = performance.now();
    let unknownHotels = 0;
    const ids = group.connections.map((c) => c.id);
    for (const item of list) {
      const id = idOf(item);
      const c = await this.#connectionOf(group, item, id);
      if (!c) {
        if (id) unsettled.add(id); // not ours to acknowledge: left queued
        unknownHotels += 1;
        continue;
      }
      const result = results.get(c.id)!;
      result.received += 1;
      // A hotel whose store failed earlier in this round: its later messages wait for the next
      // poll, in their order; the other hotels of the account go on.
      if (stopped.has(c.id)) {
        if (id) unsettled.add(id);
        continue;
      }
      const ctxRes = {
        channel: 'booking_com' as const,
        kind: queue === 'new' ? ('new' as const) : ('modify' as const),
        hotelCode: c.hotelCode, // for a message that names none (routed by its id, or the queue's only hotel)
        today: c.today,
      };
      // Stored as its own document: the poll's answer holds other hotels' guests (other tenants).
      const own = buildXml({ [q.rq]: { ...(doc.node.$ ? { $: doc.node.$ } : {}), [q.list]: [{ [q.item]: [item] }] } });
      let done;
      try {
        done = await deliver(this.#o, c, { source: 'booking_com_poll', messageType: q.rq, body: own, started }, () => parseReservation(item, ctxRes), {
          ok: (r) => ({ status: 200, body: buildReservationAck(queue, [r.externalId]) }),
          refused: (e) => ({
            status: 200,
            body: buildReservationNack(queue, [{ id: id ?? '?', type: e.spec.otaType, code: e.spec.otaCode, text: e.message }]),
          }),
        });
      } catch (err) {
        // Ours (database): not stored, not acknowledged; it comes again with the hotel's later messages.
        if (id) unsettled.add(id);
        stopped.add(c.id);
        result.error = (err as Error).message;
        this.#o.log.error({ err, connection: c.id }, 'booking.com reservations: could not store a reservation; it stays queued at Booking.com');
        await this.#o.pool
          .query(
            recordSyncErrors(c.id, c.propertyId, null, [
              {
                severity: 'warning',
                kind: 'reservations',
                errorCode: err instanceof StayosError ? err.code : 'ERR_INTERNAL',
                message: `A Booking.com reservation (${queue}${id ? ` ${id}` : ''}) could not be stored; it stays queued at Booking.com: ${result.error}`,
              },
            ]),
          )
          .catch((e: unknown) => this.#o.log.error({ err: e, connection: c.id }, 'booking.com reservations: could not record the failure'));
        continue;
      }
      if (done.result) {
        stored.set(done.result.externalId, c.id);
        result.stored += 1;
      } else {
        if (id) {
          unsettled.add(id);
          failed.push({ id, type: done.refusal.spec.otaType, code: done.refusal.spec.otaCode, text: done.refusal.message });
        }
        result.refused += 1;
      }
    }
    if (unknownHotels)
      this.#o.log.warn(
        { queue, reservations: unknownHotels },
        'booking.com reservations: reservations for hotels without a live connection here are left queued',
      );
    const ok = [...stored.keys()].filter((id) => !unsettled.has(id));
    const acknowledged = ok.length > 0 && (await this.#send(ctx, url, headers, buildReservationAck(queue, ok), lead.id, 'acknowledgement'));
    // Acknowledged for a hotel when the acknowledgement went out with at least one of its ids.
    const ackedFor = new Set(ok.map((id) => stored.get(id)));
    for (const r of results.values()) r.acknowledged = acknowledged && ackedFor.has(r.connectionId);
    if (failed.length) await this.#send(ctx, url, headers, buildReservationNack(queue, failed), lead.id, 'failure report');
    if (ok.length || failed.length) await this.#o.pool.query(delayReservationPoll(ids, this.#o.ackPauseMs));
    return { results: [...results.values()] };
  }

  /**
   * The group's connection a reservation belongs to: the hotel it names; when it names none (a
   * cancellation without rooms, BC-7), the queue's only connection, or the one that already holds
   * the reservation id. Undefined: no live connection of this account has it (left queued).
   */
  async #connectionOf(group: Queue, item: unknown, id: string | undefined): Promise<InboundConnection | undefined> {
    const named = reservationHotelCode(item as XmlNode);
    if (named !== undefined) return group.byHotel.get(named);
    if (group.connections.length === 1) return group.connections[0];
    if (!id) return undefined;
    const holder = (
      await this.#o.pool.query<{ connectionId: string }>(
        reservationHolder(
          id,
          group.connections.map((c) => c.id),
        ),
      )
    ).rows[0]?.connectionId;
    return group.connections.find((c) => c.id === holder);
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

/** A Booking.com reservation queue: one machine account at one reservations host, and its connections. */
interface Queue {
  key: string;
  reservationsUrl: string;
  connections: InboundConnection[];
  byHotel: Map<string, InboundConnection>;
}

/**
 * The live connections grouped by the queue they read. A connection without complete credentials is
 * a queue of its own (its poll fails by name, as before). Two live connections of one hotel in one
 * account cannot both take its reservations; the first created does, as `connectionByHotel` would.
 */
export function queuesOf(connections: InboundConnection[]): Queue[] {
  const queues = new Map<string, Queue>();
  for (const c of connections) {
    const reservationsUrl = canonicalUrl(c.reservationsUrl);
    const account = accountKeyOf(c);
    const key = account ? `${account}\n${reservationsUrl}` : `connection:${c.id}`;
    let q = queues.get(key);
    if (!q) queues.set(key, (q = { key, reservationsUrl, connections: [], byHotel: new Map() }));
    q.connections.push(c);
    if (!q.byHotel.has(c.hotelCode)) q.byHotel.set(c.hotelCode, c);
  }
  return [...queues.values()];
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
