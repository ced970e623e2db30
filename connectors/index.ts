/**
 * connectors/ — dirty ARI cells → OTA. One folder per OTA (booking-com/, expedia/) behind one
 * Connector interface: build the OTA's messages, send deltas within its limits, record what the
 * OTA acknowledged.
 *
 * The sync workers arrive with the outbound issue; until then `stayos start --only connectors`
 * runs the part's lifecycle and reports that it has nothing to push.
 */
import type { Part } from '../core/part.ts';
import type { Logger } from '../core/logger.ts';

export async function startConnectors(deps: { log: Logger }): Promise<Part> {
  deps.log.warn('connectors: the OTA sync workers are not part of this build yet; nothing is pushed');
  return { name: 'connectors', stop: async () => undefined };
}
