/**
 * A transport carries change events from the WAL reader to the per-OTA consumers. It is itself a
 * sink for the reader: `flush()` resolves only when every consumer (in-process) or Pub/Sub
 * (publish confirmed) holds everything written so far, and only then is the LSN acknowledged.
 */
import type { ChangeSink } from '../types.ts';

export interface Transport extends ChangeSink {
  readonly name: 'inprocess' | 'pubsub';
  close(): Promise<void>;
}
