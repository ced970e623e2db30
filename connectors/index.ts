/**
 * connectors/ — dirty ARI cells → OTA. One folder per OTA (booking-com/, expedia/) behind one
 * Connector interface: build the OTA's messages, send deltas within its limits, record what the
 * OTA acknowledged.
 *
 * Today this part consumes the CDC stream when it travels over Pub/Sub (each OTA's subscription
 * feeds that OTA's dirty-cell consumer); with the in-process transport the consumers run inside
 * the CDC part. The sync workers that push the cells arrive with the outbound issue; what they
 * will push for a batch of cells is computed by `sql/ari.ts`.
 */
import type { Config } from '../core/config.ts';
import type { Pool } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import type { Part } from '../core/part.ts';
import { CHANNELS, createPubSubClient, DirtyCellsConsumer, ensurePubSubResources, PubSubChangeSubscriber, pubsubNames } from '../cdc/index.ts';

export async function startConnectors(deps: { config: Config; pool: Pool; log: Logger }): Promise<Part> {
  const { config, pool, log } = deps;
  if (config.transport !== 'pubsub') {
    log.debug('connectors: in-process transport; the dirty-cell consumers run with the CDC part');
    return { name: 'connectors', stop: async () => undefined };
  }
  const pubsub = createPubSubClient(config.pubsub.projectId, config.pubsub.emulatorHost);
  const names = pubsubNames(config.pubsub.prefix);
  await ensurePubSubResources(pubsub, names, CHANNELS);
  const subscribers = CHANNELS.map((ota) => new PubSubChangeSubscriber(pubsub, names.subscription(ota), new DirtyCellsConsumer(pool, [ota]), log));
  for (const s of subscribers) s.start();
  log.info({ subscriptions: CHANNELS.map((o) => names.subscription(o)) }, 'connectors: consuming CDC changes from Pub/Sub');
  return {
    name: 'connectors',
    async stop() {
      await Promise.all(subscribers.map((s) => s.stop()));
      await pubsub.close();
    },
  };
}
