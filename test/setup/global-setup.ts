/**
 * Vitest global setup: one PostgreSQL server per project (PostgreSQL 18 embedded, Debian's
 * PostgreSQL 15, or TEST_DATABASE_URL), a template database migrated once, and its URL provided
 * to the test files (`inject('pgServerUrl')`).
 */
import type { TestProject } from 'vitest/node';
import { prepareTemplate, startEmbeddedTestServer, startPg15TestServer, type TestServer } from './pg-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
    pgTemplate: string;
    pgFlavour: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const flavour = project.config.env?.STAYOS_TEST_PG ?? process.env.STAYOS_TEST_PG ?? '18';
  let server: TestServer;
  if (process.env.TEST_DATABASE_URL && flavour === '18') {
    server = { url: process.env.TEST_DATABASE_URL, stop: async () => undefined };
  } else {
    server = flavour === '15' ? await startPg15TestServer() : await startEmbeddedTestServer();
  }
  const template = await prepareTemplate(server.url);
  project.provide('pgServerUrl', server.url);
  project.provide('pgTemplate', template);
  project.provide('pgFlavour', flavour);
  return () => server.stop();
}
