/**
 * `POST /webhooks/expedia`: Expedia's Booking Notification push. The hotel comes from the SOAP
 * header (`SupplierHotelCode`), the credentials from `CommDescriptor/Authentication`, checked
 * against the connection's in constant time; unauthenticated messages are answered and forgotten.
 * Answers (connectors/expedia/booking-notification.ts): the RS with our confirmation number, an
 * Expedia business error (final), or a SOAP Fault Nack that Expedia resends: HTTP 500 when we
 * cannot take the booking now (database, the connection's rate, a sender failing authentication
 * repeatedly), cannot read the envelope, or do not accept the credentials.
 */
import type { WebhookAdapter } from '../adapter.ts';
import { bnError, bnFault, bnSuccess, bookingOfEnvelope, readEnvelope, type BnEnvelope, type BnReplyTo } from './booking-notification.ts';
import {
  connectionByHotel,
  connectionsOfAccount,
  credentialsMatch,
  deliver,
  InboundRefusal,
  parseInboundXml,
  recordRefusal,
  type InboundConnection,
  type WebhookDeps,
} from '../../inbound/index.ts';
import { cancelHotelCode } from '../opentravel/reservation.ts';
import { EXPEDIA_INBOUND_RULES, expediaRefusal } from './inbound-rules.ts';

const XML = 'text/xml; charset=utf-8';
const answer = (status: number, body: string, headers?: Record<string, string>) => ({ status, contentType: XML, body, ...(headers ? { headers } : {}) });
const fault = (status: number, code: string, text: string, headers?: Record<string, string>) => answer(status, bnFault(code, text), headers);

export const expediaWebhook: WebhookAdapter = {
  route: '/webhooks/expedia',
  prefix: '/webhooks/expedia',
  summary: 'Expedia Booking Notification (SOAP 1.1, EQC): new, modified and cancelled bookings',
  description:
    'Body: a SOAP envelope with OTA_HotelResNotifRQ / OTA_HotelResModifyNotifRQ / OTA_CancelRQ; credentials in the SOAP header. Answers the matching RS, or a SOAP Fault with HTTP 500 (a Nack: Expedia resends).',

  async open(request) {
    const { body, started } = request;
    let env: BnEnvelope;
    try {
      const { root, node } = await parseInboundXml(body);
      env = readEnvelope(root, node);
    } catch (err) {
      if (!(err instanceof InboundRefusal)) throw err;
      // A header we can answer to gets the RS error (final); an envelope we cannot read, a Nack.
      const to = err.details?.replyTo as BnReplyTo | undefined;
      const e = expediaRefusal(err);
      if (to && 'error' in e) return answer(200, bnError({ ...to, root: 'OTA_HotelResNotifRQ' }, e.error, err.message, new Date()));
      return fault(500, 'fault' in e ? e.fault : 'Client.2002', err.message);
    }
    // Expedia names the hotel in the header; a cancel also in its Verification.
    const hotel = env.hotelCode ?? (env.root === 'OTA_CancelRQ' ? cancelHotelCode(env.body) : undefined);
    const delivery = { source: 'expedia_webhook' as const, messageType: env.root, body, started, rules: EXPEDIA_INBOUND_RULES };
    return {
      lookup: async (pool) => (hotel ? (await pool.query<InboundConnection>(connectionByHotel('expedia', hotel))).rows[0] : undefined),
      // A hotel we connect (so one sender failing there never locks out another hotel), else one
      // bucket for every hotel code we do not know: a code the sender makes up buys no fresh bucket.
      target: (connection) => (connection ? `expedia ${connection.id}` : 'expedia ?'),
      credentials: { username: env.username, password: env.password },
      async unknown(deps) {
        // An account we know, naming a hotel it has no connection for: a mapping problem (3202).
        const owner = await accountOwner(deps, env);
        if (!owner) return undefined;
        const refusal = new InboundRefusal('unknown_hotel', `hotel ${hotel ?? '(none)'} is not connected to this account`);
        const text = bnError(env, '3202', refusal.message, new Date());
        await recordRefusal(deps.pool, owner, 'expedia', refusal, delivery, { status: 200, body: text }, null, { hotelCode: hotel });
        return answer(200, text);
      },
      async deliver(connection, deps) {
        const now = new Date();
        const done = await deliver(deps, connection, delivery, () => bookingOfEnvelope(env, connection), {
          ok: (r) => ({ status: 200, body: bnSuccess(env, r, now) }),
          refused: (e) => {
            const x = expediaRefusal(e);
            return 'error' in x ? { status: 200, body: bnError(env, x.error, e.message, now) } : { status: 500, body: bnFault(x.fault, e.message) };
          },
        });
        return answer(done.answer.status, done.answer.body);
      },
    };
  },

  answer(kind, { wait, error }) {
    const retry = wait ? { 'retry-after': String(wait) } : undefined;
    // Every answer here is a Nack, which Expedia documents as a SOAP Fault with HTTP 500: it resends
    // until the message expires, so nothing is lost.
    if (kind === 'locked') return fault(500, 'Server.4000', `too many failed authentications from this address for this hotel; resend after ${wait} s`, retry);
    // 2001 "Invalid header": the credentials are header values, and Expedia lists no code of its own for them.
    if (kind === 'auth') return fault(500, 'Client.2001', 'authentication failed: unknown Username/Password for this hotel');
    if (kind === 'rate_limited') return fault(500, 'Server.4000', `too many messages for this hotel now; resend after ${wait} s`, retry);
    return fault(500, error?.code === 'ERR_DB_UNAVAILABLE' ? 'Server.5000' : 'Server.4000', 'the booking could not be stored now; please resend');
  },

  // SOAP 1.1: every Fault travels with HTTP 500; Server.4000 asks Expedia to resend later.
  refuse: (reason, text) => fault(500, reason === 'too_large' ? 'Client.2002' : 'Server.4000', text),
};

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
