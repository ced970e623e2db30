/** Partitioned high-volume tables: partitions exist ahead, retention drops only what expired. */
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { maintainPartitions } from '../../core/partitions.ts';

const db = useTestDatabase();

const PARTITIONED = {
  'audit.audit_log': 'month',
  'compliance.domain_events': 'month',
  'operations.service_requests': 'quarter',
  'guest.feedback': 'quarter',
} as const;

async function partitions(table: string): Promise<Array<{ name: string; lo: Date; hi: Date }>> {
  const { rows } = await db.current.pool.query(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`,
    [table],
  );
  return rows
    .map((r) => {
      const [, lo, hi] = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(r.bound)!;
      return {
        name: r.name,
        lo: new Date(lo!.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')),
        hi: new Date(hi!.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')),
      };
    })
    .sort((a, b) => a.lo.getTime() - b.lo.getTime());
}

describe('partitioning', () => {
  it('partitions the four high-volume tables by month or quarter, with partitions ahead of now', async () => {
    await maintainPartitions(db.current.pool);
    for (const [table, step] of Object.entries(PARTITIONED)) {
      const {
        rows: [k],
      } = await db.current.pool.query(`SELECT partstrat FROM pg_partitioned_table WHERE partrelid = $1::regclass`, [table]);
      expect(k?.partstrat, table).toBe('r');
      const parts = await partitions(table);
      const aheadOfNow = parts.filter((p) => p.lo.getTime() > Date.now());
      expect(aheadOfNow.length, `${table} future partitions`).toBeGreaterThanOrEqual(2);
      for (const p of parts) {
        const months = (p.hi.getUTCFullYear() - p.lo.getUTCFullYear()) * 12 + p.hi.getUTCMonth() - p.lo.getUTCMonth();
        expect(months, p.name).toBe(step === 'month' ? 1 : 3);
        expect(p.lo.getUTCDate()).toBe(1);
        expect(p.lo.getUTCHours()).toBe(0);
      }
      // contiguous: no gap a row could fall into
      for (let i = 1; i < parts.length; i++) expect(parts[i]!.lo.getTime()).toBe(parts[i - 1]!.hi.getTime());
    }
  });

  it('creates the same UTC-aligned partitions whatever the session time zone', async () => {
    const client = await db.current.pool.connect();
    try {
      await client.query(`SET TimeZone = 'America/New_York'`);
      await client.query(`SELECT shared.create_partition('guest.feedback', 'quarter', '2035-03-31 23:30:00-04')`);
    } finally {
      await client.query('RESET TimeZone');
      client.release();
    }
    const p = (await partitions('guest.feedback')).find((x) => x.name === 'feedback_p2035q2')!;
    expect(p.lo.toISOString()).toBe('2035-04-01T00:00:00.000Z');
    expect(p.hi.toISOString()).toBe('2035-07-01T00:00:00.000Z');
  });

  it('drops only partitions older than the retention policy, and keeps making partitions ahead', async () => {
    const { pool } = db.current;
    // Old partitions as a long-running installation would have them.
    for (const at of ['2018-05-15', '2021-02-10', '2024-09-01']) {
      await pool.query(`SELECT shared.create_partition('audit.audit_log', 'month', $1::timestamptz)`, [at]);
      await pool.query(`SELECT shared.create_partition('compliance.domain_events', 'month', $1::timestamptz)`, [at]);
    }
    await pool.query(`SELECT shared.create_partition('guest.feedback', 'quarter', '2021-02-10')`);
    await pool.query(`SELECT shared.create_partition('operations.service_requests', 'quarter', '2023-02-10')`);
    await pool.query(`SELECT shared.create_partition('operations.service_requests', 'quarter', '2025-05-10')`);

    const at = new Date('2026-11-24T12:00:00Z');
    const changes = await maintainPartitions(pool, at);
    const dropped = changes
      .filter((c) => c.action === 'dropped')
      .map((c) => c.partition_name)
      .sort();
    // audit 7 years → before 2019-11-24; events 3 years → before 2023-11-24; requests 2 years → before 2024-11-24; feedback 5 years → before 2021-11-24
    expect(dropped).toEqual([
      'audit.audit_log_p2018m05',
      'compliance.domain_events_p2018m05',
      'compliance.domain_events_p2021m02',
      'guest.feedback_p2021q1',
      'operations.service_requests_p2023q1',
    ]);
    const names = async (t: string) => (await partitions(t)).map((p) => p.name);
    expect(await names('audit.audit_log')).toEqual(expect.arrayContaining(['audit_log_p2021m02', 'audit_log_p2024m09']));
    expect(await names('operations.service_requests')).toContain('service_requests_p2025q2');
    // idempotent
    expect((await maintainPartitions(pool, at)).filter((c) => c.action === 'dropped')).toEqual([]);
  });

  it('routes rows into the partition of their month', async () => {
    const { pool } = db.current;
    await pool.query(`INSERT INTO compliance.domain_events (aggregate_type, aggregate_id, event_type) VALUES ('test', shared.new_id(), 'created')`);
    const {
      rows: [r],
    } = await pool.query(`SELECT tableoid::regclass::text AS part FROM compliance.domain_events WHERE aggregate_type = 'test'`);
    const now = new Date();
    expect(r.part).toBe(`compliance.domain_events_p${now.getUTCFullYear()}m${String(now.getUTCMonth() + 1).padStart(2, '0')}`);
  });
});
