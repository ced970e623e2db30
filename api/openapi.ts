/**
 * The OpenAPI document (`GET /docs/json`) and its UI (`GET /docs`), generated from the routes' zod
 * schemas (api/schemas.ts) by fastify-type-provider-zod; the UI's files are served from the npm
 * package, no CDN. Only tagged routes are documented (the sandboxes are not part of the API).
 *
 * Input: a route's zod schemas validate its params, query and body, and a failure is the
 * registry's ERR_VALIDATION naming every problem (a path id that is not a UUID is simply not
 * found, as for an unknown id). Output: answered as JSON.stringify would; the response schemas
 * document it and the API tests parse real answers with them (a schema-checking serializer would
 * turn a documentation slip into a 500 in production).
 */
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { StayosError } from '../core/errors.ts';
import { errorBody } from './schemas.ts';

const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    // A request without a body reaches the validator as null; an optional body means "absent".
    const r = schema.safeParse(httpPart === 'body' && data === null ? undefined : data);
    if (r.success) return { value: r.data };
    if (httpPart === 'params') return { error: new StayosError('ERR_NOT_FOUND', 'no such resource') };
    return { error: new StayosError('ERR_VALIDATION', `${httpPart}: ${z.prettifyError(r.error)}`) };
  };

export async function openApi(app: FastifyInstance): Promise<void> {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'StayOS Channel API',
        version: '1',
        description:
          'Channel status, parity, CDC and connection management for revenue teams and integration engineers. ' +
          'Every /api/v1 route needs `Authorization: Bearer <key>` (`stayos api-key create`); a key sees only its properties (row-level security). ' +
          'Errors are `{ "error": { "code", "message" } }` with the codes of docs/errors.md. The OTA webhooks answer in their own protocols.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'sos_<prefix>_<secret>' } } },
      tags: [
        { name: 'channels', description: 'health, pending updates, errors, parity, and actions on a connection' },
        { name: 'connections', description: 'setting up a channel: connection, write-only credentials, mappings' },
        { name: 'monitoring', description: 'CDC, history, recent bookings, health and metrics' },
        { name: 'webhooks', description: 'OTA booking deliveries (XML; their own credentials)' },
      ],
    },
    hideUntagged: true,
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { validatorUrl: null, docExpansion: 'list' }, staticCSP: true });
}

/** A key-protected route's OpenAPI description: tag, summary, security, and the error answers it can give. */
export const doc = (tag: string, summary: string, s: { response?: Record<number, z.ZodType> } & Record<string, unknown> = {}, errors: number[] = [401]) => ({
  tags: [tag],
  summary,
  security: [{ apiKey: [] }],
  ...s,
  response: { ...s.response, ...Object.fromEntries(errors.map((code) => [code, errorBody])) },
});
