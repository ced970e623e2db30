/**
 * cdc/ — WAL → change events → per-OTA dirty ARI cells. PostgreSQL's logical replication
 * (pgoutput) streams reservation, inventory and rate changes; this part decodes them and hands
 * them to the connectors (in-process, or through Google Cloud Pub/Sub beyond one machine),
 * acknowledging an LSN only once its effects are durable.
 *
 * The streaming worker arrives with the CDC issue; until then `stayos start --only cdc` runs the
 * part's lifecycle and reports that it has nothing to stream.
 */
import type { Part } from '../core/part.ts';
import type { Logger } from '../core/logger.ts';

export async function startCdc(deps: { log: Logger }): Promise<Part> {
  deps.log.warn('cdc: the logical-replication worker is not part of this build yet; nothing is streamed');
  return { name: 'cdc', stop: async () => undefined };
}
