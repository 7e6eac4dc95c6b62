// Field batching rules: distinct keys, split by maxBatchSize, matched back by `match`
// (all matches for a list, the first for a single field, [] or null when none).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

describe('batched fields', () => {
  let upstream: TestServer;
  let h: Harness;
  before(async () => {
    upstream = await startTestServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/parents') {
        // Twelve parents; 4 and 8 share a group, 11 has no children.
        return sendJson(
          res,
          200,
          Array.from({ length: 12 }, (_v, i) => ({ id: String(i + 1), group: i + 1 === 8 ? '4' : String(i + 1) })),
        );
      }
      const keys = url.searchParams.getAll('g');
      const children = keys
        .filter((k) => k !== '11')
        .flatMap((k) => [
          { id: `${k}a`, g: k },
          { id: `${k}b`, g: k },
        ]);
      sendJson(res, 200, { items: children });
    });
    h = await startHarness({
      'a.graphql': `${httpUpstream('a', [upstream.url])}
type Child { id: ID! g: String }
type Parent {
  id: ID!
  group: String
  children: [Child!]! @http(GET: "/children?g={keys}", key: "{parent.group}", match: "g", result: "items", maxBatchSize: 5)
  firstChild: Child @http(GET: "/children?g={keys}", key: "{parent.group}", match: "g", result: "items", maxBatchSize: 5)
}
type Query { parents: [Parent!]! @http(GET: "/parents") }
`,
    });
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
  });
  beforeEach(() => {
    upstream.seen.length = 0;
  });

  test('distinct keys split by maxBatchSize: 11 keys in calls of 5, 5 and 1', async () => {
    const r = await h.query('{ parents { id children { id } } }');
    assert.equal(r.body.errors, undefined);
    const calls = upstream.seen.filter((s) => s.url.startsWith('/children'));
    assert.deepEqual(
      calls.map((c) => new URL(c.url, 'http://x').searchParams.getAll('g').length),
      [5, 5, 1],
    );
    const allKeys = calls.flatMap((c) => new URL(c.url, 'http://x').searchParams.getAll('g'));
    assert.equal(new Set(allKeys).size, allKeys.length, 'each key is asked for once');
    const parents = r.body.data!.parents as { id: string; children: { id: string }[] }[];
    assert.deepEqual(parents[7].children, [{ id: '4a' }, { id: '4b' }], 'parent 8 shares group 4');
    assert.deepEqual(parents[10].children, [], 'no match gives []');
    // The batch-size histogram saw the three calls: 5, 5 and 1 keys.
    const metrics = await (await fetch(`${h.gateway.url}/metrics`)).text();
    const series = (suffix: string) =>
      metrics
        .split('\n')
        .find((l) => l.startsWith(`quilt_upstream_batch_size_${suffix}`) && l.includes('field="Parent.children"'));
    assert.equal(series('count'), 'quilt_upstream_batch_size_count{upstream="a",field="Parent.children"} 3');
    assert.equal(series('sum'), 'quilt_upstream_batch_size_sum{upstream="a",field="Parent.children"} 11');
    assert.match(metrics, /quilt_upstream_batch_size_bucket\{le="1",upstream="a",field="Parent.children"\} 1\n/);
    assert.match(metrics, /quilt_upstream_batch_size_bucket\{le="5",upstream="a",field="Parent.children"\} 3\n/);
  });

  test('a single field takes the first match, null when none; two fields batching the same keys share the calls', async () => {
    const r = await h.query('{ parents { firstChild { id } children { id } } }');
    const parents = r.body.data!.parents as { firstChild: { id: string } | null }[];
    assert.deepEqual(parents[0].firstChild, { id: '1a' });
    assert.equal(parents[10].firstChild, null);
    assert.equal(
      upstream.seen.filter((s) => s.url.startsWith('/children')).length,
      3,
      'identical batch calls are sent once',
    );
  });
});
