/** `stayos inbound history` and `stayos inbound replay`: reading and replaying what OTAs sent. */
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { bookingHistory, replayMessage } from '../inbound/replay.ts';
import { adapterOf } from '../connectors/registry.ts';
import { withDb } from './db.ts';

export async function runHistory(config: Config, log: Logger, channel: string, externalId: string): Promise<void> {
  await withDb(config, log, async (db) => {
    const rows = await bookingHistory(db.pool, channel, externalId);
    if (!rows.length) console.log(`no message received for ${channel} booking ${externalId}`);
    for (const r of rows) {
      console.log(
        `${r.receivedAt.toISOString()}  ${r.id}  ${r.source.padEnd(18)} ${r.messageType.padEnd(26)} ${r.outcome}${r.otaErrorCode ? ` ${r.otaErrorCode}` : ''}${r.errorMessage ? ` — ${r.errorMessage}` : ''}`,
      );
    }
  });
}

export async function runReplay(config: Config, log: Logger, id: string): Promise<void> {
  await withDb(config, log, async (db) => {
    for (const r of await replayMessage(db.pool, id, (channel) => adapterOf(channel)?.inbound)) {
      console.log(`${r.externalId ?? '(refused)'}: ${r.outcome}${r.error ? ` — ${r.error}` : ''}`);
    }
  });
}
