/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core): it opens with the
 * key from the URL's fragment, shows every demo connection coloured by the health the database
 * holds, draws the chart, the parity view and the lists, asks nothing from outside this server,
 * and its Pause and Approve buttons act in the database. A screenshot goes to test-output/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';
import { DEMO_CONNECTIONS, seedDemo } from '../helpers/demo.ts';
import { createApiKey } from '../../api/keys.ts';
import { buildApp, listen } from '../../api/index.ts';
import { requestFullSync } from '../../connectors/index.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.resolve(import.meta.dirname, '../../test-output/dashboard.png');

describe.skipIf(!fs.existsSync(CHROMIUM))('dashboard (headless Chromium)', () => {
  const db = useTestDatabase();
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;
  let key: string;
  const ids: Record<string, string> = {};
  const slot = `dashboard_${process.pid}`;

  beforeAll(async () => {
    const { pool } = db.current;
    await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 20 });
    for (const r of (await pool.query(`SELECT id, channel_code FROM channel.channel_connections`)).rows) ids[r.channel_code] = r.id;
    await requestFullSync(pool, ids.booking_com!, 365); // pending cells to show (no sync worker runs here)
    // Expedia is down (as the sync worker would leave it after an outage); Booking.com is active.
    await pool.query(`UPDATE channel.channel_connections SET status = 'down', status_reason = 'expedia: HTTP 503', status_changed_at = now() WHERE id = $1`, [
      ids.expedia,
    ]);
    await pool.query(
      `INSERT INTO channel.sync_errors (connection_id, property_id, severity, kind, error_code, message)
      SELECT id, property_id, 'alert', 'unavailable', 'ERR_OTA_UNAVAILABLE', 'expedia: HTTP 503' FROM channel.channel_connections WHERE id = $1`,
      [ids.expedia],
    );
    // A markup on Booking.com: the parity table shows the PMS rate beside the effective one.
    await pool.query(`UPDATE channel.channel_connections SET settings = settings || '{"markup_pct": 10}' WHERE id = $1`, [ids.booking_com]);
    // A guardrail hold on 5 of Booking.com's pending cells (as a sync worker's finish stores one).
    await pool.query(
      `WITH h AS (INSERT INTO channel.ari_holds (connection_id, property_id, kind, reason, cells)
                  SELECT id, property_id, 'rate_change', '5 rates would move by more than 50 % (guard_rate_change_pct)', 5
                  FROM channel.channel_connections WHERE id = $1 RETURNING id)
       UPDATE channel.ari_dirty_cells d SET held_by = h.id FROM h
       WHERE d.id IN (SELECT id FROM channel.ari_dirty_cells WHERE connection_id = $1 ORDER BY stay_date LIMIT 5)`,
      [ids.booking_com],
    );
    await pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    // Recorded as the CDC records its slot: a revenue manager's key sees the CDC's own slot only (issue 16).
    await pool.query(`INSERT INTO channel.cdc_slots (slot_name, system_identifier, timeline) VALUES ($1, 'test', 1)`, [slot]);
    key = (await createApiKey(pool, { email: 'revenue@demo.example', role: 'revenue_manager', properties: ['DEMO'] })).key;
    app = await buildApp({ pool, logLevel: 'silent' });
    base = await listen(app, { host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db.current.pool.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
  });

  it('renders the demo connections with their health, the chart, errors and parity; Pause changes the database; nothing comes from outside', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreign.push(r.url());
    });

    await page.goto(`${base}/?refresh=1000#key=${key}`);
    await page.waitForSelector('.tile[data-health]');
    expect(new URL(page.url()).hash).toBe(''); // the key leaves the address bar
    const tiles = await page.$$eval('.tile', (ts) =>
      ts.map((t) => ({ id: t.getAttribute('data-connection-id'), health: t.getAttribute('data-health'), text: t.textContent })),
    );
    // Those needing attention first: Expedia is down, Booking.com holds cells; then the rest by channel.
    const { rows } = await db.current.pool.query(
      `SELECT id, status FROM channel.channel_connections ORDER BY CASE channel_code WHEN 'expedia' THEN 0 WHEN 'booking_com' THEN 1 ELSE 2 END, channel_code`,
    );
    expect(tiles.map((t) => [t.id, t.health])).toEqual(rows.map((r) => [r.id, r.status]));
    // The summary line comes first: every connection counted by health, and those needing attention.
    expect(await page.textContent('#summary')).toContain(`2 need attention`);
    expect(await page.textContent('#summary')).toContain(`1 down`);
    expect(await page.textContent('#summary')).toContain(`all ${rows.length}`);
    expect(tiles.find((t) => t.id === ids.expedia)!.text).toContain('HTTP 503');
    const pending = (await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE connection_id = $1`, [ids.booking_com])).rows[0]
      .n;
    expect(pending).toBeGreaterThan(0);
    expect(tiles.find((t) => t.id === ids.booking_com)!.text).toContain(`${pending} cells`);
    expect(await page.$$eval('.tile.health-down', (t) => t.length)).toBe(1);

    await page.waitForSelector('#chart canvas');
    await waitFor(async () => (await page.textContent('#parity-summary'))?.includes('cells compared'), { what: 'the parity view' });
    expect(await page.textContent('#parity-summary')).toMatch(/^\d+ cells compared, \d+ differ\.$/);
    expect(await page.$$eval('#errors tbody tr', (rows) => rows.map((r) => r.textContent))).toEqual([expect.stringMatching(/expedia: HTTP 503.*open$/)]);
    expect(await page.textContent('#cdc')).toMatch(/^CDC stopped · lag [\d.]+ [kM]?B · – events\/s · WAL reserved$/); // a slot nobody streams from

    // The rules: the PMS rate beside the effective one (+10 %), on Booking.com's parity (the first
    // connection listed, Expedia, needs attention and has no rules).
    await page.selectOption('#parity-connection', ids.booking_com!);
    await page.click('#parity-form button[type=submit]');
    await waitFor(async () => (await page.$$eval('#parity tbody .ruled', (r) => r.length)) > 0, { what: "Booking.com's parity with its markup" });
    // FAM is priced per guest (the demo): its rows show a price per number of guests.
    const famCodes = DEMO_CONNECTIONS.map((c) => `/ ${c.rateCodes.FAM!}`);
    const parityRows = await page.$$eval('#parity tbody tr', (trs) => trs.map((r) => r.textContent ?? ''));
    const famRows = parityRows.filter((t) => famCodes.some((code) => t.includes(code)));
    expect(famRows.length).toBeGreaterThan(0);
    expect(famRows.every((t) => /1: \d+\.\d{2} · 2: \d+\.\d{2}/.test(t))).toBe(true);
    // The hold: its reason and an Approve button on the tile; approving releases the cells in the database.
    const held = `.tile[data-connection-id="${ids.booking_com}"] .held`;
    await page.waitForSelector(`${held} button.approve`);
    expect(await page.textContent(held)).toContain('5 cells held for approval');
    expect(await page.textContent(held)).toContain('guard_rate_change_pct');
    page.once('dialog', (d) => void d.accept());
    await page.click(`${held} button.approve`);
    await waitFor(
      async () =>
        (await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE held_by IS NOT NULL`)).rows[0].n === 0 &&
        (await db.current.pool.query(`SELECT approved_at FROM channel.ari_holds`)).rows[0].approved_at !== null,
      { what: 'the Approve click reaching the database' },
    );
    await waitFor(async () => (await page.$$(held)).length === 0, { what: 'the hold leaving the tile' });

    await page.click(`.tile[data-connection-id="${ids.booking_com}"] button.pause`);
    await waitFor(
      async () => (await db.current.pool.query(`SELECT status FROM channel.channel_connections WHERE id = $1`, [ids.booking_com])).rows[0].status === 'paused',
      { what: 'the Pause click reaching the database' },
    );
    await page.waitForSelector(`.tile[data-connection-id="${ids.booking_com}"][data-health="paused"] button.resume`);
    const { rows: actions } = await db.current.pool.query(`SELECT action FROM channel.connection_actions WHERE connection_id = $1 ORDER BY created_at`, [
      ids.booking_com,
    ]);
    expect(actions.map((a) => a.action)).toEqual(['approve_hold', 'pause']);

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`dashboard screenshot: ${SCREENSHOT}`);
    expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('many hotels: more connections than a page shows those needing attention first, and pages through the rest', async () => {
    // A page of one connection stands for a portfolio larger than a page (?pageSize=1).
    const page = await browser.newPage();
    await page.goto(`${base}/?refresh=60000&pageSize=1#key=${key}`);
    await page.waitForSelector('.tile[data-health]');
    // Now (the test above paused Booking.com and approved its hold): only Expedia (down) needs attention.
    expect(await page.$eval('#filter-status', (e) => (e as unknown as { value: string }).value)).toBe('attention');
    expect(await page.$$eval('.tile', (ts) => ts.map((t) => t.getAttribute('data-connection-id')))).toEqual([ids.expedia]);
    expect(await page.textContent('#page-info')).toBe('1–1 of 1');
    expect(await page.isDisabled('#page-next')).toBe(true);
    // All of them, a page at a time, in the documented order: down, then paused.
    const all = (await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.channel_connections`)).rows[0].n;
    await page.click('#summary .chip[data-status=""]');
    await waitFor(async () => (await page.textContent('#page-info')) === `1–1 of ${all}`, { what: 'all connections listed' });
    expect(await page.$$eval('.tile', (ts) => ts.map((t) => t.getAttribute('data-connection-id')))).toEqual([ids.expedia]);
    await page.click('#page-next');
    await waitFor(async () => (await page.textContent('#page-info')) === `2–2 of ${all}`, { what: 'the second page' });
    expect(await page.$$eval('.tile', (ts) => ts.map((t) => t.getAttribute('data-connection-id')))).toEqual([ids.booking_com]);
    await page.close();
  });

  it('without a key it asks for one, and a wrong key is refused on the page', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#key', 'sos_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb');
    await page.click('#login-form button');
    await waitFor(async () => (await page.textContent('#login-error'))?.includes('refused'), { what: 'the refusal' });
    expect(await page.isHidden('#main')).toBe(true);
  });
});
