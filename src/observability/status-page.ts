// GET /status: the pools of GET /upstreams as a live page. Self-contained (inline style and
// script, no CDN, no external assets) because the gateway must work on a closed network; it
// polls `upstreams` relative to itself, so it also works behind a path prefix. Values are
// written with textContent, never as HTML: upstream names and urls come from schema files.
import { createHash } from 'node:crypto';

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
h2 { font-size: 1.05rem; margin: 1.5rem 0 .25rem; }
.meta, #state { color: #666; font-size: 12px; }
table { border-collapse: collapse; margin-top: .4rem; }
th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }
th { background: #f4f4f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.healthy { color: #17803d; }
.unhealthy { color: #b42318; font-weight: 600; }
.panic { color: #fff; background: #b42318; padding: 0 .4rem; border-radius: 3px; }
`;

const SCRIPT = `
const root = document.getElementById('upstreams');
const state = document.getElementById('state');
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function row(cells, tag) {
  const tr = el('tr');
  for (const [text, cls] of cells) tr.append(el(tag || 'td', text, cls));
  return tr;
}
function render(upstreams) {
  const out = [];
  if (!upstreams.length) out.push(el('p', 'No upstreams in the schema being served.'));
  for (const u of upstreams) {
    const h = el('h2', u.name + ' ');
    if (u.panic) h.append(el('span', 'PANIC: no healthy replica, trying all', 'panic'));
    out.push(h);
    out.push(el('div', u.protocol + ' \\u00b7 ' + u.algorithm + ' \\u00b7 healthy ' + u.healthyReplicas + '/' + u.replicas.length +
      ' \\u00b7 in flight ' + u.inFlight + '/' + u.maxInFlight + ' \\u00b7 calls ' + u.calls + ' \\u00b7 failures ' + u.failures +
      ' \\u00b7 retries ' + u.retries + (u.activeHealthChecks ? ' \\u00b7 active health checks' : ''), 'meta'));
    const table = el('table');
    table.append(row(['replica', 'weight', 'health', 'in flight', 'latency EWMA (ms)', 'ejected until', 'ejections', 'calls', 'failures', 'last failure'].map((t) => [t]), 'th'));
    for (const r of u.replicas) {
      table.append(row([
        [r.url], [r.weight, 'num'], [r.health, r.health === 'healthy' ? 'healthy' : 'unhealthy'], [r.inFlight, 'num'],
        [Math.round(r.latencyEwmaMs * 10) / 10, 'num'], [r.ejectedUntil ? new Date(r.ejectedUntil).toLocaleTimeString() : '-'],
        [r.ejections, 'num'], [r.calls, 'num'], [r.failures, 'num'], [r.lastFailure || '-'],
      ]));
    }
    out.push(table);
  }
  root.replaceChildren(...out);
}
async function refresh() {
  try {
    const res = await fetch('upstreams', { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render((await res.json()).upstreams);
    state.textContent = 'updated ' + new Date().toLocaleTimeString() + ', every 2 s';
  } catch (e) {
    state.textContent = 'update failed (' + e.message + '); retrying every 2 s';
  }
}
refresh();
setInterval(refresh, 2000);
`;

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Quilt upstreams</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Quilt upstreams</h1>
<div id="state">loading</div>
<div id="upstreams"></div>
<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Allows exactly this page's inline style and script, and fetches to the gateway itself. */
export const STATUS_PAGE_CSP = `default-src 'none'; style-src ${sha256(STYLE)}; script-src ${sha256(SCRIPT)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
