// Demo "products" REST backend: 200 deterministic products, each sold by one
// of the users service's 100 users (sellerId), so the gateway can merge them.
// Mounted at /catalog/v1 (schemas/products.graphql names it in its replica urls),
// and at the root too. Its availability values are written the way REST APIs
// write them ("in-stock"), which the schema maps with @enumValue.
// Run: npx tsx demo/backends/products.ts --port 4011
import {
  idFromPath,
  isMainModule,
  type JsonReply,
  listParam,
  notFound,
  ok,
  paginate,
  type RunningService,
  runServiceCli,
  type ServiceOptions,
  type ServiceRequest,
  startJsonService,
} from './http-service.js';

export type { RecordedRequest, RunningService } from './http-service.js';

export type Availability = 'in-stock' | 'out-of-stock' | 'pre-order';

export interface Product {
  id: string;
  name: string;
  price: number;
  sellerId: string;
  availability: Availability;
}

export const PRODUCTS_BASE_PATH = '/catalog/v1';
const AVAILABILITY: readonly Availability[] = ['in-stock', 'in-stock', 'out-of-stock', 'in-stock', 'pre-order'];

export const PRODUCT_COUNT = 200;
const SELLER_COUNT = 100; // matches the users service

export function makeProduct(n: number): Product {
  return {
    id: String(n),
    name: `Product ${n}`,
    // toFixed keeps prices free of binary float noise (e.g. 10.990000000000002).
    price: Number((9.99 + n).toFixed(2)),
    sellerId: String(((n - 1) % SELLER_COUNT) + 1),
    availability: AVAILABILITY[(n - 1) % AVAILABILITY.length]!,
  };
}

// Read-only data, so one shared copy serves every running instance.
const PRODUCTS: readonly Product[] = Array.from({ length: PRODUCT_COUNT }, (_, i) => makeProduct(i + 1));
const PRODUCTS_BY_ID = new Map(PRODUCTS.map((product) => [product.id, product]));

function route({ method, path, query }: ServiceRequest): JsonReply {
  if (method !== 'GET') return notFound();

  if (path === '/products') {
    // Filters return matches in store order; unknown ids are skipped.
    if (query.has('ids')) {
      const wanted = new Set(listParam(query, 'ids'));
      return ok(PRODUCTS.filter((product) => wanted.has(product.id)));
    }
    if (query.has('sellerId')) {
      const sellers = new Set(listParam(query, 'sellerId'));
      return ok(PRODUCTS.filter((product) => sellers.has(product.sellerId)));
    }
    const availability = query.get('availability');
    return paginate(availability ? PRODUCTS.filter((p) => p.availability === availability) : PRODUCTS, query);
  }

  const productId = idFromPath(path, 'products');
  if (productId !== undefined) {
    const product = PRODUCTS_BY_ID.get(productId);
    return product ? ok(product) : notFound();
  }

  return notFound();
}

export function startProductsService(opts: ServiceOptions = {}): Promise<RunningService> {
  return startJsonService(route, { basePath: PRODUCTS_BASE_PATH, ...opts });
}

if (isMainModule(import.meta.url)) {
  await runServiceCli('products', startProductsService);
}
