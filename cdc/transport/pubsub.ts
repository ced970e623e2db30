/**
 * Beyond one machine: change events go to Google Cloud Pub/Sub, topic `${prefix}-cdc-changes`
 * (domain events: `${prefix}-domain-events`), one subscription per OTA
 * (`${prefix}-cdc-changes.<ota>`), all created when missing.
 *
 * `flush()` resolves only once Pub/Sub confirmed every publish so far; the WAL reader acknowledges
 * the LSN only then. A failed publish is never skipped: with ordering keys the client stops
 * publishing that key after a failure, so the key is resumed (`resumePublishing`) and the failed
 * messages are published again, in their order, with backoff, until they are accepted.
 */
import { PubSub, type Topic } from '@google-cloud/pubsub';
import type { Logger } from '../../core/logger.ts';
import type { ChangeEvent } from '../types.ts';
import { isDomainEvent, toMessage, type PubSubMessage } from './cloudevents.ts';
import type { Transport } from './types.ts';

export interface PubSubNames {
  changesTopic: string;
  eventsTopic: string;
  subscription(ota: string): string;
}

export function pubsubNames(prefix: string): PubSubNames {
  return {
    changesTopic: `${prefix}-cdc-changes`,
    eventsTopic: `${prefix}-domain-events`,
    subscription: (ota) => `${prefix}-cdc-changes.${ota}`,
  };
}

export function createPubSubClient(projectId: string | undefined, emulatorHost: string | undefined): PubSub {
  if (emulatorHost) {
    // Against an emulator there is no metadata server to ask for credentials or the project:
    // never let the auth library probe the network for one.
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    process.env.PUBSUB_EMULATOR_HOST = emulatorHost;
  }
  if (!projectId) throw new Error('Pub/Sub needs a project: set PUBSUB_PROJECT_ID or GOOGLE_CLOUD_PROJECT');
  return new PubSub({ projectId });
}

/** Creates the topics and the per-OTA subscriptions when missing (idempotent). */
export async function ensurePubSubResources(pubsub: PubSub, names: PubSubNames, otas: readonly string[]): Promise<void> {
  for (const name of [names.changesTopic, names.eventsTopic]) {
    const [exists] = await pubsub.topic(name).exists();
    if (!exists)
      await pubsub.createTopic(name).catch((e: { code?: number }) => {
        if (e.code !== 6) throw e;
      }); // 6 = ALREADY_EXISTS
  }
  for (const ota of otas) {
    const sub = pubsub.topic(names.changesTopic).subscription(names.subscription(ota));
    const [exists] = await sub.exists();
    // ackDeadlineSeconds explicit: some emulators refuse 0 (the service reads it as 10 s).
    if (!exists) {
      await pubsub
        .topic(names.changesTopic)
        .createSubscription(names.subscription(ota), { ackDeadlineSeconds: 60, enableMessageOrdering: true })
        .catch((e: { code?: number }) => {
          if (e.code !== 6) throw e;
        });
    }
  }
}

interface Pending {
  topic: Topic;
  message: PubSubMessage;
  result: Promise<string>;
}

export class PubSubTransport implements Transport {
  readonly name = 'pubsub' as const;
  private pending: Pending[] = [];
  private readonly changes: Topic;
  private readonly events: Topic;

  constructor(
    private readonly pubsub: PubSub,
    names: PubSubNames,
    private readonly source: string,
    private readonly log: Logger,
    private readonly maxPending = 1000,
  ) {
    const options = { messageOrdering: true, batching: { maxMessages: 500, maxMilliseconds: 5 } };
    this.changes = pubsub.topic(names.changesTopic, options);
    this.events = pubsub.topic(names.eventsTopic, options);
  }

  async write(change: ChangeEvent): Promise<void> {
    const topic = isDomainEvent(change) ? this.events : this.changes;
    this.publish(topic, toMessage(change, this.source));
    // Bounded memory inside a large transaction: wait for confirmations now and then.
    if (this.pending.length >= this.maxPending) await this.flush();
  }

  private publish(topic: Topic, message: PubSubMessage): void {
    const result = topic.publishMessage(message);
    result.catch(() => undefined); // handled in flush()
    this.pending.push({ topic, message, result });
  }

  async flush(): Promise<void> {
    let attempt = 0;
    while (this.pending.length) {
      const batch = this.pending;
      this.pending = [];
      const outcomes = await Promise.allSettled(batch.map((p) => p.result));
      const failed = batch.filter((_, i) => outcomes[i]!.status === 'rejected');
      if (!failed.length) return;
      attempt++;
      const reason = (outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason;
      this.log.warn({ failed: failed.length, attempt, err: (reason as Error)?.message }, 'pubsub: publish failed; resuming and retrying');
      await new Promise((r) => setTimeout(r, Math.min(10_000, 100 * 2 ** attempt) * (0.5 + Math.random())));
      for (const key of new Set(failed.map((f) => f.message.orderingKey))) {
        for (const topic of new Set(failed.map((f) => f.topic))) topic.resumePublishing(key);
      }
      for (const f of failed) this.publish(f.topic, f.message); // same order as first published
    }
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await Promise.all([this.changes.flush(), this.events.flush()]).catch(() => undefined);
    await this.pubsub.close().catch(() => undefined);
  }
}
