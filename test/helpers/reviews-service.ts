// A real remote GraphQL API for tests (graphql-yoga over node:http): product reviews.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';

export const REVIEWS_SDL = /* GraphQL */ `
type Review { id: ID! body: String! stars: Int! product: Product }
type Product { id: ID! reviews: [Review!]! }
type Query {
  reviews(limit: Int = 3): [Review!]!
  reviewedProducts(ids: [ID!]!): [Product]!
}
`;

export interface ReviewsService {
  url: string;
  /** Each GraphQL request received: its query text and variables. */
  requests: { query: string; variables: unknown; requestId: string | null; traceparent: string | null }[];
  close(): Promise<void>;
}

const reviewsOf = (productId: string) =>
  [1, 2].map((k) => ({
    id: `${productId}-${k}`,
    body: `Review ${k} of product ${productId}`,
    stars: k + 2,
    productId,
  }));

export async function startReviewsService(): Promise<ReviewsService> {
  const requests: ReviewsService['requests'] = [];
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: REVIEWS_SDL,
      resolvers: {
        Query: {
          reviews: (_: unknown, { limit }: { limit: number }) =>
            Array.from({ length: limit }, (_v, i) => reviewsOf(String(i + 1))[0]),
          // In key order, null for unknown: the stitching convention for @merge fields.
          reviewedProducts: (_: unknown, { ids }: { ids: string[] }) =>
            ids.map((id) => (Number(id) > 0 ? { id } : null)),
        },
        Product: { reviews: (p: { id: string }) => reviewsOf(p.id) },
        Review: { product: (r: { productId: string }) => ({ id: r.productId }) },
      },
    }),
    logging: false,
    plugins: [
      {
        onParams({ params, request }) {
          requests.push({
            query: params.query ?? '',
            variables: params.variables,
            requestId: request.headers.get('x-request-id'),
            traceparent: request.headers.get('traceparent'),
          });
        },
      },
    ],
  });
  const server = createServer(yoga);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
