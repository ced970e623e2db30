/**
 * The WAL reader: one logical replication connection (pgoutput) on the slot, decoded into
 * ChangeEvents and handed to a sink, acknowledging only what the sink made durable.
 *
 * Acknowledgement rules (the point of this module):
 * - pg-logical-replication 2.5 confirms the last *received* LSN on a timer even with
 *   `auto: false` (its issue #174): the timer is disabled (`timeoutSeconds: 0`) and every status
 *   update is ours.
 * - A transaction's end LSN is confirmed only after `sink.flush()` resolved for all its changes.
 * - Keepalives that ask for a reply get the last *durably handled* LSN. A keepalive reached in
 *   stream order while no transaction is open moves the confirmed LSN to the keepalive's position:
 *   everything the server sent before it is handled, so an idle publication on a busy database
 *   does not pin WAL.
 * - Within a connection the confirmed LSN never goes backwards; a commit LSN lower than the last
 *   one confirmed in the same session is a bug and stops the stream loudly. Each connection starts
 *   from the slot's own confirmed position (a new slot, a new timeline: see streamOnce).
 * - The library's status update reports `lsn + 1` ("last byte + 1" added again); we send
 *   `lsn − 1` through it so the server receives exactly the end LSN. Confirming one byte too far
 *   could skip a transaction whose commit record starts exactly at that end LSN.
 *
 * Flow control: messages are queued in stream order and processed one by one; above a high-water
 * mark the socket is paused (PostgreSQL then waits), below a low-water mark it resumes. Sinks
 * bound their own buffers by storing early inside a large transaction, so memory stays bounded
 * whatever its size; a crash mid-way re-delivers the whole transaction, which the idempotent
 * sinks absorb.
 */
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type { Socket } from 'node:net';
import type { Logger } from '../core/logger.ts';
import { PgoutputDecoder } from './decoder.ts';
import { formatLsn, parseLsn, type Lsn } from './lsn.ts';
import type { CdcMetrics } from './metrics.ts';
import { acquireLeadership, slotStatus } from './slot.ts';
import { createPool } from '../core/db.ts';
import type { ChangeSink } from './types.ts';

export interface ReplicationOptions {
  connectionString: string;
  slot: string;
  publications: string[];
  sink: ChangeSink;
  log: Logger;
  metrics: CdcMetrics;
  highWater?: number;
  lowWater?: number;
  /** While idle, ask the server for a keepalive this often, so the slot advances past WAL that
   * holds nothing for us (an idle publication on a busy database). */
  heartbeatMs?: number;
  /** Group flush bounds: at most this many events, or this long, between storing and acknowledging. */
  maxGroupEvents?: number;
  maxGroupDelayMs?: number;
  /** Called once a transaction is durably handled (benchmarks measure commit → stored latency). */
  onDurable?: (commitTime: string, endLsn: string, events: number) => void;
  /** Run, holding the slot's leadership, before each connection: the slot's health check
   * (cdc/slot-health.ts: a lost or dropped slot is remade and every connection resynchronised). */
  beforeConnect?: () => Promise<unknown>;
  /** Reconnect backoff bounds. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

type Item = { kind: 'data'; lsn: string; msg: Pgoutput.Message } | { kind: 'keepalive'; lsn: string };

/** Streams started and not yet stopped (the tests' leak check reads it: test/setup/leaks.ts). */
export const openStreams = new Set<ReplicationStream>();

export class ReplicationStream {
  private stopped = false;
  private confirmed: Lsn = 0n;
  private service: LogicalReplicationService | undefined;
  private running: Promise<void> | undefined;
  private stopSignal!: () => void;
  private readonly stopPromise = new Promise<void>((r) => (this.stopSignal = r));

  constructor(private readonly o: ReplicationOptions) {}

  /** The highest LSN acknowledged to the slot by this process. */
  get confirmedLsn(): string {
    return formatLsn(this.confirmed);
  }

  start(): void {
    openStreams.add(this);
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    openStreams.delete(this);
    this.stopped = true;
    this.stopSignal();
    await this.service?.stop().catch(() => undefined);
    await this.running;
  }

  /** Leadership, then streaming; both retried with exponential backoff and jitter. */
  private async loop(): Promise<void> {
    const { log, metrics } = this.o;
    const minBackoff = this.o.minBackoffMs ?? 250;
    const maxBackoff = this.o.maxBackoffMs ?? 15_000;
    let backoff = minBackoff;
    while (!this.stopped) {
      const leadership = acquireLeadership(this.o.connectionString, this.o.slot);
      try {
        await Promise.race([leadership.acquired, this.stopPromise]);
        if (this.stopped) break;
        log.info({ slot: this.o.slot }, 'cdc: holding the slot lock, streaming');
        while (!this.stopped) {
          const started = Date.now();
          await this.o.beforeConnect?.();
          const ended = await Promise.race([this.streamOnce().then(() => 'ended' as const), leadership.lost.then(() => 'lost' as const)]);
          if (ended === 'lost') {
            await this.service?.stop().catch(() => undefined);
            throw new Error('lost the slot lock (its session ended)');
          }
          if (Date.now() - started > 10_000) backoff = minBackoff;
          if (!this.stopped) throw new Error('replication stream ended');
        }
      } catch (err) {
        if (this.stopped) break;
        metrics.recordError(err);
        metrics.reconnects += 1;
        log.warn({ err: (err as Error).message, retryInMs: backoff }, 'cdc: stream interrupted; reconnecting');
        await Promise.race([new Promise((r) => setTimeout(r, backoff * (0.5 + Math.random()))), this.stopPromise]);
        backoff = Math.min(maxBackoff, backoff * 2);
      } finally {
        metrics.streaming = false;
        await leadership.release();
      }
    }
  }

  /** One replication connection, until it fails or stop() is called. */
  private async streamOnce(): Promise<void> {
    const { sink, log, metrics } = this.o;
    const highWater = this.o.highWater ?? 5000;
    const lowWater = this.o.lowWater ?? 500;
    const service = new LogicalReplicationService(
      { connectionString: this.o.connectionString, application_name: `stayos-cdc:${this.o.slot}` },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
    this.service = service;
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: this.o.publications });
    const decoder = new PgoutputDecoder();
    const queue: Item[] = [];
    let paused = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    let closed = false;
    // Start from the slot's own position, every time: never from an LSN this process remembers.
    // The slot may be a new one (the old was lost or dropped) or be on another timeline after a
    // failover, where a higher LSN remembered from before says nothing about what was handled:
    // comparing across them would skip transactions. Behind what this process confirmed (the
    // server restarted before saving it), the sinks absorb the re-delivery.
    const probe = createPool(this.o.connectionString, { max: 1, applicationName: 'stayos-cdc-probe' });
    try {
      const status = await slotStatus(probe, this.o.slot);
      if (!status.exists) throw new Error(`replication slot ${this.o.slot} does not exist`);
      if (status.walStatus === 'lost') throw new Error(`replication slot ${this.o.slot} was invalidated (wal_status lost)`);
      this.confirmed = status.confirmedFlushLsn ? parseLsn(status.confirmedFlushLsn) : 0n;
    } finally {
      await probe.end();
    }
    /** Reports `this.confirmed` to the server (optionally asking for a keepalive back). The
     * library adds one byte; see the module comment. */
    const sendStatus = (ping = false) => {
      if (this.confirmed > 0n) void service.acknowledge(formatLsn(this.confirmed - 1n), ping);
    };
    const heartbeat = setInterval(() => {
      // A keepalive requested now comes back in stream order, after everything sent before it.
      if (!decoder.inTransaction && queue.length === 0) sendStatus(true);
    }, this.o.heartbeatMs ?? 10_000);
    heartbeat.unref();
    const socket = (): Socket | undefined => (service as unknown as { _connection?: { stream?: Socket } })._connection?.stream;

    const confirm = (lsn: Lsn) => {
      if (lsn <= this.confirmed) return;
      this.confirmed = lsn;
      sendStatus();
    };

    service.on('data', (lsn: string, msg: Pgoutput.Message) => {
      queue.push({ kind: 'data', lsn, msg });
      if (!paused && queue.length >= highWater) {
        paused = true;
        socket()?.pause();
      }
      wake?.();
    });
    service.on('heartbeat', (lsn: string, _time: number, shouldRespond: boolean) => {
      if (shouldRespond) sendStatus();
      queue.push({ kind: 'keepalive', lsn });
      wake?.();
    });
    service.on('error', (err: unknown) => {
      failure ??= err;
      wake?.();
    });

    const maxGroupEvents = this.o.maxGroupEvents ?? 50_000;
    const maxGroupDelayMs = this.o.maxGroupDelayMs ?? 50;
    const processor = (async () => {
      let skipping = false;
      let txEvents = 0;
      let txCommitTime = '';
      let lastCommitInSession: Lsn = 0n;
      // Group flush: while more messages are already waiting, committed transactions are stored
      // together (one flush, then one acknowledgement of the last end LSN). Catching up after an
      // outage or a burst then costs one write per batch instead of one per transaction, and a
      // cell changed by many transactions is written once. With nothing waiting, a commit is
      // stored at once, so latency stays low.
      const done: Array<{ events: number; commitTime: string; endLsn: string }> = [];
      let unflushedEvents = 0;
      let oldestUnflushed = 0;
      const flushCommitted = async () => {
        if (!done.length) return;
        await sink.flush();
        const last = done[done.length - 1]!;
        confirm(parseLsn(last.endLsn));
        for (const t of done) {
          metrics.recordTransaction(t.events, t.commitTime, t.endLsn);
          this.o.onDurable?.(t.commitTime, t.endLsn, t.events);
        }
        done.length = 0;
        unflushedEvents = 0;
      };
      while (!closed) {
        const item = queue.shift();
        if (!item) {
          await flushCommitted();
          if (queue.length) continue;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        if (paused && queue.length <= lowWater) {
          paused = false;
          socket()?.resume();
        }
        if (item.kind === 'keepalive') {
          if (!decoder.inTransaction) {
            await flushCommitted(); // never confirm past transactions that are not stored yet
            confirm(parseLsn(item.lsn));
          }
          continue;
        }
        const d = decoder.decode(item.lsn, item.msg);
        if (d.kind === 'begin') {
          // Re-delivered after a reconnect but already durable: its commit record precedes the
          // confirmed position.
          skipping = parseLsn(d.tx.commitLsn) < this.confirmed;
          txEvents = 0;
          txCommitTime = d.tx.commitTime;
        } else if (d.kind === 'changes') {
          if (skipping) continue;
          for (const change of d.changes) {
            const stored = sink.write(change); // sinks bound their own buffers (flushing early inside big transactions)
            if (stored) await stored;
            txEvents++;
          }
        } else if (d.kind === 'commit') {
          const end = parseLsn(d.endLsn);
          if (skipping) {
            skipping = false;
            continue;
          }
          if (end <= lastCommitInSession) {
            throw new Error(`LSN went backwards: commit ${d.endLsn} after ${formatLsn(lastCommitInSession)}`);
          }
          lastCommitInSession = end;
          if (!done.length) oldestUnflushed = Date.now();
          done.push({ events: txEvents, commitTime: txCommitTime, endLsn: d.endLsn });
          unflushedEvents += txEvents;
          if (!queue.length || unflushedEvents >= maxGroupEvents || Date.now() - oldestUnflushed >= maxGroupDelayMs) await flushCommitted();
        }
      }
    })();
    processor.catch((err) => {
      failure ??= err;
      closed = true;
      void service.stop();
    });

    // A stop() while this connection was being set up (the slot probe, the library connecting)
    // found no stream to end: end it here, or it would stream on and stop() would wait for it.
    if (this.stopped) {
      clearInterval(heartbeat);
      return;
    }
    service.on('start', () => {
      if (this.stopped) void service.stop().catch(() => undefined);
    });
    metrics.streaming = true;
    try {
      // '0/0': start where the slot's confirmed position is, never where this process last *received*.
      const subscribed = service.subscribe(plugin, this.o.slot, '0/00000000');
      subscribed.catch(() => undefined); // its failure is `failure` (the 'error' event), or moot after a stop
      // A stop() while the library is still connecting ends a client whose connect() may never
      // settle (pg): wait for the stop too, not for the subscription alone.
      await Promise.race([subscribed, this.stopPromise]);
    } finally {
      clearInterval(heartbeat);
      closed = true;
      wake?.();
      metrics.streaming = false;
      await service.stop().catch(() => undefined);
      await processor.catch(() => undefined);
      service.removeAllListeners();
    }
    if (failure && !this.stopped) throw failure;
    log.debug('cdc: replication connection closed');
  }
}
