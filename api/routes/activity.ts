/**
 * What moved recently, for the dashboard: `GET /api/v1/history` (pending vs acknowledged cells over
 * the last hours), `GET /api/v1/errors` (the error log: open errors and those resolved lately) and
 * `GET /api/v1/bookings` (the latest inbound booking messages). Summed over
 * the properties the key sees, each read as that tenant. Registered in the channel routes' scope
 * (their key check applies).
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { PoolClient } from '../../core/db.ts';
import { StayosError } from '../../core/errors.ts';
import { doc } from '../openapi.ts';
import {
  bookingsQuery,
  errorLog as errorLogSchema,
  errorsQuery,
  historyQuery,
  recentBookings as bookingsSchema,
  syncHistory as historySchema,
} from '../schemas.ts';
import { errorLog, pendingNow, recentBookings, syncHistory } from '../sql/activity.ts';
import { asEachTenant } from '../tenant.ts';

type Point = { at: Date; pending: number | null; acknowledged: number; failed: number };

export function activityRoutes(app: FastifyInstance): void {
  app.get(
    '/api/v1/history',
    {
      schema: doc(
        'monitoring',
        'Pending vs acknowledged cells over the last hours (60 points)',
        { querystring: historyQuery, response: { 200: historySchema } },
        [400, 401, 404],
      ),
    },
    async (request) => {
      const q = request.query as z.infer<typeof historyQuery>;
      // One end for every property's query (each runs in its own transaction, with its own now()).
      const end = new Date();
      const read = async (c: PoolClient) => ({
        points: (await c.query<Point>(syncHistory(q.hours, q.connection ?? null, end))).rows,
        now: (await c.query<{ n: number }>(pendingNow(q.connection ?? null))).rows[0]!.n,
      });
      const parts = await asEachTenant(app.pool, request.principal!, q.connection, read);
      if (!parts.length) throw new StayosError('ERR_NOT_FOUND', 'this key sees no property');
      // Same buckets in every part (same query, same end): sum them by time.
      const byAt = new Map<number, Point>();
      for (const part of parts) {
        for (const pt of part.points) {
          const seen = byAt.get(pt.at.getTime());
          if (!seen) byAt.set(pt.at.getTime(), { ...pt });
          else {
            seen.acknowledged += pt.acknowledged;
            seen.failed += pt.failed;
            seen.pending = seen.pending === null && pt.pending === null ? null : (seen.pending ?? 0) + (pt.pending ?? 0);
          }
        }
      }
      return {
        bucketSeconds: q.hours * 60,
        points: [...byAt.values()].sort((a, b) => a.at.getTime() - b.at.getTime()),
        pendingNow: parts.reduce((s, p) => s + p.now, 0),
      };
    },
  );

  app.get(
    '/api/v1/bookings',
    {
      schema: doc(
        'monitoring',
        'The latest inbound booking messages (last 7 days) and how each ended',
        { querystring: bookingsQuery, response: { 200: bookingsSchema } },
        [400, 401],
      ),
    },
    async (request) => {
      const q = request.query as z.infer<typeof bookingsQuery>;
      const lists = await asEachTenant(app.pool, request.principal!, undefined, async (c, p) =>
        (await c.query(recentBookings(q.limit))).rows.map((r) => ({ ...r, property: p.code })),
      );
      return {
        bookings: lists
          .flat()
          .sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime())
          .slice(0, q.limit),
      };
    },
  );

  app.get(
    '/api/v1/errors',
    {
      schema: doc(
        'monitoring',
        'The error log: open errors, and errors resolved in the last hours (an outage that recovered stays visible)',
        { querystring: errorsQuery, response: { 200: errorLogSchema } },
        [400, 401, 404],
      ),
    },
    async (request) => {
      const q = request.query as z.infer<typeof errorsQuery>;
      const lists = await asEachTenant(app.pool, request.principal!, q.connection, async (c, p) =>
        (await c.query(errorLog(q.hours, q.connection ?? null, q.limit))).rows.map((r) => ({ ...r, property: p.code })),
      );
      return {
        errors: lists
          .flat()
          .sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime())
          .slice(0, q.limit),
      };
    },
  );
}
