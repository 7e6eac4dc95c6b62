// The status page's script, run by the browser as is (no build step): every second it asks
// `status/history` for the seconds it does not have yet (`?since=`), keeps five minutes of
// them per series, and redraws. This part holds the data and the page-wide panels (summary,
// health events, refusals); status-page-upstreams.ts the upstream sections; status-page.ts
// joins them into one inline script. Charts are uPlot's (served by the gateway as
// status/uplot.js); when that file does not load, everything but the charts still works. Text
// from the gateway (upstream names, urls, messages) is written with textContent, never as
// HTML. Tests read the data-* attributes.
export const STATUS_PAGE_SCRIPT = `'use strict';
const WINDOW = 300;
const AUTO_OPEN_MAX = 4;
const ROWS_SHOWN = 25;
const COLORS = ['#0969da', '#bf3989', '#1a7f37', '#9a6700', '#8250df', '#0a7ea4', '#cf222e', '#57606a'];
const TOTAL = '#24292f';
const SEP = '\\u0000';
const REJECTIONS = SEP + 'rejections';
const REASONS = { cost_limit: 'cost above the maximum', cost_budget: 'cost budget spent', rate_limit: '@rateLimit',
  in_flight: '--max-in-flight', upstream_overload: 'upstream maxInFlight' };
const hasCharts = typeof uPlot === 'function';
const byId = (id) => document.getElementById(id);
const views = new Map();
const chosen = new Map();
const store = new Map();
let xs = [];
let end = 0;
let pid = 0;
let busy = false;
let filter = '';
let last = null;
let rejectionPlot = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const k in attrs) e.setAttribute(k, String(attrs[k]));
  return e;
}
const round1 = (n) => Math.round(n * 10) / 10;
const fmtRate = (n) => (n >= 100 ? Math.round(n) : round1(n)) + '/s';
const fmtPct = (x) => (x === null ? '-' : (x >= 10 ? Math.round(x) : round1(x)) + '%');
const fmtMs = (ms) => (ms === null || ms === undefined ? '-' : ms >= 1000 ? (ms / 1000).toFixed(2) + ' s' : (ms >= 10 ? Math.round(ms) : round1(ms)) + ' ms');
const fmtTime = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return Math.round(ms) + ' ms';
  const s = Math.round(ms / 1000);
  return s < 120 ? s + ' s' : Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
}
const shortUrl = (url) => url.replace(/^[a-z]+:[/][/]/, '');
const blank = (v) => new Array(WINDOW).fill(v);

function seriesFor(key) {
  let s = store.get(key);
  if (!s) store.set(key, (s = { calls: blank(0), failures: blank(0), p50: blank(null), p99: blank(null) }));
  return s;
}
function moveTo(to) {
  const n = to - end;
  if (n <= 0) return;
  if (end === 0 || n >= WINDOW) store.clear();
  else for (const s of store.values()) for (const k of ['calls', 'failures', 'p50', 'p99']) {
    s[k].splice(0, n);
    for (let i = 0; i < n; i++) s[k].push(k === 'calls' || k === 'failures' ? 0 : null);
  }
  end = to;
  xs = [];
  for (let i = WINDOW - 1; i >= 0; i--) xs.push(to - i);
}
function absorb(key, points, from) {
  const s = seriesFor(key);
  const base = end - WINDOW + 1;
  for (let i = 0; i < points.calls.length; i++) {
    const at = from + i - base;
    if (at < 0 || at >= WINDOW) continue;
    s.calls[at] = points.calls[i];
    if (points.failures) s.failures[at] = points.failures[i];
    if (points.p50Ms) s.p50[at] = points.p50Ms[i];
    if (points.p99Ms) s.p99[at] = points.p99Ms[i];
  }
}
function recent(key, seconds) {
  const s = seriesFor(key);
  let calls = 0, failures = 0, p50 = null, p99 = null;
  for (let i = WINDOW - seconds; i < WINDOW; i++) {
    calls += s.calls[i];
    failures += s.failures[i];
    if (s.p99[i] !== null) { p50 = s.p50[i]; p99 = s.p99[i]; }
  }
  return { calls, rate: calls / seconds, errors: calls ? (failures / calls) * 100 : null, p50, p99 };
}

async function refresh() {
  if (busy) return;
  busy = true;
  let again = false;
  try {
    const res = await fetch(end ? 'status/history?since=' + end : 'status/history', { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const body = await res.json();
    if (end && pid !== body.process.pid) {
      // Another worker answered: its history is not the one held here; start over with all of it.
      end = 0;
      store.clear();
      again = true;
      return;
    }
    pid = body.process.pid;
    moveTo(body.window.to);
    const live = new Set([REJECTIONS]);
    for (const u of body.upstreams) {
      live.add(u.name);
      absorb(u.name, u.series, body.window.from);
      for (const r of u.replicas) {
        live.add(u.name + SEP + r.url);
        absorb(u.name + SEP + r.url, r.series, body.window.from);
      }
    }
    absorb(REJECTIONS, { calls: body.rejections.perSecond }, body.window.from);
    for (const key of store.keys()) if (!live.has(key)) store.delete(key);
    last = body;
    render(body);
    const state = byId('state');
    state.className = 'muted';
    state.textContent = 'Updated ' + fmtTime(body.now) + ', every 1 s; charts: the last 5 minutes in 1-second buckets.' +
      (hasCharts ? '' : ' Charts unavailable: status/uplot.js did not load.');
  } catch (e) {
    const state = byId('state');
    state.className = 'stale';
    state.textContent = 'Update failed at ' + fmtTime(Date.now()) + ' (' + e.message + '); retrying every 1 s. The figures below are from the last good update.';
  } finally {
    busy = false;
    if (again) refresh();
  }
}

function render(body) {
  const p = body.process;
  byId('scope').textContent = p.workers > 1
    ? 'Answered by worker pid ' + p.pid + ', one of ' + p.workers + ' (--workers): each worker has its own pools, health checks, limits and history, so another worker may show other figures.'
    : 'Process pid ' + p.pid + '.';
  renderSummary(body);
  renderUpstreams(body);
  renderEvents(body);
  renderRejections(body);
}

function stat(name, value) {
  const s = el('span', 'kv');
  s.append(el('span', 'muted', name + ' '), el('b', null, value));
  s.dataset.summary = name;
  return s;
}
function renderSummary(body) {
  let replicas = 0, healthy = 0, calls = 0, failures = 0, windowCalls = 0;
  for (const u of body.upstreams) {
    replicas += u.replicas.length;
    healthy += u.healthyReplicas;
    const st = recent(u.name, 10);
    calls += st.calls;
    failures += st.errors === null ? 0 : (st.errors * st.calls) / 100;
    windowCalls += recent(u.name, WINDOW).calls;
  }
  const refused = recent(REJECTIONS, WINDOW).calls;
  const parts = [stat('upstreams', body.upstreams.length), stat('replicas healthy', healthy + '/' + replicas),
    stat('calls (10 s)', fmtRate(calls / 10)), stat('errors (10 s)', fmtPct(calls ? (failures / calls) * 100 : null)),
    stat('refusals (5 min)', refused)];
  if (body.upstreams.length && !windowCalls) parts.push(el('span', 'muted', 'No upstream calls in the last 5 minutes.'));
  byId('summary').replaceChildren(...parts);
}

function renderEvents(body) {
  const rows = [];
  body.events.slice(0, ROWS_SHOWN).forEach((e, i) => {
    const tr = el('tr');
    tr.dataset.kind = e.kind;
    tr.dataset.replica = e.replica;
    const kind = el('span', 'badge ' + (e.kind === 'up' ? 'ok' : e.kind === 'down' ? 'bad' : 'warn'), e.kind === 'up' ? 'came back' : e.kind === 'down' ? 'went down' : 'ejected');
    let howLong = '-';
    if (e.kind === 'ejected') howLong = 'for ' + fmtDuration(e.durationMs) + ' (until ' + fmtTime(e.at + e.durationMs) + ')';
    else if (e.kind === 'up' && e.durationMs !== null) howLong = 'after ' + fmtDuration(e.durationMs) + ' down';
    else if (e.kind === 'down' && !body.events.slice(0, i).some((n) => n.kind === 'up' && n.upstream === e.upstream && n.replica === e.replica))
      howLong = 'down for ' + fmtDuration(body.now - e.at) + ' so far';
    const what = el('td');
    what.append(kind);
    tr.append(el('td', 'time', fmtTime(e.at)), el('td', null, e.upstream), el('td', null, shortUrl(e.replica)), what, el('td', 'wrap', e.reason), el('td', null, howLong));
    rows.push(tr);
  });
  if (body.events.length > ROWS_SHOWN) rows.push(more(body.events.length - ROWS_SHOWN, 6));
  byId('events').replaceChildren(...rows);
  byId('events-empty').hidden = rows.length > 0;
}

function more(count, span) {
  const tr = el('tr', 'more');
  const td = el('td', 'muted', count + ' older in status/history');
  td.colSpan = span;
  tr.append(td);
  return tr;
}
function renderRejections(body) {
  const rows = body.rejections.recent.slice(0, ROWS_SHOWN).map((r) => {
    const tr = el('tr');
    tr.dataset.reason = r.reason;
    tr.dataset.code = r.code;
    const when = r.count > 1 ? fmtTime(r.at) + ' to ' + fmtTime(r.lastAt) : fmtTime(r.at);
    tr.append(el('td', 'time', when), el('td', null, r.code), el('td', null, REASONS[r.reason] || r.reason), el('td', 'wrap', r.message), el('td', 'num', r.count));
    return tr;
  });
  if (body.rejections.recent.length > ROWS_SHOWN) rows.push(more(body.rejections.recent.length - ROWS_SHOWN, 5));
  byId('rejections').replaceChildren(...rows);
  byId('rejections-empty').hidden = rows.length > 0;
  if (!hasCharts) return;
  const host = byId('rejections-chart');
  const data = [xs.slice(), seriesFor(REJECTIONS).calls.slice()];
  if (!rejectionPlot) rejectionPlot = plot(host, [{ label: 'refusals/s', stroke: '#cf222e', width: 1.5 }], data);
  else rejectionPlot.setData(data);
  mark(host, data);
}

function setAll(open) {
  for (const v of views.values()) {
    chosen.set(v.name, open);
    v.auto = open;
    v.root.open = open;
  }
}
byId('expand').addEventListener('click', () => setAll(true));
byId('collapse').addEventListener('click', () => setAll(false));
byId('filter').addEventListener('input', (e) => {
  filter = e.target.value.trim().toLowerCase();
  if (last) renderUpstreams(last);
});
let resizing = 0;
window.addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => {
    const all = [];
    for (const v of views.values()) if (v.charts) all.push(...v.charts);
    if (rejectionPlot) all.push({ host: byId('rejections-chart'), plot: rejectionPlot });
    for (const c of all) c.plot.setSize({ width: Math.max(240, c.host.clientWidth), height: 150 });
  }, 200);
});
`;
