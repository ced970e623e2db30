/**
 * The one configuration module. `loadConfig(env)` parses the environment once, at boot, with zod.
 * A bad value stops the program with a message naming the variable and how to fix it; every
 * option, its default and its meaning are listed in README.md ("Configuration").
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import path from 'node:path';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(1).max(65535);

/** Each entry: the zod schema of one variable, and the fix we print when it does not parse. */
const spec = {
  DATABASE_URL: {
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
      .optional(),
    fix: 'unset it to run the embedded PostgreSQL, or give a URL like postgres://user:pass@host:5432/stayos',
  },
  STAYOS_DATA_DIR: {
    schema: z.string().min(1).default('./.stayos'),
    fix: 'give a writable directory for the embedded PostgreSQL and its key (default ./.stayos)',
  },
  STAYOS_PG_PORT: {
    schema: port.default(54329),
    fix: 'give a free TCP port for the embedded PostgreSQL (1-65535, default 54329)',
  },
  STAYOS_ENCRYPTION_KEY: {
    schema: z.string().min(32, 'must be at least 32 characters').optional(),
    fix: 'give a random secret of at least 32 characters (e.g. `openssl rand -base64 48`); it encrypts guest documents, cards and OTA credentials',
  },
  STAYOS_ENCRYPTION_PREVIOUS_KEYS: {
    // While `stayos keys rotate` re-encrypts, the keys being replaced must still open what they wrote.
    schema: z
      .string()
      .optional()
      .transform((v) =>
        (v ?? '')
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().min(32, 'each previous key must be at least 32 characters'))),
    fix: 'give the keys being replaced, comma-separated (each at least 32 characters, without commas), or leave it unset',
  },
  STAYOS_HTTP_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    fix: 'give an interface address to listen on, e.g. 127.0.0.1 or 0.0.0.0',
  },
  STAYOS_HTTP_PORT: {
    schema: port.default(8080),
    fix: 'give a TCP port for the API and dashboard (1-65535, default 8080)',
  },
  STAYOS_TRUST_PROXY: {
    schema: z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === 'false') return false as const;
        if (v === 'true') return true as const;
        if (/^\d{1,2}$/.test(v)) return Number(v);
        const list = v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
        const bad = list.filter((x) => {
          const [ip, bits, ...rest] = x.split('/');
          const family = isIP(ip ?? '');
          return !family || rest.length > 0 || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)));
        });
        if (!list.length || bad.length) {
          ctx.addIssue({ code: 'custom', message: `not true, false, a number of hops, or addresses/CIDRs (${bad.join(', ') || 'empty'})` });
          return z.NEVER;
        }
        return list;
      }),
    fix: "leave unset (false: the client is the TCP peer) unless StayOS sits behind a proxy or load balancer; then give the balancer's addresses or CIDRs (e.g. 10.0.0.0/8), or the number of proxy hops; true trusts any X-Forwarded-For and lets a client forge its address",
  },
  STAYOS_OTA_EXTRA_HOSTS: {
    schema: z
      .string()
      .optional()
      .transform((v, ctx) => {
        const list = (v ?? '')
          .split(',')
          .map((x) => x.trim().toLowerCase())
          .filter(Boolean);
        const bad = list.filter((x) => !/^[a-z0-9.-]+(:\d{1,5})?$/.test(x));
        if (bad.length) {
          ctx.addIssue({ code: 'custom', message: `not host or host:port entries (${bad.join(', ')})` });
          return z.NEVER;
        }
        return list;
      }),
    fix: "give a comma-separated list of host or host:port the connections may call besides the OTAs' own hosts (a certification endpoint, an egress proxy); https is required unless STAYOS_SANDBOXES is on",
  },
  STAYOS_METRICS_TOKEN: {
    schema: z
      .string()
      .regex(/^[\x21-\x7e]{24,256}$/, 'must be 24-256 printable characters without spaces')
      .optional(),
    fix: 'give a random bearer token of at least 24 characters (e.g. openssl rand -hex 24) that Prometheus sends as Authorization: Bearer …; unset, GET /metrics on the API port answers 404',
  },
  STAYOS_METRICS_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    fix: 'give the interface of the metrics listener (default 127.0.0.1; 0.0.0.0 in containers, on a network Prometheus alone reaches)',
  },
  STAYOS_METRICS_PORT: {
    schema: port.optional(),
    fix: 'give a TCP port (1-65535) for a listener of its own serving only GET /metrics, without a token (every part: api, cdc, connectors); unset, no such listener',
  },
  STAYOS_LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    fix: 'use one of fatal, error, warn, info, debug, trace, silent',
  },
  STAYOS_SEED_DEMO: {
    schema: bool.default(true),
    fix: 'use true or false: whether `stayos start` seeds the demo property into an empty database',
  },
  STAYOS_SANDBOXES: {
    schema: bool.default(true),
    fix: 'use true or false: whether the API serves the Booking.com and Expedia sandboxes under /sandbox/ (turn off in production)',
  },
  STAYOS_SANDBOX_URL: {
    schema: z
      .string()
      .regex(/^https?:\/\/[^\s/]+$/, 'must be a base URL like http://api:8080 (no path)')
      .optional(),
    fix: 'give the base URL other processes reach this API at (docker-compose: http://api:8080); default http://<host>:<port>',
  },
  STAYOS_PARTITION_MAINTENANCE_HOURS: {
    schema: z.coerce
      .number()
      .positive()
      .max(24 * 7)
      .default(24),
    fix: 'give how often (hours, > 0) partitions are created ahead and expired ones dropped (default 24)',
  },
  STAYOS_CDC_SLOT: {
    schema: z
      .string()
      .regex(/^[a-z0-9_]{1,63}$/, 'must be lower-case letters, digits and _ (a PostgreSQL slot name)')
      .default('stayos_cdc'),
    fix: 'give the logical replication slot name (lower-case letters, digits, _; default stayos_cdc)',
  },
  STAYOS_TRANSPORT: {
    schema: z.enum(['inprocess', 'pubsub']).default('inprocess'),
    fix: 'use inprocess (one machine) or pubsub (Google Cloud Pub/Sub)',
  },
  STAYOS_PUBSUB_PREFIX: {
    schema: z
      .string()
      .regex(/^[a-zA-Z][\w.~+%-]{0,100}$/, 'must be a valid Pub/Sub name start')
      .default('stayos'),
    fix: 'give a prefix of letters, digits, - _ . for topic names (default stayos)',
  },
  STAYOS_SYNC_POLL_MS: {
    schema: z.coerce.number().int().min(5).max(60_000).default(100),
    fix: 'give how often (ms, 5-60000) a sync worker looks for connections with dirty cells (default 100)',
  },
  STAYOS_SYNC_CONCURRENCY: {
    schema: z.coerce.number().int().min(1).max(256).default(8),
    fix: 'give how many connections one process pushes at once (1-256, default 8)',
  },
  STAYOS_SYNC_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(100).max(300_000).default(15_000),
    fix: 'give the OTA request timeout in ms (100-300000, default 15000); a connection setting timeout_ms overrides it',
  },
  STAYOS_SYNC_MAX_ATTEMPTS: {
    schema: z.coerce.number().int().min(1).max(10).default(3),
    fix: 'give the attempts per OTA request within one push (1-10, default 3); a connection setting max_attempts overrides it',
  },
  STAYOS_SYNC_RATE_PER_MINUTE: {
    schema: z.coerce.number().int().min(1).max(100_000).default(600),
    fix: 'give the default OTA requests per minute per connection (default 600); a connection setting rate_limit_per_minute overrides it',
  },
  STAYOS_SYNC_COALESCE_MS: {
    schema: z.coerce.number().int().min(0).max(60_000).default(0),
    fix: 'give how long (ms, 0-60000) a single change waits for others to share its OTA request (default 0: sent at the next poll); a connection setting coalesce_ms overrides it',
  },
  STAYOS_WEBHOOK_BODY_LIMIT: {
    schema: z.coerce
      .number()
      .int()
      .min(4096)
      .max(10 * 1024 * 1024)
      .default(256 * 1024),
    fix: 'give the largest webhook body in bytes (4096-10485760, default 262144); a booking is a few kilobytes',
  },
  STAYOS_WEBHOOK_RATE_PER_MINUTE: {
    schema: z.coerce.number().int().min(1).max(1_000_000).default(1200),
    fix: 'give how many webhook messages one connection may send per minute (default 1200); more get HTTP 429 / a SOAP Fault',
  },
  STAYOS_WEBHOOK_ADDRESS_RATE_PER_MINUTE: {
    schema: z.coerce.number().int().min(1).max(10_000_000).default(6000),
    fix: "give how many webhook messages one client address may send per minute, counted before the body is read (default 6000: OTAs send every hotel's bookings from a few addresses)",
  },
  STAYOS_BOOKING_POLL_SECONDS: {
    schema: z.coerce.number().min(0.05).max(600).default(20),
    fix: 'give how often (seconds, 0.05-600, default 20) each Booking.com connection polls for new and modified reservations',
  },
  PUBSUB_PROJECT_ID: {
    schema: z.string().min(1).optional(),
    fix: 'give the Google Cloud project that holds the topics',
  },
  GOOGLE_CLOUD_PROJECT: {
    schema: z.string().min(1).optional(),
    fix: 'give the Google Cloud project that holds the topics',
  },
  PUBSUB_EMULATOR_HOST: {
    schema: z
      .string()
      .regex(/^[^:\s]+:\d+$/, 'must be host:port')
      .optional(),
    fix: 'give the emulator address as host:port, or unset it to use the real service',
  },
} as const;

type Spec = typeof spec;
type Raw = { [K in keyof Spec]: z.output<Spec[K]['schema']> };

export interface Config {
  databaseUrl: string | undefined;
  /** true when no DATABASE_URL is given: StayOS runs its own PostgreSQL in dataDir. */
  embedded: boolean;
  dataDir: string;
  embeddedPgPort: number;
  encryptionKey: string | undefined;
  /** Keys that only decrypt: what `stayos keys rotate` re-encrypts under encryptionKey. */
  previousEncryptionKeys: string[];
  /** Fastify's trustProxy: whose X-Forwarded-For gives the client address (rate limits, lockouts, logs). */
  http: { host: string; port: number; trustProxy: boolean | number | string[] };
  /** GET /metrics: on the API port with a bearer token, and/or on a listener of its own. */
  metrics: { token: string | undefined; host: string; port: number | undefined };
  logLevel: Raw['STAYOS_LOG_LEVEL'];
  seedDemo: boolean;
  sandboxes: boolean;
  sandboxUrl: string | undefined;
  /** Hosts a connection may call besides its OTA's own (connectors/outbound/hosts.ts). */
  otaExtraHosts: string[];
  partitionMaintenanceHours: number;
  cdcSlot: string;
  transport: Raw['STAYOS_TRANSPORT'];
  sync: { pollMs: number; concurrency: number; timeoutMs: number; maxAttempts: number; ratePerMinute: number; coalesceMs: number };
  pubsub: { prefix: string; projectId: string | undefined; emulatorHost: string | undefined };
  inbound: { bodyLimit: number; ratePerMinute: number; addressRatePerMinute: number; bookingPollSeconds: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Variables whose value an error message never repeats (it would land in logs and terminals). */
const SECRETS: ReadonlySet<string> = new Set(['STAYOS_ENCRYPTION_KEY', 'STAYOS_ENCRYPTION_PREVIOUS_KEYS', 'STAYOS_METRICS_TOKEN']);

/** A value as an error message may show it: secrets hidden, a URL's password masked. */
function shown(name: string, value: unknown): string {
  if (SECRETS.has(name)) return '(hidden)';
  // Up to the last @ before the host: a password may hold an unencoded @.
  return JSON.stringify(value)?.replace(/(\/\/[^:/@\s"]*:)[^\s"/]*@/, '$1***@') ?? 'undefined';
}

/** Parses the environment. Throws ConfigError listing every bad variable with its fix. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const raw: Partial<Record<keyof Spec, unknown>> = {};
  for (const [name, { schema, fix }] of Object.entries(spec) as [keyof Spec, Spec[keyof Spec]][]) {
    // An empty variable means "unset": `FOO= stayos start` should behave like no FOO.
    const value = env[name] === '' ? undefined : env[name];
    const parsed = (schema as z.ZodType).safeParse(value);
    if (parsed.success) raw[name] = parsed.data;
    else problems.push(`${name}=${shown(name, value)}: ${parsed.error.issues[0]?.message ?? 'invalid'}. Fix: ${fix}.`);
  }
  const r = raw as Raw;
  if (problems.length === 0 && r.DATABASE_URL && !r.STAYOS_ENCRYPTION_KEY) {
    problems.push(`STAYOS_ENCRYPTION_KEY is required when DATABASE_URL is set (only the embedded mode generates one). Fix: ${spec.STAYOS_ENCRYPTION_KEY.fix}.`);
  }
  if (problems.length) throw new ConfigError(problems);
  return {
    databaseUrl: r.DATABASE_URL,
    embedded: !r.DATABASE_URL,
    dataDir: path.resolve(r.STAYOS_DATA_DIR),
    embeddedPgPort: r.STAYOS_PG_PORT,
    encryptionKey: r.STAYOS_ENCRYPTION_KEY,
    previousEncryptionKeys: r.STAYOS_ENCRYPTION_PREVIOUS_KEYS,
    http: { host: r.STAYOS_HTTP_HOST, port: r.STAYOS_HTTP_PORT, trustProxy: r.STAYOS_TRUST_PROXY },
    metrics: { token: r.STAYOS_METRICS_TOKEN, host: r.STAYOS_METRICS_HOST, port: r.STAYOS_METRICS_PORT },
    logLevel: r.STAYOS_LOG_LEVEL,
    seedDemo: r.STAYOS_SEED_DEMO,
    sandboxes: r.STAYOS_SANDBOXES,
    sandboxUrl: r.STAYOS_SANDBOX_URL,
    otaExtraHosts: r.STAYOS_OTA_EXTRA_HOSTS,
    partitionMaintenanceHours: r.STAYOS_PARTITION_MAINTENANCE_HOURS,
    cdcSlot: r.STAYOS_CDC_SLOT,
    transport: r.STAYOS_TRANSPORT,
    sync: {
      pollMs: r.STAYOS_SYNC_POLL_MS,
      concurrency: r.STAYOS_SYNC_CONCURRENCY,
      timeoutMs: r.STAYOS_SYNC_TIMEOUT_MS,
      maxAttempts: r.STAYOS_SYNC_MAX_ATTEMPTS,
      ratePerMinute: r.STAYOS_SYNC_RATE_PER_MINUTE,
      coalesceMs: r.STAYOS_SYNC_COALESCE_MS,
    },
    inbound: {
      bodyLimit: r.STAYOS_WEBHOOK_BODY_LIMIT,
      ratePerMinute: r.STAYOS_WEBHOOK_RATE_PER_MINUTE,
      addressRatePerMinute: r.STAYOS_WEBHOOK_ADDRESS_RATE_PER_MINUTE,
      bookingPollSeconds: r.STAYOS_BOOKING_POLL_SECONDS,
    },
    pubsub: {
      prefix: r.STAYOS_PUBSUB_PREFIX,
      projectId: r.PUBSUB_PROJECT_ID ?? r.GOOGLE_CLOUD_PROJECT,
      emulatorHost: r.PUBSUB_EMULATOR_HOST,
    },
  };
}

/** Names, defaults and fixes of every variable, for the README table and its test. */
export const configVariables: ReadonlyArray<{ name: string; fix: string }> = Object.entries(spec).map(([name, { fix }]) => ({ name, fix }));

/** Where the demo connections point: the OTA sandboxes that `stayos start` serves on its own port. */
export function sandboxBaseUrl(config: Pick<Config, 'http' | 'sandboxUrl'>): string {
  if (config.sandboxUrl) return config.sandboxUrl;
  const host =
    config.http.host === '0.0.0.0'
      ? '127.0.0.1'
      : config.http.host === '::'
        ? '[::1]'
        : config.http.host.includes(':')
          ? `[${config.http.host}]`
          : config.http.host;
  return `http://${host}:${config.http.port}`;
}
