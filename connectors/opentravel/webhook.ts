/**
 * `POST /webhooks/ota/:connectionId`: reservations pushed as OpenTravel 2015A / AlpineBits
 * `OTA_HotelResNotifRQ` (ResStatus Commit / Reserved / Requested, Modify, Cancel / Cancelled), with
 * HTTP Basic credentials of the connection (an `opentravel` connection's stored username and
 * password). Each reservation of a message is its own booking; the answer
 * (connectors/opentravel/messages.ts) is `Success` listing the bookings taken, with a `Warning` per
 * refused one when others were taken, or `Errors` (HTTP 400) when none was. A message that cannot
 * be read at all changes nothing. HTTP 401 for credentials, 429 over the rate, 503 when the
 * database cannot take it now (resend).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { resNotifErrors, resNotifSuccess, type OtaIssue, type TakenBooking } from './messages.ts';
import { fromPgError } from '../../core/errors.ts';
import {
  basicAuth,
  credentialsMatch,
  deliver,
  InboundRefusal,
  connectionById,
  type InboundConnection,
  attr,
  kid,
  kids,
  parseInboundXml,
  recordRefusal,
} from '../../inbound/index.ts';
import { parseReservation } from './reservation.ts';
import type { WebhookDeps } from '../../inbound/index.ts';

const RS = 'OTA_HotelResNotifRS';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const issueOf = (e: InboundRefusal, recordId?: string): OtaIssue => ({ type: e.spec.otaType, code: e.spec.otaCode, text: e.message, recordId });

export function opentravelWebhook(app: FastifyInstance, deps: WebhookDeps): void {
  const send = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('application/xml; charset=utf-8').send(body);
  const errors = (reply: FastifyReply, status: number, e: InboundRefusal) => send(reply, status, resNotifErrors(RS, [issueOf(e)], new Date()));

  app.post<{ Params: { connectionId: string } }>(
    '/webhooks/ota/:connectionId',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'OpenTravel 2015A OTA_HotelResNotifRQ push (AlpineBits senders), HTTP Basic per connection',
        description: 'Answers OTA_HotelResNotifRS: Success (with a Warning per refused reservation) or Errors.',
      },
    },
    async (request, reply) => {
      const started = performance.now();
      const { username, password } = basicAuth(request.headers.authorization);
      let connection: InboundConnection | undefined;
      // The lockout's target: this connection (the id in the path).
      const target = `opentravel ${request.params.connectionId}`;
      try {
        const wait = await deps.authBlocked(request.ip, target);
        if (wait) {
          reply.header('retry-after', String(wait));
          return errors(
            reply,
            429,
            new InboundRefusal('rate_limited', `too many failed authentications from this address for this connection; resend after ${wait} s`),
          );
        }
        const id = request.params.connectionId;
        connection = UUID.test(id) ? (await deps.pool.query<InboundConnection>(connectionById(id))).rows[0] : undefined;
        // One answer for "no such connection" and "wrong credentials": an id says nothing to a stranger.
        if (!connection || connection.channel !== 'opentravel' || !credentialsMatch(connection.credentials, username, password)) {
          await deps.authFailed(request.ip, target);
          reply.header('www-authenticate', 'Basic realm="StayOS OpenTravel webhook", charset="UTF-8"');
          return errors(reply, 401, new InboundRefusal('auth', "authentication failed: send the connection's username and password (HTTP Basic)"));
        }
        const limited = await deps.limit(connection.id);
        if (limited) {
          reply.header('retry-after', String(limited));
          return errors(reply, 429, new InboundRefusal('rate_limited', `too many messages for this connection now; resend after ${limited} s`));
        }
        const body = request.body as string;
        let list;
        let echo: string | undefined;
        let timeStamp: string | undefined;
        try {
          const { root, node } = await parseInboundXml(body);
          if (root !== 'OTA_HotelResNotifRQ') throw new InboundRefusal('wrong_root', `expected <OTA_HotelResNotifRQ>, got <${root.slice(0, 64)}>`);
          echo = attr(node, 'EchoToken')?.slice(0, 128);
          timeStamp = attr(node, 'TimeStamp');
          list = kids(kid(node, 'HotelReservations'), 'HotelReservation');
          if (!list.length) throw new InboundRefusal('no_rooms', 'the message carries no HotelReservations/HotelReservation');
          if (list.length > 100) throw new InboundRefusal('invalid_value', 'at most 100 reservations per message');
        } catch (err) {
          if (!(err instanceof InboundRefusal)) throw err;
          const text = resNotifErrors(RS, [issueOf(err)], new Date());
          await recordRefusal(
            deps.pool,
            connection,
            connection.channel,
            err,
            { source: 'opentravel_webhook', messageType: 'OTA_HotelResNotifRQ', body, started },
            { status: 400, body: text },
            null,
          );
          return send(reply, 400, text);
        }

        const now = new Date();
        const taken: TakenBooking[] = [];
        const refused: OtaIssue[] = [];
        for (const res of list) {
          const ctx = { channel: 'opentravel' as const, timeStamp, hotelCode: connection.hotelCode, today: connection.today };
          const recordId = attr(kid(res, 'UniqueID'), 'ID');
          // Each booking's record carries the answer as far as that booking is concerned.
          const done = await deliver(
            deps,
            connection,
            { source: 'opentravel_webhook', messageType: 'OTA_HotelResNotifRQ', body, started },
            () => parseReservation(res, ctx),
            {
              ok: (r) => ({
                status: 200,
                body: resNotifSuccess(
                  RS,
                  [{ externalId: r.externalId, confirmationNumber: r.confirmationNumber, hotelCode: connection!.hotelCode }],
                  [],
                  now,
                  echo,
                ),
              }),
              refused: (e) => ({ status: 400, body: resNotifErrors(RS, [issueOf(e, recordId)], now, echo) }),
            },
          );
          if (done.result)
            taken.push({ externalId: done.result.externalId, confirmationNumber: done.result.confirmationNumber, hotelCode: connection.hotelCode });
          else refused.push(issueOf(done.refusal, recordId));
        }
        if (!taken.length) return send(reply, 400, resNotifErrors(RS, refused, now, echo));
        return send(reply, 200, resNotifSuccess(RS, taken, refused, now, echo));
      } catch (err) {
        const e = fromPgError(err, 'inbound booking');
        request.log.error({ err, connection: connection?.id }, 'opentravel webhook: booking not taken; the sender should resend');
        reply.header('retry-after', '30');
        return send(
          reply,
          503,
          resNotifErrors(
            RS,
            [{ type: '12', code: '448', text: e.code === 'ERR_DB_UNAVAILABLE' ? 'database unavailable; resend later' : 'system error; resend later' }],
            new Date(),
          ),
        );
      }
    },
  );
}
