import fs from 'node:fs';
import { defineConfig } from 'vitest/config';

// The schema suite also runs on Debian's PostgreSQL 15, proving "PostgreSQL 15+". CI must have it
// (.ci/run installs it); a developer machine without it runs the PostgreSQL 18 projects only.
const pg15 = fs.existsSync('/usr/lib/postgresql/15/bin/initdb');
if (!pg15 && process.env.CI) throw new Error('CI needs Debian PostgreSQL 15 (/usr/lib/postgresql/15/bin) for the PG 15 schema suite');
if (!pg15) console.warn('[vitest] /usr/lib/postgresql/15/bin not found: skipping the PostgreSQL 15 schema suite');

const common = {
  globalSetup: ['test/setup/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    projects: [
      { test: { ...common, name: 'pg18', include: ['test/**/*.test.ts'], env: { STAYOS_TEST_PG: '18' } } },
      ...(pg15 ? [{ test: { ...common, name: 'pg15', include: ['test/schema/**/*.test.ts'], env: { STAYOS_TEST_PG: '15' } } }] : []),
    ],
  },
});
