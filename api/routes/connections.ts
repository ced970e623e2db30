/**
 * Connection management, the revenue team's and integration engineers' daily work:
 * `GET/POST /api/v1/connections`, `PATCH /api/v1/connections/:id`, `GET/PUT
 * /api/v1/connections/:id/mappings`. Credentials are write-only: stored encrypted, never returned
 * (only `hasCredentials`), never logged. A mapping change is seen by the CDC, which marks the cells
 * it covers dirty: the OTA gets the new mapping's values without a full sync. Runs as the tenant
 * (the channel routes' key check applies: same plugin scope).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fromPgError, StayosError } from '../../core/errors.ts';
import { connectionIdOf, parseInput } from '../input.ts';
import { asTenant, onConnection } from '../tenant.ts';
import { addMappings, insertConnection, listConnections, listMappings, replaceMappings, updateConnection } from '../sql/connections.ts';

const MANAGERS = new Set(['admin', 'revenue_manager', 'integration']);
const code = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 letters, digits, _ . -');
const credentials = z.record(z.string().regex(/^[a-z_]{1,40}$/), z.string().min(1).max(500)).refine((c) => Object.keys(c).length <= 10, 'at most 10 entries');
const settings = z.record(z.string().regex(/^[a-z_]{1,40}$/), z.unknown());
const createBody = z.object({
  property: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).optional(),
  channel: z.enum(['booking_com', 'expedia', 'opentravel']),
  hotelCode: code,
  endpointUrl: z.url({ protocol: /^https?$/ }),
  credentials: credentials.optional(),
  settings: settings.default({}),
  status: z.enum(['active', 'paused']).default('active'),
}).strict();
const patchBody = z.object({
  hotelCode: code.optional(), endpointUrl: z.url({ protocol: /^https?$/ }).optional(), settings: settings.optional(),
  status: z.enum(['active', 'paused', 'disabled']).optional(), credentials: credentials.optional(), version: z.number().int().positive().optional(),
}).strict().refine((b) => Object.keys(b).some((k) => k !== 'version'), 'nothing to change');
const mappingsBody = z.array(z.object({ roomType: code, ratePlan: code, otaRoomCode: code, otaRateCode: code, active: z.boolean().default(true) }).strict())
  .max(2000)
  .refine((m) => new Set(m.map((x) => `${x.roomType}|${x.ratePlan}`)).size === m.length, 'a room type and rate plan pair is mapped twice')
  .refine((m) => new Set(m.map((x) => `${x.otaRoomCode}|${x.otaRateCode}`)).size === m.length, 'an OTA room and rate pair is mapped twice');
const parse = parseInput;
const idOf = (request: FastifyRequest) => connectionIdOf(request.params);
function mayManage(request: FastifyRequest): void {
  if (!MANAGERS.has(request.principal!.role)) throw new StayosError('ERR_FORBIDDEN', `the role ${request.principal!.role} may read connections, not change them`);
}
/** A database refusal (a CHECK such as Expedia's numeric hotel ids, a unique hotel) in the registry's terms. */
const db = async <T>(f: () => Promise<T>) => f().catch((err) => { throw fromPgError(err, 'connection not saved'); });

export function connectionRoutes(app: FastifyInstance, encryptionKey: string | undefined): void {
  const key = () => {
    if (!encryptionKey) throw new StayosError('ERR_CONFIG', 'this API process has no encryption key: credentials cannot be stored');
    return encryptionKey;
  };

  app.get('/api/v1/connections', async (request) => {
    const out = [];
    for (const p of request.principal!.properties) {
      out.push(...(await asTenant(app.pool, request.principal!, p.id, async (c) => (await c.query(listConnections())).rows)).map((r) => ({ ...r, property: p.code })));
    }
    return { connections: out };
  });

  app.post('/api/v1/connections', async (request, reply) => {
    mayManage(request);
    const body = parse(createBody, request.body);
    const props = request.principal!.properties.filter((p) => !body.property || p.code === body.property);
    if (props.length !== 1) throw new StayosError(props.length ? 'ERR_VALIDATION' : 'ERR_NOT_FOUND', props.length ? 'this key sees several properties: name one in "property"' : `no property ${body.property} visible to this key`);
    const property = props[0]!;
    const row = await db(() => asTenant(app.pool, request.principal!, property.id, async (c) => (await c.query(insertConnection({
      propertyId: property.id, channel: body.channel, hotelCode: body.hotelCode, endpointUrl: body.endpointUrl, credentials: body.credentials ?? null,
      settings: body.settings, status: body.status,
    }, key()))).rows[0]));
    return reply.code(201).send({ ...row, property: property.code });
  });

  app.patch('/api/v1/connections/:id', async (request) => {
    mayManage(request);
    const id = idOf(request);
    const body = parse(patchBody, request.body);
    return db(() => onConnection(app.pool, request.principal!, id, async (c) => (await c.query(updateConnection(id, body, body.credentials ? key() : '-'))).rows[0]));
  });

  app.get('/api/v1/connections/:id/mappings', async (request) => {
    const id = idOf(request);
    return { mappings: await onConnection(app.pool, request.principal!, id, async (c) => (await c.query(listMappings(id))).rows) };
  });

  app.put('/api/v1/connections/:id/mappings', async (request) => {
    mayManage(request);
    const id = idOf(request);
    const items = parse(mappingsBody, request.body);
    return db(() => onConnection(app.pool, request.principal!, id, async (c) => {
      const { rows: [r] } = await c.query<{ unknown: string[] | null; removed: number; changed: number }>(replaceMappings(id, items));
      if (r!.unknown?.length) throw new StayosError('ERR_VALIDATION', `unknown ${r!.unknown.join(', ')} at this property: nothing was changed`);
      const added = (await c.query(addMappings(id, items))).rowCount ?? 0;
      return { added, removed: r!.removed, changed: r!.changed, mappings: (await c.query(listMappings(id))).rows };
    }));
  });
}
