/**
 * The revenue team's view of its channels. `GET /api/v1/channels/summary`: connections per health
 * and needing attention, with the totals behind them. `GET /api/v1/channels[?property=CODE]
 * [&status=HEALTH|attention][&channel=…][&limit&offset]`: a page of connections, those needing
 * attention first (api/sql/channels.ts), read over all the key's properties in one transaction
 * (asPortfolio); per connection its health (active / degraded / down / paused, and why), last successful push, pending cells and
 * the age of the oldest, requests and failures in the last hour, open errors, unmapped room types
 * and rate plans, inbound bookings in the last 24 h and open overbookings. `GET
 * /api/v1/channels/:id`: the same, with the lists behind the counts. Reads the channel.channel_status
 * view as the tenant (api/tenant.ts): row-level security decides, so another property's connection
 * is a 404. Actions:
 * `POST /api/v1/channels/:id/full-sync|pause|resume|retry-errors`, each recorded and audited;
 * guardrail holds: `GET /api/v1/channels/:id/holds`, `POST /api/v1/channels/:id/holds/:holdId/approve`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { rerunOnConflict, type PoolClient } from '../../core/db.ts';
import { StayosError } from '../../core/errors.ts';
import { databaseSlots, READ_PROGRESS, recentIncidents, type ProgressReport } from '../../cdc/index.ts';
import {
  ADAPTERS,
  CONNECTORS,
  parityAri,
  partsToSend,
  requestFullSync,
  setPaused,
  otaValuesOf,
  FULL_SYNC_DEFAULT_DAYS,
  type ClaimedCell,
} from '../../connectors/index.ts';
import { ACTING_ROLES, authenticate, type Principal } from '../keys.ts';
import { doc } from '../openapi.ts';
import {
  actionResult,
  cdcStatus,
  channelDetail,
  channelList,
  channelsQuery,
  channelsSummaryQuery,
  channelSummary,
  otaList,
  fullSyncBody,
  holdList,
  holdParams,
  idParams,
  parityQuery,
  parityReport,
} from '../schemas.ts';
import { approveHold, listHolds, resolveHeldErrors } from '../../connectors/outbound/sql/holds.ts';
import { recordAction, retryErrors } from '../sql/actions.ts';
import { connectionRoutes } from './connections.ts';
import { activityRoutes } from './activity.ts';
import { asPortfolio, onConnection as onTenantConnection } from '../tenant.ts';
import { channelPage, channelSummary as channelSummarySql } from '../sql/channels.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

interface StatusRow {
  id: string;
  property_id: string;
  channel_code: string;
  ota_hotel_code: string;
  status: string;
  status_reason: string | null;
  status_changed_at: Date;
  last_success_at: Date | null;
  consecutive_failures: number;
  retry_at: Date | null;
  last_error: string | null;
  pending_cells: number;
  oldest_dirty_at: Date | null;
  requests_1h: number;
  failed_1h: number;
  open_errors: number;
  open_mapping_problems: number;
  bookings_24h: number;
  open_overbookings: number;
  closing_for: string | null;
  pending_closures: number;
  held_cells: number;
}

const STATUS_TIMES = ['status_changed_at', 'last_success_at', 'retry_at', 'oldest_dirty_at'] as const;
/** A channel_status row read back from JSON (api/sql/channels.ts): its timestamps as dates again. */
function statusRowOf(j: Record<string, unknown>): StatusRow {
  const r = { ...j } as Record<string, unknown>;
  for (const k of STATUS_TIMES) r[k] = r[k] == null ? null : new Date(String(r[k]));
  return r as unknown as StatusRow;
}

const HEALTH: Record<string, string> = { active: 'active', degraded: 'degraded', down: 'down', paused: 'paused', disabled: 'disabled' };

/** Why a connection is not active, as the revenue team reads it. */
function health(r: StatusRow): string | null {
  if (r.status === 'paused') return `${r.status_reason ?? 'paused'}: the OTA keeps the last values it got until it is resumed`;
  return r.status_reason ?? (r.status === 'active' ? null : r.last_error);
}

function view(r: StatusRow, propertyCode: string) {
  return {
    id: r.id,
    property: propertyCode,
    channel: r.channel_code,
    hotelCode: r.ota_hotel_code,
    health: r.closing_for
      ? {
          status: 'closing',
          reason: `closing its inventory at the OTA (${r.pending_closures} target(s) left) before it is ${r.closing_for === 'disable' ? 'disabled' : 'deleted'}`,
          since: r.status_changed_at,
        }
      : { status: HEALTH[r.status] ?? r.status, reason: health(r), since: r.status_changed_at },
    pendingClosures: r.pending_closures,
    heldCells: r.held_cells,
    lastSuccessAt: r.last_success_at,
    consecutiveFailures: r.consecutive_failures,
    retryAt: r.retry_at,
    pending: { cells: r.pending_cells, oldestAgeSeconds: r.oldest_dirty_at ? Math.round((Date.now() - r.oldest_dirty_at.getTime()) / 1000) : null },
    lastHour: { requests: r.requests_1h, failed: r.failed_1h },
    openErrors: r.open_errors,
    unmapped: r.open_mapping_problems,
    inboundBookings24h: r.bookings_24h,
    openOverbookings: r.open_overbookings,
  };
}

/** The properties a request may read: the key's, narrowed to `?property=CODE`. */
function propertiesOf(request: FastifyRequest, code?: string) {
  const all = request.principal!.properties;
  const chosen = code ? all.filter((p) => p.code === code) : all;
  if (!chosen.length) throw new StayosError('ERR_NOT_FOUND', `no property ${code} visible to this key`);
  return chosen;
}

export async function channelRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // The matched route, not the raw URL: the router decodes the path (`/%61pi/v1/…` is /api/v1/…).
    if (!request.routeOptions.url?.startsWith('/api/v1/')) return;
    const principal = await authenticate(app.pool, request.headers.authorization);
    if (!principal) {
      reply.header('www-authenticate', 'Bearer realm="StayOS"');
      throw new StayosError('ERR_AUTH', 'send a valid API key: Authorization: Bearer sos_…');
    }
    request.principal = principal;
  });

  /**
   * The CDC slot as PostgreSQL reports it: whether a consumer streams from it, how far its
   * acknowledged position trails the WAL (bytes, and seconds as the WAL sender measures them), and
   * `wal_status` (`lost` means the slot fell behind max_slot_wal_keep_size: a full sync is due).
   */
  app.get(
    '/api/v1/cdc',
    {
      schema: doc(
        'monitoring',
        "CDC slot: lag in bytes and seconds, wal_status, events/s, and what the CDC detected and healed by itself (incidents). Admin keys see every pgoutput slot of the database; other keys the CDC's own",
        { response: { 200: cdcStatus } },
      ),
    },
    async (request) => {
      const [all, { rows: ours }, { rows: progress }, { rows: incidents }] = await Promise.all([
        databaseSlots(app.pool),
        app.pool.query<{ slot: string }>(`SELECT slot_name AS slot FROM channel.cdc_slots WHERE deleted_at IS NULL`),
        app.pool.query<ProgressReport>(READ_PROGRESS),
        app.pool.query(recentIncidents(24, 20)),
      ]);
      // The database's other slots (another application's CDC, a replica's) are the operators' business.
      const own = new Set(ours.map((o) => o.slot));
      const admin = request.principal!.role === 'admin';
      const slots = admin ? all : all.filter((s) => own.has(s.slot));
      // A change set aside (poison) names another hotel's connection and PostgreSQL's own words: admins only.
      if (!admin)
        for (const i of incidents) if (i.kind === 'poison') i.detail = 'a change could not be stored and was set aside (the details are shown to admin keys)';
      // What the CDC part last reported (channel.cdc_progress); null when no CDC reports now.
      const fresh = progress.filter((p) => p.fresh);
      return { slots, eventsPerSecond: fresh.length ? fresh.reduce((s, p) => s + p.eventsPerSecond, 0) : null, incidents };
    },
  );

  connectionRoutes(app);
  activityRoutes(app);

  // The OTA registry as the API serves it: the dashboard's labels, and what an integration engineer may connect.
  app.get(
    '/api/v1/otas',
    {
      schema: doc(
        'channels',
        'The OTAs StayOS connects (its registry): name, outbound ARI, how bookings come in, the settings a connection takes',
        { response: { 200: otaList } },
        [401],
      ),
    },
    async () => ({
      otas: ADAPTERS.map((a) => ({
        code: a.code,
        name: a.name,
        outbound: a.outbound ? { syncDays: { min: a.outbound.days.min, max: a.outbound.days.max } } : null,
        inbound: a.inbound?.webhook ? ('webhook' as const) : a.inbound?.poller ? ('poll' as const) : null,
        settings: Object.keys(a.settings.shape),
      })),
    }),
  );

  app.get(
    '/api/v1/channels',
    {
      schema: doc(
        'channels',
        'The connections the key sees, a page at a time, those needing attention first, with their health, pending cells, errors and bookings',
        { querystring: channelsQuery, response: { 200: channelList } },
        [400, 401, 404],
      ),
    },
    async (request) => {
      const q = request.query as z.infer<typeof channelsQuery>;
      return asPortfolio(
        app.pool,
        request.principal!,
        undefined,
        async (c, codeOf) => {
          const {
            rows: [page],
          } = await c.query<{ total: number; rows: Array<Record<string, unknown>> }>(
            channelPage({ status: q.status ?? null, channel: q.channel ?? null, limit: q.limit, offset: q.offset }),
          );
          // Out of json_agg: timestamps come back as text; the view's types again.
          const rows = page!.rows.map(statusRowOf);
          return {
            channels: rows.map((r) => view(r, codeOf(r.property_id))),
            total: page!.total,
            nextOffset: q.offset + rows.length < page!.total ? q.offset + rows.length : null,
          };
        },
        propertiesOf(request, q.property),
      );
    },
  );

  app.get(
    '/api/v1/channels/summary',
    {
      schema: doc(
        'channels',
        "The dashboard's first line: connections per health, how many need attention, and the pending cells, errors and holds behind them",
        { querystring: channelsSummaryQuery, response: { 200: channelSummary } },
        [400, 401, 404],
      ),
    },
    async (request) => {
      const q = request.query as z.infer<typeof channelsSummaryQuery>;
      return asPortfolio(app.pool, request.principal!, undefined, async (c) => (await c.query(channelSummarySql())).rows[0], propertiesOf(request, q.property));
    },
  );

  /**
   * Actions (roles admin, revenue_manager, integration). Each is recorded in
   * channel.connection_actions as the key's user, in the same transaction as what it changes, so it
   * is audited and published; a connection the key cannot see is a 404.
   */
  const act = (path: string, summary: string, run: (id: string, request: FastifyRequest) => Promise<Record<string, unknown>>, body?: z.ZodType) =>
    app.post(
      `/api/v1/channels/:id/${path}`,
      {
        schema: doc('channels', summary, { params: idParams, ...(body ? { body } : {}), response: { 202: actionResult } }, [400, 401, 403, 404, 409]),
      },
      async (request, reply) => {
        if (!ACTING_ROLES.has(request.principal!.role)) throw new StayosError('ERR_FORBIDDEN', `the role ${request.principal!.role} may read, not act`);
        const result = await run((request.params as { id: string }).id, request);
        return reply.code(202).send(result);
      },
    );
  const onConnection = <T>(request: FastifyRequest, id: string, fn: (c: PoolClient) => Promise<T>) => onTenantConnection(app.pool, request.principal!, id, fn);
  // An action acts with the user's role on the connection's property (api/keys.ts mayActOn).
  const actOn = <T>(request: FastifyRequest, id: string, fn: (c: PoolClient) => Promise<T>) =>
    onTenantConnection(app.pool, request.principal!, id, fn, { act: true });
  act(
    'full-sync',
    'Push every mapped cell of the window again (audited)',
    async (id, request) => {
      const days = (request.body as z.infer<typeof fullSyncBody>)?.days ?? FULL_SYNC_DEFAULT_DAYS;
      // Visible to this key first; recorded once marked (a refused window records nothing). The
      // marking runs in chunks of its own, so it cannot share the record's transaction.
      await actOn(request, id, async () => undefined);
      const r = await requestFullSync(app.pool, id, days);
      await actOn(request, id, (c) => c.query(recordAction(id, 'full_sync', { days, cells: r.cells })));
      return { action: 'full_sync', connectionId: id, days: r.days, cellsMarked: r.cells };
    },
    fullSyncBody,
  );
  for (const [path, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    act(
      path,
      paused ? 'Stop pushing to the OTA; changes keep accumulating as pending cells (audited)' : 'Push again, starting with what accumulated (audited)',
      async (id, request) =>
        actOn(request, id, async (c) => {
          const {
            rows: [r],
          } = await c.query<{ status: string }>(setPaused(id, paused));
          if (!r) throw new StayosError('ERR_CONFLICT', 'the connection is disabled; enable it first');
          await c.query(recordAction(id, paused ? 'pause' : 'resume', {}));
          return { action: path, connectionId: id, status: r.status };
        }),
    );
  }
  // Run again at once if PostgreSQL aborts it for meeting a sync worker's finish on the same rows.
  act('retry-errors', 'Resolve the open errors and mark the cells they cover for another push (audited)', async (id, request) =>
    rerunOnConflict(
      () =>
        actOn(request, id, async (c) => {
          const r = await retryErrors(c, id);
          await c.query(recordAction(id, 'retry_errors', r));
          return { action: 'retry_errors', connectionId: id, ...r };
        }),
      { what: 'retry errors', log: request.log },
    ),
  );

  app.get(
    '/api/v1/channels/:id/holds',
    {
      schema: doc(
        'channels',
        'Updates a guardrail held for approval (guard_rate_change_pct, guard_close_share_pct), newest first',
        { params: idParams, response: { 200: holdList } },
        [401, 404],
      ),
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return { holds: await onConnection(request, id, async (c) => (await c.query(listHolds(id))).rows) };
    },
  );
  // Approving sends the held cells as they are on the next pass; run again if PostgreSQL
  // aborts it for meeting a sync worker's finish or the CDC's marking on the same cells.
  app.post(
    '/api/v1/channels/:id/holds/:holdId/approve',
    {
      schema: doc(
        'channels',
        'Approve a hold: its cells go out on the next push as they are (audited)',
        { params: holdParams, response: { 202: actionResult } },
        [401, 403, 404, 409],
      ),
    },
    async (request, reply) => {
      if (!ACTING_ROLES.has(request.principal!.role)) throw new StayosError('ERR_FORBIDDEN', `the role ${request.principal!.role} may read, not act`);
      const { id, holdId } = request.params as { id: string; holdId: string };
      const result = await rerunOnConflict(
        () =>
          actOn(request, id, async (c) => {
            await c.query(approveHold.lockCells(holdId));
            const { rows } = await c.query<{ approved: boolean }>(approveHold.stamp(id, holdId));
            if (!rows.length) throw new StayosError('ERR_NOT_FOUND', `no hold ${holdId} on connection ${id}`);
            const released = (await c.query(approveHold.release(holdId))).rowCount ?? 0;
            await c.query(resolveHeldErrors(id));
            await c.query(recordAction(id, 'approve_hold', { holdId, cells: released }));
            return { action: 'approve_hold' as const, connectionId: id, holdId, cellsReleased: released };
          }),
        { what: 'approve hold', log: request.log },
      );
      return reply.code(202).send(result);
    },
  );

  /**
   * Parity ("partner prices", exact): for each cell of [from, to] the value the PMS says, in the
   * OTA's terms, against the last value the OTA acknowledged, and which parts differ (a part never
   * acknowledged differs). At most 93 nights per request.
   */
  app.get(
    '/api/v1/channels/:id/parity',
    {
      schema: doc(
        'channels',
        'Parity: per cell, the PMS value against the last value the OTA acknowledged',
        { params: idParams, querystring: parityQuery, response: { 200: parityReport } },
        [400, 401, 404],
      ),
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const q = request.query as z.infer<typeof parityQuery>;
      return onConnection(request, id, async (c) => {
        const {
          rows: [conn],
        } = await c.query<{ channel: string; settings: Record<string, unknown> }>(
          `SELECT channel_code AS channel, settings FROM channel.channel_connections WHERE id = $1`,
          [id],
        );
        const connector = CONNECTORS.find((x) => x.channel === conn!.channel);
        if (!connector) throw new StayosError('ERR_VALIDATION', `a ${conn!.channel} connection has no outbound ARI to compare`);
        const { rows } = await c.query<ClaimedCell>(parityAri(id, q.from, q.to));
        const cells = rows.map((r) => {
          const pms = otaValuesOf(connector, conn!.settings, r);
          const { avail, rateAcked, restr, ...ota } = r.acked;
          const differs = partsToSend(pms, r.acked);
          return {
            date: r.stayDate,
            roomTypeId: r.roomTypeId,
            ratePlanId: r.ratePlanId,
            otaRoomCode: r.otaRoomCode,
            otaRateCode: r.otaRateCode,
            pms,
            beforeRules: { availability: r.pmsAvailability, rate: r.pmsRate },
            ota: avail || rateAcked || restr ? ota : null,
            differs,
            overbooked: r.overbooked,
          };
        });
        const differing = cells.filter((x) => x.differs.length);
        return {
          connectionId: id,
          from: q.from,
          to: q.to,
          cells: cells.length,
          differing: differing.length,
          items: q.only === 'differing' ? differing : cells,
        };
      });
    },
  );

  app.get(
    '/api/v1/channels/:id',
    {
      schema: doc(
        'channels',
        'One connection: its status with the open errors, unmapped items, inbound messages (24 h) and overbookings',
        { params: idParams, response: { 200: channelDetail } },
        [401, 404],
      ),
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return onConnection(request, id, async (c) => {
        const {
          rows: [row],
        } = await c.query<StatusRow>(`SELECT * FROM channel.channel_status WHERE id = $1`, [id]);
        const property = request.principal!.properties.find((p) => p.id === row!.property_id)!;
        const [errors, unmapped, inbound, overbookings] = await Promise.all(
          [
            c.query(
              `SELECT severity, kind, error_code AS "errorCode", ota_code AS "otaCode", message, occurrences, stay_from AS "stayFrom", stay_to AS "stayTo",
                        first_seen_at AS "firstSeenAt", last_seen_at AS "lastSeenAt"
                 FROM channel.sync_errors WHERE connection_id = $1 AND resolved_at IS NULL AND deleted_at IS NULL ORDER BY last_seen_at DESC LIMIT 20`,
              [id],
            ),
            c.query(
              `SELECT kind, room_type_id AS "roomTypeId", rate_plan_id AS "ratePlanId", ota_room_code AS "otaRoomCode", ota_rate_code AS "otaRateCode",
                        detail, occurrences, last_seen_at AS "lastSeenAt"
                 FROM channel.mapping_problems WHERE connection_id = $1 AND resolved_at IS NULL AND deleted_at IS NULL ORDER BY last_seen_at DESC LIMIT 50`,
              [id],
            ),
            c.query(
              `SELECT id, created_at AS "receivedAt", source, message_type AS "messageType", external_reservation_id AS "reservationId", outcome,
                        ota_error_code AS "otaErrorCode", error_message AS "error"
                 FROM channel.inbound_messages WHERE connection_id = $1 AND created_at > now() - interval '24 hours' ORDER BY created_at DESC LIMIT 50`,
              [id],
            ),
            c.query(
              `SELECT id, reservation_id AS "reservationId", room_type_id AS "roomTypeId", first_night AS "firstNight", last_night AS "lastNight", nights,
                        worst_shortfall AS "worstShortfall", created_at AS "raisedAt"
                 FROM channel.overbooking_alerts WHERE connection_id = $1 AND resolved_at IS NULL AND deleted_at IS NULL ORDER BY created_at DESC`,
              [id],
            ),
          ].map((q) => q.then((r) => r.rows)),
        );
        return { ...view(row!, property.code), errors, unmappedItems: unmapped, inbound, overbookings };
      });
    },
  );
}
