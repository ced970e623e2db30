/** Configuration: parsed once by zod; bad values name the variable and the fix. */
import { describe, expect, it } from 'vitest';
import { ConfigError, configVariables, loadConfig } from '../../core/config.ts';
import fs from 'node:fs';
import { openDatabase } from '../../core/runtime.ts';
import { createLogger } from '../../core/logger.ts';
import { PG15_BIN, startPg15TestServer } from '../setup/pg-server.ts';

describe('loadConfig', () => {
  it('defaults to the embedded, in-process, single-machine setup', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ embedded: true, databaseUrl: undefined, transport: 'inprocess', http: { host: '127.0.0.1', port: 8080 }, seedDemo: true });
    expect(c.dataDir).toMatch(/\.stayos$/);
    expect(c.pubsub.prefix).toBe('stayos');
  });

  it('reports every bad variable with its name and a fix', () => {
    const err = (() => {
      try {
        loadConfig({ STAYOS_HTTP_PORT: '99999', STAYOS_TRANSPORT: 'kafka', DATABASE_URL: 'mysql://x', STAYOS_SEED_DEMO: 'maybe' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems).toHaveLength(4);
    expect(err!.message).toMatch(/STAYOS_HTTP_PORT="99999".*Fix: give a TCP port/);
    expect(err!.message).toMatch(/STAYOS_TRANSPORT="kafka".*Fix: use inprocess/);
    expect(err!.message).toMatch(/DATABASE_URL="mysql:\/\/x".*Fix:/);
  });

  it('requires the encryption key when the database is external', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u@h/db' })).toThrow(/STAYOS_ENCRYPTION_KEY is required when DATABASE_URL is set/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u@h/db', STAYOS_ENCRYPTION_KEY: 'short' })).toThrow(/at least 32 characters/);
    const c = loadConfig({ DATABASE_URL: 'postgres://u@h/db', STAYOS_ENCRYPTION_KEY: 'x'.repeat(32), GOOGLE_CLOUD_PROJECT: 'p1' });
    expect(c).toMatchObject({ embedded: false, pubsub: { projectId: 'p1' } });
  });

  it('takes the keys a rotation replaces, and never repeats a secret in an error', () => {
    const key = 'k'.repeat(32);
    const c = loadConfig({
      DATABASE_URL: 'postgres://u@h/db',
      STAYOS_ENCRYPTION_KEY: key,
      STAYOS_ENCRYPTION_PREVIOUS_KEYS: ` ${'a'.repeat(32)} ,${'b'.repeat(40)}`,
    });
    expect(c.previousEncryptionKeys).toEqual(['a'.repeat(32), 'b'.repeat(40)]);
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', STAYOS_ENCRYPTION_KEY: key }).previousEncryptionKeys).toEqual([]);
    let err: Error | undefined;
    try {
      loadConfig({
        DATABASE_URL: 'postgres://u@h/db',
        STAYOS_ENCRYPTION_KEY: 'short-secret',
        STAYOS_ENCRYPTION_PREVIOUS_KEYS: `${'a'.repeat(32)},tiny-old-secret`,
        STAYOS_METRICS_TOKEN: 'tok',
      });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(/STAYOS_ENCRYPTION_KEY=\(hidden\): must be at least 32 characters/);
    expect(err?.message).toMatch(/STAYOS_ENCRYPTION_PREVIOUS_KEYS=\(hidden\): each previous key must be at least 32 characters/);
    expect(err?.message).not.toMatch(/short-secret|tiny-old-secret|aaaa/);
    // A URL refused for its scheme is shown with its password masked.
    expect(() => loadConfig({ DATABASE_URL: 'mysql://stayos:pw-very-secret@db/stayos' })).toThrow(/DATABASE_URL="mysql:\/\/stayos:\*\*\*@db\/stayos"/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://stayos:p@ss-secret@db/stayos' })).toThrow(/DATABASE_URL="mysql:\/\/stayos:\*\*\*@db\/stayos"/);
  });

  it('documents every variable in the README', () => {
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const v of configVariables) expect(readme, v.name).toContain(`\`${v.name}\``);
  });
});

describe('a DATABASE_URL server without wal_level=logical', () => {
  it.skipIf(!fs.existsSync(`${PG15_BIN}/initdb`))('is refused at start with the setting named and the fix', async () => {
    const server = await startPg15TestServer({ walLevel: 'replica' });
    try {
      const config = loadConfig({ DATABASE_URL: server.url, STAYOS_ENCRYPTION_KEY: 'k'.repeat(32) });
      const err = await openDatabase(config, createLogger('silent')).catch((e) => e);
      expect(err.code).toBe('ERR_DB_NOT_LOGICAL');
      expect(err.message).toMatch(/wal_level=replica.*needs wal_level=logical.*ALTER SYSTEM SET wal_level = logical/);
    } finally {
      await server.stop();
    }
  });
});
