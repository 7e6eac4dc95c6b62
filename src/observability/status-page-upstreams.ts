// The status page's upstream sections (joined to status-page-script.ts into one inline
// script by status-page.ts): one <details> per upstream with its summary line, three uPlot
// charts (calls/s, error rate, latency p50/p99; a line for the upstream and one per replica)
// and a row per replica with its health, a five-minute health bar drawn from the health
// events, in-flight gauges and recent figures. Built once per upstream and updated in place
// every second, so an open section, a chart's cursor and the user's choices survive a refresh;
// rebuilt only when a reload changes the upstream's replicas.
export const STATUS_PAGE_UPSTREAMS_SCRIPT = `function renderUpstreams(body) {
  const root = byId('upstreams');
  if (!body.upstreams.length) {
    for (const v of views.values()) destroy(v);
    views.clear();
    root.replaceChildren(el('p', 'empty', 'No upstreams in the schema being served.'));
    return;
  }
  const many = body.upstreams.length > AUTO_OPEN_MAX;
  const names = new Set(body.upstreams.map((u) => u.name));
  for (const [name, v] of views) if (!names.has(name)) { destroy(v); views.delete(name); }
  const order = body.upstreams.map((u) => {
    const shape = u.replicas.map((r) => r.url).join(' ');
    let v = views.get(u.name);
    if (v && v.shape !== shape) { destroy(v); v = undefined; }
    if (!v) views.set(u.name, (v = buildUpstream(u, shape)));
    return v.root;
  });
  if (order.length !== root.children.length || order.some((n, i) => root.children[i] !== n)) root.replaceChildren(...order);
  for (const u of body.upstreams) updateUpstream(views.get(u.name), u, body, many);
}
function destroy(v) {
  if (v.charts) for (const c of v.charts) c.plot.destroy();
  v.charts = null;
}
function labelled(name, ...nodes) {
  const s = el('span', 'kv');
  s.append(el('span', 'muted', name + ' '), ...nodes);
  return s;
}
function buildUpstream(u, shape) {
  const root = el('details', 'upstream');
  root.dataset.upstream = u.name;
  const v = { name: u.name, shape, root, auto: false, charts: null, urls: u.replicas.map((r) => r.url), rows: new Map(),
    badge: el('span', 'badge'), meter: el('meter'), inflight: el('b'), rate: el('b'), errors: el('b'), p50: el('b'), p99: el('b'),
    meta: el('div', 'muted meta'), chartsRow: el('div', 'charts') };
  const summary = el('summary');
  summary.append(el('span', 'name', u.name), v.badge, labelled('in flight', v.meter, v.inflight), labelled('calls', v.rate),
    labelled('errors', v.errors), labelled('p50', v.p50), labelled('p99', v.p99));
  const table = el('table', 'replicas');
  const head = el('tr');
  for (const h of ['replica', 'health', 'last 5 min', 'in flight', 'calls (10 s)', 'errors', 'p50', 'p99', 'latency EWMA', 'ejections', 'last failure']) head.append(el('th', null, h));
  table.append(head);
  u.replicas.forEach((r, i) => {
    const row = { tr: el('tr'), health: el('span', 'badge'), strip: svg('svg', { class: 'strip', viewBox: '0 0 ' + WINDOW + ' 10', preserveAspectRatio: 'none' }),
      meter: el('meter'), inflight: el('span'), rate: el('td', 'num'), errors: el('td', 'num'), p50: el('td', 'num'), p99: el('td', 'num'),
      ewma: el('td', 'num'), ejections: el('td', 'num'), failure: el('td', 'wrap') };
    row.tr.dataset.replica = r.url;
    const name = el('td');
    const dot = el('span', 'dot');
    dot.style.background = COLORS[i % COLORS.length];
    name.append(dot, shortUrl(r.url));
    const cell = (...nodes) => { const td = el('td'); td.append(...nodes); return td; };
    row.tr.append(name, cell(row.health), cell(row.strip), cell(row.meter, ' ', row.inflight), row.rate, row.errors, row.p50, row.p99, row.ewma, row.ejections, row.failure);
    table.append(row.tr);
    v.rows.set(r.url, row);
  });
  const inner = el('div', 'body');
  inner.append(v.meta, v.chartsRow, table);
  root.append(summary, inner);
  root.addEventListener('toggle', () => {
    if (root.open !== v.auto) chosen.set(v.name, root.open);
    if (root.open && last) drawCharts(v);
  });
  return v;
}

function updateUpstream(v, u, body, many) {
  const total = u.replicas.length;
  const state = u.panic ? 'panic' : u.healthyReplicas === total ? 'healthy' : 'degraded';
  v.root.dataset.health = state;
  v.root.hidden = filter !== '' && !u.name.toLowerCase().includes(filter);
  v.badge.className = 'badge ' + (state === 'panic' ? 'panic' : state === 'healthy' ? 'ok' : 'warn');
  v.badge.textContent = (state === 'panic' ? 'PANIC: ' : '') + u.healthyReplicas + '/' + total + ' healthy';
  v.meter.max = u.maxInFlight;
  v.meter.value = u.inFlight;
  v.inflight.textContent = u.inFlight + '/' + u.maxInFlight;
  const st = recent(u.name, 10);
  v.rate.textContent = fmtRate(st.rate);
  v.errors.textContent = fmtPct(st.errors);
  v.p50.textContent = fmtMs(st.p50);
  v.p99.textContent = fmtMs(st.p99);
  v.meta.textContent = u.protocol + ' \\u00b7 ' + u.algorithm + ' \\u00b7 ' + (u.activeHealthChecks ? 'active health checks' : 'no active health checks') +
    ' \\u00b7 since start: ' + u.calls + ' calls, ' + u.failures + ' failed, ' + u.retries + ' retries';
  for (const r of u.replicas) updateReplica(v.rows.get(r.url), r, u, body);
  if (!chosen.has(v.name)) {
    const open = !many || state !== 'healthy';
    if (v.root.open !== open) { v.auto = open; v.root.open = open; }
  }
  if (v.root.open && !v.root.hidden) drawCharts(v);
}

function updateReplica(row, r, u, body) {
  const down = r.health.startsWith('failed_active_hc');
  const ejected = r.health.endsWith('ejected');
  row.tr.dataset.health = r.health;
  row.health.className = 'badge ' + (down ? 'bad' : ejected ? 'warn' : 'ok');
  row.health.textContent = down ? (ejected ? 'down, ejected' : 'down (health checks)') : ejected ? 'ejected until ' + fmtTime(Date.parse(r.ejectedUntil)) : 'healthy';
  row.meter.max = u.maxInFlight;
  row.meter.value = r.inFlight;
  row.inflight.textContent = String(r.inFlight);
  const st = recent(u.name + SEP + r.url, 10);
  row.rate.textContent = fmtRate(st.rate);
  row.errors.textContent = fmtPct(st.errors);
  row.p50.textContent = fmtMs(st.p50);
  row.p99.textContent = fmtMs(st.p99);
  row.ewma.textContent = fmtMs(r.latencyEwmaMs);
  row.ejections.textContent = String(r.ejections);
  row.failure.textContent = r.lastFailure || '-';
  drawStrip(row.strip, u.name, r, body, down, ejected);
}

/** The replica's last five minutes as a bar: green up, red down (health checks), amber ejected. */
function drawStrip(node, upstream, r, body, isDown, isEjected) {
  const now = body.now;
  const start = now - WINDOW * 1000;
  const downs = [], ejections = [];
  let since = null, sawHealth = false;
  for (const e of body.events.filter((e) => e.upstream === upstream && e.replica === r.url).reverse()) {
    if (e.kind === 'down') { since = e.at; sawHealth = true; }
    else if (e.kind === 'up') { downs.push([since === null ? start : since, e.at]); since = null; sawHealth = true; }
    else ejections.push([e.at, e.at + (e.durationMs || 0)]);
  }
  if (since !== null && isDown) downs.push([since, now]);
  else if (!sawHealth && isDown) downs.push([start, now]);
  if (isEjected && !ejections.some((x) => x[1] > now)) ejections.push([start, now]);
  const x = (t) => Math.max(0, Math.min(WINDOW, (t - start) / 1000));
  const title = svg('title', {});
  title.textContent = 'last 5 minutes: green up, red down (failed health checks), amber ejected';
  const rects = [title, svg('rect', { x: 0, y: 0, width: WINDOW, height: 10, fill: '#2da44e', 'data-state': 'up' })];
  for (const [list, fill, state] of [[ejections, '#d4a72c', 'ejected'], [downs, '#cf222e', 'down']])
    for (const [a, b] of list) if (b > start) rects.push(svg('rect', { x: x(a), y: 0, width: Math.max(1, x(b) - x(a)), height: 10, fill, 'data-state': state, 'data-from': a, 'data-to': b }));
  node.replaceChildren(...rects);
}

function yRange(u, min, max) {
  return [0, Number.isFinite(max) && max > 0 ? max * 1.1 : 1];
}
const clock = (s) => new Date(s * 1000).toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit' });
function plot(host, series, data) {
  const axis = { stroke: '#656d76', grid: { stroke: '#eaeef2' }, ticks: { stroke: '#eaeef2' } };
  // Whole minutes on the time axis: five minutes need no dates and no seconds.
  const time = Object.assign({ incrs: [60, 120, 300], values: (u, splits) => splits.map(clock) }, axis);
  return new uPlot({ width: Math.max(240, host.clientWidth || 320), height: 150, series: [{}].concat(series),
    scales: { x: { time: true }, y: { range: yRange } }, axes: [time, Object.assign({ size: 50 }, axis)],
    cursor: { drag: { x: false, y: false } }, legend: { live: true } }, data, host);
}
function mark(host, data) {
  let points = 0, max = 0;
  for (let i = 1; i < data.length; i++) for (const y of data[i]) if (y !== null && y > 0) { points++; if (y > max) max = y; }
  host.dataset.points = String(points);
  host.dataset.max = String(max);
}
function drawCharts(v) {
  if (!hasCharts) {
    if (!v.chartsRow.firstChild) v.chartsRow.append(el('p', 'empty', 'Charts unavailable: status/uplot.js did not load. The figures refresh all the same.'));
    return;
  }
  const keys = [v.name].concat(v.urls.map((url) => v.name + SEP + url));
  const labels = ['all'].concat(v.urls.map(shortUrl));
  const colors = [TOTAL].concat(v.urls.map((_, i) => COLORS[i % COLORS.length]));
  const lines = (suffix, dash) => labels.map((l, i) => ({ label: l + suffix, stroke: colors[i], width: i ? 1.25 : 2, dash, spanGaps: false }));
  const ss = keys.map(seriesFor);
  const data = {
    calls: [xs.slice()].concat(ss.map((s) => s.calls.slice())),
    errors: [xs.slice()].concat(ss.map((s) => s.calls.map((c, i) => (c ? round1((s.failures[i] / c) * 100) : null)))),
    latency: [xs.slice()].concat(...ss.map((s) => [s.p99.slice(), s.p50.slice()])),
  };
  if (!v.charts) {
    const specs = [['calls', 'calls/s', lines('')], ['errors', 'error rate %', lines('')],
      ['latency', 'latency ms: p99 solid, p50 dashed', [].concat(...labels.map((l, i) => [lines(' p99')[i], lines(' p50', [4, 4])[i]]))]];
    // Every box first, then the plots: each takes the width of its grid cell as it is once all are in.
    const hosts = specs.map(([kind, title]) => {
      const host = el('div', 'plot');
      host.dataset.chart = kind;
      const box = el('div', 'chart');
      box.append(el('h3', null, title), host);
      return box;
    });
    v.chartsRow.replaceChildren(...hosts);
    v.charts = specs.map(([kind, , series], i) => {
      const host = hosts[i].lastChild;
      return { kind, host, plot: plot(host, series, data[kind]) };
    });
  }
  for (const c of v.charts) { c.plot.setData(data[c.kind]); mark(c.host, data[c.kind]); }
}

`;
