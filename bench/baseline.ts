// The benchmark's floor: the same GraphQL API as the gateway serves over the
// demo backends, written by hand the way a careful engineer would (undici
// pools, round robin over replicas, per-request DataLoaders). The gateway is
// judged against this, so it must stay lean: no logging, no extra plugins.
// Users and products are REST (undici); orders are gRPC (one grpc-js client
// channel per replica, round robin), so the fan-out
// users -> orders -> products is REST -> gRPC -> REST in 3 upstream calls.
//
// Run: npx tsx bench/baseline.ts --port 4200
//      [--users-urls http://127.0.0.1:4001,http://127.0.0.1:4002]   (env USERS_URLS)
//      [--products-urls http://127.0.0.1:4011,http://127.0.0.1:4012] (env PRODUCTS_URLS)
//      [--orders-targets 127.0.0.1:4021,127.0.0.1:4022]              (env ORDERS_TARGETS)
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import DataLoader from 'dataloader';
import { createSchema, createYoga } from 'graphql-yoga';
import { Pool } from 'undici';
import { isMainModule, stopWhenParentExits } from '../demo/backends/http-service.js';
import type { Order } from '../demo/backends/orders.js';
import type { Product } from '../demo/backends/products.js';
import { REPO_ROOT, replicaUrls } from '../demo/backends/topology.js';
import type { Post, User } from '../demo/backends/users.js';

export const BASELINE_TYPE_DEFS = /* GraphQL */ `
  type User {
    id: ID! name: String! email: String fullName: String posts: [Post!]! products: [Product!]! orders: [Order!]!
  }
  type Post { id: ID! title: String! body: String }
  type Order { id: ID! total: Float! items: [OrderItem!]! }
  type OrderItem { quantity: Int! product: Product }
  type Product { id: ID! name: String! price: Float! seller: User }
  type Query {
    user(id: ID!): User
    users(limit: Int = 20, offset: Int = 0): [User!]!
    product(id: ID!): Product
    products(limit: Int = 20, offset: Int = 0): [Product!]!
  }
`;

/** GET JSON from one backend service, spreading requests round robin over its replicas. */
class ReplicatedJsonClient {
  private readonly pools: Pool[];
  private next = 0;

  constructor(
    private readonly service: string,
    urls: readonly string[],
  ) {
    if (urls.length === 0) throw new Error(`${service}: at least one replica URL is required`);
    this.pools = urls.map((url) => new Pool(url, { keepAliveTimeout: 30_000 }));
  }

  /** Parsed JSON body, or null on 404 (how the backends say "no such id"). */
  async get<T>(path: string): Promise<T | null> {
    const pool = this.pools[this.next]!;
    this.next = (this.next + 1) % this.pools.length;
    const { statusCode, body } = await pool.request({ method: 'GET', path });
    if (statusCode === 404) {
      await body.dump();
      return null;
    }
    if (statusCode !== 200) {
      await body.dump();
      throw new Error(`${this.service} backend answered ${statusCode} to GET ${path}`);
    }
    return (await body.json()) as T;
  }

  async getList<T>(path: string): Promise<T[]> {
    return (await this.get<T[]>(path)) ?? [];
  }

  close(): Promise<void> {
    return Promise.all(this.pools.map((pool) => pool.close())).then(() => undefined);
  }
}

// The same proto-loader options as the orders service (and the gateway) use.
const ORDERS_PROTO_PATH = join(REPO_ROOT, 'schemas', 'orders.proto');
const ORDERS_SERVICE = 'shop.orders.v1.OrderService';
const ORDERS_DEADLINE_MS = 3000;

type OrdersStub = grpc.Client & {
  ListOrdersByUsers(
    request: { user_ids: readonly string[] },
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: { orders: Order[] }) => void,
  ): grpc.ClientUnaryCall;
};

/** The gRPC orders service: one grpc-js client (channel) per replica, round robin. */
class ReplicatedOrdersClient {
  private readonly clients: OrdersStub[];
  private next = 0;

  constructor(targets: readonly string[]) {
    if (targets.length === 0) throw new Error('orders: at least one replica target is required');
    const definition = protoLoader.loadSync(ORDERS_PROTO_PATH, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const service = definition[ORDERS_SERVICE] as unknown as grpc.ServiceDefinition;
    const Client = grpc.makeGenericClientConstructor(service, 'OrderService');
    this.clients = targets.map(
      (target) => new Client(target, grpc.credentials.createInsecure()) as unknown as OrdersStub,
    );
  }

  listOrdersByUsers(userIds: readonly string[]): Promise<Order[]> {
    const client = this.clients[this.next]!;
    this.next = (this.next + 1) % this.clients.length;
    return new Promise((resolve, reject) => {
      client.ListOrdersByUsers(
        { user_ids: userIds },
        { deadline: Date.now() + ORDERS_DEADLINE_MS },
        (error, response) =>
          error ? reject(new Error(`orders backend: ${error.message}`)) : resolve(response?.orders ?? []),
      );
    });
  }

  close(): void {
    for (const client of this.clients) client.close();
  }
}

const repeated = (name: string, values: readonly string[]): string =>
  values.map((value) => `${name}=${encodeURIComponent(value)}`).join('&');

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

interface Backends {
  users: ReplicatedJsonClient;
  products: ReplicatedJsonClient;
  orders: ReplicatedOrdersClient;
}

// New loaders per GraphQL request: batching within one request, no cache
// shared across requests (the gateway must not serve stale data either).
function createLoaders({ users, products, orders }: Backends) {
  return {
    postsByUserId: new DataLoader<string, Post[]>(async (userIds) => {
      const posts = await users.getList<Post>(`/posts?${repeated('userId', userIds)}`);
      const byUser = groupBy(posts, (post) => post.userId);
      return userIds.map((id) => byUser.get(id) ?? []);
    }),
    productsBySellerId: new DataLoader<string, Product[]>(async (sellerIds) => {
      const found = await products.getList<Product>(`/products?${repeated('sellerId', sellerIds)}`);
      const bySeller = groupBy(found, (product) => product.sellerId);
      return sellerIds.map((id) => bySeller.get(id) ?? []);
    }),
    ordersByUserId: new DataLoader<string, Order[]>(async (userIds) => {
      const found = await orders.listOrdersByUsers(userIds);
      const byUser = groupBy(found, (order) => order.user_id);
      return userIds.map((id) => byUser.get(id) ?? []);
    }),
    productById: new DataLoader<string, Product | null>(async (ids) => {
      const found = await products.getList<Product>(`/products?${repeated('ids', ids)}`);
      const byId = new Map(found.map((product) => [product.id, product]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    userById: new DataLoader<string, User | null>(async (ids) => {
      const found = await users.getList<User>(`/users?${repeated('ids', ids)}`);
      const byId = new Map(found.map((user) => [user.id, user]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

interface Context {
  backends: Backends;
  loaders: ReturnType<typeof createLoaders>;
}

const page = (args: { limit: number; offset: number }): string => `limit=${args.limit}&offset=${args.offset}`;
const byId = (id: string): string => encodeURIComponent(id);

const resolvers = {
  Query: {
    user: (_: unknown, args: { id: string }, ctx: Context) => ctx.backends.users.get<User>(`/users/${byId(args.id)}`),
    users: (_: unknown, args: { limit: number; offset: number }, ctx: Context) =>
      ctx.backends.users.getList<User>(`/users?${page(args)}`),
    product: (_: unknown, args: { id: string }, ctx: Context) =>
      ctx.backends.products.get<Product>(`/products/${byId(args.id)}`),
    products: (_: unknown, args: { limit: number; offset: number }, ctx: Context) =>
      ctx.backends.products.getList<Product>(`/products?${page(args)}`),
  },
  User: {
    fullName: (user: User) => user.profile?.full_name ?? null,
    posts: (user: User, _: unknown, ctx: Context) => ctx.loaders.postsByUserId.load(user.id),
    products: (user: User, _: unknown, ctx: Context) => ctx.loaders.productsBySellerId.load(user.id),
    orders: (user: User, _: unknown, ctx: Context) => ctx.loaders.ordersByUserId.load(user.id),
  },
  OrderItem: {
    product: (item: Order['items'][number], _: unknown, ctx: Context) => ctx.loaders.productById.load(item.product_id),
  },
  Product: {
    seller: (product: Product, _: unknown, ctx: Context) => ctx.loaders.userById.load(product.sellerId),
  },
};

export interface BaselineOptions {
  port?: number;
  host?: string;
  usersUrls?: string[];
  productsUrls?: string[];
  ordersTargets?: string[]; // host:port of each gRPC replica
}

export interface RunningBaseline {
  url: string; // http://HOST:PORT/graphql
  port: number;
  close(): Promise<void>;
}

export async function startBaseline(opts: BaselineOptions = {}): Promise<RunningBaseline> {
  const backends: Backends = {
    users: new ReplicatedJsonClient('users', opts.usersUrls ?? replicaUrls('users')),
    products: new ReplicatedJsonClient('products', opts.productsUrls ?? replicaUrls('products')),
    orders: new ReplicatedOrdersClient(opts.ordersTargets ?? replicaUrls('orders')),
  };
  const yoga = createYoga<object, Context>({
    schema: createSchema<Context>({ typeDefs: BASELINE_TYPE_DEFS, resolvers }),
    context: () => ({ backends, loaders: createLoaders(backends) }),
    logging: false,
    healthCheckEndpoint: '/healthz', // same probe path as the gateway
  });
  const server: Server = createServer(yoga);
  server.keepAliveTimeout = 65_000; // outlive the load generator's idle sockets
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/graphql`,
    port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      backends.orders.close();
      await Promise.all([backends.users.close(), backends.products.close()]);
    },
  };
}

function flagOrEnv(flag: string, envName: string): string | undefined {
  const index = process.argv.indexOf(flag);
  return index >= 0 ? process.argv[index + 1] : process.env[envName];
}

const urlList = (value: string | undefined): string[] | undefined =>
  value
    ?.split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');

if (isMainModule(import.meta.url)) {
  const port = Number(flagOrEnv('--port', 'PORT') ?? 4200);
  const baseline = await startBaseline({
    port,
    host: flagOrEnv('--host', 'HOST'),
    usersUrls: urlList(flagOrEnv('--users-urls', 'USERS_URLS')),
    productsUrls: urlList(flagOrEnv('--products-urls', 'PRODUCTS_URLS')),
    ordersTargets: urlList(flagOrEnv('--orders-targets', 'ORDERS_TARGETS')),
  }).catch((error: unknown) => {
    const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
    console.error(`baseline: cannot listen on port ${port}: ${inUse ? 'already in use' : String(error)}`);
    process.exit(1);
  });
  console.log(`baseline GraphQL server listening on ${baseline.url}`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    baseline.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  stopWhenParentExits(stop);
}
