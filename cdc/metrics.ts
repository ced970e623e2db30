/**
 * CDC observability, in one place for the monitoring API: replication lag in bytes (from the
 * slot) and seconds (commit time → durably handled), events per second, slot wal_status, spill
 * counters, and the last error.
 */
import type { Pool } from '../core/db.ts';
import { RESOLVE_DRAINED_INCIDENTS } from './slot-health.ts';
import type { Logger } from '../core/logger.ts';
import { slotStatus, type SlotStatus } from './slot.ts';
import { SAMPLE_PENDING, saveProgress } from './sql/progress.ts';

export class CdcMetrics {
  eventsTotal = 0;
  transactionsTotal = 0;
  reconnects = 0;
  lastError: { message: string; at: string } | null = null;
  /** Commit time of the last durably handled transaction. */
  lastCommitTime: string | null = null;
  lastHandledAt: string | null = null;
  /** Seconds from commit to durably handled, for the last transaction. */
  lagSeconds: number | null = null;
  confirmedLsn: string | null = null;
  streaming = false;
  private window: Array<{ t: number; n: number }> = [];

  recordTransaction(events: number, commitTime: string, confirmedLsn: string): void {
    const now = Date.now();
    this.eventsTotal += events;
    this.transactionsTotal += 1;
    this.lastCommitTime = commitTime;
    this.lastHandledAt = new Date(now).toISOString();
    this.lagSeconds = Math.max(0, (now - Date.parse(commitTime)) / 1000);
    this.confirmedLsn = confirmedLsn;
    this.window.push({ t: now, n: events });
    this.trim(now);
  }

  recordError(err: unknown): void {
    this.lastError = { message: (err as Error)?.message ?? String(err), at: new Date().toISOString() };
  }

  /** Events handled per second over the last 10 seconds. */
  eventsPerSecond(now = Date.now()): number {
    this.trim(now);
    return this.window.reduce((s, w) => s + w.n, 0) / 10;
  }

  private trim(now: number): void {
    while (this.window.length && this.window[0]!.t < now - 10_000) this.window.shift();
  }
}

export interface CdcStatus extends SlotStatus {
  streaming: boolean;
  eventsTotal: number;
  eventsPerSecond: number;
  lagSeconds: number | null;
  lastCommitTime: string | null;
  lastError: { message: string; at: string } | null;
}

/** Everything the monitoring issue shows about the CDC pipeline. */
export async function cdcStatus(pool: Pool, slot: string, metrics: CdcMetrics): Promise<CdcStatus> {
  return {
    ...(await slotStatus(pool, slot)),
    streaming: metrics.streaming,
    eventsTotal: metrics.eventsTotal,
    eventsPerSecond: metrics.eventsPerSecond(),
    lagSeconds: metrics.lagSeconds,
    lastCommitTime: metrics.lastCommitTime,
    lastError: metrics.lastError,
  };
}

/**
 * Writes the counters to channel.cdc_progress every `everyMs` (5 s) and a pending-cells sample per
 * connection every `sampleMs` (30 s), so an API process elsewhere can show events/s and the chart
 * of pending changes. Only while this process streams the slot: a standby CDC (waiting on the
 * slot's lock) must not overwrite the active one's figures with its zeros. A failed write is
 * logged and tried again at the next tick: monitoring must never stop the pipeline. Returns the
 * stop function (it writes a last report, events/s 0, if this process ever reported).
 */
export function reportProgress(
  pool: Pool,
  slot: string,
  metrics: CdcMetrics,
  log: Logger,
  opts: { everyMs?: number; sampleMs?: number } = {},
): () => Promise<void> {
  const everyMs = opts.everyMs ?? 5000;
  const sampleMs = opts.sampleMs ?? 30_000;
  let lastSample = 0;
  let reported = false;
  const save = (eventsPerSecond: number) =>
    pool.query(
      saveProgress({
        slot,
        eventsTotal: metrics.eventsTotal,
        transactionsTotal: metrics.transactionsTotal,
        eventsPerSecond,
        lastCommitTime: metrics.lastCommitTime,
        confirmedLsn: metrics.confirmedLsn,
      }),
    );
  const report = async () => {
    if (!metrics.streaming) return;
    reported = true;
    await save(metrics.eventsPerSecond());
    if (Date.now() - lastSample >= sampleMs) {
      lastSample = Date.now();
      await pool.query(SAMPLE_PENDING);
    }
    // A slot incident ends once the resync it started has drained.
    await pool.query(RESOLVE_DRAINED_INCIDENTS);
  };
  // One report at a time: a tick while the previous report still waits on the database is skipped
  // (not queued behind it), so a slow database gets no pile of reports when it comes back.
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= report()
      .catch((err) => log.warn({ err }, 'cdc: progress report failed'))
      .finally(() => {
        running = undefined;
      });
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
    if (reported) await save(0).catch(() => undefined);
  };
}
