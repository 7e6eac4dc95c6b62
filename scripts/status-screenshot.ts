// `npm run docs:status-screenshot`: makes docs/status-page.png, the README's picture of
// /status. Starts five replica processes of the test REST service
// (test/fixtures/replicas/http-replica.ts) behind two upstreams, a gateway with a cost limit
// and a @rateLimit field, and a light load; one replica answers slowly, one fails every
// eighth call, and one is killed by its PID partway through, so the page shows charts, an
// error rate, a replica down with its ejection, and refusals. Then Chromium takes the shot.
//
//   npm run docs:status-screenshot [-- --seconds 90 --out docs/status-page.png]
import { parseArgs } from 'node:util';
import { DEFAULT_SECURITY } from '../src/security/options.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { startHarness } from '../test/helpers/gateway-harness.js';
import { type ReplicaProcess, startReplicas, stopReplicas } from '../test/helpers/replica-process.js';
import { sleep } from '../test/helpers/wait.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '90' }, out: { type: 'string', default: 'docs/status-page.png' } },
});
const seconds = Number(values.seconds);

function upstream(name: string, replicas: readonly ReplicaProcess[]): string {
  return `extend schema @upstream(
  name: "${name}"
  protocol: HTTP
  replicas: [${replicas.map((r) => `{ url: "${r.url}" }`).join(', ')}]
  health: { path: "/health", intervalMs: 1000, timeoutMs: 2000, healthyThreshold: 2, unhealthyThreshold: 2 }
  outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 30000 }
)
`;
}

const items = await startReplicas('http', 3, 'items');
const catalog = await startReplicas('http', 2, 'catalog');
const all = [...items, ...catalog];
const h = await startHarness(
  {
    'items.graphql': `${upstream('items', items)}
type Item { id: ID! name: String! replica: String! }
type Query {
  item(id: ID!): Item @http(GET: "/items/{args.id}")
  everything: [Item!]! @http(GET: "/items") @cost(weight: "500")
}
`,
    'catalog.graphql': `${upstream('catalog', catalog)}
type Product { id: ID! name: String! replica: String! }
extend type Query {
  product(id: ID!): Product @http(GET: "/items/{args.id}")
  featured: Product @http(GET: "/items/1") @rateLimit(max: 5, window: "10s")
}
`,
  },
  { logLevel: 'error', security: { ...DEFAULT_SECURITY, cost: { ...DEFAULT_SECURITY.cost, maxCost: 100 } } },
);
try {
  await catalog[0].control({ latencyMs: 25 });
  await catalog[1].control({ failEvery: 8 });
  let running = true;
  const clients = [0, 1, 2].map(async (client) => {
    for (let i = 0; running; i++) {
      const id = ((i + client) % 3) + 1;
      await h.query(`{ item(id: "${id}") { name } product(id: "${id}") { name } }`).catch(() => {});
      if (client === 0 && i % 25 === 0) await h.query('{ featured { name } }').catch(() => {});
      if (client === 1 && i % 400 === 0) await h.query('{ everything { id } }').catch(() => {});
      await sleep(15 + 10 * client);
    }
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(`${h.gateway.url}/status`);
    const killAt = Math.max(5, seconds - 25);
    for (let s = 0; s < seconds; s++) {
      if (s === killAt) await items[2].kill();
      await sleep(1000);
    }
    await page.screenshot({ path: values.out, fullPage: true });
    console.log(`wrote ${values.out} after ${seconds} s of load`);
  } finally {
    running = false;
    await Promise.all(clients);
    await browser.close();
  }
} finally {
  await h.close();
  await stopReplicas(all);
}
