/**
 * What RFC 9112 asks of a server that Node's HTTP parser lets through (Node already refuses a
 * missing Host, conflicting Content-Length, Content-Length with Transfer-Encoding, whitespace
 * before a colon, obsolete line folding, NUL/CR/LF in values, and headers over 16 KiB with 431):
 *  - §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request
 *    message that … contains more than one Host header field line." Two Host lines are how a
 *    request is made to mean one virtual host to a proxy and another to us.
 *  - §6.1: "A server that receives a request message with a transfer coding it does not
 *    understand SHOULD respond with 501 (Not Implemented)." Node frames `gzip, chunked` as chunked
 *    and hands the handler the still-compressed bytes.
 * Answered before anything else runs (routes, budgets, body parsing), for every route.
 */
import type { FastifyInstance } from 'fastify';

export function httpHygiene(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    const raw = request.raw.rawHeaders;
    let hosts = 0;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'host') hosts++;
    if (hosts > 1) {
      return reply
        .code(400)
        .header('connection', 'close')
        .send({ error: { code: 'ERR_VALIDATION', message: `the request has ${hosts} Host header lines; HTTP/1.1 allows one (RFC 9112 §3.2)` } });
    }
    const te = request.headers['transfer-encoding'];
    if (te !== undefined) {
      const codings = te
        .split(',')
        .map((c) => c.trim().toLowerCase())
        .filter(Boolean);
      const unknown = codings.filter((c) => c !== 'chunked');
      if (unknown.length) {
        return reply
          .code(501)
          .header('connection', 'close')
          .send({
            error: {
              code: 'ERR_NOT_IMPLEMENTED',
              message: `transfer coding ${unknown.join(', ')} is not supported; send the body uncompressed (RFC 9112 §6.1)`,
            },
          });
      }
    }
  });
}
