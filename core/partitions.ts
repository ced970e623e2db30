/**
 * Partition upkeep: compliance.maintain_partitions() creates partitions ahead and drops the ones
 * past their retention (compliance.retention_policies). Run at start and then periodically, so a
 * month boundary never finds the audit log or the outbox without a partition to write into.
 */
import type { Pool } from './db.ts';
import type { Logger } from './logger.ts';

export async function maintainPartitions(pool: Pool, at?: Date): Promise<Array<{ action: string; partition_name: string }>> {
  const { rows } = await pool.query<{ action: string; partition_name: string }>(
    'SELECT action, partition_name FROM compliance.maintain_partitions(COALESCE($1::timestamptz, now()))',
    [at ?? null],
  );
  return rows;
}

/** Runs maintenance now and every `hours`; returns a stop function. Failures are logged and retried next round. */
export function schedulePartitionMaintenance(pool: Pool, hours: number, log: Logger): () => void {
  const run = async () => {
    try {
      const changes = await maintainPartitions(pool);
      if (changes.length) log.info({ changes }, 'partition maintenance');
    } catch (err) {
      log.error({ err }, 'partition maintenance failed; will retry on the next round');
    }
  };
  void run();
  const timer = setInterval(run, hours * 3600_000);
  timer.unref();
  return () => clearInterval(timer);
}
