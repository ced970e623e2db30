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
import type { WebhookAdapter } from '../adapter.ts';
import { resNotifErrors, resNotifSuccess, type OtaIssue, type TakenBooking } from './messages.ts';
import {
  attr,
  basicAuth,
  connectionById,
  deliver,
  InboundRefusal,
  kid,
  kids,
  parseInboundXml,
  recordRefusal,
  REFUSAL_REASONS,
  type InboundConnection,
} from '../../inbound/index.ts';
import { parseReservation } from './reservation.ts';

const RS = 'OTA_HotelResNotifRS';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const issueOf = (e: InboundRefusal, recordId?: string): OtaIssue => ({ type: e.spec.otaType, code: e.spec.otaCode, text: e.message, recordId });
const answer = (status: number, body: string, headers?: Record<string, string>) => ({
  status,
  contentType: 'application/xml; charset=utf-8',
  body,
  ...(headers ? { headers } : {}),
});
const errors = (status: number, e: InboundRefusal, headers?: Record<string, string>) => answer(status, resNotifErrors(RS, [issueOf(e)], new Date()), headers);

export const opentravelWebhook: WebhookAdapter = {
  route: '/webhooks/ota/:connectionId',
  prefix: '/webhooks/ota',
  generic: true,
  summary: 'OpenTravel 2015A OTA_HotelResNotifRQ push (AlpineBits senders), HTTP Basic per connection',
  description: 'Answers OTA_HotelResNotifRS: Success (with a Warning per refused reservation) or Errors.',

  async open(request) {
    const { username, password } = basicAuth(request.headers.authorization as string | undefined);
    const id = request.params.connectionId ?? '';
    const { body, started } = request;
    return {
      // One answer for "no such connection" and "wrong credentials": an id says nothing to a stranger.
      lookup: async (pool) => {
        const c = UUID.test(id) ? (await pool.query<InboundConnection>(connectionById(id))).rows[0] : undefined;
        return c?.channel === 'opentravel' ? c : undefined;
      },
      // The lockout's target: this connection (the id in the path).
      target: () => `opentravel ${id.slice(0, 80)}`,
      targetKnown: true,
      credentials: { username, password },
      async deliver(connection, deps) {
        const delivery = { source: 'opentravel_webhook' as const, messageType: 'OTA_HotelResNotifRQ', body, started };
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
          await recordRefusal(deps.pool, connection, connection.channel, err, delivery, { status: 400, body: text }, null);
          return answer(400, text);
        }
        const now = new Date();
        const taken: TakenBooking[] = [];
        const refused: OtaIssue[] = [];
        for (const res of list) {
          const ctx = { channel: 'opentravel' as const, timeStamp, hotelCode: connection.hotelCode, today: connection.today };
          const recordId = attr(kid(res, 'UniqueID'), 'ID');
          // Each booking's record carries the answer as far as that booking is concerned.
          const done = await deliver(deps, connection, delivery, () => parseReservation(res, ctx), {
            ok: (r) => ({
              status: 200,
              body: resNotifSuccess(
                RS,
                [{ externalId: r.externalId, confirmationNumber: r.confirmationNumber, hotelCode: connection.hotelCode }],
                [],
                now,
                echo,
              ),
            }),
            refused: (e) => ({ status: 400, body: resNotifErrors(RS, [issueOf(e, recordId)], now, echo) }),
          });
          if (done.result)
            taken.push({ externalId: done.result.externalId, confirmationNumber: done.result.confirmationNumber, hotelCode: connection.hotelCode });
          else refused.push(issueOf(done.refusal, recordId));
        }
        if (!taken.length) return answer(400, resNotifErrors(RS, refused, now, echo));
        return answer(200, resNotifSuccess(RS, taken, refused, now, echo));
      },
    };
  },

  answer(kind, { wait, error }) {
    const retry = wait ? { 'retry-after': String(wait) } : undefined;
    if (kind === 'locked') {
      return errors(
        429,
        new InboundRefusal('rate_limited', `too many failed authentications from this address for this connection; resend after ${wait} s`),
        retry,
      );
    }
    if (kind === 'auth') {
      return errors(401, new InboundRefusal('auth', "authentication failed: send the connection's username and password (HTTP Basic)"), {
        'www-authenticate': 'Basic realm="StayOS OpenTravel webhook", charset="UTF-8"',
      });
    }
    if (kind === 'rate_limited')
      return errors(429, new InboundRefusal('rate_limited', `too many messages for this connection now; resend after ${wait} s`), retry);
    return answer(
      503,
      resNotifErrors(
        RS,
        [{ type: '12', code: '448', text: error?.code === 'ERR_DB_UNAVAILABLE' ? 'database unavailable; resend later' : 'system error; resend later' }],
        new Date(),
      ),
      { 'retry-after': '30' },
    );
  },

  refuse: (reason, text, status) => {
    const r = REFUSAL_REASONS[reason === 'unreadable' ? 'malformed_xml' : reason];
    return answer(status, resNotifErrors(RS, [{ type: r.otaType, code: r.otaCode, text }], new Date()));
  },
};
