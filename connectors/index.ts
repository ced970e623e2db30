/**
 * connectors/ — dirty ARI cells → OTA, and OTA bookings in. One folder per OTA (booking-com/,
 * expedia/, google-hotels/, opentravel/), each an adapter (adapter.ts: the OtaAdapter interface) listed in
 * registry.ts; outbound/ is the engine every OTA shares (the sync worker, the delta planning,
 * retries, breaker and rate limits), which sees only the adapters' Connectors.
 *
 * `startConnectors` (start-up wiring) runs the sync workers, the adapters' pollers, and, when the
 * CDC stream travels over Pub/Sub, each OTA's subscription feeding that OTA's dirty-cell consumer
 * (in-process, the consumers run inside the CDC part).
 */
import type { Config } from '../core/config.ts';
import { createPool, type Pool } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import type { Part } from '../core/part.ts';
import { createPubSubClient, DirtyCellsConsumer, ensurePubSubResources, PubSubChangeSubscriber, pubsubNames } from '../cdc/index.ts';
import type { Connector } from './outbound/connector.ts';
import { SyncWorker, type WorkerOptions } from './outbound/worker.ts';
import { scheduleHorizon } from './outbound/control.ts';
import { ADAPTERS, OUTBOUND_CHANNELS } from './registry.ts';

/** The outbound engine's connectors: one per adapter with outbound ARI. */
export const CONNECTORS: readonly Connector[] = ADAPTERS.flatMap((a) => (a.outbound ? [a.outbound.connector] : []));
export { ADAPTERS, adapterOf, checkRegistry, CHANNEL_CODES, OUTBOUND_CHANNELS, requireAdapter } from './registry.ts';
export type { OtaAdapter } from './adapter.ts';
export { SyncWorker, otaValuesOf, type WorkerOptions } from './outbound/worker.ts';
export {
  closeConnection,
  FULL_SYNC_DEFAULT_DAYS,
  pendingCellCount,
  requestFullSync,
  setConnectionPaused,
  type CloseResult,
  type FullSyncRequest,
} from './outbound/control.ts';
export { currentAri, parityAri, type AriValues, type CellKey, type ClaimedCell } from './outbound/sql/ari.ts';
export { partsToSend } from './outbound/connector.ts';
export { setPaused } from './outbound/sql/connections.ts';
export { sandboxKey, type OtaValues, type SandboxCell } from './outbound/types.ts';

/** Worker options from the configuration. */
export function workerOptions(config: Config, deps: { pool: Pool; log: Logger }, extra: Partial<WorkerOptions> = {}): WorkerOptions {
  return {
    ...deps,
    connectors: CONNECTORS,
    pollMs: config.sync.pollMs,
    concurrency: config.sync.concurrency,
    batchSize: 5000,
    timeoutMs: config.sync.timeoutMs,
    maxAttempts: config.sync.maxAttempts,
    defaultRatePerMinute: config.sync.ratePerMinute,
    coalesceMs: config.sync.coalesceMs,
    ...extra,
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
  // Pulled bookings (Booking.com's queues): each poller shares the workers' pool (one query at a time).
  const pollers = ADAPTERS.flatMap((a) =>
    a.inbound?.poller
      ? [
          a.inbound.poller({
            pool: workerPool,
            log,
            intervalMs: config.inbound.bookingPollSeconds * 1000,
            timeoutMs: config.sync.timeoutMs,
          }),
        ]
      : [],
  );
  for (const p of pollers) p.start();
  log.info(
    {
      pollMs: config.sync.pollMs,
      concurrency: config.sync.concurrency,
      pollers: ADAPTERS.filter((a) => a.inbound?.poller).map((a) => a.code),
      bookingPollSeconds: config.inbound.bookingPollSeconds,
    },
    'connectors: sync workers and reservation pollers started',
  );
  const stopWorker = async () => {
    await horizon();
    await Promise.all(pollers.map((p) => p.stop()));
    await worker.stop();
    await workerPool.end();
  };
  if (config.transport !== 'pubsub') {
    return { name: 'connectors', stop: stopWorker };
  }
  const pubsub = createPubSubClient(config.pubsub.projectId, config.pubsub.emulatorHost);
  const names = pubsubNames(config.pubsub.prefix);
  await ensurePubSubResources(pubsub, names, OUTBOUND_CHANNELS);
  const subscribers = OUTBOUND_CHANNELS.map(
    (ota) => new PubSubChangeSubscriber(pubsub, names.subscription(ota), new DirtyCellsConsumer(pool, [ota], { log, source: names.subscription(ota) }), log),
  );
  for (const s of subscribers) s.start();
  log.info({ subscriptions: OUTBOUND_CHANNELS.map((o) => names.subscription(o)) }, 'connectors: consuming CDC changes from Pub/Sub');
  return {
    name: 'connectors',
    async stop() {
      await stopWorker();
      await Promise.all(subscribers.map((s) => s.stop()));
      await pubsub.close();
    },
  };
}
