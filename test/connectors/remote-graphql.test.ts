// A remote GraphQL API as a source: SDL fetched by introspection, fields delegated as they
// are, remote errors kept at their paths, and failures of the remote coded like any upstream.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import { type ReviewsService, startReviewsService } from '../helpers/reviews-service.js';

describe('remote GraphQL source', () => {
  let reviews: ReviewsService;
  let broken: TestServer;
  let h: Harness;
  before(async () => {
    reviews = await startReviewsService();
    broken = await startTestServer((req, res) => {
      if (req.body.includes('__schema')) return sendJson(res, 500, { oops: true });
      sendJson(res, 200, { data: { partial: null }, errors: [{ message: 'remote says no', path: ['partial'] }] });
    });
    h = await startHarness({
      'reviews.graphql': `extend schema @upstream(name: "reviews", protocol: GRAPHQL, introspect: true, replicas: [{ url: "${reviews.url}" }])\n`,
      'broken.graphql': `extend schema @upstream(name: "broken", protocol: GRAPHQL, replicas: [{ url: "${broken.url}" }])
type Query { partial: String, other: String }
`,
    });
  });
  after(async () => {
    await h?.close();
    await reviews?.close();
    await broken?.close();
  });

  test('introspect: true serves the remote schema and delegates with arguments and variables', async () => {
    const r = await h.query('query($n: Int) { reviews(limit: $n) { id stars product { id reviews { id } } } }', {
      n: 2,
    });
    assert.equal(r.body.errors, undefined);
    assert.deepEqual(r.body.data!.reviews[1], {
      id: '2-1',
      stars: 3,
      product: { id: '2', reviews: [{ id: '2-1' }, { id: '2-2' }] },
    });
    assert.equal(reviews.requests.filter((q) => q.query.includes('reviews')).length, 1);
  });

  test('a remote field error stays at its path; siblings from other sources resolve', async () => {
    const r = await h.query('{ partial reviews(limit: 1) { id } }');
    assert.deepEqual(r.body.data, { partial: null, reviews: [{ id: '1-1' }] });
    assert.equal(r.body.errors?.length, 1);
    assert.deepEqual(r.body.errors?.[0].path, ['partial']);
    assert.equal(r.body.errors?.[0].message, 'remote says no');
  });

  test('a remote that is down fails its fields with UPSTREAM_UNAVAILABLE', async () => {
    const r2 = await startReviewsService();
    const h2 = await startHarness({
      'r.graphql': `extend schema @upstream(name: "r", protocol: GRAPHQL, replicas: [{ url: "${r2.url}" }])\ntype Query { reviews(limit: Int): [String] }`,
    });
    await r2.close();
    try {
      const r = await h2.query('{ reviews }');
      assert.equal(r.body.data?.reviews, null);
      assert.equal(r.body.errors?.[0].extensions?.code, 'UPSTREAM_UNAVAILABLE');
      assert.ok(!JSON.stringify(r.body).includes(r2.url));
    } finally {
      await h2.close();
    }
  });

  test('introspection that fails is a load problem naming the file', async () => {
    await assert.rejects(
      startHarness({
        'b.graphql': `extend schema @upstream(name: "b", protocol: GRAPHQL, introspect: true, replicas: [{ url: "${broken.url}" }])\n`,
      }),
      (e: Error & { problems?: { file: string; message: string }[] }) => {
        assert.match(e.problems?.[0].file ?? '', /b\.graphql$/);
        assert.match(e.problems?.[0].message ?? '', /remote schema/);
        return true;
      },
    );
  });
});
