/**
 * connectors/ — dirty ARI cells → OTA. One folder per OTA (booking-com/, expedia/), each with the
 * same files (messages, parser, client, sandbox) behind one Connector interface
 * (outbound/connector.ts); outbound/ holds what every OTA shares: the sync worker, the delta
 * planning, retries, breaker and rate limits.
 *
 * `startConnectors` runs the sync workers, and, when the CDC stream travels over Pub/Sub, each
 * OTA's subscription feeding that OTA's dirty-cell consumer (in-process, the consumers run inside
 * the CDC part).
 */
import type { Config } from '../core/config.ts';
import { createPool, type Pool } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import type { Part } from '../core/part.ts';
import { CHANNELS, createPubSubClient, DirtyCellsConsumer, ensurePubSubResources, PubSubChangeSubscriber, pubsubNames } from '../cdc/index.ts';
import { bookingConnector } from './booking-com/client.ts';
import { expediaConnector } from './expedia/client.ts';
import type { Connector } from './outbound/connector.ts';
import { SyncWorker, type WorkerOptions } from './outbound/worker.ts';
import { scheduleHorizon } from './control.ts';
import { BookingReservationPoller } from './booking-com/reservations.ts';

export const CONNECTORS: readonly Connector[] = [bookingConnector, expediaConnector];
export { SyncWorker, type WorkerOptions } from './outbound/worker.ts';
export { BookingReservationPoller, type PollerOptions, type PollResult } from './booking-com/reservations.ts';
export { closeConnection, FULL_SYNC_DEFAULT_DAYS, pendingCellCount, requestFullSync, setConnectionPaused, type CloseResult, type FullSyncRequest } from './control.ts';
export { currentAri, parityAri, type AriValues, type CellKey, type ClaimedCell } from './sql/ari.ts';
export { partsToSend } from './outbound/connector.ts';
export { setPaused } from './sql/connections.ts';
export { OTA_CHANNELS, sandboxKey, type OtaValues, type SandboxCell } from './types.ts';

/** Worker options from the configuration. */
export function workerOptions(config: Config, deps: { pool: Pool; log: Logger }, extra: Partial<WorkerOptions> = {}): WorkerOptions {
  return {
    ...deps, connectors: CONNECTORS, pollMs: config.sync.pollMs, concurrency: config.sync.concurrency, batchSize: 5000,
    timeoutMs: config.sync.timeoutMs, maxAttempts: config.sync.maxAttempts,
    defaultRatePerMinute: config.sync.ratePerMinute, ...extra,
  };
}

export async function startConnectors(deps: { config: Config; url: string; pool: Pool; log: Logger; encryptionKeys: readonly string[] }): Promise<Part> {
  const { config, pool, log } = deps;
  // The workers' own connections: each pass holds one (the connection's lock) and queries on
  // another, so they never starve the API, the CDC consumer, or each other. They decrypt
  // credentials and tokens: their sessions hold the keys.
  const workerPool = createPool(deps.url, { max: config.sync.concurrency * 2 + 2, applicationName: 'stayos-connectors', encryptionKeys: deps.encryptionKeys });
  const worker = new SyncWorker(workerOptions(config, { pool: workerPool, log }));
  worker.start();
  const horizon = scheduleHorizon(workerPool, log);
  // Booking.com bookings are pulled: the poller shares the workers' pool (one query at a time).
  const poller = new BookingReservationPoller({
    pool: workerPool, log, intervalMs: config.inbound.bookingPollSeconds * 1000, ackPauseMs: 5000,
    timeoutMs: config.sync.timeoutMs, ackAttempts: 5,
  });
  poller.start();
  log.info({ pollMs: config.sync.pollMs, concurrency: config.sync.concurrency, bookingPollSeconds: config.inbound.bookingPollSeconds }, 'connectors: sync workers and Booking.com reservation poller started');
  const stopWorker = async () => {
    await horizon();
    await poller.stop();
    await worker.stop();
    await workerPool.end();
  };
  if (config.transport !== 'pubsub') {
    return { name: 'connectors', stop: stopWorker };
  }
  const pubsub = createPubSubClient(config.pubsub.projectId, config.pubsub.emulatorHost);
  const names = pubsubNames(config.pubsub.prefix);
  await ensurePubSubResources(pubsub, names, CHANNELS);
  const subscribers = CHANNELS.map((ota) => new PubSubChangeSubscriber(pubsub, names.subscription(ota), new DirtyCellsConsumer(pool, [ota], { log, source: names.subscription(ota) }), log));
  for (const s of subscribers) s.start();
  log.info({ subscriptions: CHANNELS.map((o) => names.subscription(o)) }, 'connectors: consuming CDC changes from Pub/Sub');
  return {
    name: 'connectors',
    async stop() {
      await stopWorker();
      await Promise.all(subscribers.map((s) => s.stop()));
      await pubsub.close();
    },
  };
}
