/** One machine: change events go straight to the local consumers, in commit order. */
import type { ChangeEvent, ChangeSink } from '../types.ts';
import type { Transport } from './types.ts';

export class InProcessTransport implements Transport {
  readonly name = 'inprocess' as const;
  constructor(private readonly consumers: ChangeSink[]) {}

  async write(change: ChangeEvent): Promise<void> {
    for (const c of this.consumers) await c.write(change);
  }

  async flush(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.flush()));
  }

  async close(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.close?.()));
  }
}
