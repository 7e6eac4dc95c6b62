// GET /status: the live page. Its data is GET /status/history (status-history.ts), its charts
// uPlot, served by the gateway itself from node_modules (status/uplot.js, status/uplot.css;
// use-status-page.ts), so it works on a closed network; every url is relative, so it also
// works behind a path prefix. The CSP allows scripts and styles from the gateway and exactly
// this page's inline script and style (by hash), fetches to the gateway and nothing else.
import { createHash } from 'node:crypto';
import { STATUS_PAGE_SCRIPT } from './status-page-script.js';
import { STATUS_PAGE_UPSTREAMS_SCRIPT } from './status-page-upstreams.js';

const STYLE = `
body { font: 13px/1.45 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
header { padding: 10px 20px; background: #fff; border-bottom: 1px solid #d0d7de; position: sticky; top: 0; z-index: 5; }
h1 { font-size: 18px; margin: 0 12px 0 0; display: inline; }
h2 { font-size: 14px; margin: 0 0 6px; }
h3 { font-size: 12px; margin: 4px 0; font-weight: 600; color: #656d76; }
main { padding: 6px 20px 20px; }
.muted, #scope { color: #656d76; }
.stale { color: #a40e26; font-weight: 600; }
#summary { margin-top: 6px; display: flex; gap: 18px; flex-wrap: wrap; }
.kv b { font-variant-numeric: tabular-nums; }
.toolbar { margin: 8px 0; display: flex; gap: 8px; align-items: center; }
.toolbar input { padding: 3px 6px; width: 16em; }
details.upstream, .panel { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; margin: 8px 0; }
.panel { padding: 8px 12px; }
details.upstream > summary { cursor: pointer; padding: 7px 12px; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
details.upstream[data-health=panic] { border-color: #cf222e; }
details.upstream[data-health=degraded] { border-color: #d4a72c; }
summary .name { font-weight: 600; min-width: 9em; }
.body { padding: 0 12px 10px; }
.meta { margin-bottom: 6px; }
.badge { border-radius: 10px; padding: 0 8px; font-size: 12px; white-space: nowrap; }
.ok { background: #dafbe1; color: #116329; }
.warn { background: #fff8c5; color: #7d4e00; }
.bad { background: #ffebe9; color: #a40e26; }
.panic { background: #cf222e; color: #fff; }
meter { width: 64px; height: 10px; vertical-align: middle; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
.chart { min-width: 0; overflow: hidden; }
table { border-collapse: collapse; width: 100%; margin-top: 6px; }
th, td { border-bottom: 1px solid #eaeef2; padding: 3px 8px; text-align: left; white-space: nowrap; vertical-align: middle; }
th { font-weight: 600; color: #656d76; font-size: 12px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.time { font-variant-numeric: tabular-nums; }
td.wrap { white-space: normal; max-width: 36em; }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 4px; margin-right: 6px; }
svg.strip { width: 150px; height: 12px; display: block; }
.empty { color: #656d76; margin: 6px 0; }
.u-legend { font-size: 11px; }
.u-legend .u-series:first-child { display: none; }
`;

const SCRIPT = `${STATUS_PAGE_SCRIPT}${STATUS_PAGE_UPSTREAMS_SCRIPT}refresh();\nsetInterval(refresh, 1000);\n`;

/** The page; `assetVersion` (uPlot's) makes the asset urls change when uPlot does, so they can be cached for good. */
export function statusPageHtml(assetVersion: string): string {
  const v = encodeURIComponent(assetVersion);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Quilt status</title>
<link rel="stylesheet" href="status/uplot.css?v=${v}">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Quilt status</h1><span id="state" class="muted">loading</span>
<div id="scope"></div>
<div id="summary"></div>
</header>
<main>
<div class="toolbar"><input id="filter" type="search" placeholder="filter upstreams" aria-label="filter upstreams"><button id="expand" type="button">Expand all</button><button id="collapse" type="button">Collapse all</button></div>
<section id="upstreams"></section>
<section class="panel"><h2>Health and ejections</h2><p id="events-empty" class="empty">No replica went down, came back or was ejected while this process has been watching (it keeps the last 200 such events).</p><table><thead><tr><th>time</th><th>upstream</th><th>replica</th><th>event</th><th>why</th><th>how long</th></tr></thead><tbody id="events"></tbody></table></section>
<section class="panel"><h2>Rate-limit, cost and overload refusals</h2><div id="rejections-chart" data-chart="rejections"></div><p id="rejections-empty" class="empty">No request was refused by --max-cost, a cost budget, @rateLimit, --max-in-flight or an upstream's maxInFlight (the last 100 are kept).</p><table><thead><tr><th>time</th><th>code</th><th>limit</th><th>message</th><th>count</th></tr></thead><tbody id="rejections"></tbody></table></section>
</main>
<script src="status/uplot.js?v=${v}"></script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

export const STATUS_PAGE_CSP = `default-src 'none'; style-src 'self' ${sha256(STYLE)}; script-src 'self' ${sha256(SCRIPT)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
