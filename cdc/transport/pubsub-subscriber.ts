/**
 * The consuming end of the Pub/Sub transport (runs with the connectors): messages of one OTA's
 * subscription go, one at a time, into that OTA's consumer, which stores dirty cells in batches;
 * a message is acknowledged to Pub/Sub only after the batch holding it was stored. A failure
 * nacks the batch: Pub/Sub delivers it again, and marking cells dirty twice is harmless.
 */
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import type { Logger } from '../../core/logger.ts';
import type { ChangeSink } from '../types.ts';
import { fromMessage } from './cloudevents.ts';

export class PubSubChangeSubscriber {
  private subscription: Subscription;
  private chain: Promise<void> = Promise.resolve();
  private unacked: Message[] = [];
  private timer: NodeJS.Timeout | undefined;
  received = 0;

  constructor(
    pubsub: PubSub,
    subscriptionName: string,
    private readonly consumer: ChangeSink,
    private readonly log: Logger,
    private readonly batch = 500,
    private readonly maxDelayMs = 100,
  ) {
    this.subscription = pubsub.subscription(subscriptionName, { flowControl: { maxMessages: 2000, allowExcessMessages: false } });
  }

  start(): void {
    this.subscription.on('message', (m: Message) => {
      this.chain = this.chain.then(() => this.handle(m));
    });
    this.subscription.on('error', (err) => this.log.error({ err }, 'pubsub subscriber error'));
  }

  private async handle(m: Message): Promise<void> {
    this.received++;
    let change;
    try {
      change = fromMessage(m.data, m.attributes);
    } catch (err) {
      // Not our contract (unparsable): acknowledge so it does not loop forever, and say so.
      this.log.error({ err, id: m.id }, 'pubsub: dropping a message that is not a StayOS change');
      m.ack();
      return;
    }
    this.unacked.push(m);
    try {
      await this.consumer.write(change);
    } catch (err) {
      // The consumer could not store (it flushes by itself when its buffer fills): everything not
      // yet stored goes back to Pub/Sub.
      this.log.warn({ err: (err as Error).message }, 'pubsub: consumer failed; nacking for re-delivery');
      for (const u of this.unacked) u.nack();
      this.unacked = [];
      return;
    }
    if (this.unacked.length >= this.batch) await this.store();
    else
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.chain = this.chain.then(() => this.store());
      }, this.maxDelayMs);
  }

  private async store(): Promise<void> {
    const batch = this.unacked;
    this.unacked = [];
    if (!batch.length) return;
    try {
      await this.consumer.flush();
      for (const m of batch) m.ack();
    } catch (err) {
      this.log.warn({ err: (err as Error).message, messages: batch.length }, 'pubsub: storing failed; nacking for re-delivery');
      for (const m of batch) m.nack();
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.subscription.close();
    this.chain = this.chain.then(() => this.store());
    await this.chain;
  }
}
