/**
 * The OTA sandboxes in a process of their own, for `npm run bench:outbound`. The OTA is another
 * system: run in the benchmark's process, its XML parsing would share one event loop with the
 * pipeline and the benchmark would time the two in series. Prints `{"url": …}` on its first line
 * of output, then serves until SIGTERM. Besides the sandboxes' own control API it records the OTA
 * requests it receives while capturing is on (`POST /_bench/capture {on}`, `GET /_bench/captured`):
 * the replay baseline sends those very requests again.
 */
import Fastify from 'fastify';
import { z } from 'zod';
import { createSandboxes } from '../connectors/sandboxes.ts';
import { BENCH_OTA_ACCOUNTS, scaleHotels, type CapturedRequest } from './common.ts';
import { otaRatesOf, otaRoomsOf } from './scale-seed.ts';

async function main(): Promise<void> {
  const { booking, expedia } = BENCH_OTA_ACCOUNTS;
  // bench:scale's hotels (BENCH_HOTELS=N): one provider account holding them all, at each OTA.
  const many = Number(process.env.BENCH_HOTELS ?? 0);
  const sandboxes = createSandboxes({
    bookingAccounts: [{ clientId: booking.clientId, clientSecret: booking.clientSecret, hotels: [booking.hotel, ...scaleHotels('booking_com', many)] }],
    expediaAccounts: [{ username: expedia.username, password: expedia.password, hotels: [expedia.hotel, ...scaleHotels('expedia', many)] }],
    // Booking.com's catalogue of each scale hotel: its messages name no hotel, the room id does.
    ...(many
      ? { bookingProducts: Object.fromEntries(scaleHotels('booking_com', many).map((h, i) => [h, { rooms: otaRoomsOf(i + 1), rates: otaRatesOf(i + 1) }])) }
      : {}),
  });
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
  const captured: CapturedRequest[] = [];
  let capture = false;
  app.addHook('preHandler', async (req) => {
    if (capture && !req.url.includes('/token-based-authentication/') && (typeof req.body === 'string' || Buffer.isBuffer(req.body))) {
      captured.push({
        url: req.url,
        body: String(req.body),
        headers: Object.fromEntries(['content-type', 'accept-version', 'authorization'].filter((h) => req.headers[h]).map((h) => [h, String(req.headers[h])])),
      });
    }
  });
  app.post('/_bench/capture', async (req) => {
    capture = z.object({ on: z.boolean() }).parse(req.body).on;
    return { captured: captured.length };
  });
  app.get('/_bench/captured', async () => captured);
  await app.register(sandboxes.plugin);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` })}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

await main();
