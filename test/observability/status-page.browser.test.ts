// The status page in headless Chromium, over a gateway whose "items" upstream has two replica
// processes (test/fixtures/replicas/http-replica.ts) with health checks every 500 ms, under a
// steady load from this process. What a user sees is read from the page: the replicas' health
// and figures in the DOM, the charts' data (data-* attributes the page writes) and their
// canvases' pixels; then a replica is SIGKILLed by its PID and the page must show it down
// within a probe interval plus one refresh, and an over-cost query must appear among the
// refusals. Every request the page makes must stay on the gateway, and its CSP must hold.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEFAULT_SECURITY } from '../../src/security/options.js';
import { launchChromium } from '../helpers/chromium.js';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';
import { type ReplicaProcess, startReplicas, stopReplicas } from '../helpers/replica-process.js';
import { sleep } from '../helpers/wait.js';

// One failed probe takes a replica out; the probe timeout is generous because a healthy
// replica's answer can be late on a loaded machine (a killed one refuses at once).
const HEALTH = { intervalMs: 500, timeoutMs: 2500, healthyThreshold: 1, unhealthyThreshold: 1 };
/** How often the page asks for data. */
const REFRESH_MS = 1000;
/** For the browser, the gateway and the load to share a loaded 2-core machine. */
const MARGIN_MS = 1500;

function itemsSchema(replicas: readonly ReplicaProcess[]): string {
  return `extend schema @upstream(
  name: "items"
  protocol: HTTP
  replicas: [${replicas.map((r) => `{ url: "${r.url}" }`).join(', ')}]
  health: { path: "/health", intervalMs: ${HEALTH.intervalMs}, timeoutMs: ${HEALTH.timeoutMs}, healthyThreshold: ${HEALTH.healthyThreshold}, unhealthyThreshold: ${HEALTH.unhealthyThreshold} }
)
type Item { id: ID! name: String! replica: String! }
type Query {
  item(id: ID!): Item @http(GET: "/items/{args.id}")
  pricey: [Item!]! @http(GET: "/items") @cost(weight: "500")
}
`;
}

/** An upstream of its own over `urls`, for the many-upstreams page (no traffic goes to it). */
function quietSchema(name: string, urls: readonly string[]): string {
  return `extend schema @upstream(
  name: "${name}"
  protocol: HTTP
  replicas: [${urls.map((u) => `{ url: "${u}" }`).join(', ')}]
  health: { path: "/health", intervalMs: ${HEALTH.intervalMs}, timeoutMs: ${HEALTH.timeoutMs}, healthyThreshold: ${HEALTH.healthyThreshold}, unhealthyThreshold: ${HEALTH.unhealthyThreshold} }
)
type T${name} { id: ID }
type Query { ${name}: T${name} @http(GET: "/items/1") }
`;
}

/** The chart's data as the page last gave it to uPlot, and how many of its canvas pixels are ink. */
async function chartState(page: Page, selector: string): Promise<{ points: number; max: number; ink: number }> {
  return page.locator(selector).evaluate((host: HTMLElement) => {
    const canvas = host.querySelector('canvas');
    let ink = 0;
    if (canvas) {
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      // Series strokes are saturated colours; the background, grid and axes are white or grey.
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
        if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) ink++;
      }
    }
    return { points: Number(host.dataset.points ?? 0), max: Number(host.dataset.max ?? 0), ink };
  });
}

describe('status page in Chromium', () => {
  let replicas: ReplicaProcess[] = [];
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const offsite: string[] = [];
  const pageErrors: string[] = [];
  let loading = true;
  let load: Promise<void> | undefined;
  const replicaRow = (r: ReplicaProcess) => `details[data-upstream="items"] tr[data-replica="${r.url}"]`;

  before(async () => {
    replicas = await startReplicas('http', 2, 'status');
    h = await startHarness(
      { 'items.graphql': itemsSchema(replicas) },
      { logLevel: 'warn', security: { ...DEFAULT_SECURITY, cost: { ...DEFAULT_SECURITY.cost, maxCost: 100 } } },
    );
    // A steady, light load: two clients, each a query every ~20 ms.
    load = Promise.all(
      [0, 1].map(async (client) => {
        for (let i = 0; loading; i++) {
          await h.query(`{ item(id: "${(i % 5) + 1 + client}") { id replica } }`).catch(() => {});
          await sleep(20);
        }
      }),
    ).then(() => {});
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const origin = new URL(h.gateway.url).origin;
    await context.route(
      (url) => url.origin !== origin,
      (route) => {
        offsite.push(route.request().url());
        return route.abort('blockedbyclient');
      },
    );
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    loading = false;
    await load;
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await h?.close();
    await stopReplicas(replicas);
  });

  test('both replicas healthy, and charts drawn from the history under load', async () => {
    const res = await page.goto(`${h.gateway.url}/status`, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);
    for (const r of replicas)
      await page.locator(`${replicaRow(r)}[data-health="healthy"]`).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('details[data-upstream="items"]').getAttribute('data-health'), 'healthy');
    assert.equal(await page.locator('details[data-upstream="items"] .badge').first().textContent(), '2/2 healthy');
    // The first complete second of load reaches the page within two refreshes.
    await page.waitForFunction(
      () =>
        ['calls', 'latency'].every(
          (kind) =>
            Number(
              (document.querySelector(`details[data-upstream="items"] [data-chart="${kind}"]`) as HTMLElement | null)
                ?.dataset.points ?? 0,
            ) > 0,
        ),
      undefined,
      { timeout: 10_000 },
    );
    const calls = await chartState(page, 'details[data-upstream="items"] [data-chart="calls"]');
    const latency = await chartState(page, 'details[data-upstream="items"] [data-chart="latency"]');
    assert.ok(calls.max >= 2, `calls/s peaks at ${calls.max}`);
    assert.ok(calls.ink > 100, `the calls chart has ${calls.ink} pixels of series colour`);
    assert.ok(latency.max > 0 && latency.ink > 100, `latency chart: ${JSON.stringify(latency)}`);
    // Each replica's own figures: calls per second over the last 10 s, not zero.
    for (const r of replicas) {
      const rate = await page
        .locator(`${replicaRow(r)} td`)
        .nth(4)
        .textContent();
      assert.match(rate ?? '', /^[1-9][\d.]*\/s$|^0\.[1-9]\/s$/, `${r.name}: ${rate}`);
    }
    assert.match((await page.locator('#scope').textContent()) ?? '', new RegExp(`^Process pid ${process.pid}\\.`));
    assert.match((await page.locator('#state').textContent()) ?? '', /^Updated .*every 1 s/);
    assert.deepEqual(offsite, [], 'every request stays on the gateway');
    assert.deepEqual(pageErrors, [], 'no script error, no CSP violation');
  });

  test('an over-cost query appears among the refusals with its code and message', async () => {
    const refused = await h.query('{ pricey { id } }');
    const error = refused.body.errors?.[0];
    assert.equal(error?.extensions?.code, 'COST_LIMIT_EXCEEDED');
    const row = page.locator('#rejections tr[data-code="COST_LIMIT_EXCEEDED"]');
    await row.waitFor({ timeout: 2 * REFRESH_MS + MARGIN_MS });
    assert.equal(await row.getAttribute('data-reason'), 'cost_limit');
    assert.match((await row.textContent()) ?? '', new RegExp(error!.message.replace(/[.()]/g, '\\$&')));
    assert.equal(await page.locator('#rejections-empty').isHidden(), true);
  });

  test('a replica killed by its PID is shown down within a probe interval and a refresh', async (t) => {
    const [alive, victim] = replicas;
    const killedAt = await victim.kill();
    const bound = HEALTH.intervalMs * 1.1 * HEALTH.unhealthyThreshold + REFRESH_MS + MARGIN_MS;
    await page
      .locator(`${replicaRow(victim)}[data-health^="failed_active_hc"]`)
      .waitFor({ timeout: bound })
      .catch(async () =>
        assert.fail(
          `not shown down within ${bound} ms; the row says ${await page.locator(replicaRow(victim)).getAttribute('data-health')}`,
        ),
      );
    const shownAfter = Date.now() - killedAt;
    assert.ok(shownAfter <= bound, `shown down ${shownAfter} ms after the kill`);
    t.diagnostic(`shown down ${shownAfter} ms after the kill (bound ${bound} ms)`);
    assert.match((await page.locator(`${replicaRow(victim)} .badge`).textContent()) ?? '', /^down/);
    assert.equal(await page.locator(replicaRow(alive)).getAttribute('data-health'), 'healthy');
    assert.equal(await page.locator('details[data-upstream="items"] .badge').first().textContent(), '1/2 healthy');
    // The history says when and why; the replica's five-minute bar ends red.
    const down = page.locator(`#events tr[data-kind="down"][data-replica="${victim.url}"]`).first();
    await down.waitFor({ timeout: REFRESH_MS + MARGIN_MS });
    assert.match((await down.textContent()) ?? '', /ECONNREFUSED|refused|connect/i);
    const bar = page.locator(`${replicaRow(victim)} svg.strip rect[data-state="down"]`);
    assert.equal(await bar.count(), 1);
    assert.ok(Number(await bar.getAttribute('data-from')) >= killedAt - 1000);
    assert.deepEqual(pageErrors, []);
  });

  test('without uPlot (its file blocked) the page still shows the pools and says the charts are missing', async () => {
    const bare = await browser.newContext();
    try {
      await bare.route('**/status/uplot.js*', (route) => route.abort('blockedbyclient'));
      const other = await bare.newPage();
      await other.goto(`${h.gateway.url}/status`);
      await other.locator(replicaRow(replicas[0])).waitFor({ timeout: 5000 });
      await other.locator('#state', { hasText: 'Charts unavailable' }).waitFor({ timeout: 5000 });
      assert.equal(await other.locator('canvas').count(), 0);
      assert.equal(await other.locator(replicaRow(replicas[0])).getAttribute('data-health'), 'healthy');
    } finally {
      await bare.close();
    }
  });

  test('many upstreams and no traffic: one line each, the unhealthy one open, a filter, flat charts', async () => {
    const [alive, dead] = replicas; // the second was killed by the test above
    const names = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
    const files = Object.fromEntries(
      names.map((n) => [`${n}.graphql`, quietSchema(n, n === 'u4' ? [dead.url] : [alive.url])]),
    );
    const quiet = await startHarness(files, { logLevel: 'warn' });
    const own = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const origin = new URL(quiet.gateway.url).origin;
    await own.route(
      (url) => url.origin !== origin,
      (route) => route.abort('blockedbyclient'),
    );
    const other = await own.newPage();
    const errors: string[] = [];
    other.on('pageerror', (e) => errors.push(e.message));
    try {
      await other.goto(`${quiet.gateway.url}/status`);
      await other.locator('details[data-upstream="u4"][data-health="panic"]').waitFor({ timeout: 10_000 });
      const open = await other
        .locator('details.upstream')
        .evaluateAll((all) => all.map((d) => [(d as HTMLElement).dataset.upstream, (d as HTMLDetailsElement).open]));
      assert.deepEqual(
        open,
        names.map((n) => [n, n === 'u4']),
        'past four upstreams only the unhealthy one is unfolded',
      );
      assert.match((await other.locator('details[data-upstream="u4"] .badge').first().textContent()) ?? '', /^PANIC/);
      // A folded upstream is one line: its summary, with nothing of its body laid out.
      const folded = await other.locator('details[data-upstream="u1"]').boundingBox();
      const summary = await other.locator('details[data-upstream="u1"] > summary').boundingBox();
      assert.ok(folded && summary && folded.height <= summary.height + 4, `${folded?.height} vs ${summary?.height}`);
      assert.match((await other.locator('#summary').textContent()) ?? '', /No upstream calls in the last 5 minutes/);
      assert.equal(
        await other.locator('details[data-upstream="u4"] [data-chart="calls"]').getAttribute('data-points'),
        '0',
      );
      // The filter keeps the matching upstreams; "Expand all" opens them and draws their charts.
      await other.locator('#filter').fill('u2');
      assert.deepEqual(
        await other
          .locator('details.upstream:visible')
          .evaluateAll((all) => all.map((d) => (d as HTMLElement).dataset.upstream)),
        ['u2'],
      );
      await other.locator('#filter').fill('');
      await other.locator('#expand').click();
      await other.locator('details[data-upstream="u1"] [data-chart="latency"] canvas').waitFor({ timeout: 5000 });
      // What the user chose stays: the next refreshes do not fold them again.
      await sleep(2 * REFRESH_MS);
      assert.equal(await other.locator('details[open]').count(), names.length);
      assert.deepEqual(errors, []);
    } finally {
      await own.close();
      await quiet.close();
    }
  });
});
