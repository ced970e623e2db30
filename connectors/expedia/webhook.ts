/**
 * `POST /webhooks/expedia`: Expedia's Booking Notification push. The hotel comes from the SOAP
 * header (`SupplierHotelCode`), the credentials from `CommDescriptor/Authentication`, checked
 * against the connection's in constant time; unauthenticated messages are answered and forgotten.
 * Answers (connectors/expedia/booking-notification.ts): the RS with our confirmation number, an
 * Expedia business error (final), or a SOAP Fault Nack that Expedia resends: HTTP 500 when we
 * cannot take the booking now (database, the connection's rate, a sender failing authentication
 * repeatedly), cannot read the envelope, or do not accept the credentials.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { bnError, bnFault, bnSuccess, bookingOfEnvelope, readEnvelope, type BnEnvelope, type BnReplyTo } from './booking-notification.ts';
import { fromPgError } from '../../core/errors.ts';
import {
  credentialsMatch,
  deliver,
  InboundRefusal,
  connectionByHotel,
  connectionsOfAccount,
  type InboundConnection,
  parseInboundXml,
  recordRefusal,
} from '../../inbound/index.ts';
import { cancelHotelCode } from '../opentravel/reservation.ts';
import type { WebhookDeps } from '../../inbound/index.ts';
import { EXPEDIA_INBOUND_RULES, expediaRefusal } from './inbound-rules.ts';

const XML = 'text/xml; charset=utf-8';

export function expediaWebhook(app: FastifyInstance, deps: WebhookDeps): void {
  const send = (reply: FastifyReply, status: number, body: string) => reply.code(status).type(XML).send(body);
  const fault = (reply: FastifyReply, status: number, code: string, text: string) => send(reply, status, bnFault(code, text));

  app.post(
    '/webhooks/expedia',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Expedia Booking Notification (SOAP 1.1, EQC): new, modified and cancelled bookings',
        description:
          'Body: a SOAP envelope with OTA_HotelResNotifRQ / OTA_HotelResModifyNotifRQ / OTA_CancelRQ; credentials in the SOAP header. Answers the matching RS, or a SOAP Fault with HTTP 500 (a Nack: Expedia resends).',
      },
    },
    async (request, reply) => {
      const started = performance.now();
      const body = request.body as string;
      let env: BnEnvelope;
      try {
        const { root, node } = await parseInboundXml(body);
        env = readEnvelope(root, node);
      } catch (err) {
        if (!(err instanceof InboundRefusal)) throw err;
        // A header we can answer to gets the RS error (final); an envelope we cannot read, a Nack.
        const to = err.details?.replyTo as BnReplyTo | undefined;
        const e = expediaRefusal(err);
        if (to && 'error' in e) return send(reply, 200, bnError({ ...to, root: 'OTA_HotelResNotifRQ' }, e.error, err.message, new Date()));
        return fault(reply, 500, 'fault' in e ? e.fault : 'Client.2002', err.message);
      }

      let connection: InboundConnection | undefined;
      // Expedia names the hotel in the header; a cancel also in its Verification.
      const hotel = env.hotelCode ?? (env.root === 'OTA_CancelRQ' ? cancelHotelCode(env.body) : undefined);
      // The lockout's target: a hotel we connect (so one sender failing there never locks out
      // another hotel), else one bucket for every hotel code we do not know — a code the sender
      // makes up must not buy it a fresh bucket per guess.
      let target = 'expedia ?';
      const refuseAuth = async () => {
        await deps.authFailed(request.ip, target);
        // A Nack, which Expedia documents as a SOAP Fault with HTTP 500 (it resends until the message
        // expires, so a credentials slip on our side loses nothing); 2001 "Invalid header": the
        // credentials are header values, and Expedia lists no code of its own for them.
        return fault(reply, 500, 'Client.2001', 'authentication failed: unknown Username/Password for this hotel');
      };
      try {
        connection = hotel ? (await deps.pool.query<InboundConnection>(connectionByHotel('expedia', hotel))).rows[0] : undefined;
        if (connection) target = `expedia ${connection.id}`;
        // A sender that keeps failing authentication here is turned away before its credentials are
        // compared (and before any account is looked for by them).
        const wait = await deps.authBlocked(request.ip, target);
        if (wait) {
          reply.header('retry-after', String(wait));
          return fault(reply, 500, 'Server.4000', `too many failed authentications from this address for this hotel; resend after ${wait} s`);
        }
        if (connection && !credentialsMatch(connection.credentials, env.username, env.password)) return await refuseAuth();
        if (!connection) {
          // An account we know, naming a hotel it has no connection for: a mapping problem (3202).
          const owner = await accountOwner(deps, env);
          if (!owner) return await refuseAuth();
          const refusal = new InboundRefusal('unknown_hotel', `hotel ${hotel ?? '(none)'} is not connected to this account`);
          const text = bnError(env, '3202', refusal.message, new Date());
          await recordRefusal(
            deps.pool,
            owner,
            'expedia',
            refusal,
            { source: 'expedia_webhook', messageType: env.root, body, started, rules: EXPEDIA_INBOUND_RULES },
            { status: 200, body: text },
            null,
            { hotelCode: hotel },
          );
          return send(reply, 200, text);
        }
        const limited = await deps.limit(connection.id);
        if (limited) {
          reply.header('retry-after', String(limited));
          // A Nack (HTTP 500, as Expedia expects when we cannot take a booking now): Expedia resends.
          return fault(reply, 500, 'Server.4000', `too many messages for this hotel now; resend after ${limited} s`);
        }
        const now = new Date();
        const { answer } = await deliver(
          deps,
          connection,
          { source: 'expedia_webhook', messageType: env.root, body, started, rules: EXPEDIA_INBOUND_RULES },
          () => bookingOfEnvelope(env, connection!),
          {
            ok: (r) => ({ status: 200, body: bnSuccess(env, r, now) }),
            refused: (e) => {
              const x = expediaRefusal(e);
              return 'error' in x ? { status: 200, body: bnError(env, x.error, e.message, now) } : { status: 500, body: bnFault(x.fault, e.message) };
            },
          },
        );
        return send(reply, answer.status, answer.body);
      } catch (err) {
        // Ours, not Expedia's: a Nack, so Expedia resends (until ExpirationDateTime) and nothing is lost.
        const e = fromPgError(err, 'inbound booking');
        request.log.error({ err, hotel: connection?.hotelCode }, 'expedia webhook: booking not taken; Expedia will resend');
        return fault(reply, 500, e.code === 'ERR_DB_UNAVAILABLE' ? 'Server.5000' : 'Server.4000', 'the booking could not be stored now; please resend');
      }
    },
  );
}

/**
 * The connection whose credentials these are, whatever hotel it serves (an unknown-hotel problem
 * is recorded on it): found by the username's keyed fingerprint, so a made-up hotel code costs
 * the decryption of that account's credentials only, never of every Expedia connection's.
 */
async function accountOwner(deps: WebhookDeps, env: BnEnvelope): Promise<InboundConnection | undefined> {
  if (!env.username || !env.password) return undefined;
  const { rows } = await deps.pool.query<InboundConnection>(connectionsOfAccount('expedia', env.username));
  return rows.find((c) => credentialsMatch(c.credentials, env.username, env.password));
}
