// Composition across sources and batching, counted at the backends: two real REST services
// and a real remote GraphQL API merged into one schema.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { RunningService } from '../../demo/backends/http-service.js';
import { startProductsService } from '../../demo/backends/products.js';
import { startUsersService } from '../../demo/backends/users.js';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';
import { REVIEWS_SDL, type ReviewsService, startReviewsService } from '../helpers/reviews-service.js';

function demoSchema(name: string, urls: string[]): string {
  return readFileSync(new URL(`../../schemas/${name}`, import.meta.url), 'utf8').replace(
    /replicas: \[[^\]]*\]/,
    `replicas: [${urls.map((u) => `{ url: "${u}" }`).join(', ')}]`,
  );
}

describe('composition and batching', () => {
  let users: RunningService;
  let products: RunningService;
  let reviews: ReviewsService;
  let h: Harness;
  const calls = () => ({ users: users.calls(), products: products.calls(), reviews: reviews.requests.length });

  before(async () => {
    [users, products, reviews] = await Promise.all([
      startUsersService(),
      startProductsService(),
      startReviewsService(),
    ]);
    h = await startHarness({
      'users.graphql': demoSchema('users.graphql', [users.url]),
      'products.graphql': demoSchema('products.graphql', [products.url]),
      'reviews.graphql': `extend schema @upstream(name: "reviews", protocol: GRAPHQL, replicas: [{ url: "${reviews.url}" }])
${REVIEWS_SDL.replace('type Product {', 'type Product @key(selectionSet: "{ id }") {').replace('reviewedProducts(ids: [ID!]!): [Product]!', 'reviewedProducts(ids: [ID!]!): [Product]! @merge(keyField: "id")')}`,
    });
  });
  after(async () => {
    await h?.close();
    await Promise.all([users?.close(), products?.close(), reviews?.close()]);
  });
  beforeEach(() => {
    users.reset();
    products.reset();
    reviews.requests.length = 0;
  });

  test('20 users with their posts: 2 upstream calls', async () => {
    const r = await h.query('{ users(limit: 20) { id posts { id title } } }');
    assert.equal(r.body.errors, undefined);
    assert.equal(r.body.data!.users.length, 20);
    assert.deepEqual(
      r.body.data!.users[6].posts.map((p: { id: string }) => p.id),
      ['71', '72', '73'],
    );
    assert.deepEqual(calls(), { users: 2, products: 0, reviews: 0 });
    assert.match(users.requests[1].url, /^\/posts\?userId=1&userId=2&.*userId=20$/);
  });

  test('identical calls within one request are made once', async () => {
    const r = await h.query('{ a: user(id: "1") { name } b: user(id: "1") { email } c: user(id: "2") { name } }');
    assert.deepEqual(r.body.data, { a: { name: 'User 1' }, b: { email: 'user1@example.com' }, c: { name: 'User 2' } });
    assert.deepEqual(calls(), { users: 2, products: 0, reviews: 0 });
  });

  test('merged type across two REST sources: one batched lookup per level', async () => {
    const r = await h.query('{ products(limit: 20) { id name seller { id name email } } }');
    assert.equal(r.body.errors, undefined);
    assert.deepEqual(r.body.data!.products[4], {
      id: '5',
      name: 'Product 5',
      seller: { id: '5', name: 'User 5', email: 'user5@example.com' },
    });
    assert.deepEqual(calls(), { users: 1, products: 1, reviews: 0 });
    // The lookup's batch, as the batch-size histogram saw it: one call; its keys are the
    // sellers of the 20 products, deduplicated.
    const sellers = new Set((r.body.data!.products as { seller: { id: string } }[]).map((p) => p.seller.id));
    const metrics = await (await fetch(`${h.gateway.url}/metrics`)).text();
    assert.match(metrics, /quilt_upstream_batch_size_count\{upstream="users",field="Query.usersByIds"\} 1\n/);
    assert.ok(
      metrics.includes(`quilt_upstream_batch_size_sum{upstream="users",field="Query.usersByIds"} ${sellers.size}\n`),
      metrics
        .split('\n')
        .filter((l) => l.startsWith('quilt_upstream_batch_size_sum'))
        .join('\n'),
    );
  });

  test('REST -> REST -> REST across three levels: one call per source per level', async () => {
    const r = await h.query('{ users(limit: 20) { name products { name seller { email } } } }');
    assert.equal(r.body.errors, undefined);
    assert.deepEqual(r.body.data!.users[0].products, [
      { name: 'Product 1', seller: { email: 'user1@example.com' } },
      { name: 'Product 101', seller: { email: 'user1@example.com' } },
    ]);
    assert.deepEqual(calls(), { users: 2, products: 1, reviews: 0 });
  });

  test('fields not selected are not fetched: no lookup when only local fields are asked', async () => {
    await h.query('{ products(limit: 5) { id seller { id } } }');
    assert.deepEqual(calls(), { users: 0, products: 1, reviews: 0 });
  });

  test('@skip/@include decide which sources are called', async () => {
    const q = 'query($withSeller: Boolean!) { products(limit: 3) { id seller { name @include(if: $withSeller) } } }';
    await h.query(q, { withSeller: false });
    assert.deepEqual(calls(), { users: 0, products: 1, reviews: 0 });
    const r = await h.query(q, { withSeller: true });
    assert.equal(r.body.data!.products[2].seller.name, 'User 3');
    assert.deepEqual(calls(), { users: 1, products: 2, reviews: 0 });
  });

  test('REST entities completed from the remote GraphQL source with one batched delegation', async () => {
    const r = await h.query('{ products(limit: 4) { id name reviews { stars body } seller { name } } }', undefined, {
      'x-request-id': 'rid-7',
    });
    assert.equal(r.body.errors, undefined);
    assert.deepEqual(r.body.data!.products[3], {
      id: '4',
      name: 'Product 4',
      reviews: [
        { stars: 3, body: 'Review 1 of product 4' },
        { stars: 4, body: 'Review 2 of product 4' },
      ],
      seller: { name: 'User 4' },
    });
    assert.deepEqual(calls(), { users: 1, products: 1, reviews: 1 });
    assert.match(reviews.requests[0].query, /reviewedProducts/);
    assert.equal(reviews.requests[0].requestId, 'rid-7', 'the request id reaches the remote source');
  });

  test('remote root field whose entities are completed from REST sources (aliases and fragments too)', async () => {
    const r = await h.query(`{ top: reviews(limit: 3) { stars product { ...P reviewsCount: reviews { id } } } }
      fragment P on Product { label: name price seller { name } }`);
    assert.equal(r.body.errors, undefined);
    assert.deepEqual(r.body.data!.top[1], {
      stars: 3,
      product: {
        label: 'Product 2',
        price: 11.99,
        seller: { name: 'User 2' },
        reviewsCount: [{ id: '2-1' }, { id: '2-2' }],
      },
    });
    assert.deepEqual(calls(), { users: 1, products: 1, reviews: 1 });
  });

  test('a failing lookup source nulls only its own fields, with its code', async () => {
    await users.close();
    try {
      const r = await h.query('{ product(id: "3") { name seller { id name } } }');
      assert.equal(r.body.data!.product.name, 'Product 3');
      // The seller comes from the users source: it is null with that source's error.
      assert.equal(r.body.data!.product.seller, null);
      assert.equal(r.body.errors?.length, 1);
      assert.equal(r.body.errors?.[0].extensions?.code, 'UPSTREAM_UNAVAILABLE');
      assert.deepEqual(r.body.errors?.[0].path, ['product', 'seller']);
    } finally {
      const restarted = await startUsersService({ port: Number(new URL(users.url).port) });
      users = restarted;
    }
  });
});
