/**
 * The demo's OTA side, from the registry: each adapter with a sandbox has a demo connection
 * (its `sandbox.demo`) and serves its sandbox at /sandbox/<path> of `stayos start`.
 */
import type { FastifyInstance } from 'fastify';
import type { DemoSeedConnection } from '../core/demo/seed-demo.ts';
import { ADAPTERS } from './registry.ts';

/** Where an adapter's sandbox is mounted. */
export const sandboxPathOf = (path: string) => `/sandbox/${path}`;

/**
 * The demo connections (of `channels`, in registry order; every adapter with a sandbox when not
 * given), as the seed inserts them: endpoints under `sandboxBaseUrl` once seeded.
 */
export function demoConnections(sandboxBaseUrl: string, channels?: readonly string[]): DemoSeedConnection[] {
  return ADAPTERS.filter((a) => a.sandbox && (!channels || channels.includes(a.code))).map((a) => {
    const s = a.sandbox!;
    const sandboxPath = sandboxPathOf(s.path);
    return {
      channel: a.code,
      sandboxPath,
      hotelCode: s.demo.hotelCode,
      credentials: s.demo.credentials,
      settings: { ...s.demo.settings, ...s.demoSettings?.(`${sandboxBaseUrl}${sandboxPath}`) },
      roomCodes: s.demo.roomCodes,
      rateCodes: s.demo.rateCodes,
      reservationsUrl: Boolean(a.reservationsUrl),
    };
  });
}

/** Every adapter's sandbox, each under its path: a route plugin for buildApp({ plugins }). */
export function demoSandboxes(options: { faults?: unknown } = {}): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    for (const a of ADAPTERS) if (a.sandbox) await app.register(a.sandbox.plugin(options), { prefix: sandboxPathOf(a.sandbox.path) });
  };
}
