/**
 * What moved recently, for the dashboard: `GET /api/v1/history` (pending vs acknowledged cells over
 * the last hours), `GET /api/v1/errors` (the error log: open errors and those resolved lately) and
 * `GET /api/v1/bookings` (the latest inbound booking messages). Summed over
 * the properties the key sees, read in one transaction through the portfolio policy (api/tenant.ts). Registered in the channel routes' scope
 * (their key check applies).
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
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
import { asPortfolio } from '../tenant.ts';

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
      if (!request.principal!.properties.length) throw new StayosError('ERR_NOT_FOUND', 'this key sees no property');
      // Every property the key sees in one read (or the one connection's), summed by the query.
      return asPortfolio(app.pool, request.principal!, q.connection, async (c) => ({
        bucketSeconds: q.hours * 60,
        points: (await c.query<Point>(syncHistory(q.hours, q.connection ?? null, new Date()))).rows,
        pendingNow: (await c.query<{ n: number }>(pendingNow(q.connection ?? null))).rows[0]!.n,
      }));
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
      return {
        bookings: await asPortfolio(app.pool, request.principal!, undefined, async (c, codeOf) =>
          (await c.query(recentBookings(q.limit))).rows.map(({ propertyId, ...r }) => ({ ...r, property: codeOf(propertyId) })),
        ),
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
      return {
        errors: await asPortfolio(app.pool, request.principal!, q.connection, async (c, codeOf) =>
          (await c.query(errorLog(q.hours, q.connection ?? null, q.limit))).rows.map(({ propertyId, ...r }) => ({ ...r, property: codeOf(propertyId) })),
        ),
      };
    },
  );
}
