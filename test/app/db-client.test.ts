/** core/db's checkout: a server that drops a checked-out connection between queries neither crashes the process nor returns a broken client to the pool. */
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { createPool, withClient } from '../../core/db.ts';
import { waitFor } from '../helpers/wait.ts';

const db = useTestDatabase();

describe('withClient', () => {
  it('survives the connection being terminated between two queries and discards that client', async () => {
    const pool = createPool(db.current.url, { max: 2 });
    try {
      const failure = await withClient(pool, async (client) => {
        const {
          rows: [{ pid }],
        } = await client.query('SELECT pg_backend_pid() AS pid');
        let dropped = false;
        client.once('error', () => (dropped = true));
        // Killed by another session while this one sits idle between queries: the socket error
        // arrives with no query running (vitest fails the run on an uncaught error).
        await db.current.pool.query('SELECT pg_terminate_backend($1)', [pid]);
        await waitFor(() => dropped, { what: 'the socket error' });
        return client.query('SELECT 1').then(
          () => null,
          (err: Error) => err,
        );
      });
      expect(failure).toBeInstanceOf(Error);
      expect(pool.totalCount).toBe(0); // not back in the pool
      expect((await pool.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
