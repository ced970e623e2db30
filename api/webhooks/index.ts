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
import { clientKey } from './client-address.ts';

export interface WebhookOptions {
  bodyLimit: number;
  ratePerMinute: number;
  /**
   * Messages one client address may send per minute (STAYOS_WEBHOOK_ADDRESS_RATE_PER_MINUTE),
   * counted before its body is read: a flood costs the socket, not the parse. OTAs deliver every
   * hotel's bookings from a few addresses, so it is well above a connection's budget.
   */
  addressRatePerMinute?: number;
}

export interface WebhookDeps {
  pool: Pool;
  /** Counts a message against the connection's budget: 0 when within it, else seconds to wait. */
  limit(connectionId: string): Promise<number>;
  /** Counts a failed authentication of a client address. */
  /**
   * A failed authentication of a client address at one target (an Expedia hotel code, an
   * OpenTravel connection): lockouts are per (address, target), so one misbehaving sender — or a
   * stranger guessing — never locks another sender, or another hotel, out.
   */
  authFailed(ip: string, target: string): Promise<void>;
  /** 0 while the address may still try at that target, else seconds until it may. */
  authBlocked(ip: string, target: string): Promise<number>;
}

/** Failed authentications an address may make per minute at one target before it is turned away unheard there. */
const AUTH_FAILURES_PER_MINUTE = 30;
/** …and at all targets together: rotating targets (hotel codes it makes up) buys nothing past this. */
const AUTH_FAILURES_PER_MINUTE_ALL = 300;

/** Whole seconds until a limiter lets the sender in again (Retry-After), at least 1. */
const retryAfterSeconds = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

export function webhookRoutes(options: WebhookOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    const limiter = new RateLimiterMemory({ points: options.ratePerMinute, duration: 60 });
    const failures = new RateLimiterMemory({ points: AUTH_FAILURES_PER_MINUTE, duration: 60 });
    const deps: WebhookDeps = {
      pool: app.pool,
      async limit(id) {
        try {
          await limiter.consume(id);
          return 0;
        } catch (res) {
          if (res instanceof RateLimiterRes) return retryAfterSeconds(res);
          throw res;
        }
      },
      async authFailed(ip, target) {
        const client = clientKey(ip);
        await failures.penalty(`${client} ${target.slice(0, 80)}`, 1);
        await failures.penalty(`${client} *`, 1);
      },
      async authBlocked(ip, target) {
        const client = clientKey(ip);
        const [one, all] = await Promise.all([failures.get(`${client} ${target.slice(0, 80)}`), failures.get(`${client} *`)]);
        const wait = (r: RateLimiterRes | null, max: number) => (r && r.consumedPoints > max ? retryAfterSeconds(r) : 0);
        return Math.max(wait(one, AUTH_FAILURES_PER_MINUTE), wait(all, AUTH_FAILURES_PER_MINUTE_ALL));
      },
    };
    // Before the body is read (onRequest precedes parsing): a client address over its budget is
    // answered at once in the route's protocol, its body never parsed.
    const addresses = new RateLimiterMemory({ points: options.addressRatePerMinute ?? 6000, duration: 60 });
    app.addHook('onRequest', async (request, reply) => {
      try {
        await addresses.consume(clientKey(request.ip));
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        const wait = retryAfterSeconds(res);
        reply.header('retry-after', String(wait)).header('connection', 'close');
        const text = `too many messages from this address; resend after ${wait} s`;
        if (request.url.startsWith('/webhooks/expedia')) return reply.code(500).type('text/xml; charset=utf-8').send(bnFault('Server.4000', text));
        const r = REFUSAL_REASONS.rate_limited;
        return reply.code(429).type('application/xml; charset=utf-8').send(resNotifErrors('OTA_HotelResNotifRS', [{ type: r.otaType, code: r.otaCode, text }], new Date()));
      }
    });
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
