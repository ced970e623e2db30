/**
 * The sync worker: dirty cells → the OTA. Any number of workers, in one process or on many
 * machines, share the connections: a worker takes a connection only under its advisory lock (one
 * push at a time per connection, which is also Expedia's "one connection per hotel"), and claims
 * cells with FOR UPDATE SKIP LOCKED. A pass over a connection repeats claim → compute → send
 * deltas → finish until nothing is left, the OTA fails, or the worker stops.
 */
import { randomUUID } from 'node:crypto';
import { otaRequests, otaRequestSeconds } from '../../core/metrics.ts';
import type { Pool } from '../../core/db.ts';
import { rerunOnConflict, withTransaction } from '../../core/db.ts';
import { addDays } from '../../core/dates.ts';
import type { Logger } from '../../core/logger.ts';
import { StayosError } from '../../core/errors.ts';
import { claimedAri, type AriValues, type ClaimedCell } from './sql/ari.ts';
import { connectionForSync, connectionsWithWork, recordOutcome, transitionStatus, type ConnectionRow } from './sql/connections.ts';
import {
  abandonClaim,
  claimCells,
  insertSyncLog,
  lockClaim,
  recordSyncErrors,
  resolveDrainedResyncs,
  resolveTransientErrors,
  type SyncErrorEntry,
} from './sql/sync.ts';
import type { OtaValues, Part } from './types.ts';
import { CLOSING_WINDOW_MINUTES, guardOf, heldValuesOf, judgeGuards, type JudgedCell } from './guard.ts';
import { closingBasis, type HoldRecord } from './sql/holds.ts';
import { partsToSend, partValues, type Connector, type PushCell, type PushContext, type PushOutcome, type SyncSettings } from './connector.ts';
import { closedEverywhere, closureCells } from './closures.ts';
import { CLOSURE_MAX_ATTEMPTS, closureFailed, completeClosing, finishClosure, nextClosure, retryClosuresNow, type Closure } from './sql/closures.ts';
import { breakerDelayMs, RateLimits } from './resilience.ts';
import { finishPush, type PushFinish } from './finish.ts';

export interface WorkerOptions {
  pool: Pool;
  log: Logger;
  connectors: readonly Connector[];
  pollMs: number;
  concurrency: number;
  /** Cells per claim: one Expedia message holds 5,000 updates. */
  batchSize: number;
  timeoutMs: number;
  maxAttempts: number;
  /** Requests per minute per connection when its settings name none. */
  defaultRatePerMinute: number;
  /** Only these connections (full sync, tests); default all with work. */
  only?: readonly string[];
  /** Longest breaker wait between pushes to a failing OTA (default 5 minutes). */
  breakerMaxMs?: number;
  /** How long a single change waits for others to share its request, when the connection's settings name no `coalesce_ms` (default 0). */
  coalesceMs?: number;
}

interface Claimed {
  id: string;
  dirtySeq: string;
  takenOver: boolean;
  /** Approved after a guardrail held it: sent as it is while its values are those held (guard.ts). */
  guardApproved: boolean;
  heldValues: Record<string, unknown> | null;
  lastHold: string | null;
}

const ALL_PARTS: readonly Part[] = ['avail', 'rate', 'restr'];

/** The connection's settings as one cell's connector sees them: its mapping's pricing model in place of the connection's. */
const settingsFor = (settings: Record<string, unknown>, c: { otaPricingModel: string }): Record<string, unknown> =>
  settings.pricing_model === c.otaPricingModel || (settings.pricing_model === undefined && c.otaPricingModel === 'per_day')
    ? settings
    : { ...settings, pricing_model: c.otaPricingModel };

/**
 * What the OTA must show for a cell (the worker's push, the parity view and the tests alike): the
 * connector's normalisation under the cell's own pricing model, closed when the plan is priced in
 * another model than the OTA's rate — it is never sold at a price the PMS did not set in that model
 * (its rates are not sent at all, and the connection shows ERR_PRICING_MODEL_MISMATCH).
 */
export function otaValuesOf(connector: Pick<Connector, 'normalize'>, settings: Record<string, unknown>, c: AriValues): OtaValues {
  const values = connector.normalize(c, settingsFor(settings, c));
  return c.pricingModel === c.otaPricingModel ? values : { ...values, closed: true };
}
const NOTHING_ACKED: ClaimedCell['acked'] = {
  availability: null,
  rate: null,
  currency: null,
  minLos: null,
  maxLos: null,
  closedToArrival: null,
  closedToDeparture: null,
  closed: null,
  occupancyRates: null,
  minStayThrough: null,
  maxStayThrough: null,
  minAdvanceDays: null,
  maxAdvanceDays: null,
  roomClosed: null,
  avail: false,
  rateAcked: false,
  restr: false,
  refused: null,
};

/** The longest a dead worker's claim waits for its last request to end at the OTA. */
const DEAD_WORKER_GRACE_MAX_MS = 5000;

/** Consecutive failed pushes after which a degraded connection is marked down. */
const DOWN_AFTER_FAILURES = 5;
/** Breaker backoff between pushes to a failing OTA: from half a second, doubling with jitter. */
const BREAKER_INITIAL_MS = 500;
const BREAKER_MAX_MS = 5 * 60_000;
/** After an authentication failure or an unmapped hotel: probe again this much later (a resume
 * or new credentials probe at once). Never a retry storm. */
const DOWN_PROBE_MS = 15 * 60_000;
const SUCCESS_RECORD_MS = 5_000;

export interface PassResult {
  cells: number;
  requests: number;
  stopped: boolean;
  /** Another worker held the connection's sync lock: nothing was tried. */
  notLocked?: boolean;
}

/**
 * How long single changes count as "coming in" after one was seen waiting (`#bulkLimit`). Measured
 * both ways in issue 19: with 2 s, a hotel's change waited p99 10.5 s while 20 hotels ran full
 * syncs at 1,000 hotels (bench:scale); with 30 s, 1.4 s. The price: a few cells waiting when full
 * syncs begin hold them to their quarter of the slots for 30 s (bench/RESULTS.md).
 */
const CHANGE_MEMORY_MS = 30_000;

/** A connection with at least this many cells waiting is a backlog (a full sync, a resync), not a change (poll). */
const BACKLOG_CELLS = 500;

export class SyncWorker {
  readonly #o: WorkerOptions;
  readonly #rateLimits: RateLimits;
  readonly #inflight = new Map<string, Promise<PassResult>>();
  readonly #abort = new AbortController();
  readonly #recorded = new Map<string, number>(); // connection → when its last success was written
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  /** When each connection's last pass ended (the poll serves the longest-waiting first). */
  readonly #lastServed = new Map<string, number>();
  /** The last poll found more connections with work than free slots: passes yield after each push. */
  #contended = false;
  /** Backlogs: connections the poll saw with BACKLOG_CELLS waiting, or whose last push took as many. */
  readonly #bulk = new Set<string>();
  /** When a connection with a change (not a backlog) last waited. */
  #changeSeenAt = -Infinity;
  /**
   * Backlogs pushed at once, at most (issue 19): a quarter of the slots (two where there are four
   * or more) while single changes come
   * in (one waited in the last CHANGE_MEMORY_MS), so that on a saturated machine a change finds the CPU and
   * PostgreSQL with room for its few statements; otherwise all but that quarter, which stays free
   * for the next change (a resync of every hotel must not crawl through two slots).
   */
  get #bulkLimit(): number {
    // A quarter, but two where the slots allow it (at least one left for changes): with four slots a
    // quarter was one, and two full syncs that began with a few cells waiting ran one after the
    // other (bench:outbound, issue 19). Eight slots, the default: two, as before.
    const quarter = Math.min(Math.max(2, Math.floor(this.#o.concurrency / 4)), Math.max(1, this.#o.concurrency - 1));
    return performance.now() - this.#changeSeenAt < CHANGE_MEMORY_MS ? quarter : Math.max(quarter, this.#o.concurrency - quarter);
  }
  #bulkInflight(): number {
    let n = 0;
    for (const id of this.#inflight.keys()) if (this.#bulk.has(id)) n++;
    return n;
  }

  constructor(options: WorkerOptions) {
    // Each pass holds a connection (the lock) and needs another for its queries.
    const max = (options.pool as unknown as { options?: { max?: number } }).options?.max ?? 10;
    if (options.concurrency * 2 > max) {
      throw new StayosError(
        'ERR_CONFIG',
        `sync concurrency ${options.concurrency} needs a pool of at least ${options.concurrency * 2} connections (this one has ${max})`,
      );
    }
    this.#o = options;
    this.#rateLimits = new RateLimits(options.pool);
  }

  start(): void {
    const tick = () => {
      this.#polling = this.poll()
        .catch((err) => this.#o.log.error({ err }, 'sync worker: poll failed; retrying'))
        .finally(() => {
          if (!this.#abort.signal.aborted) this.#timer = setTimeout(tick, this.#o.pollMs);
        });
    };
    tick();
  }

  /** Waits for the passes in flight to end by themselves (tests: what a poll started is done). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#inflight.values());
  }

  /** Stops polling and waits for the passes in flight (each ends after its current request). */
  async stop(): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#timer);
    await this.#polling;
    await Promise.allSettled(this.#inflight.values());
  }

  /**
   * Starts a pass for each connection with work, up to the concurrency, those served longest ago
   * first. Fairness between hotels (issue 19), as each pass costs the machine about the same
   * whatever its size while a backlog's passes keep coming:
   *  - when more connections wait than there are free slots, the passes in flight end after their
   *    current push (`#contended`) and go to the back of the line: twenty hotels in full sync do
   *    not keep a single change at another hotel waiting until they are done;
   *  - backlogs (BACKLOG_CELLS or more waiting, known before their first push) take a quarter of
   *    the slots (two where there are four or more) while single changes come in, the rest but
   *    that share otherwise (`#bulkLimit`).
   */
  async poll(): Promise<void> {
    const channels = this.#o.connectors.map((c) => c.channel);
    const { rows } = await this.#o.pool.query<{ id: string; backlog: boolean }>(
      connectionsWithWork(channels, [...this.#inflight.keys()], BACKLOG_CELLS, this.#o.coalesceMs ?? 0),
    );
    for (const r of rows) {
      if (r.backlog) this.#bulk.add(r.id);
      else this.#bulk.delete(r.id);
    }
    // A backlog drained elsewhere (another worker, or its pass yielded after its last push) has no
    // work left to be listed: it is no longer one, or its next single change would wait as a backlog.
    const listed = new Set(rows.map((r) => r.id));
    for (const id of this.#bulk) if (!listed.has(id) && !this.#inflight.has(id)) this.#bulk.delete(id);
    const waiting = rows
      .filter(({ id }) => !this.#inflight.has(id) && (!this.#o.only || this.#o.only.includes(id)))
      .sort((a, b) => (this.#lastServed.get(a.id) ?? 0) - (this.#lastServed.get(b.id) ?? 0));
    const free = this.#o.concurrency - this.#inflight.size;
    const changes = waiting.filter(({ id }) => !this.#bulk.has(id)).length;
    if (changes) this.#changeSeenAt = performance.now();
    let bulkRoom = this.#bulkLimit - this.#bulkInflight();
    const startable = waiting.filter(({ id }) => !this.#bulk.has(id) || bulkRoom-- > 0);
    this.#contended = startable.length > free;
    for (const { id } of startable) {
      if (this.#inflight.size >= this.#o.concurrency || this.#abort.signal.aborted) break;
      const pass = this.syncConnection(id)
        .catch((err): PassResult => {
          this.#o.log.error({ err, connection: id }, 'sync worker: pass failed; its cells stay dirty');
          return { cells: 0, requests: 0, stopped: true };
        })
        .then((r) => {
          // Its place in the line moves only when it was served (another worker held its lock: not).
          if (!r.notLocked) this.#lastServed.set(id, performance.now());
          return r;
        })
        .finally(() => this.#inflight.delete(id));
      this.#inflight.set(id, pass);
    }
  }

  /** One pass over a connection, under its lock; returns at once if another worker holds it. */
  async syncConnection(connectionId: string): Promise<PassResult> {
    const result: PassResult = { cells: 0, requests: 0, stopped: false };
    const lockClient = await this.#o.pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    lockClient.on('error', onError);
    try {
      // The server's keepalives on the lock session: a machine that vanished (no FIN, no RST)
      // frees the lock within 5 + 3 × 3 = 14 s, and the next worker takes its claims over.
      const {
        rows: [lock],
      } = await lockClient.query<{ ok: boolean }>(
        `SELECT set_config('tcp_keepalives_idle', '5', false), set_config('tcp_keepalives_interval', '3', false),
              set_config('tcp_keepalives_count', '3', false), pg_try_advisory_lock(channel.sync_lock_key($1)) AS ok`,
        [connectionId],
      );
      if (!lock?.ok) return { ...result, notLocked: true };
      try {
        while (!this.#abort.signal.aborted && !broken) {
          const one = await this.#onePush(connectionId);
          result.cells += one.cells;
          result.requests += one.requests;
          if (one.stopped || one.cells === 0) {
            result.stopped = one.stopped;
            this.#bulk.delete(connectionId); // drained (or stopped): its next change is a change
            // The queue drained: a resync StayOS started for this connection is over.
            if (!one.stopped) await this.#o.pool.query(resolveDrainedResyncs(connectionId));
            break;
          }
          if (one.cells >= Math.min(this.#o.batchSize, BACKLOG_CELLS)) this.#bulk.add(connectionId);
          else this.#bulk.delete(connectionId);
          // A coalescing window: what came in during this push waits for its window like any
          // change (the poll starts the next pass when it is due), instead of a request of its own
          // now. A partial push took all that was due; if it also drained the queue, a resync is over.
          if (one.coalesceMs && one.cells < this.#o.batchSize) {
            this.#bulk.delete(connectionId); // what is left came in during the push: changes
            await this.#o.pool.query(resolveDrainedResyncs(connectionId));
            break;
          }
          // Other connections wait for a slot, or more backlogs run than their share: to the back
          // of the line (poll).
          if (this.#contended || (this.#bulk.has(connectionId) && this.#bulkInflight() > this.#bulkLimit)) break;
        }
      } finally {
        if (!broken) await lockClient.query(`SELECT pg_advisory_unlock(channel.sync_lock_key($1))`, [connectionId]);
      }
      return result;
    } finally {
      lockClient.off('error', onError);
      lockClient.release(broken ?? false);
    }
  }

  /** One claim's push; `coalesceMs` is the connection's coalescing window, for the pass to keep. */
  async #onePush(connectionId: string): Promise<PassResult & { coalesceMs?: number }> {
    const { pool } = this.#o;
    const {
      rows: [connection],
    } = await pool.query<ConnectionRow>(connectionForSync(connectionId));
    // Paused: the OTA keeps the last values, closures included — unless the connection is being
    // disabled or deleted, which closes it at the OTA first.
    if (!connection || connection.status === 'disabled' || (connection.status === 'paused' && !connection.closingFor))
      return { cells: 0, requests: 0, stopped: false };
    const connector = this.#o.connectors.find((c) => c.channel === connection.channel);
    if (!connector) return { cells: 0, requests: 0, stopped: false };
    // OTA targets no longer fed come first: they sell at values nobody updates.
    const {
      rows: [closure],
    } = await pool.query<Closure>(nextClosure(connectionId));
    if (closure) return this.#close(connection, connector, closure);
    if (connection.closingFor) {
      const {
        rows: [closed],
      } = await pool.query<{ deleted: boolean; notClosed: number }>(completeClosing(connectionId));
      if (closed?.notClosed)
        this.#o.log.error(
          { connection: connectionId, targets: closed.notClosed },
          'connection disabled, but the OTA did not confirm closing its inventory: it may still sell',
        );
      else if (closed)
        this.#o.log.warn({ connection: connectionId }, `connection ${closed.deleted ? 'deleted' : 'disabled'}: its inventory is closed at the OTA`);
      return { cells: 0, requests: 0, stopped: false };
    }
    if (connection.status === 'paused') return { cells: 0, requests: 0, stopped: false };

    const claimId = randomUUID();
    const { rows: claimed } = await pool.query<Claimed>(claimCells(connectionId, claimId, this.#o.batchSize, this.#graceSeconds(connection)));
    if (!claimed.length) return { cells: 0, requests: 0, stopped: false };
    try {
      return { ...(await this.#push(connection, connector, claimId, claimed)), coalesceMs: this.#coalesceMs(connection) };
    } catch (err) {
      // A failure of our own (database, a bug): give the cells back at once rather than leave them
      // claimed (forgetting what the OTA may or may not have received), and count it against the
      // connection so a poison batch cannot spin.
      const ids = claimed.map((r) => r.id);
      await rerunOnConflict(
        () =>
          withTransaction(pool, async (client) => {
            await client.query(lockClaim(claimId, ids));
            await client.query(abandonClaim(claimId, ids));
          }),
        { what: 'sync abandon', log: this.#o.log },
      ).catch(() => undefined);
      const error = err instanceof StayosError ? err : new StayosError('ERR_INTERNAL', `sync pass failed: ${(err as Error).message}`, { cause: err });
      await this.#breaker(connection, { acked: [], rejected: [], warnings: [], requests: 0, stop: { kind: 'unavailable', error, retryAfterMs: 0 } }).catch(
        () => undefined,
      );
      throw err;
    }
  }

  async #push(connection: ConnectionRow, connector: Connector, claimId: string, claimed: Claimed[]): Promise<PassResult> {
    const { pool } = this.#o;
    const connectionId = connection.id;
    // Index probes only: the planner sees the claimed cells as one row whatever their number and
    // would scan the connection's mappings once per cell (600,000 comparisons for 5,000 cells).
    const cells = await withTransaction(pool, async (client) => {
      await client.query('SET LOCAL enable_seqscan = off');
      return (
        await client.query<ClaimedCell>(
          claimedAri(
            claimId,
            claimed.map((r) => r.id),
          ),
        )
      ).rows;
    });

    // Decide per cell: nothing to send (done), out of the OTA's window (done), or parts to push.
    const done = new Map<string, string>(); // cellId → dirty_seq read after claiming
    const push: PushCell[] = [];
    const errors: SyncErrorEntry[] = [];
    const notOverbooked: Array<{ roomTypeId: string; stayDate: string }> = [];
    const seen = new Set<string>();
    // Cells taken over from a worker that died mid-push: what reached the OTA is unknown, so every
    // part is sent, whatever was acknowledged before.
    const takenOver = new Set(claimed.filter((r) => r.takenOver).map((r) => r.id));
    // The OTA's window per property "today" (one in practice): from yesterday (or the OTA's own
    // earliest night, if later) to maxDaysAhead.
    const windows = new Map<string, { first: string; last: string }>();
    const earliest = connector.earliestNight?.() ?? '';
    const windowOf = (today: string) =>
      windows.get(today) ??
      windows
        .set(today, {
          first: [addDays(today, -1), earliest].sort().at(-1)!,
          last: addDays(today, connector.maxDaysAhead),
        })
        .get(today)!;
    // The pricing model the OTA's rate is set up for (mapping, else connection): a plan priced
    // otherwise is never sent a rate (it would be refused, or read as another occupancy's price);
    // one error per room type and plan says so (the OTA's model may be set per mapping).
    const wrongModel = new Map<string, { roomTypeId: string; ratePlanId: string; rateCode: string; model: string; ota: string }>();
    const agreeing = new Map<string, { roomTypeId: string; ratePlanId: string }>();
    for (const c of cells) {
      seen.add(c.cellId);
      const values = otaValuesOf(connector, connection.settings, c);
      const w = windowOf(c.today);
      const inWindow = c.stayDate >= w.first && c.stayDate <= w.last;
      let parts = inWindow ? partsToSend(values, takenOver.has(c.cellId) ? NOTHING_ACKED : c.acked, true) : [];
      const pair = `${c.roomTypeId}|${c.ratePlanId}`;
      if (c.pricingModel !== c.otaPricingModel && inWindow) {
        parts = parts.filter((p) => p !== 'rate');
        wrongModel.set(pair, { roomTypeId: c.roomTypeId, ratePlanId: c.ratePlanId, rateCode: c.otaRateCode, model: c.pricingModel, ota: c.otaPricingModel });
      } else if (c.pricingModel === c.otaPricingModel) agreeing.set(pair, { roomTypeId: c.roomTypeId, ratePlanId: c.ratePlanId });
      if (c.overbooked) {
        errors.push({
          severity: 'alert',
          kind: 'overbooking',
          errorCode: 'OVERBOOKING',
          message: `more rooms sold than sellable on ${c.stayDate}: 0 is pushed`,
          roomTypeId: c.roomTypeId,
          stayFrom: c.stayDate,
          stayTo: c.stayDate,
        });
      } else if (parts.includes('avail')) notOverbooked.push({ roomTypeId: c.roomTypeId, stayDate: c.stayDate });
      if (!parts.length) done.set(c.cellId, c.dirtySeq);
      else
        push.push({
          cellId: c.cellId,
          roomTypeId: c.roomTypeId,
          ratePlanId: c.ratePlanId,
          roomCode: c.otaRoomCode,
          rateCode: c.otaRateCode,
          night: c.stayDate,
          values,
          parts,
        });
    }
    for (const w of wrongModel.values())
      errors.push({
        severity: 'error',
        kind: 'pricing_model',
        errorCode: 'ERR_PRICING_MODEL_MISMATCH',
        message: `the rate plan mapped to ${w.rateCode} is priced ${w.model} in the PMS but ${w.ota} at the OTA (pricing_model of the mapping or connection): it is closed there and its rates are not sent until they agree`,
        roomTypeId: w.roomTypeId,
        ratePlanId: w.ratePlanId,
      });
    for (const k of wrongModel.keys()) agreeing.delete(k);
    // Claimed cells without an active mapping: nothing to send, they leave the queue.
    for (const r of claimed) if (!seen.has(r.id)) done.set(r.id, r.dirtySeq);

    const cellById = new Map(cells.map((c) => [c.cellId, c]));
    // Guardrails: the parts they hold are not sent; the cell stays dirty, held for approval.
    const { holds, closings } = await this.#judgeGuards(connection, push, cells, claimed);
    const heldParts = new Map<string, Set<Part>>();
    for (const h of holds) for (const c of h.cells) heldParts.set(c.cellId, new Set(c.parts));
    if (heldParts.size) {
      for (let i = push.length - 1; i >= 0; i--) {
        const p = push[i]!;
        const held = heldParts.get(p.cellId);
        if (!held) continue;
        p.parts = p.parts.filter((part) => !held.has(part));
        if (!p.parts.length) push.splice(i, 1);
      }
      for (const h of holds) this.#o.log.warn({ connection: connectionId, kind: h.kind, cells: h.cells.length }, `held for approval: ${h.reason}`);
    }
    const outcome: PushOutcome = push.length ? await connector.push(this.#context(connection), push) : { acked: [], rejected: [], warnings: [], requests: 0 };

    const byId = new Map(push.map((p) => [p.cellId, p]));
    // One cell may be acknowledged by several requests (availability, restrictions, rate): merge.
    const ackedParts = new Map<string, Part[]>();
    for (const a of outcome.acked) ackedParts.set(a.cellId, [...new Set([...(ackedParts.get(a.cellId) ?? []), ...a.parts])]);
    // A cell is done when every part it was to send was acknowledged or refused for good; a
    // refused part is recorded, not retried. Anything else keeps the cell dirty.
    const rejectedParts = new Map<string, Set<Part>>();
    for (const r of outcome.rejected) {
      const first = byId.get(r.covers[0]?.cellId ?? '');
      errors.push({ ...r.error, roomTypeId: r.error.roomTypeId ?? first?.roomTypeId ?? null, ratePlanId: r.error.ratePlanId ?? first?.ratePlanId ?? null });
      for (const c of r.covers) (rejectedParts.get(c.cellId) ?? rejectedParts.set(c.cellId, new Set()).get(c.cellId)!).add(c.part);
    }
    const settled = (cellId: string, part: Part) => ackedParts.get(cellId)?.includes(part) || rejectedParts.get(cellId)?.has(part);
    for (const p of push)
      if (!heldParts.has(p.cellId) && p.parts.every((part) => settled(p.cellId, part))) done.set(p.cellId, cellById.get(p.cellId)!.dirtySeq);
    errors.push(...outcome.warnings);
    // Parts whose outcome is unknown lose their acknowledgement: sent without a definitive answer
    // (timeout, lost connection, shutdown, a push stopped half-way); of a taken-over cell, every
    // part this push did not get acknowledged (the dead worker's request may still have landed).
    const uncertain: Array<{ cellId: string; parts: Part[] }> = [];
    for (const c of cells) {
      const acked = ackedParts.get(c.cellId) ?? [];
      const parts = takenOver.has(c.cellId)
        ? ALL_PARTS.filter((part) => !acked.includes(part))
        : (byId.get(c.cellId)?.parts ?? []).filter((part) => !settled(c.cellId, part));
      if (parts.length) uncertain.push({ cellId: c.cellId, parts });
    }

    const refused = new Map<string, Record<string, Record<string, unknown>>>();
    for (const r of outcome.rejected) {
      if (!r.value) continue;
      for (const c of r.covers) {
        const values = byId.get(c.cellId)?.values;
        if (values) (refused.get(c.cellId) ?? refused.set(c.cellId, {}).get(c.cellId)!)[c.part] = partValues(values, c.part);
      }
    }
    const finish: PushFinish = {
      connectionId,
      propertyId: connection.propertyId,
      claimId,
      cellIds: claimed.map((r) => r.id),
      pushed: push,
      target: { endpoint: connection.endpointUrl, hotel: connection.hotelCode },
      acked: [...ackedParts].map(([cellId, parts]) => ({
        cellId,
        parts,
        values: byId.get(cellId)!.values,
        room: byId.get(cellId)!.roomCode,
        rate: byId.get(cellId)!.rateCode,
      })),
      // Nothing acknowledged at its target before (or taken over: unknown): the OTA shows what this push sent there now.
      fresh: cells.filter((c) => takenOver.has(c.cellId) || !(c.acked.avail || c.acked.rateAcked || c.acked.restr)).map((c) => c.cellId),
      uncertain,
      refused: [...refused].map(([cellId, r]) => ({ cellId, refused: r, room: byId.get(cellId)!.roomCode, rate: byId.get(cellId)!.rateCode })),
      done: [...done].map(([cellId, dirtySeq]) => ({ cellId, dirtySeq })),
      accepted: push
        .filter((p) => p.parts.every((part) => ackedParts.get(p.cellId)?.includes(part)))
        .map((p) => ({ roomTypeId: p.roomTypeId, ratePlanId: p.ratePlanId, stayDate: p.night })),
      errors,
      // Room types and plans whose models agree again: their pricing-model errors resolve.
      pricedAlike: [...agreeing.values()],
      notOverbooked,
      holds,
      // Closings that went out (not held) count towards the next passes' share (guard.ts).
      closingsSent: closings.filter((id) => ackedParts.has(id)).length,
      unknownMappings: outcome.rejected
        .filter((r) => r.error.kind === 'mapping' && byId.has(r.covers[0]?.cellId ?? ''))
        .map((r) => ({ cell: byId.get(r.covers[0]!.cellId)!, message: r.error.message })),
    };
    // A deadlock or serialization failure there is PostgreSQL choosing between two transactions
    // that met: this one runs again at once (counted and logged), it is not a failure of the connection.
    const { lost } = await rerunOnConflict(() => withTransaction(pool, (client) => finishPush(client, finish)), { what: 'sync finish', log: this.#o.log });
    if (lost)
      this.#o.log.warn({ connection: connectionId, cells: lost }, 'sync worker: cells taken over by another worker during the push; marked dirty again');

    await this.#breaker(connection, outcome);
    return { cells: claimed.length, requests: outcome.requests, stopped: !!outcome.stop };
  }

  /**
   * The holds of this pass (guard.ts), each cell with the parts held, the values held and the
   * dirty_seq read after claiming. A cell both guards hold is stored once, with both parts.
   */
  async #judgeGuards(
    connection: ConnectionRow,
    push: PushCell[],
    cells: ClaimedCell[],
    claimed: Claimed[],
  ): Promise<{ holds: HoldRecord[]; closings: string[] }> {
    const guard = guardOf(connection.settings);
    if (!guard || !push.length) return { holds: [], closings: [] };
    const before = new Map(claimed.map((c) => [c.id, c]));
    const judged = new Map<string, JudgedCell>(
      cells.map((c) => {
        const b = before.get(c.cellId);
        return [c.cellId, { ...c, guardApproved: b?.guardApproved ?? false, heldValues: b?.heldValues ?? null, lastHold: b?.lastHold ?? null }];
      }),
    );
    const pushed = new Map(push.map((p) => [p.cellId, p]));
    const basis =
      guard.closeSharePct === null
        ? { cells: 0, recent: 0 }
        : ((await this.#o.pool.query<{ cells: number; recent: number }>(closingBasis(connection.id, CLOSING_WINDOW_MINUTES))).rows[0] ?? {
            cells: 0,
            recent: 0,
          });
    const { holds, closings } = judgeGuards(push, judged, guard, basis.cells, basis.recent);
    // A cell both guards hold is stored once, on the first hold, with the parts of both: what one
    // guard holds must not go out because the other guard got the cell.
    const parts = new Map<string, Set<Part>>();
    for (const h of holds) for (const c of h.cells) for (const p of c.parts) (parts.get(c.cellId) ?? parts.set(c.cellId, new Set()).get(c.cellId)!).add(p);
    const taken = new Set<string>();
    return {
      holds: holds
        .map((h) => ({
          kind: h.kind,
          reason: h.reason,
          sample: h.sample,
          ...(h.existing ? { existing: h.existing } : {}),
          cells: h.cells
            .filter((c) => !taken.has(c.cellId) && taken.add(c.cellId))
            .map((c) => {
              const held = [...parts.get(c.cellId)!];
              return { cellId: c.cellId, parts: held, dirtySeq: judged.get(c.cellId)!.dirtySeq, values: heldValuesOf(pushed.get(c.cellId)!, held) };
            }),
        }))
        .filter((h) => h.cells.length),
      closings,
    };
  }

  /** What a connector needs for one push of this connection (to `connection`'s hotel and endpoint). */
  #context(connection: ConnectionRow): PushContext {
    const { pool } = this.#o;
    return {
      connection,
      pool,
      rateLimits: this.#rateLimits,
      log: this.#o.log,
      signal: this.#abort.signal,
      settings: this.#settings(connection),
      logRequest: async (e) => {
        otaRequests.inc({ channel: connection.channel, kind: e.kind, outcome: e.status, code: e.otaCodes[0] ?? e.errorCode ?? '' });
        otaRequestSeconds.observe({ channel: connection.channel, kind: e.kind }, e.durationMs / 1000);
        return (
          (
            await pool.query<{ id: string }>(
              insertSyncLog({ ...e, connectionId: connection.id, propertyId: connection.propertyId, channel: connection.channel }),
            )
          ).rows[0]?.id ?? null
        );
      },
    };
  }

  /**
   * Closes one OTA target no longer fed (connectors/sql/closures.ts): moot when it is mapped again;
   * done once the OTA acknowledged every night; given up when the OTA refuses it for good (the
   * error is recorded where the revenue team looks); an outage leaves it pending behind the breaker.
   */
  async #close(connection: ConnectionRow, connector: Connector, closure: Closure): Promise<PassResult> {
    const { pool } = this.#o;
    if (closure.pairMapped) {
      await pool.query(finishClosure(closure.id, 'moot', null, 'none'));
      return { cells: 1, requests: 0, stopped: false };
    }
    const cells = closureCells(closure, connector);
    if (!cells.length) {
      await pool.query(finishClosure(closure.id, 'done', null, 'none'));
      return { cells: 1, requests: 0, stopped: false };
    }
    const target = { ...connection, hotelCode: closure.hotelCode, endpointUrl: closure.endpointUrl };
    // A closure at a hotel or endpoint the connection has left says nothing of its health now: its
    // failures never open the connection's breaker, they only put the closure back (with a backoff).
    const current = closure.hotelCode === connection.hotelCode && closure.endpointUrl.replace(/\/+$/, '') === connection.endpointUrl.replace(/\/+$/, '');
    const outcome = await connector.push(this.#context(target), cells);
    const what = `closing ${closure.roomCode}/${closure.rateCode} at ${connection.channel} hotel ${closure.hotelCode} (${closure.reason})`;
    // An alert: the OTA did not confirm the closure, so it may still sell that target.
    const giveUp = async (error: string) => {
      await pool.query(
        recordSyncErrors(connection.id, connection.propertyId, null, [
          { severity: 'alert', kind: 'closing_failed', errorCode: 'ERR_CLOSING', message: `${what}: given up, the OTA may still sell it: ${error}` },
        ]),
      );
      this.#o.log.error({ connection: connection.id, closure: closure.id, error }, `${what}: given up`);
    };
    if (closedEverywhere(cells, outcome)) {
      await pool.query(finishClosure(closure.id, 'done', null, closure.roomMapped ? 'rate' : 'room'));
      this.#o.log.info({ connection: connection.id, closure: closure.id, nights: cells.length }, `${what}: confirmed by the OTA`);
    } else if (outcome.stop) {
      // The request did not go through (an outage, refused credentials, the OTA refusing the whole
      // request): tried again after a backoff — an operator fixing the credentials or resuming
      // the connection sends it at once —, given up only after CLOSURE_MAX_ATTEMPTS.
      const error = outcome.stop.error.message;
      const {
        rows: [r],
      } = await pool.query<{ gaveUp: boolean }>(closureFailed(closure.id, error));
      if (r?.gaveUp) await giveUp(`${error} (after ${CLOSURE_MAX_ATTEMPTS} attempts)`);
    } else {
      // The OTA answered and refused nights by name (the room, rate or hotel is not ours there any
      // more, a night outside its window): retrying cannot help.
      const error = outcome.rejected[0]?.error.message ?? 'the OTA did not acknowledge every night';
      await pool.query(finishClosure(closure.id, 'given_up', error, 'none'));
      await giveUp(error);
    }
    if (!current) return { cells: cells.length, requests: outcome.requests, stopped: false };
    await this.#breaker(connection, outcome);
    return { cells: cells.length, requests: outcome.requests, stopped: !!outcome.stop };
  }

  /** How long a dead worker's claimed cells wait before they are taken over: its last request may
   * still be in flight at the OTA until its timeout (at most 5 s, so the OTA is healed quickly). */
  #graceSeconds(connection: ConnectionRow): number {
    return Math.min(this.#settings(connection).timeoutMs, DEAD_WORKER_GRACE_MAX_MS) / 1000;
  }

  #coalesceMs(connection: ConnectionRow): number {
    const own = connection.settings.coalesce_ms;
    // The same rule as the poll's SQL (sql/connections.ts connectionsWithWork): a whole number, else the worker's.
    return typeof own === 'number' && Number.isInteger(own) && own >= 0 && own <= 99_999 ? own : (this.#o.coalesceMs ?? 0);
  }

  #settings(connection: ConnectionRow): SyncSettings {
    const s = connection.settings;
    const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback);
    return {
      timeoutMs: num(s.timeout_ms, this.#o.timeoutMs),
      maxAttempts: Math.round(num(s.max_attempts, this.#o.maxAttempts)),
      retryInitialMs: 200,
      retryMaxMs: 5_000,
      perMinute: Math.round(num(s.rate_limit_per_minute, this.#o.defaultRatePerMinute)),
    };
  }

  /** The circuit breaker: a failed push counts up and waits; a success closes it. */
  async #breaker(connection: ConnectionRow, outcome: PushOutcome): Promise<void> {
    const { pool } = this.#o;
    const stop = outcome.stop;
    if (!stop) {
      if (outcome.requests === 0) return;
      // A healthy connection's success is recorded at most every few seconds (last_success_at for
      // the dashboard), not three statements per push.
      const healthy = connection.consecutiveFailures === 0 && connection.status === 'active';
      if (healthy && Date.now() - (this.#recorded.get(connection.id) ?? 0) < SUCCESS_RECORD_MS) return;
      this.#recorded.set(connection.id, Date.now());
      await pool.query(recordOutcome(connection.id, true, null, null));
      await pool.query(resolveTransientErrors(connection.id));
      if (!healthy) await pool.query(retryClosuresNow(connection.id));
      const moved = await pool.query(transitionStatus(connection.id, 'active', null));
      if (moved.rowCount) this.#o.log.info({ connection: connection.id }, 'connection active again');
      return;
    }
    this.#recorded.delete(connection.id);
    // Stopped by us (shutdown), not failed by the OTA: the cells stay dirty, the breaker untouched.
    if (this.#abort.signal.aborted) return;
    const failures = connection.consecutiveFailures + 1;
    const down = stop.kind !== 'unavailable' || failures >= DOWN_AFTER_FAILURES;
    let wait =
      stop.kind === 'unavailable'
        ? breakerDelayMs(failures, stop.retryAfterMs, { initialMs: BREAKER_INITIAL_MS, maxMs: this.#o.breakerMaxMs ?? BREAKER_MAX_MS })
        : Math.max(DOWN_PROBE_MS, stop.retryAfterMs);
    // No answer at all (timeout, connection lost): the OTA may still apply that request. Wait at
    // least as long as we waited for it, so a newer push does not race it there.
    if (stop.kind === 'unavailable' && stop.error.details?.httpStatus === undefined) wait = Math.max(wait, this.#settings(connection).timeoutMs);
    await pool.query(recordOutcome(connection.id, false, new Date(Date.now() + wait), stop.error.message));
    const kind =
      stop.kind === 'auth' ? 'auth' : stop.error.code === 'ERR_OTA_INVALID_RESPONSE' ? 'invalid_response' : stop.kind === 'down' ? 'rejected' : 'unavailable';
    await pool.query(
      recordSyncErrors(connection.id, connection.propertyId, null, [
        {
          severity: stop.kind === 'unavailable' && !down ? 'warning' : 'alert',
          kind,
          errorCode: stop.error.code,
          otaCode: stop.error.details?.code !== undefined ? String(stop.error.details.code) : null,
          message: stop.error.message,
        },
      ]),
    );
    const status = down ? 'down' : 'degraded';
    const moved = await pool.query(transitionStatus(connection.id, status, stop.error.message));
    if (moved.rowCount) this.#o.log.warn({ connection: connection.id, status, reason: stop.error.message, retryInMs: wait }, `connection ${status}`);
  }
}
