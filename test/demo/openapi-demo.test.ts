// The demo's REST service described by an OpenAPI document (demo/openapi/reviews.yaml):
// schemas/reviews.graphql is exactly what `quilt import openapi` makes of it plus the part
// added by hand (demo/openapi/reviews.additions.graphql), and the demo's schemas served
// over the real backends join products to their reviews in one batched call, map the
// document's enum and resolve its oneOf author by the discriminator.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startProductsService } from '../../demo/backends/products.js';
import { REVIEWS_BASE_PATH, startReviewsService } from '../../demo/backends/reviews.js';
import { type RunningService, startUsersService } from '../../demo/backends/users.js';
import { importReviews, REVIEWS_SCHEMA } from '../../scripts/import-demo-openapi.js';
import { type Harness, payload, startHarness } from '../helpers/gateway-harness.js';

const repo = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, repo), 'utf8');

/** A demo schema file with its hard-coded replicas pointed at a test service. */
function demoSchema(file: string, url: string): string {
  const text = read(`schemas/${file}`);
  const replaced = text.replace(/replicas:\s*\[[^\]]*\]/, `replicas: [{ url: "${url}" }]`);
  assert.notEqual(replaced, text, `schemas/${file} no longer has a replicas list to replace`);
  return replaced;
}

/** Where two texts first differ, with a few lines of each around it. */
function diffHint(expected: string, actual: string): string {
  const want = expected.split('\n');
  const have = actual.split('\n');
  let line = 0;
  while (line < want.length && line < have.length && want[line] === have[line]) line++;
  const around = (lines: string[]) =>
    lines
      .slice(Math.max(0, line - 2), line + 3)
      .map((text, i) => `  ${Math.max(0, line - 2) + i + 1}: ${text}`)
      .join('\n');
  return [
    `${REVIEWS_SCHEMA} differs from the import of demo/openapi/reviews.yaml + demo/openapi/reviews.additions.graphql at line ${line + 1}.`,
    `expected (fresh import + additions):\n${around(want)}`,
    `${REVIEWS_SCHEMA}:\n${around(have)}`,
    'Run `npm run import:demo-openapi` to regenerate it; put hand edits in demo/openapi/reviews.additions.graphql.',
  ].join('\n');
}

test('schemas/reviews.graphql is the import of demo/openapi/reviews.yaml followed by the additions', async () => {
  const fresh = await importReviews();
  const committed = readFileSync(new URL(REVIEWS_SCHEMA, repo));
  assert.ok(Buffer.from(fresh.text).equals(committed), diffHint(fresh.text, committed.toString('utf8')));
  // The hand-made part is one block at the end, under its one comment line.
  const additions = read('demo/openapi/reviews.additions.graphql');
  assert.match(additions, /^# Added by hand[^\n]*\n(?!#)/);
  assert.equal(additions.match(/^#/gm)?.length, 1, 'the additions carry exactly one comment line');
  // What the import leaves out is reported, not dropped silently.
  assert.match(fresh.stderr, /left out #\/paths\/~1reviews~1\{reviewId\}~1photos\/post\/requestBody: /);
});

describe('the demo served over the real reviews backend', () => {
  let users: RunningService;
  let products: RunningService;
  let reviews: RunningService;
  let harness: Harness;
  const reviewCalls = async () =>
    (await (await fetch(`${reviews.url}/__calls`)).json()) as {
      calls: number;
      mounted: number;
      byPath: Record<string, number>;
    };

  before(async () => {
    [users, products, reviews] = await Promise.all([
      startUsersService(),
      startProductsService(),
      startReviewsService(),
    ]);
    harness = await startHarness(
      {
        'users.graphql': demoSchema('users.graphql', users.url),
        'products.graphql': demoSchema('products.graphql', products.url),
        'reviews.graphql': demoSchema('reviews.graphql', `${reviews.url}${REVIEWS_BASE_PATH}`),
      },
      { logLevel: 'warn' },
    );
  });

  after(async () => {
    await harness?.close();
    await Promise.all([users?.close(), products?.close(), reviews?.close()]);
  });

  test('products join their reviews with ONE batch call; the enum and the oneOf author come back as GraphQL', async () => {
    await fetch(`${reviews.url}/__calls`, { method: 'DELETE' });
    const res = await harness.query(`{
      products(limit: 5) {
        id
        reviews {
          id
          status
          author {
            __typename
            ... on Customer { userId displayName }
            ... on Staff { name role }
          }
        }
      }
    }`);
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    const byId = Object.fromEntries(
      (res.body.data!.products as { id: string; reviews: unknown[] }[]).map((p) => [p.id, p.reviews]),
    );
    assert.deepEqual(byId['1'], [
      { id: '11', status: 'published', author: { __typename: 'Customer', userId: '1', displayName: 'User 1' } },
    ]);
    assert.deepEqual(byId['2'], [
      // The upstream's "pending-moderation" is the GraphQL value PENDING_MODERATION (@enumValue).
      {
        id: '22',
        status: 'PENDING_MODERATION',
        author: { __typename: 'Customer', userId: '3', displayName: 'User 3' },
      },
      { id: '21', status: 'published', author: { __typename: 'Customer', userId: '2', displayName: 'User 2' } },
    ]);
    assert.deepEqual(
      byId['3']!.map((r: any) => r.author.__typename),
      ['Staff', 'Customer', 'Customer'],
    );
    assert.deepEqual(byId['3']![0], {
      id: '33',
      status: 'published',
      author: { __typename: 'Staff', name: 'Alan Kay', role: 'Support lead' },
    });
    assert.deepEqual(byId['4'], [], 'a product without reviews has none');
    assert.equal(byId['5']!.length, 1);

    const calls = await reviewCalls();
    assert.deepEqual(
      [calls.calls, calls.byPath, calls.mounted],
      [1, { '/reviews': 1 }, 1],
      `one batch call under ${REVIEWS_BASE_PATH} for five products; the reviews service saw: ${reviews.requests.map((r) => r.url).join(', ')}`,
    );
    assert.equal(
      reviews.requests[0]!.url,
      '/reviews?productId=1&productId=2&productId=3&productId=4&productId=5&limit=200',
    );
  });

  test('the imported fields serve as the document says: an enum argument, the union, a 404 as null', async () => {
    const res = await harness.query(`{
      pending: listReviews(productId: ["2", "4", "6"], status: PENDING_MODERATION) { id productId status }
      staff: getReview(reviewId: "33") { title rating author { __typename ... on Staff { staffId } } }
      missing: getReview(reviewId: "nope") { id }
      rating: getProductRating(productId: "3") { count average }
    }`);
    assert.deepEqual(payload(res.body), {
      data: {
        pending: [
          { id: '62', productId: '6', status: 'PENDING_MODERATION' },
          { id: '22', productId: '2', status: 'PENDING_MODERATION' },
        ],
        staff: { title: 'Review 3 of Product 3', rating: 2, author: { __typename: 'Staff', staffId: 'staff-2' } },
        missing: null,
        rating: { count: 3, average: 2.67 },
      },
    });
    // The argument reached the upstream in its own spelling.
    assert.ok(
      reviews.requests.some((r) => r.url === '/reviews?productId=2&productId=4&productId=6&status=pending-moderation'),
      reviews.requests.map((r) => r.url).join(', '),
    );
  });

  test("GraphiQL's reviews example runs without errors", async () => {
    const res = await harness.query(read('schemas/examples/7-product-reviews.graphql'));
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    assert.ok((res.body.data!.products as unknown[]).length > 0);
  });
});
