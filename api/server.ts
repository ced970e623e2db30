/** Listening is separate from building the app: tests never open a port they do not need. */
import type { FastifyInstance } from 'fastify';

export async function listen(app: FastifyInstance, options: { host: string; port: number }): Promise<string> {
  return app.listen({ host: options.host, port: options.port });
}
