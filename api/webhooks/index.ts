/**
 * The OTA booking webhooks (OTA → api → inbound → reservation): every adapter with a webhook
 * (connectors/registry.ts; today Expedia's SOAP push and the OpenTravel push) mounted in one
 * plugin scope, so the XML body parser, the body limit and the protocol-shaped errors for
 * oversized or unreadable requests stay theirs. What every webhook shares is here: the address
 * budget before the body is read, the body as text, the per-connection budget and the
 * authentication lockouts (rate-limiter-flexible, in memory: per API process).
 */
import type { FastifyInstance } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { WebhookAdapter } from '../../connectors/adapter.ts';
import { ADAPTERS } from '../../connectors/registry.ts';
import type { WebhookDeps } from '../../inbound/index.ts';
import { clientKey } from './client-address.ts';
import { mountWebhook } from './skeleton.ts';

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

/** Failed authentications an address may make per minute at one target before it is turned away unheard there. */
const AUTH_FAILURES_PER_MINUTE = 30;
/** …and at all targets together: rotating targets (hotel codes it makes up) buys nothing past this. */
const AUTH_FAILURES_PER_MINUTE_ALL = 300;

/** Every adapter's webhook, longest prefix first (an early answer goes in the protocol of the route asked). */
const WEBHOOKS: readonly WebhookAdapter[] = ADAPTERS.flatMap((a) => (a.inbound?.webhook ? [a.inbound.webhook] : [])).sort(
  (a, b) => b.prefix.length - a.prefix.length,
);
/** A request to no webhook's prefix (a 404 to come) is answered in the generic protocol (the adapter marked `generic`: OpenTravel's). */
const webhookOf = (url: string): WebhookAdapter =>
  WEBHOOKS.find((w) => url === w.prefix || url.startsWith(`${w.prefix}/`) || url.startsWith(`${w.prefix}?`)) ?? WEBHOOKS.find((w) => w.generic) ?? WEBHOOKS[0]!;

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
        const a = webhookOf(request.url).refuse('rate_limited', `too many messages from this address; resend after ${wait} s`, 429);
        return reply.code(a.status).type(a.contentType).send(a.body);
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
      const status = tooLarge ? 413 : ((err as { statusCode?: number }).statusCode ?? 500);
      const a = webhookOf(request.url).refuse(tooLarge ? 'too_large' : 'unreadable', text, status);
      return reply.code(a.status).type(a.contentType).send(a.body);
    });
    for (const w of WEBHOOKS) mountWebhook(app, deps, w);
  };
}
