/**
 * A test fails when it leaves behind what it started (issue 17): a database pool it did not end,
 * a replication stream it did not stop, or a timer of our code still pending after it returned
 * (a loop, a poller, a retry nobody stops). Only what the test itself created counts: a file's
 * beforeAll resources are its own business, closed by its afterAll. This file's afterEach runs
 * after the test file's own (vitest runs after-hooks in reverse), so a test that cleans up in
 * afterEach passes.
 *
 * Timers: setTimeout/setInterval are wrapped to remember the ones created from this repository's
 * code (not node_modules): a ref'd timer of ours still pending 2 s after the test is a leak.
 */
import path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { openPools } from '../../core/db.ts';
import { openStreams } from '../../cdc/replication.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OURS = ['api', 'cdc', 'cli', 'connectors', 'core', 'inbound', 'bench'].map((d) => `${ROOT}/${d}/`);

interface Tracked {
  handle: NodeJS.Timeout;
  where: string;
  interval: boolean;
}
const pending = new Map<NodeJS.Timeout, Tracked>();
let during = false;

/**
 * Where the timer being created comes from, when our code called setTimeout/setInterval itself
 * (the caller's frame is in our folders); undefined for a library's own timers (pg's idle timeout,
 * fastify's, vitest's): those are the library's to manage, and outlive a test legitimately.
 */
function ourFrame(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 4;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const caller = stack.split('\n')[3] ?? '';
  return OURS.some((d) => caller.includes(d)) && !caller.includes('node_modules') ? caller.trim().replace(`${ROOT}/`, '') : undefined;
}

const realSetTimeout = globalThis.setTimeout;
const realSetInterval = globalThis.setInterval;
const realClearTimeout = globalThis.clearTimeout;
const realClearInterval = globalThis.clearInterval;

globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const where = during ? ourFrame() : undefined;
  const handle: NodeJS.Timeout = realSetTimeout(
    (...a: unknown[]) => {
      pending.delete(handle);
      fn(...a);
    },
    ms,
    ...args,
  );
  if (where) pending.set(handle, { handle, where, interval: false });
  return handle;
}) as typeof setTimeout;
globalThis.setInterval = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const where = during ? ourFrame() : undefined;
  const handle = realSetInterval(fn, ms, ...args);
  if (where) pending.set(handle, { handle, where, interval: true });
  return handle;
}) as typeof setInterval;
globalThis.clearTimeout = ((h?: NodeJS.Timeout | string | number) => {
  if (h) pending.delete(h as NodeJS.Timeout);
  realClearTimeout(h as NodeJS.Timeout);
}) as typeof clearTimeout;
globalThis.clearInterval = ((h?: NodeJS.Timeout | string | number) => {
  if (h) pending.delete(h as NodeJS.Timeout);
  realClearInterval(h as NodeJS.Timeout);
}) as typeof clearInterval;

let poolsBefore = new Set<unknown>();
let streamsBefore = new Set<unknown>();

beforeEach(() => {
  poolsBefore = new Set(openPools);
  streamsBefore = new Set(openStreams);
  pending.clear();
  during = true;
});

afterEach(async () => {
  during = false;
  const pools = [...openPools].filter((p) => !poolsBefore.has(p));
  const streams = [...openStreams].filter((s) => !streamsBefore.has(s));
  // Timers get a moment: a stop() may have scheduled its last tick, a closed socket its last callback.
  const live = () => [...pending.values()].filter((t) => t.handle.hasRef());
  const deadline = Date.now() + 2000;
  while (live().length && Date.now() < deadline) await new Promise((r) => realSetTimeout(r, 20));
  const timers = live().map((t) => `${t.interval ? 'setInterval' : 'setTimeout'} from ${t.where}`);
  pending.clear();
  expect(
    { pools: pools.length, replicationStreams: streams.length, timers },
    'the test left these running (end pools, stop streams and workers, clear timers)',
  ).toEqual({ pools: 0, replicationStreams: 0, timers: [] });
});
