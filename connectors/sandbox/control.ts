/**
 * The control API both OTA sandboxes serve beside their protocol routes, for processes that
 * cannot reach the sandbox object (benchmarks, `stayos start`): set the fault plan, read the state
 * a hotel was told, read the counters, reset.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SandboxCell } from '../outbound/types.ts';
import type { FaultInjector } from './faults.ts';

export interface ControlledSandbox {
  readonly faults: FaultInjector;
  cells(hotel: string): Map<string, SandboxCell>;
  roomAvailability(hotel: string): Map<string, number>;
  reset(): void;
}

/** `stats` gives the sandbox's own counters; the injected-fault counts are added to them. */
export function controlRoutes(app: FastifyInstance, sandbox: ControlledSandbox, stats: () => Record<string, unknown>): void {
  app.post('/_control/faults', async (req, reply) => {
    try {
      return { plan: sandbox.faults.set(req.body ?? {}) };
    } catch (err) {
      if (err instanceof z.ZodError) return reply.code(400).send({ error: z.prettifyError(err) });
      throw err;
    }
  });
  app.get('/_control/state', async (req, reply) => {
    const hotel = (req.query as Record<string, string | undefined>).hotel;
    if (!hotel) return reply.code(400).send({ error: 'query parameter hotel is required' });
    return { hotel, cells: Object.fromEntries(sandbox.cells(hotel)), rooms: Object.fromEntries(sandbox.roomAvailability(hotel)) };
  });
  app.get('/_control/stats', async () => ({ ...stats(), faults: { ...sandbox.faults.injected } }));
  app.post('/_control/reset', async (_req, reply) => {
    sandbox.reset();
    return reply.code(204).send();
  });
}
