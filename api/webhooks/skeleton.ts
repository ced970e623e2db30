/**
 * The one webhook skeleton every push OTA's webhook runs in (issue 17): auth → connection → rate
 * limit → deliver → answer. The adapter (connectors/<ota>/webhook.ts) reads its protocol — where
 * the hotel and the credentials are — and words every answer; the order, the lockouts, the
 * connection's budget and the handling of our own failures are the same for every OTA here.
 */
import type { FastifyInstance } from 'fastify';
import { fromPgError } from '../../core/errors.ts';
import type { ProtocolAnswer, WebhookAdapter } from '../../connectors/adapter.ts';
import { credentialsMatch, type InboundConnection, type WebhookDeps } from '../../inbound/index.ts';

export function mountWebhook(app: FastifyInstance, deps: WebhookDeps, w: WebhookAdapter): void {
  app.post(w.route, { schema: { tags: ['webhooks'], summary: w.summary, description: w.description } }, async (request, reply) => {
    const send = (a: ProtocolAnswer) => {
      for (const [k, v] of Object.entries(a.headers ?? {})) reply.header(k, v);
      return reply.code(a.status).type(a.contentType).send(a.body);
    };
    const opened = await w.open({
      ip: request.ip,
      headers: request.headers,
      params: (request.params ?? {}) as Record<string, string>,
      body: request.body as string,
      started: performance.now(),
    });
    if ('status' in opened) return send(opened);
    let connection: InboundConnection | undefined;
    try {
      // A sender that keeps failing authentication here is turned away before its credentials are
      // compared — before the connection is even looked up when the target does not need it.
      const early = opened.targetKnown ? await deps.authBlocked(request.ip, opened.target(undefined)) : 0;
      if (early) return send(w.answer('locked', { wait: early }));
      connection = await opened.lookup(deps.pool);
      const target = opened.target(connection);
      const locked = opened.targetKnown ? 0 : await deps.authBlocked(request.ip, target);
      if (locked) return send(w.answer('locked', { wait: locked }));
      if (!connection || !credentialsMatch(connection.credentials, opened.credentials.username, opened.credentials.password)) {
        const own = connection ? undefined : await opened.unknown?.(deps);
        if (own) return send(own);
        await deps.authFailed(request.ip, target);
        return send(w.answer('auth', {}));
      }
      const limited = await deps.limit(connection.id);
      if (limited) return send(w.answer('rate_limited', { wait: limited }));
      return send(await opened.deliver(connection, deps));
    } catch (err) {
      // Ours, not the sender's: answered so that it resends, and nothing was written.
      const e = fromPgError(err, 'inbound booking');
      request.log.error({ err, route: w.route, connection: connection?.id }, 'webhook: booking not taken; the sender should resend');
      return send(w.answer('unavailable', { error: e }));
    }
  });
}
