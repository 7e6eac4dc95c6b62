// GraphiQL runs subscriptions over the gateway's WebSocket (yoga's subscriptionsProtocol
// 'WS'), in Debian's Chromium: the page opens ws://<gateway>/graphql and the response pane
// shows the events of the gRPC server stream as they come.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type RunningGrpcService, startOrdersService } from '../../demo/backends/orders.js';
import { type RunningService, startProductsService } from '../../demo/backends/products.js';
import { launchChromium } from '../helpers/chromium.js';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';
import { demoSchema, ORDERS_PROTO_TEXT } from '../helpers/grpc-fixtures.js';
import { eventually } from '../helpers/wait.js';

const SUBSCRIPTION = 'subscription Watch {\n  orderEvents(userId: "2", count: 3, intervalMs: 100) { kind }\n}\n';

/** The response pane's text (Monaco's rendered lines, nbsp as spaces). */
async function responseText(page: Page): Promise<string> {
  const lines = page.locator('.graphiql-response .view-lines').first();
  // biome-ignore lint/performance/useDomNodeTextContent: innerText keeps the line breaks.
  return lines.evaluate((el) => (el as HTMLElement).innerText.replace(/\u00a0/g, ' ')).catch(() => '');
}

describe('GraphiQL subscriptions over WebSocket, in Chromium', () => {
  let orders: RunningGrpcService;
  let products: RunningService;
  let h: Harness;
  let browser: Browser;

  before(async () => {
    [orders, products] = await Promise.all([startOrdersService(), startProductsService()]);
    const examplesDir = mkdtempSync(join(tmpdir(), 'quilt-examples-'));
    writeFileSync(join(examplesDir, 'watch.graphql'), SUBSCRIPTION);
    h = await startHarness(
      {
        'products.graphql': demoSchema('products.graphql', [`${products.url}/catalog/v1`]),
        'orders.graphql': demoSchema('orders.graphql', [orders.target]),
        'orders.proto': ORDERS_PROTO_TEXT,
      },
      { examplesDir },
    );
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await h?.close();
    await Promise.all([orders?.close(), products?.close()]);
  });

  test('the run button streams the events through ws://…/graphql', async () => {
    const page = await browser.newPage();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${h.gateway.url}/graphql`, { waitUntil: 'load', timeout: 60_000 });
    await page.locator('.graphiql-container').first().waitFor({ timeout: 30_000 });
    await eventually(
      async () => ((await page.locator('.graphiql-query-editor').textContent()) ?? '').includes('orderEvents'),
      {
        what: 'the example in the editor',
        timeoutMs: 20_000,
      },
    );
    await page.locator('.graphiql-execute-button').click();
    // GraphiQL shows the latest event: the third and last is SHIPPED.
    await eventually(async () => (await responseText(page)).includes('"SHIPPED"'), {
      what: 'the last event in the response pane',
      timeoutMs: 20_000,
    });
    assert.deepEqual(sockets, [`${h.gateway.url.replace('http', 'ws')}/graphql`]);
    assert.deepEqual(orders.callsByMethod(), { WatchOrders: 1 });
    assert.ok(h.logs.some((l) => l.msg === 'websocket opened'));
  });
});
