/**
 * `stayos demo-traffic` and `stayos demo-fault`: make the demo move while `stayos start` runs.
 *
 * demo-traffic sends what a hotel's day looks like, at `rate` events per second: Expedia bookings
 * (new, sometimes modified or cancelled later) through the real webhook, Booking.com bookings into
 * the sandbox's queue (the poller brings them in), and rate changes made in the PMS database (the
 * CDC carries them to both OTAs). Everything goes through the product's own paths; nothing is
 * written behind its back. demo-fault switches a sandbox OTA to failing and back, so a connection
 * degrades, goes down and recovers on the dashboard.
 */
import { randomUUID } from 'node:crypto';
import axios from 'axios';
import { SingleBar, Presets } from 'cli-progress';
import { sandboxBaseUrl, type Config } from '../core/config.ts';
import { DEMO, FIRST, LAST } from '../core/demo/demo-data.ts';
import { addDays } from '../core/dates.ts';
import { StayosError } from '../core/errors.ts';
import { prng } from '../core/prng.ts';
import { connectRunning } from '../core/runtime.ts';
import { buildBnRequest, type BnRequest } from '../connectors/expedia/booking-notification.ts';
import { demoConnections } from '../connectors/demo.ts';
import { requireAdapter } from '../connectors/registry.ts';

// The traffic speaks Expedia's and Booking.com's own protocols, through their demo connections.
const [BOOKING, EXPEDIA] = demoConnections('', ['booking_com', 'expedia']) as [
  ReturnType<typeof demoConnections>[number],
  ReturnType<typeof demoConnections>[number],
];
const ROOMS = ['STD', 'DLX'] as const;

function stay(random: () => number, nightsBase = 1) {
  const arrival = addDays(new Date().toISOString().slice(0, 10), 3 + Math.floor(random() * 50));
  const nights = nightsBase + Math.floor(random() * 3);
  const day = (i: number) => addDays(arrival, i);
  const price = (110 + Math.floor(random() * 60)).toFixed(2);
  return { arrival: day(0), departure: day(nights), nights: Array.from({ length: nights }, (_, i) => ({ date: day(i), amount: price })) };
}

export interface TrafficCounts {
  expedia: number;
  booking: number;
  modified: number;
  cancelled: number;
  rates: number;
  refused: number;
}

export async function runDemoTraffic(config: Config, opts: { rate: number; count: number; seed: number; quiet?: boolean }): Promise<TrafficCounts> {
  const base = sandboxBaseUrl(config);
  const http = axios.create({ baseURL: base, timeout: 15_000, validateStatus: () => true });
  if ((await http.get('/healthz').catch(() => ({ status: 0 }))).status !== 200) {
    throw new StayosError('ERR_DB_UNAVAILABLE', `no StayOS at ${base}: run \`npm start\` first (or set STAYOS_HTTP_PORT / STAYOS_SANDBOX_URL)`);
  }
  const db = await connectRunning(config, { applicationName: 'stayos-demo-traffic' });
  const random = prng(opts.seed);
  const counts: TrafficCounts = { expedia: 0, booking: 0, modified: 0, cancelled: 0, rates: 0, refused: 0 };
  const open: Array<{ id: string; room: BnRequest['room'] & object; guest: BnRequest['guest'] }> = [];
  const run = randomUUID().slice(0, 8);
  const bar = new SingleBar(
    {
      format:
        'demo traffic {bar} {value}/{total} | Expedia {expedia} · Booking.com {booking} · modified {modified} · cancelled {cancelled} · rate changes {rates} · refused {refused}',
      hideCursor: true,
      noTTYOutput: !opts.quiet,
      notTTYSchedule: 2000,
    },
    Presets.shades_classic,
  );
  if (!opts.quiet) bar.start(opts.count, 0, counts);

  const expedia = async (kind: BnRequest['kind'], b: (typeof open)[number]) => {
    const xml = buildBnRequest({
      kind,
      requestId: randomUUID(),
      hotelCode: EXPEDIA.hotelCode,
      username: EXPEDIA.credentials.username!,
      password: EXPEDIA.credentials.password!,
      externalId: b.id,
      timeStamp: new Date().toISOString(),
      currency: DEMO.currency,
      room: b.room,
      guest: b.guest,
    });
    const res = await http.post('/webhooks/expedia', xml, { headers: { 'content-type': 'text/xml; charset=utf-8' } });
    return res.status === 200 && /<Success\s*\/>/.test(String(res.data));
  };

  try {
    const started = Date.now();
    for (let i = 0; i < opts.count; i++) {
      // Paced from the start, not per event: a slow answer does not lower the rate.
      const due = started + (i * 1000) / opts.rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const x = random();
      if (x < 0.35) {
        const room = ROOMS[Math.floor(random() * ROOMS.length)]!;
        const b = {
          id: `DEMO${run}E${i}`,
          room: { roomCode: EXPEDIA.roomCodes[room]!, rateCode: EXPEDIA.rateCodes.BAR!, adults: 2, ...stay(random) },
          guest: { firstName: FIRST[i % FIRST.length]!, lastName: LAST[(i * 3) % LAST.length]! },
        };
        if (await expedia('new', b)) {
          counts.expedia++;
          open.push(b);
        } else counts.refused++;
      } else if (x < 0.45 && open.length) {
        const b = open[Math.floor(random() * open.length)]!;
        b.room = { ...b.room, ...stay(random, 2) };
        if (await expedia('modify', b)) counts.modified++;
        else counts.refused++;
      } else if (x < 0.5 && open.length) {
        const b = open.splice(Math.floor(random() * open.length), 1)[0]!;
        if (await expedia('cancel', b)) counts.cancelled++;
        else counts.refused++;
      } else if (x < 0.7) {
        const room = ROOMS[Math.floor(random() * ROOMS.length)]!;
        // Booking.com ids are numeric; unique per run (from `run`), like the Expedia ids.
        const id = String(1_000_000_000 + ((parseInt(run, 16) + i * 7919) % 8_999_999_999));
        // The sandbox's reservation input (connectors/booking-com/sandbox-reservations.ts): the booker's name
        // is also the room's guest; arrival/departure are checked against the nights.
        const r = await http.post('/sandbox/booking-com/_control/reservations', {
          kind: 'new',
          reservation: {
            id,
            hotel: BOOKING.hotelCode,
            currency: DEMO.currency,
            rooms: [{ roomCode: BOOKING.roomCodes[room]!, rateCode: BOOKING.rateCodes.BAR!, adults: 2, ...stay(random) }],
            booker: { firstName: FIRST[(i + 2) % FIRST.length]!, lastName: LAST[(i + 5) % LAST.length]! },
          },
        });
        if (r.status === 202) counts.booking++;
        else counts.refused++;
      } else {
        // The revenue manager moves a rate by -8 % … +8 % on one night in the next two months.
        const { rowCount } = await db.pool.query(
          `UPDATE property_mgmt.daily_rates r SET amount = round(r.amount * $3, 2)
           FROM property_mgmt.properties p
           WHERE p.code = 'DEMO' AND r.property_id = p.id AND r.stay_date = (now() AT TIME ZONE p.timezone)::date + $1::int
             AND r.room_type_id = (SELECT id FROM property_mgmt.room_types WHERE property_id = p.id AND code = $2)`,
          [Math.floor(random() * 60), ROOMS[Math.floor(random() * ROOMS.length)], (0.92 + random() * 0.16).toFixed(3)],
        );
        counts.rates += rowCount ? 1 : 0;
      }
      if (!opts.quiet) bar.update(i + 1, counts);
    }
  } finally {
    if (!opts.quiet) bar.stop();
    await db.close();
  }
  return counts;
}

// flaky: 4 requests in 5 fail; the retries within a push absorb some, so the connection goes degraded and active by turns.
export const FAULT_MODES = { outage: { rates: { http5xx: 1 } }, flaky: { rates: { http5xx: 0.8 } }, off: {} } as const;

/** Switches a sandbox OTA's fault plan (the running `stayos start` serves the sandboxes). */
export async function runDemoFault(config: Config, channel: string, mode: keyof typeof FAULT_MODES): Promise<void> {
  const [c] = demoConnections('', [requireAdapter(channel).code]);
  if (!c) throw new StayosError('ERR_VALIDATION', `channel ${channel} has no sandbox`);
  const url = `${sandboxBaseUrl(config)}${c.sandboxPath}/_control/faults`;
  const res = await axios.post(url, FAULT_MODES[mode], { timeout: 5000, validateStatus: () => true }).catch((err: Error) => {
    throw new StayosError('ERR_OTA_UNAVAILABLE', `cannot reach the sandbox at ${url}: ${err.message}. Fix: run \`npm start\` first.`);
  });
  if (res.status !== 200) throw new StayosError('ERR_OTA_UNAVAILABLE', `the sandbox refused the fault plan (HTTP ${res.status})`);
  console.log(
    mode === 'off'
      ? `${channel} sandbox healthy again: the connection recovers at its next retry (the dashboard turns green)`
      : mode === 'outage'
        ? `${channel} sandbox now fails every request: watch the connection degrade and go down; \`stayos demo-fault ${channel} off\` ends it`
        : `${channel} sandbox now fails 4 requests in 5: retries absorb some, the connection turns degraded and back; \`stayos demo-fault ${channel} off\` ends it`,
  );
}
