// The revenue team's dashboard: reads the channel-status API with the key it was given (the
// URL's #key=…, printed by `stayos start`, or pasted) and refreshes itself every few seconds.
// Plain browser JavaScript with no build step; every value from the API goes into the page as
// text (textContent), never as markup.
'use strict';

const REFRESH_MS = Number(new URLSearchParams(location.search).get('refresh')) || 5000;
const KEY_ITEM = 'stayos.apiKey';
const $ = (id) => document.getElementById(id);
let chart;
let timer;
/** The page of connections shown: a health filter ('' all; null until the summary chose one), a channel, an offset. */
const PAGE_SIZE = Math.min(500, Math.max(1, Math.trunc(Number(new URLSearchParams(location.search).get('pageSize'))) || 24)); // the API's 1–500
const view = { status: null, channel: '', offset: 0 };

// -- the key ----------------------------------------------------------------------------------
function takeKeyFromUrl() {
  const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem(KEY_ITEM, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search); // out of the address bar and history
  }
}
const key = () => localStorage.getItem(KEY_ITEM);

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { authorization: `Bearer ${key()}`, ...(options.body ? { 'content-type': 'application/json' } : {}) } });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) {
    showLogin('That key was refused.');
    throw new Error('unauthorised');
  }
  if (!res.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

function showLogin(message) {
  clearTimeout(timer);
  $('main').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
}

// -- small helpers ----------------------------------------------------------------------------
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'data') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ''));
  return e;
}
// Channel names from the OTA registry (GET /api/v1/otas), read once: a new OTA needs no change here.
let CHANNEL = {};
function ago(ts) {
  if (!ts) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(ts)) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : s < 86400 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86400)} d ago`;
}
const time = (ts) => new Date(ts).toLocaleTimeString();
const bytes = (n) => (n == null ? '–' : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1048576).toFixed(1)} MB`);
function fill(tbody, rows, empty) {
  const columns = String(tbody.parentElement.tHead.rows[0].cells.length);
  tbody.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: columns, class: 'note' }, empty))]));
}

// -- the parts of the page --------------------------------------------------------------------
function tile(c) {
  const paused = c.health.status === 'paused';
  return el(
    'article',
    { class: `tile health-${c.health.status}`, data: { connectionId: c.id, health: c.health.status } },
    el('h3', {}, el('span', {}, `${CHANNEL[c.channel] || c.channel} · ${c.hotelCode}`), el('span', { class: 'badge' }, c.health.status)),
    el('div', { class: 'reason' }, c.health.status === 'active' ? '' : c.health.reason || ''),
    el(
      'dl',
      {},
      el('dt', {}, 'Pending'),
      el('dd', { class: 'pending' }, c.pending.cells ? `${c.pending.cells} cells, oldest ${c.pending.oldestAgeSeconds} s` : 'none: in sync'),
      el('dt', {}, 'Last sync'),
      el('dd', {}, ago(c.lastSuccessAt)),
      el('dt', {}, 'Last hour'),
      el('dd', {}, `${c.lastHour.requests} requests, ${c.lastHour.failed} failed`),
      el('dt', {}, 'Bookings 24 h'),
      el('dd', {}, String(c.inboundBookings24h)),
      el('dt', {}, 'Attention'),
      el(
        'dd',
        {},
        `${c.openErrors} errors, ${c.unmapped} unmapped, ${c.openOverbookings} overbookings` +
          (c.pendingClosures ? `, ${c.pendingClosures} old OTA target(s) to close` : ''),
      ),
    ),
    c.heldCells ? heldBox(c) : '',
    el('button', { type: 'button', class: 'full-sync', onclick: () => act(c, 'full-sync') }, 'Full sync'),
    el('button', { type: 'button', class: paused ? 'resume' : 'pause', onclick: () => act(c, paused ? 'resume' : 'pause') }, paused ? 'Resume' : 'Pause'),
  );
}

/** Updates a guardrail held for approval: why, and an Approve button per hold (loaded with the tile). */
function heldBox(c) {
  const box = el('div', { class: 'held', data: { heldCells: String(c.heldCells) } }, el('strong', {}, `${c.heldCells} cells held for approval`));
  api(`/api/v1/channels/${c.id}/holds`)
    .then(({ holds }) =>
      box.append(
        ...holds
          .filter((h) => h.waiting)
          .map((h) =>
            el(
              'p',
              { class: 'hold' },
              `${h.reason} `,
              el('button', { type: 'button', class: 'approve', onclick: () => approve(c, h) }, `Approve ${h.waiting}`),
            ),
          ),
      ),
    )
    .catch((err) => box.append(el('p', { class: 'note' }, err.message)));
  return box;
}

async function approve(c, h) {
  if (!confirm(`Send these ${h.waiting} held updates to ${CHANNEL[c.channel] || c.channel} ${c.hotelCode} as they are?\n\n${h.reason}`)) return;
  try {
    const r = await api(`/api/v1/channels/${c.id}/holds/${h.id}/approve`, { method: 'POST', body: '{}' });
    $('action-result').textContent = `${c.hotelCode}: ${r.cellsReleased} held cells approved; they go out on the next push.`;
  } catch (err) {
    $('action-result').textContent = `approve failed: ${err.message}`;
  }
  await refresh();
}

async function act(c, action) {
  if (action === 'full-sync' && !confirm(`Push every night of ${CHANNEL[c.channel] || c.channel} ${c.hotelCode} again?`)) return;
  $('action-result').textContent = `${action} ${c.hotelCode}…`;
  try {
    const r = await api(`/api/v1/channels/${c.id}/${action}`, { method: 'POST', body: '{}' });
    $('action-result').textContent = action === 'full-sync' ? `Full sync of ${c.hotelCode}: ${r.cellsMarked} cells marked.` : `${c.hotelCode} is ${r.status}.`;
  } catch (err) {
    $('action-result').textContent = `${action} failed: ${err.message}`;
  }
  await refresh();
}

function drawChart(h) {
  const xs = h.points.map((p) => Date.parse(p.at) / 1000);
  let last = null;
  // A minute without a sample keeps the last known pending count (samples come every 30 s).
  const pending = h.points.map((p, i) => (p.pending != null ? (last = p.pending) : i === h.points.length - 1 ? h.pendingNow : last));
  const data = [xs, pending, h.points.map((p) => p.acknowledged), h.points.map((p) => p.failed)];
  if (chart) {
    chart.setData(data);
    return;
  }
  const box = $('chart');
  chart = new uPlot(
    {
      width: box.clientWidth - 16,
      height: 220,
      series: [
        {},
        { label: 'pending cells', stroke: '#c98a00', width: 2 },
        { label: 'acknowledged cells', stroke: '#1b873f', width: 2, fill: 'rgba(27,135,63,.08)' },
        { label: 'failed requests', stroke: '#c62828', width: 1 },
      ],
      axes: [{}, { size: 60 }],
    },
    data,
    box,
  );
}

function errorsOf(errors) {
  fill(
    $('errors').tBodies[0],
    errors.map((e) =>
      el(
        'tr',
        { class: e.resolvedAt ? 'resolved' : `severity-${e.severity}` },
        el('td', {}, ago(e.lastSeenAt)),
        el('td', {}, `${CHANNEL[e.channel] || e.channel} ${e.hotelCode}`),
        el('td', {}, e.otaCode || e.errorCode),
        el('td', {}, e.message),
        el('td', {}, String(e.occurrences)),
        el('td', {}, e.resolvedAt ? `resolved ${ago(e.resolvedAt)}` : 'open'),
      ),
    ),
    'No errors in the last 24 hours.',
  );
}

function bookingsOf(list) {
  fill(
    $('bookings').tBodies[0],
    list.map((b) =>
      el(
        'tr',
        {},
        el('td', {}, time(b.receivedAt)),
        el('td', {}, `${CHANNEL[b.channel] || b.channel} ${b.hotelCode || ''}`),
        el('td', {}, b.reservationId || '–'),
        el('td', {}, b.messageType),
        el('td', { class: `outcome-${b.outcome}`, title: b.error || '' }, b.outcome),
      ),
    ),
    'No bookings in the last 7 days.',
  );
}

function cdcOf(cdc) {
  const s = cdc.slots.find((x) => x.slot === 'stayos_cdc') || cdc.slots[0];
  const box = $('cdc');
  if (!s) {
    box.textContent = 'CDC: no slot';
    box.className = 'cdc lost';
    return;
  }
  box.textContent =
    `CDC ${s.active ? 'streaming' : 'stopped'} · lag ${bytes(s.lagBytes)}${s.lagSeconds != null ? `, ${s.lagSeconds.toFixed(1)} s` : ''}` +
    ` · ${cdc.eventsPerSecond != null ? cdc.eventsPerSecond.toFixed(1) : '–'} events/s · WAL ${s.walStatus}`;
  box.className = `cdc${s.walStatus === 'lost' ? ' lost' : !s.active || (s.lagBytes || 0) > 16 * 1048576 ? ' lagging' : ''}`;
  // What the CDC detected and healed by itself (a slot lost or dropped, a TRUNCATE, a change set
  // aside), while open: the revenue team must know the OTAs are being resynchronised.
  const open = (cdc.incidents || []).filter((i) => !i.resolvedAt);
  if (open.length) {
    box.textContent += ` · ${open.length} open incident(s): ${open.map((i) => `${i.kind.replace('_', ' ')}${i.resyncAt ? ' (resynchronising)' : ''}`).join(', ')}`;
    box.title = open.map((i) => i.detail).join('\n');
    box.className = 'cdc lost';
  }
  box.dataset.lagBytes = String(s.lagBytes);
}

// -- parity -----------------------------------------------------------------------------------
const val = (v) => (v == null ? '–' : String(v));
const restr = (x) =>
  x
    ? [
        x.closed ? 'closed' : 'open',
        `min ${val(x.minLos)}`,
        x.maxLos ? `max ${x.maxLos}` : '',
        x.closedToArrival ? 'CTA' : '',
        x.closedToDeparture ? 'CTD' : '',
        x.minStayThrough > 1 ? `through ≥ ${x.minStayThrough}` : '',
        x.maxStayThrough ? `through ≤ ${x.maxStayThrough}` : '',
        x.minAdvanceDays ? `book ≥ ${x.minAdvanceDays} d ahead` : '',
        x.maxAdvanceDays ? `book ≤ ${x.maxAdvanceDays} d ahead` : '',
        x.roomClosed ? 'room closed' : '',
      ]
        .filter(Boolean)
        .join(' ')
    : '–';
/** A rate, or a per-occupancy rate's prices by number of guests ("1: 98.00 · 2: 110.00"). */
const rateText = (x) =>
  x.occupancyRates
    ? Object.entries(x.occupancyRates)
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([g, a]) => `${g}: ${a}`)
        .join(' · ')
    : val(x.rate);
/** The PMS's own value where this channel's rules (offset, cap, markup) made the effective one differ. */
const ruled = (own, effective) => (own != null && String(own) !== String(effective) ? el('small', { class: 'ruled' }, ` (PMS ${own})`) : '');
async function parity(event) {
  event?.preventDefault();
  const id = $('parity-connection').value;
  if (!id) return;
  const q = new URLSearchParams({ from: $('parity-from').value, to: $('parity-to').value });
  if ($('parity-differing').checked) q.set('only', 'differing');
  try {
    const r = await api(`/api/v1/channels/${id}/parity?${q}`);
    $('parity-summary').textContent = `${r.cells} cells compared, ${r.differing} differ.`;
    fill(
      $('parity').tBodies[0],
      r.items.slice(0, 500).map((x) => {
        const d = (part) => ({ class: x.differs.includes(part) ? 'differs' : '' });
        return el(
          'tr',
          {},
          el('td', {}, x.date),
          el('td', {}, `${x.otaRoomCode} / ${x.otaRateCode}`),
          el('td', d('avail'), `${x.pms.availability} / ${val(x.ota && x.ota.availability)}`, ruled(x.beforeRules.availability, x.pms.availability)),
          el('td', d('rate'), `${rateText(x.pms)} / ${x.ota ? rateText(x.ota) : '–'} ${x.pms.currency || ''}`, ruled(x.beforeRules.rate, x.pms.rate)),
          el('td', d('restr'), `${restr(x.pms)} / ${restr(x.ota)}`),
        );
      }),
      'Every cell matches.',
    );
  } catch (err) {
    $('parity-summary').textContent = err.message;
  }
}

// -- the summary and the page of connections -----------------------------------------------
const HEALTHS = ['down', 'closing', 'degraded', 'paused', 'active', 'disabled'];
function summaryOf(s) {
  const chip = (label, status, cls) =>
    el('button', { type: 'button', class: `chip ${cls}${view.status === status ? ' chosen' : ''}`, data: { status }, onclick: () => choose(status) }, label);
  const parts = [
    chip(`${s.attention} need attention`, 'attention', 'attention'),
    ...HEALTHS.filter((h) => s.byHealth[h]).map((h) => chip(`${s.byHealth[h]} ${h}`, h, `health-${h}`)),
    chip(`all ${s.connections}`, '', ''),
    el(
      'span',
      { class: 'note' },
      `${s.pendingCells} cells pending${s.oldestPendingSeconds != null ? ` (oldest ${s.oldestPendingSeconds} s)` : ''} · ${s.openErrors} open errors · ` +
        `${s.unmapped} unmapped · ${s.openOverbookings} overbookings · ${s.heldCells} held · last hour ${s.requests1h} requests, ${s.failed1h} failed · ${s.bookings24h} bookings in 24 h`,
    ),
  ];
  $('summary').replaceChildren(...parts);
  $('summary').dataset.attention = String(s.attention);
}
function choose(status) {
  view.status = status;
  view.offset = 0;
  $('filter-status').value = status;
  refresh();
}
function pageQuery() {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(view.offset) });
  if (view.status) q.set('status', view.status);
  if (view.channel) q.set('channel', view.channel);
  return q;
}

// -- refresh ----------------------------------------------------------------------------------
async function refresh() {
  clearTimeout(timer);
  try {
    if (!Object.keys(CHANNEL).length) {
      CHANNEL = Object.fromEntries((await api('/api/v1/otas')).otas.map((o) => [o.code, o.name]));
      $('filter-channel').append(...Object.entries(CHANNEL).map(([code, name]) => el('option', { value: code }, name)));
    }
    const summary = await api('/api/v1/channels/summary');
    // A few connections: all of them. Many: those needing attention first, if any (a choice the user makes stays).
    if (view.status === null) view.status = summary.connections > PAGE_SIZE && summary.attention > 0 ? 'attention' : '';
    $('filter-status').value = view.status;
    const [page, history, cdc, { bookings }, { errors }] = await Promise.all([
      api(`/api/v1/channels?${pageQuery()}`),
      api('/api/v1/history?hours=1'),
      api('/api/v1/cdc'),
      api('/api/v1/bookings?limit=15'),
      api('/api/v1/errors?hours=24&limit=20'),
    ]);
    const { channels } = page;
    // Shown before drawing: the chart takes its width from the page.
    $('main').hidden = false;
    $('login').hidden = true;
    summaryOf(summary);
    $('tiles').replaceChildren(...channels.map(tile));
    // Past the end (the list shrank while this page was open): back to its last page.
    if (!channels.length && page.total > 0) {
      view.offset = Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE;
      return refresh();
    }
    $('page-info').textContent = page.total ? `${view.offset + 1}–${view.offset + channels.length} of ${page.total}` : 'no connection matches';
    $('page-prev').disabled = view.offset === 0;
    $('page-next').disabled = page.nextOffset === null;
    errorsOf(errors);
    bookingsOf(bookings);
    cdcOf(cdc);
    drawChart(history);
    // Parity compares one connection: those of the page shown (the one chosen stays while it is there).
    const select = $('parity-connection');
    const ids = channels.map((c) => c.id).join();
    if (select.dataset.ids !== ids) {
      const chosen = select.value;
      select.replaceChildren(...channels.map((c) => el('option', { value: c.id }, `${CHANNEL[c.channel] || c.channel} ${c.hotelCode} (${c.property})`)));
      if (channels.some((c) => c.id === chosen)) select.value = chosen;
      select.dataset.ids = ids;
    }
    $('refreshed').textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.refreshed = String(Date.now());
  } catch (err) {
    if (err.message === 'unauthorised') return;
    $('refreshed').textContent = `refresh failed: ${err.message}`;
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

function start() {
  takeKeyFromUrl();
  const today = new Date();
  $('parity-from').value = today.toISOString().slice(0, 10);
  $('parity-to').value = new Date(today.getTime() + 13 * 86400000).toISOString().slice(0, 10);
  $('parity-form').addEventListener('submit', parity);
  $('filter-status').addEventListener('change', () => choose($('filter-status').value));
  $('filter-channel').addEventListener('change', () => {
    view.channel = $('filter-channel').value;
    view.offset = 0;
    refresh();
  });
  $('page-prev').addEventListener('click', () => {
    view.offset = Math.max(0, view.offset - PAGE_SIZE);
    refresh();
  });
  $('page-next').addEventListener('click', () => {
    view.offset += PAGE_SIZE;
    refresh();
  });
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    localStorage.setItem(KEY_ITEM, $('key').value.trim());
    refresh().then(() => parity());
  });
  $('forget').addEventListener('click', () => {
    localStorage.removeItem(KEY_ITEM);
    showLogin();
  });
  if (!key()) return showLogin();
  refresh().then(() => parity());
}

start();
