/** One machine: change events go straight to the local consumers, in commit order. */
import type { ChangeEvent, ChangeSink } from '../types.ts';
import type { Transport } from './types.ts';

export class InProcessTransport implements Transport {
  readonly name = 'inprocess' as const;
  constructor(private readonly consumers: ChangeSink[]) {}

  write(change: ChangeEvent): void | Promise<void> {
    // Synchronous unless a consumer must store (its buffer is full): no promise per change.
    let pending: Array<Promise<void>> | undefined;
    for (const c of this.consumers) {
      const r = c.write(change);
      if (r) (pending ??= []).push(r);
    }
    if (pending) return Promise.all(pending).then(() => undefined);
  }

  async flush(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.flush()));
  }

  async close(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.close?.()));
  }
}
