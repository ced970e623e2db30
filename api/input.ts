/** One way for the API routes to read their input: zod, and ERR_VALIDATION naming every problem. */
import { z } from 'zod';
import { StayosError } from '../core/errors.ts';

export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (!r.success) throw new StayosError('ERR_VALIDATION', z.prettifyError(r.error));
  return r.data;
}

/** A connection id from the path; one that is not a UUID is simply not found. */
export function connectionIdOf(params: unknown): string {
  const p = z.object({ id: z.uuid() }).safeParse(params);
  if (!p.success) throw new StayosError('ERR_NOT_FOUND', 'no such channel connection');
  return p.data.id;
}
