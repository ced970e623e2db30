/**
 * The OTA booking webhooks (OTA → api → inbound → reservation): Expedia's SOAP push and the
 * OpenTravel push, in their own plugin scope, so the XML body parser, the body limit and the
 * protocol-shaped errors for oversized or unreadable requests stay theirs. Each connection has a
 * request budget per minute (rate-limiter-flexible, in memory: per API process).
 */
import type { FastifyInstance } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Pool } from '../../core/db.ts';
import { bnFault } from '../../connectors/expedia/booking-notification.ts';
import { resNotifErrors } from '../../connectors/opentravel/messages.ts';
import { REFUSAL_REASONS } from '../../inbound/index.ts';
import { expediaWebhook } from './expedia.ts';
import { opentravelWebhook } from './opentravel.ts';

export interface WebhookOptions {
  encryptionKey: string;
  bodyLimit: number;
  ratePerMinute: number;
}

export interface WebhookDeps {
  pool: Pool;
  encryptionKey: string;
  /** Counts a message against the connection's budget: 0 when within it, else seconds to wait. */
  limit(connectionId: string): Promise<number>;
  /** Counts a failed authentication of a client address. */
  authFailed(ip: string): Promise<void>;
  /** 0 while the address may still try, else seconds until it may. */
  authBlocked(ip: string): Promise<number>;
}

/** Failed authentications an address may make per minute before it is turned away unheard. */
const AUTH_FAILURES_PER_MINUTE = 30;

export function webhookRoutes(options: WebhookOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    const limiter = new RateLimiterMemory({ points: options.ratePerMinute, duration: 60 });
    const failures = new RateLimiterMemory({ points: AUTH_FAILURES_PER_MINUTE, duration: 60 });
    const deps: WebhookDeps = {
      pool: app.pool,
      encryptionKey: options.encryptionKey,
      async limit(id) {
        try {
          await limiter.consume(id);
          return 0;
        } catch (res) {
          if (res instanceof RateLimiterRes) return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
          throw res;
        }
      },
      async authFailed(ip) {
        await failures.penalty(ip, 1);
      },
      async authBlocked(ip) {
        const r = await failures.get(ip);
        return r && r.consumedPoints > AUTH_FAILURES_PER_MINUTE ? Math.max(1, Math.ceil(r.msBeforeNext / 1000)) : 0;
      },
    };
    // Any media type: an XML body is read as text whatever the sender labels it, up to the limit.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: options.bodyLimit }, (_req, body, done) => done(null, body));
    // What fails before a handler (too large, aborted) is answered in the protocol of the route.
    app.setErrorHandler((err, request, reply) => {
      const tooLarge = (err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      const text = tooLarge ? `the body is over ${options.bodyLimit} bytes` : 'the request could not be read';
      if (!tooLarge) request.log.error({ err }, 'webhook request failed before its handler');
      const status = tooLarge ? 413 : (err as { statusCode?: number }).statusCode ?? 500;
      if (request.url.startsWith('/webhooks/expedia')) {
        // SOAP 1.1: every Fault travels with HTTP 500.
        return reply.code(500).type('text/xml; charset=utf-8').send(bnFault(tooLarge ? 'Client.2002' : 'Server.4000', text));
      }
      const r = REFUSAL_REASONS[tooLarge ? 'too_large' : 'malformed_xml'];
      return reply.code(status).type('application/xml; charset=utf-8')
        .send(resNotifErrors('OTA_HotelResNotifRS', [{ type: r.otaType, code: r.otaCode, text }], new Date()));
    });
    expediaWebhook(app, deps);
    opentravelWebhook(app, deps);
  };
}
