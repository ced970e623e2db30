/**
 * The demo's API key, so that the URL `stayos start` prints opens the dashboard on the demo
 * property at once. Embedded mode only: the key lives next to the generated encryption key in the
 * data directory (mode 0600), and is reused while it still authenticates. With DATABASE_URL no key
 * is made: keys there are the operator's (`stayos api-key create`). Here in cli/, not core/demo:
 * it uses the API's keys, and core imports nothing above it (issue 17).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from '../core/db.ts';
import { authenticate, createApiKey } from '../api/keys.ts';

export const DEMO_KEY_EMAIL = 'revenue@demo.stayos.local';

export async function demoApiKey(pool: Pool, dataDir: string): Promise<string | undefined> {
  const {
    rows: [demo],
  } = await pool.query(`SELECT 1 FROM property_mgmt.properties WHERE code = 'DEMO' AND deleted_at IS NULL`);
  if (!demo) return undefined;
  const file = path.join(dataDir, 'demo-api-key');
  const kept = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
  if (kept && (await authenticate(pool, `Bearer ${kept}`))) return kept;
  const { key } = await createApiKey(pool, { email: DEMO_KEY_EMAIL, role: 'revenue_manager', properties: ['DEMO'], name: 'demo dashboard (stayos start)' });
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600); // `mode` applies only when the file is created
  return key;
}
