// Demo "reviews" REST backend, described by an OpenAPI document (demo/openapi/reviews.yaml)
// from which schemas/reviews.graphql is imported (README, "Add a REST backend from OpenAPI").
// Product n of the products service has n % 4 reviews (so some have none), written by users
// of the users service (`author.kind: "customer"`) or by staff (`"staff"`), in one of three
// moderation states spelled as REST APIs spell them ("pending-moderation"). GET /reviews
// takes repeated productId parameters: the batch endpoint the schema's Product.reviews uses.
// Mounted at /reviews-api/v2 (the document's server url), and at the root too.
// Run: npx tsx demo/backends/reviews.ts --port 4031
import {
  badRequest,
  created,
  idFromPath,
  intParam,
  isMainModule,
  type JsonReply,
  listParam,
  notFound,
  ok,
  type RunningService,
  runServiceCli,
  type ServiceOptions,
  type ServiceRequest,
  startJsonService,
} from './http-service.js';

export type { RecordedRequest, RunningService } from './http-service.js';

export type ReviewStatus = 'published' | 'pending-moderation' | 'rejected';

export interface Customer {
  kind: 'customer';
  userId: string;
  displayName: string;
  verifiedPurchase: boolean;
}

export interface Staff {
  kind: 'staff';
  staffId: string;
  name: string;
  role: string;
}

export interface Review {
  id: string;
  productId: string;
  rating: number;
  title: string;
  body: string | null;
  status: ReviewStatus;
  author: Customer | Staff;
  helpful_votes: number;
  createdAt: string;
}

export const REVIEWS_BASE_PATH = '/reviews-api/v2';
const STATUSES: readonly ReviewStatus[] = ['published', 'pending-moderation', 'rejected'];
const PRODUCT_COUNT = 200; // matches the products service
const USER_COUNT = 100; // matches the users service
const MAX_LIMIT = 200;
const STAFF: readonly Staff[] = [
  { kind: 'staff', staffId: 'staff-1', name: 'Grace Hopper', role: 'Product specialist' },
  { kind: 'staff', staffId: 'staff-2', name: 'Alan Kay', role: 'Support lead' },
];
const EPOCH_MS = Date.UTC(2026, 0, 1);

/** Product n's reviews: n % 4 of them; the third one is the staff's, the others customers'. */
export function makeReviews(n: number): Review[] {
  return Array.from({ length: n % 4 }, (_, index) => {
    const k = index + 1;
    const userId = String(((n + k - 2) % USER_COUNT) + 1);
    const author: Customer | Staff =
      k === 3
        ? STAFF[n % STAFF.length]!
        : { kind: 'customer', userId, displayName: `User ${userId}`, verifiedPurchase: (n + k) % 2 === 0 };
    // Every even product's second review waits for moderation; one in ten first reviews was rejected.
    const status: ReviewStatus =
      k === 2 && n % 2 === 0 ? 'pending-moderation' : k === 1 && n % 10 === 7 ? 'rejected' : 'published';
    return {
      id: String(n * 10 + k),
      productId: String(n),
      rating: ((n + k) % 5) + 1,
      title: `Review ${k} of Product ${n}`,
      body: k === 2 ? null : `What reviewer ${k} thinks of Product ${n}.`,
      status,
      author,
      helpful_votes: (n * 7 + k * 3) % 20,
      createdAt: new Date(EPOCH_MS + (n * 10 + k) * 3_600_000).toISOString(),
    };
  });
}

interface NewReview {
  productId: string;
  userId: string;
  rating: number;
  title: string;
  body: string | null;
}

function parseNewReview(body: unknown): NewReview | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'request body must be a JSON object';
  const { productId, userId, rating, title, body: text } = body as Record<string, unknown>;
  if (typeof productId !== 'string' || productId === '') return 'productId is required';
  if (typeof userId !== 'string' || userId === '') return 'userId is required';
  if (typeof rating !== 'number' || !Number.isInteger(rating) || rating < 1 || rating > 5)
    return 'rating must be an integer from 1 to 5';
  if (typeof title !== 'string' || title === '') return 'title is required';
  if (text !== undefined && text !== null && typeof text !== 'string') return 'body must be a string';
  return { productId, userId, rating, title, body: text ?? null };
}

/** A path segment decoded; undefined for a malformed escape such as %zz (no such resource). */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

// One store per running service, so a test that POSTs reviews stays isolated.
function createReviewStore() {
  const reviews: Review[] = [];
  for (let n = 1; n <= PRODUCT_COUNT; n++) reviews.push(...makeReviews(n));
  reviews.reverse(); // newest first, as the API lists them
  const byId = new Map(reviews.map((review) => [review.id, review]));
  const photoCounts = new Map<string, number>();
  let nextId = 10_001;
  let clock = EPOCH_MS + (PRODUCT_COUNT + 1) * 10 * 3_600_000;
  return {
    reviews,
    byId,
    add(input: NewReview): Review {
      const { userId, ...fields } = input;
      const review: Review = {
        id: String(nextId++),
        ...fields,
        status: 'pending-moderation',
        author: { kind: 'customer', userId, displayName: `User ${userId}`, verifiedPurchase: false },
        helpful_votes: 0,
        createdAt: new Date((clock += 60_000)).toISOString(),
      };
      reviews.unshift(review);
      byId.set(review.id, review);
      return review;
    },
    /** The next photo number of a review (the demo keeps no upload, only its record). */
    photo(reviewId: string): number {
      const count = (photoCounts.get(reviewId) ?? 0) + 1;
      photoCounts.set(reviewId, count);
      return count;
    },
  };
}

export function startReviewsService(opts: ServiceOptions = {}): Promise<RunningService> {
  const store = createReviewStore();

  const route = ({ method, path, query, body }: ServiceRequest): JsonReply => {
    if (path === '/reviews') {
      if (method === 'POST') {
        const input = parseNewReview(body);
        return typeof input === 'string' ? badRequest(input) : created(store.add(input));
      }
      if (method !== 'GET') return notFound();
      const limit = intParam(query, 'limit', 20);
      if (typeof limit === 'string' || limit < 1 || limit > MAX_LIMIT)
        return badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`);
      const status = query.get('status');
      if (status !== null && !STATUSES.includes(status as ReviewStatus))
        return badRequest(`status must be one of ${STATUSES.join(', ')}`);
      // Several productId parameters: the reviews of all those products in one flat list.
      const products = query.has('productId') ? new Set(listParam(query, 'productId')) : undefined;
      const matching = store.reviews.filter(
        (review) => (!products || products.has(review.productId)) && (status === null || review.status === status),
      );
      return ok(matching.slice(0, limit));
    }

    const photos = /^\/reviews\/([^/]+)\/photos$/.exec(path);
    if (photos && method === 'POST') {
      const reviewId = decoded(photos[1]!);
      if (reviewId === undefined || !store.byId.has(reviewId)) return notFound();
      const n = store.photo(reviewId);
      return created({
        id: `${reviewId}-${n}`,
        url: `https://images.example.com/reviews/${reviewId}/${n}.jpg`,
        caption: null,
      });
    }

    if (method !== 'GET') return notFound();

    const reviewId = idFromPath(path, 'reviews');
    if (reviewId !== undefined) {
      const review = store.byId.get(reviewId);
      return review ? ok(review) : notFound();
    }

    const rating = /^\/products\/([^/]+)\/rating$/.exec(path);
    if (rating) {
      const productId = decoded(rating[1]!);
      if (productId === undefined) return notFound();
      const published = store.reviews.filter((r) => r.productId === productId && r.status === 'published');
      const sum = published.reduce((total, review) => total + review.rating, 0);
      const average = published.length ? Number((sum / published.length).toFixed(2)) : null;
      return ok({ productId, count: published.length, average });
    }

    return notFound();
  };

  return startJsonService(route, { basePath: REVIEWS_BASE_PATH, ...opts });
}

if (isMainModule(import.meta.url)) {
  await runServiceCli('reviews', startReviewsService);
}
