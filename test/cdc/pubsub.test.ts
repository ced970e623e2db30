/**
 * The Pub/Sub transport against PUBSUB_EMULATOR_HOST (Google's pstest fake in CI, the official
 * emulator in docker-compose): the CloudEvents contract, and no change lost across SIGKILLs of the
 * publishing CDC process, checked by ce-id. pstest ignores ordering keys, so nothing here relies
 * on order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { v1, type PubSub } from '@google-cloud/pubsub';
import { TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { runCli, type CliProcess } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { confirmedFlush, currentWal, dropSlot, slotName, startPipeline } from '../helpers/cdc.ts';
import { seedDemo } from '../helpers/demo.ts';
import { createLogger } from '../../core/logger.ts';
import { createPubSubClient, ensurePubSubResources, pubsubNames, PubSubTransport, ensureSlot } from '../../cdc/index.ts';
import { OUTBOUND_CHANNELS } from '../../connectors/registry.ts';

const emulator = process.env.PUBSUB_EMULATOR_HOST;
const PROJECT = 'stayos-test';
const db = useTestDatabase();
const prefix = `t${randomBytes(4).toString('hex')}`;
const names = pubsubNames(prefix);
let pubsub: PubSub;
let puller: v1.SubscriberClient;

/** Pulls from a subscription until `enough` says so; acknowledges what it pulled. */
async function pullUntil(subscription: string, enough: (all: Array<{ attributes: Record<string, string>; data: any }>) => boolean) {
  const all: Array<{ attributes: Record<string, string>; data: any }> = [];
  const path = puller.subscriptionPath(PROJECT, subscription);
  await waitFor(
    async () => {
      const [resp] = await puller.pull({ subscription: path, maxMessages: 1000 }, { timeout: 10_000 });
      const got = resp.receivedMessages ?? [];
      for (const m of got)
        all.push({
          attributes: (m.message!.attributes ?? {}) as Record<string, string>,
          data: JSON.parse(Buffer.from(m.message!.data as Uint8Array).toString()),
        });
      if (got.length) await puller.acknowledge({ subscription: path, ackIds: got.map((m) => m.ackId!) });
      return enough(all);
    },
    { timeoutMs: 60_000, intervalMs: 20, what: `messages on ${subscription}` },
  );
  return all;
}

beforeAll(async () => {
  if (!emulator) return;
  pubsub = createPubSubClient(PROJECT, emulator);
  await ensurePubSubResources(pubsub, names, OUTBOUND_CHANNELS);
  for (const [topic, sub] of [
    [names.changesTopic, `${names.changesTopic}.audit`],
    [names.eventsTopic, `${names.eventsTopic}.audit`],
  ] as const) {
    await pubsub.topic(topic).createSubscription(sub, { ackDeadlineSeconds: 60 });
  }
  puller = new v1.SubscriberClient((await pubsub.getClientConfig()) as unknown as ConstructorParameters<typeof v1.SubscriberClient>[0]);
  // 45 nights × 6 rate rows (NRF derives from BAR: no rows of its own) ≥ the 240 rows the kill test updates.
  await seedDemo(db.current.pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 45 });
});
afterAll(async () => {
  await puller?.close();
  await pubsub?.close();
});

describe.skipIf(!emulator)('Pub/Sub transport', () => {
  it('publishes CloudEvents 1.0 in binary mode: ce-* attributes, property_id, JSON data; domain events on their own topic', async () => {
    const { pool, url } = db.current;
    const transport = new PubSubTransport(createPubSubClient(PROJECT, emulator), names, '/stayos/cdc/test', createLogger('silent'));
    const pipe = await startPipeline(pool, url, { sinks: [transport] });
    try {
      const {
        rows: [rate],
      } = await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1
        WHERE id = (SELECT id FROM property_mgmt.daily_rates ORDER BY stay_date LIMIT 1) RETURNING id, property_id`);
      const {
        rows: [res],
      } = await pool.query(
        `INSERT INTO reservation.reservations (property_id, check_in_date, check_out_date, currency)
        VALUES ($1, current_date + 3, current_date + 5, 'EUR') RETURNING id`,
        [rate.property_id],
      );
      const changes = await pullUntil(
        `${names.changesTopic}.audit`,
        (all) => all.some((m) => m.attributes['ce-subject'] === res.id) && all.some((m) => m.attributes['ce-subject'] === rate.id),
      );
      const m = changes.find((c) => c.attributes['ce-subject'] === rate.id)!;
      expect(m.attributes).toMatchObject({
        'ce-specversion': '1.0',
        'ce-source': '/stayos/cdc/test',
        'ce-type': 'stayos.cdc.property_mgmt.daily_rates.update',
        'ce-subject': rate.id,
        property_id: rate.property_id,
        'content-type': 'application/json',
      });
      expect(m.attributes['ce-id']).toMatch(/^[0-9A-F]+\/[0-9A-F]+\/0$/);
      expect(Date.parse(m.attributes['ce-time']!)).not.toBeNaN();
      expect(m.data).toMatchObject({ op: 'update', schema: 'property_mgmt', table: 'daily_rates', key: { id: rate.id } });
      expect(Object.keys(m.data).sort()).toEqual(['after', 'before', 'commitLsn', 'commitTime', 'key', 'lsn', 'op', 'schema', 'table', 'xid']);
      expect(Number(m.data.after.amount)).toBe(Number(m.data.before.amount) + 1);
      const events = await pullUntil(`${names.eventsTopic}.audit`, (all) => all.some((e) => e.attributes['ce-type'] === 'stayos.reservation.created'));
      const created = events.find((e) => e.attributes['ce-type'] === 'stayos.reservation.created')!;
      expect(created.data.after).toMatchObject({ aggregate_type: 'reservation', aggregate_id: res.id, event_type: 'created' });
      expect(changes.every((c) => !c.attributes['ce-type']!.startsWith('stayos.reservation.'))).toBe(true);
    } finally {
      await pipe.stop();
      await transport.close();
    }
  });

  it('loses no change across SIGKILLs of the publisher (every change present by ce-id), and the connectors turn them into dirty cells', async () => {
    const { pool } = db.current;
    const slot = slotName();
    await ensureSlot(pool, slot);
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    const env = {
      DATABASE_URL: db.current.url,
      STAYOS_ENCRYPTION_KEY: TEST_KEY,
      STAYOS_CDC_SLOT: slot,
      STAYOS_SEED_DEMO: 'false',
      STAYOS_SANDBOX_URL: 'http://127.0.0.1:9',
      STAYOS_TRANSPORT: 'pubsub',
      STAYOS_PUBSUB_PREFIX: prefix,
      PUBSUB_PROJECT_ID: PROJECT,
      PUBSUB_EMULATOR_HOST: emulator,
      STAYOS_LOG_LEVEL: 'warn',
    };
    const connectors = runCli(['start', '--only', 'connectors'], env);
    let cdc: CliProcess | undefined;
    const { rows: rates } = await pool.query(`SELECT id FROM property_mgmt.daily_rates ORDER BY stay_date, id LIMIT 240`);
    let updates = 0;
    try {
      for (let round = 0; round < 4; round++) {
        cdc = runCli(['start', '--only', 'cdc'], env);
        const start = await confirmedFlush(pool, slot);
        const chunk = (async () => {
          for (const r of rates.slice(round * 60, round * 60 + 60)) {
            await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE id = $1`, [r.id]);
            updates++;
          }
        })();
        await waitFor(async () => (await confirmedFlush(pool, slot)) > start, {
          timeoutMs: 60_000,
          intervalMs: 5,
          what: `publisher progress (${cdc.output()})`,
        });
        cdc.child.kill('SIGKILL');
        await cdc.exited;
        await chunk;
      }
      cdc = runCli(['start', '--only', 'cdc'], env);
      const end = await currentWal(pool);
      await waitFor(async () => (await confirmedFlush(pool, slot)) >= end, { timeoutMs: 60_000, what: 'publisher caught up' });
      // Each of this test's updates touched a different rate row: one distinct ce-id per update,
      // however many times a message was re-delivered after a kill.
      const mine = new Set(rates.map((r) => r.id as string));
      const ofMine = (all: Array<{ attributes: Record<string, string>; data: any }>) =>
        all.filter((m) => m.data.table === 'daily_rates' && mine.has(m.attributes['ce-subject']!) && m.data.xid !== undefined);
      const messages = await pullUntil(`${names.changesTopic}.audit`, (all) => new Set(ofMine(all).map((m) => m.attributes['ce-subject'])).size >= mine.size);
      const ids = new Set(ofMine(messages).map((m) => m.attributes['ce-id']));
      expect(updates).toBe(240);
      expect(ids.size).toBe(updates);
      // The connectors' subscribers stored every touched cell for both OTAs.
      await waitFor(
        async () => {
          const {
            rows: [n],
          } = await pool.query(
            `SELECT count(*)::int AS n FROM channel.ari_dirty_cells d JOIN property_mgmt.daily_rates r
          ON r.room_type_id = d.room_type_id AND r.rate_plan_id = d.rate_plan_id AND r.stay_date = d.stay_date WHERE r.id = ANY ($1::uuid[])`,
            [rates.map((r) => r.id)],
          );
          return n.n === rates.length * 2;
        },
        { timeoutMs: 60_000, what: 'dirty cells from the subscriptions' },
      );
    } finally {
      cdc?.child.kill('SIGTERM');
      connectors.child.kill('SIGTERM');
      await cdc?.exited;
      expect((await connectors.exited).code).toBe(0);
      await dropSlot(pool, slot);
    }
  });
});
