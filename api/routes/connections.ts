/**
 * Connection management, the revenue team's and integration engineers' daily work:
 * `GET/POST /api/v1/connections`, `PATCH/DELETE /api/v1/connections/:id`, `GET/PUT
 * /api/v1/connections/:id/mappings`. Credentials are write-only: stored encrypted, never returned
 * (only `hasCredentials`), never logged. A mapping change is seen by the CDC, which marks the cells
 * it covers dirty: the OTA gets the new mapping's values without a full sync. Runs as the tenant
 * (the channel routes' key check applies: same plugin scope).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fromPgError, StayosError } from '../../core/errors.ts';
import {
  closeResult,
  connection,
  connectionList,
  createConnectionBody,
  deleteConnectionQuery,
  idParams,
  mappingList,
  mappingsBody,
  mappingsResult,
  patchConnectionBody,
} from '../schemas.ts';
import { doc } from '../openapi.ts';
import { asTenant, assertMayAct, onConnection } from '../tenant.ts';
import { ACTING_ROLES } from '../keys.ts';
import {
  connectionById,
  insertConnection,
  listConnections,
  listMappings,
  assertPricingModels,
  pricingModelsBefore,
  putMappings,
  updateConnection,
} from '../sql/connections.ts';
import { checkConnectionInput } from '../../connectors/outbound/settings.ts';
import { requireAdapter } from '../../connectors/registry.ts';
import { closeConnection } from '../../connectors/outbound/control.ts';

type CreateBody = z.infer<typeof createConnectionBody>;
type PatchBody = z.infer<typeof patchConnectionBody>;
const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;
function mayManage(request: FastifyRequest): void {
  if (!ACTING_ROLES.has(request.principal!.role))
    throw new StayosError('ERR_FORBIDDEN', `the role ${request.principal!.role} may read connections, not change them`);
}
/** A database refusal (a CHECK such as Expedia's numeric hotel ids, a unique hotel) in the registry's terms. */
const db = async <T>(f: () => Promise<T>) =>
  f().catch((err) => {
    throw fromPgError(err, 'connection not saved');
  });

export function connectionRoutes(app: FastifyInstance): void {
  app.get(
    '/api/v1/connections',
    { schema: doc('connections', 'The connections of every property the key sees (credentials never shown)', { response: { 200: connectionList } }) },
    async (request) => {
      const out = [];
      for (const p of request.principal!.properties) {
        out.push(
          ...(await asTenant(app.pool, request.principal!, p.id, async (c) => (await c.query(listConnections())).rows)).map((r) => ({
            ...r,
            property: p.code,
          })),
        );
      }
      return { connections: out };
    },
  );

  app.post(
    '/api/v1/connections',
    {
      schema: doc(
        'connections',
        'Create a connection; credentials are write-only',
        { body: createConnectionBody, response: { 201: connection } },
        [400, 401, 403, 404, 409],
      ),
    },
    async (request, reply) => {
      mayManage(request);
      const body = request.body as CreateBody;
      const props = request.principal!.properties.filter((p) => !body.property || p.code === body.property);
      if (props.length !== 1)
        throw new StayosError(
          props.length ? 'ERR_VALIDATION' : 'ERR_NOT_FOUND',
          props.length ? 'this key sees several properties: name one in "property"' : `no property ${body.property} visible to this key`,
        );
      const property = props[0]!;
      assertMayAct(request.principal!, property);
      const adapter = requireAdapter(body.channel);
      checkConnectionInput(adapter, body);
      const row = await db(() =>
        asTenant(
          app.pool,
          request.principal!,
          property.id,
          async (c) =>
            (
              await c.query(
                insertConnection(
                  {
                    propertyId: property.id,
                    channel: body.channel,
                    hotelCode: body.hotelCode,
                    endpointUrl: body.endpointUrl,
                    reservationsUrl: body.reservationsUrl,
                    credentials: body.credentials ?? null,
                    settings: body.settings,
                    status: body.status,
                  },
                  adapter.production,
                ),
              )
            ).rows[0],
        ),
      );
      return reply.code(201).send({ ...row, property: property.code });
    },
  );

  app.patch(
    '/api/v1/connections/:id',
    {
      schema: doc(
        'connections',
        'Change a connection (only the fields given); `version` makes it conditional',
        { params: idParams, body: patchConnectionBody, response: { 200: connection } },
        [400, 401, 403, 404, 409],
      ),
    },
    async (request) => {
      mayManage(request);
      const id = idOf(request);
      const body = request.body as PatchBody;
      return db(() =>
        onConnection(
          app.pool,
          request.principal!,
          id,
          async (c) => {
            const {
              rows: [cur],
            } = await c.query<{ channel: string; closing: string | null }>(
              `SELECT channel_code AS channel, closing_for AS closing FROM channel.channel_connections WHERE id = $1`,
              [id],
            );
            if (cur) checkConnectionInput(requireAdapter(cur.channel), body);
            if (cur?.closing && body.status)
              throw new StayosError(
                'ERR_CONFLICT',
                `the connection is being closed at the OTA before it is ${cur.closing === 'disable' ? 'disabled' : 'deleted'}; its status changes when that is done`,
              );
            // Disabling closes the inventory at the OTA first (connectors/control.ts closeConnection).
            const { status, closeAtOta, ...rest } = body;
            const disabling = status === 'disabled';
            const before = body.settings ? await pricingModelsBefore(c, id) : undefined;
            const row = (await c.query(updateConnection(id, disabling ? rest : { ...rest, status }))).rows[0];
            if (row && before) await assertPricingModels(c, id, before);
            if (!disabling || !row) return row;
            await closeConnection(c, id, 'disable', closeAtOta ?? true);
            return (await c.query(connectionById(id))).rows[0];
          },
          { act: true },
        ),
      );
    },
  );

  app.delete(
    '/api/v1/connections/:id',
    {
      schema: doc(
        'connections',
        'Delete a connection: its inventory is closed at the OTA first (202, closingFor "delete" until the OTA confirmed), unless closeAtOta=false',
        { params: idParams, querystring: deleteConnectionQuery, response: { 200: closeResult, 202: closeResult } },
        [400, 401, 403, 404, 409],
      ),
    },
    async (request, reply) => {
      mayManage(request);
      const id = idOf(request);
      const closeAtOta = (request.query as z.infer<typeof deleteConnectionQuery>).closeAtOta === 'true';
      const out = await db(() =>
        onConnection(
          app.pool,
          request.principal!,
          id,
          async (c) => {
            const r = await closeConnection(c, id, 'delete', closeAtOta);
            return { ...r, connection: (await c.query(connectionById(id))).rows[0] };
          },
          { act: true },
        ),
      );
      return reply.code(out.finished ? 200 : 202).send(out);
    },
  );

  app.get(
    '/api/v1/connections/:id/mappings',
    { schema: doc('connections', 'The mappings of a connection, by local and OTA codes', { params: idParams, response: { 200: mappingList } }, [401, 404]) },
    async (request) => {
      const id = idOf(request);
      return { mappings: await onConnection(app.pool, request.principal!, id, async (c) => (await c.query(listMappings(id))).rows) };
    },
  );

  app.put(
    '/api/v1/connections/:id/mappings',
    {
      schema: doc(
        'connections',
        'Replace the mappings whole; unknown local codes, or a plan priced otherwise than the OTA rate (pricing_model), refuse the change. The CDC marks the cells a change covers.',
        { params: idParams, body: mappingsBody, response: { 200: mappingsResult } },
        [400, 401, 403, 404, 409],
      ),
    },
    async (request) => {
      mayManage(request);
      const id = idOf(request);
      const items = request.body as z.infer<typeof mappingsBody>;
      return db(() =>
        onConnection(
          app.pool,
          request.principal!,
          id,
          async (c) => {
            const counts = await putMappings(c, id, items);
            return { ...counts, mappings: (await c.query(listMappings(id))).rows };
          },
          { act: true },
        ),
      );
    },
  );
}
