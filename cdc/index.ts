/**
 * cdc/ — WAL → change events → per-OTA dirty ARI cells. PostgreSQL's logical replication
 * (pgoutput, slot STAYOS_CDC_SLOT) streams reservation, inventory, rate and mapping changes and
 * the domain-event outbox; the transport carries them to the per-OTA consumers (in-process on one
 * machine, Google Cloud Pub/Sub beyond), and an LSN is acknowledged only once its effects are
 * durable.
 */
import type { Config } from '../core/config.ts';
import { createPool, type Pool } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import type { Part } from '../core/part.ts';
import { DirtyCellsConsumer } from './consumers/dirty-cells.ts';
import { CdcMetrics, cdcStatus, reportProgress, type CdcStatus } from './metrics.ts';
import { ReplicationStream } from './replication.ts';
import { PUBLICATIONS } from './slot.ts';
import { healSlot } from './slot-health.ts';
import { InProcessTransport } from './transport/in-process.ts';
import type { Transport } from './transport/types.ts';
import { createPubSubClient, ensurePubSubResources, pubsubNames, PubSubTransport } from './transport/pubsub.ts';

export { CdcMetrics, cdcStatus, type CdcStatus } from './metrics.ts';
export { DirtyCellsConsumer } from './consumers/dirty-cells.ts';
export { ReplicationStream } from './replication.ts';
export { confirmedFlushLsn, currentWalLsn, databaseSlots, ensureSlot, slotStatus, PUBLICATIONS, type DatabaseSlot } from './slot.ts';
export { healSlot, SLOT_PROBLEMS } from './slot-health.ts';
export { recentIncidents } from './sql/incidents.ts';
export { READ_PROGRESS, type ProgressReport } from './sql/progress.ts';
export { InProcessTransport } from './transport/in-process.ts';
export { PubSubTransport, pubsubNames, createPubSubClient, ensurePubSubResources } from './transport/pubsub.ts';
export { PubSubChangeSubscriber } from './transport/pubsub-subscriber.ts';
export { toMessage, fromMessage } from './transport/cloudevents.ts';
export type { ChangeEvent, ChangeSink } from './types.ts';

export interface CdcPart extends Part {
  metrics: CdcMetrics;
  status(): Promise<CdcStatus>;
}

/** In-process: the OTA consumers run here. Pub/Sub: publish; the connectors consume. */
async function createTransport(config: Config, pool: Pool, log: Logger, channels: readonly string[]): Promise<Transport> {
  if (config.transport === 'inprocess') return new InProcessTransport([new DirtyCellsConsumer(pool, channels, { log, source: config.cdcSlot })]);
  const pubsub = createPubSubClient(config.pubsub.projectId, config.pubsub.emulatorHost);
  const names = pubsubNames(config.pubsub.prefix);
  await ensurePubSubResources(pubsub, names, channels);
  return new PubSubTransport(pubsub, names, `/stayos/cdc/${config.cdcSlot}`, log);
}

/**
 * `channels`: the OTAs with outbound ARI (the registry's, from the start-up code: the CDC knows no
 * OTA by name). Each gets its consumer (its Pub/Sub subscription beyond one machine).
 */
export async function startCdc(deps: {
  config: Config;
  url: string;
  pool: Pool;
  log: Logger;
  channels: readonly string[];
  transport?: Transport;
}): Promise<CdcPart> {
  const { config, url, pool, log, channels } = deps;
  const metrics = new CdcMetrics();
  // The consumers store through their own connections: the WAL pipeline must never queue for a
  // connection behind API requests or sync workers (its lag would grow with their load).
  const storePool = deps.transport || config.transport !== 'inprocess' ? undefined : createPool(url, { max: 2, applicationName: 'stayos-cdc-store' });
  const transport =
    deps.transport ??
    (await createTransport(config, storePool ?? pool, log, channels).catch(async (err) => {
      await storePool?.end();
      throw err;
    }));
  const stream = new ReplicationStream({
    connectionString: url,
    slot: config.cdcSlot,
    publications: [PUBLICATIONS.ari, PUBLICATIONS.domainEvents],
    sink: transport,
    log,
    metrics,
    // The slot's health, each time the stream (re)connects: made if missing, remade and every
    // connection resynchronised if lost or dropped (cdc/slot-health.ts).
    beforeConnect: () => healSlot(pool, config.cdcSlot, channels, log),
  });
  stream.start();
  const stopReporting = reportProgress(pool, config.cdcSlot, metrics, log);
  return {
    name: 'cdc',
    metrics,
    status: () => cdcStatus(pool, config.cdcSlot, metrics),
    async stop() {
      // Reporting stops first, while this process still holds the slot: its last report must not
      // land after a standby took over and overwrite the new active CDC's figures.
      try {
        await stopReporting();
      } finally {
        await stream.stop();
      }
      await transport.close();
      await storePool?.end();
    },
  };
}
