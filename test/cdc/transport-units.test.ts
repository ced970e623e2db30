/** Transport behaviour that needs no server: Pub/Sub publish failures, the CloudEvents mapping. */
import { describe, expect, it } from 'vitest';
import type { PubSub } from '@google-cloud/pubsub';
import { PubSubTransport, pubsubNames, toMessage, fromMessage } from '../../cdc/index.ts';
import { createLogger } from '../../core/logger.ts';
import type { ChangeEvent } from '../../cdc/types.ts';

function change(i: number, propertyId = 'p1'): ChangeEvent {
  return {
    op: 'update',
    schema: 'property_mgmt',
    table: 'daily_rates',
    key: { id: `r${i}` },
    before: { id: `r${i}`, amount: '1.00' },
    after: { id: `r${i}`, amount: '2.00' },
    unchangedToast: [],
    lsn: '0/10',
    commitLsn: '0/20',
    index: i,
    xid: 7,
    commitTime: '2026-11-24T10:00:00.000Z',
    propertyId,
  };
}

/** A topic that refuses the first `failures` publishes, as the client does after an error on an ordering key. */
function flakyPubSub(failures: number) {
  const published: string[] = [];
  const resumed: string[] = [];
  let left = failures;
  const topic = {
    publishMessage: (m: { attributes: Record<string, string>; orderingKey: string }) => {
      if (left-- > 0) return Promise.reject(Object.assign(new Error('UNAVAILABLE'), { code: 14 }));
      published.push(m.attributes['ce-id']!);
      return Promise.resolve(`msg-${published.length}`);
    },
    resumePublishing: (key: string) => resumed.push(key),
    flush: async () => undefined,
  };
  const pubsub = { topic: () => topic, close: async () => undefined } as unknown as PubSub;
  /** Pub/Sub comes back: publishes succeed from now on. */
  const heal = () => (left = 0);
  return { pubsub, published, resumed, heal };
}

describe('PubSubTransport', () => {
  it('resumes the ordering key and republishes failed messages, in order, before flush() resolves', async () => {
    const { pubsub, published, resumed } = flakyPubSub(2);
    const t = new PubSubTransport(pubsub, pubsubNames('x'), '/stayos/cdc/test', createLogger('silent'));
    for (let i = 0; i < 5; i++) await t.write(change(i));
    await t.flush();
    expect(resumed).toContain('p1');
    expect(published.filter((id, i) => published.indexOf(id) === i)).toEqual(['0/20/2', '0/20/3', '0/20/4', '0/20/0', '0/20/1']);
    expect(new Set(published)).toEqual(new Set(['0/20/0', '0/20/1', '0/20/2', '0/20/3', '0/20/4']));
  });

  it('never resolves flush() while a publish keeps failing (the LSN is then never acknowledged)', async () => {
    const { pubsub, heal, published } = flakyPubSub(Number.POSITIVE_INFINITY);
    const t = new PubSubTransport(pubsub, pubsubNames('x'), '/s', createLogger('silent'));
    await t.write(change(0));
    const flushing = t.flush().then(() => 'flushed');
    const outcome = await Promise.race([flushing, new Promise((r) => setTimeout(() => r('still retrying'), 1500))]);
    expect(outcome).toBe('still retrying');
    expect(published).toEqual([]);
    // Pub/Sub comes back: the same flush ends, with the message published (and no retry timer left behind).
    heal();
    expect(await flushing).toBe('flushed');
    expect(published).toEqual(['0/20/0']);
  });
});

describe('CloudEvents mapping', () => {
  it('round-trips a change through a message and refuses foreign messages', () => {
    const m = toMessage(change(3), '/stayos/cdc/s');
    expect(m.orderingKey).toBe('p1');
    const back = fromMessage(m.data, m.attributes);
    expect(back).toMatchObject({ op: 'update', table: 'daily_rates', key: { id: 'r3' }, index: 3, propertyId: 'p1', commitLsn: '0/20' });
    expect(() => fromMessage(Buffer.from('{}'), { foo: 'bar' })).toThrow(/not a StayOS CloudEvent/);
  });
});
