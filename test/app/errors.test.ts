/** The error registry: every code documented, SQLSTATEs translated. */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { errorRegistry, fromPgError, StayosError } from '../../core/errors.ts';

describe('error registry', () => {
  it('documents every code in docs/errors.md with its HTTP status', () => {
    const doc = fs.readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    for (const [code, { http }] of Object.entries(errorRegistry)) {
      expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${http} \\|`));
    }
  });

  it('maps PostgreSQL errors by SQLSTATE and keeps the cause', () => {
    const cause = Object.assign(new Error('stale'), { code: 'SV001' });
    const e = fromPgError(cause);
    expect(e).toBeInstanceOf(StayosError);
    expect(e.code).toBe('ERR_CONFLICT');
    expect(e.httpStatus).toBe(409);
    expect(e.cause).toBe(cause);
    expect(fromPgError(Object.assign(new Error('x'), { code: '23514' })).code).toBe('ERR_VALIDATION');
    expect(fromPgError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).code).toBe('ERR_DB_UNAVAILABLE');
    expect(fromPgError(Object.assign(new Error('x'), { code: 'XX000' })).code).toBe('ERR_INTERNAL');
  });
});
