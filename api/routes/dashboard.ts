/**
 * The dashboard: `GET /` and its files under /dashboard/, served from memory (read once at boot).
 * The chart library (uPlot) comes from its npm package, so the page needs nothing outside this
 * server: no CDN. The page itself is public; the data comes from /api/v1 with the user's key.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

const here = path.resolve(import.meta.dirname, '../dashboard');
const require = createRequire(import.meta.url);
const uplot = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));

const FILES: Record<string, { file: string; type: string }> = {
  'dashboard.js': { file: path.join(here, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { file: path.join(here, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': { file: path.join(uplot, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { file: path.join(uplot, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

// Only this server's files and API; no framing (clickjacking on the action buttons).
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const index = fs.readFileSync(path.join(here, 'index.html'));
  const files = new Map(Object.entries(FILES).map(([name, f]) => [name, { body: fs.readFileSync(f.file), type: f.type }]));
  app.get('/', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).header('cache-control', 'no-cache').send(index),
  );
  app.get<{ Params: { file: string } }>('/dashboard/:file', async (request, reply) => {
    const f = files.get(request.params.file);
    if (!f) return reply.status(404).send({ error: { code: 'ERR_NOT_FOUND', message: 'no such file' } });
    return reply.type(f.type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(f.body);
  });
}
