// Demo "orders" gRPC backend (schemas/orders.proto, shop.orders.v1.OrderService):
// 3 deterministic orders per user "1".."100", priced from the products service's
// catalogue, plus grpc.health.v1. See grpc-service.ts for the call counters and
// the CLI's HTTP admin port.
// Run: npx tsx demo/backends/orders.ts --port 4021   (admin HTTP on 5021)
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  type GrpcServiceHooks,
  type GrpcServiceOptions,
  type GrpcServiceSpec,
  type RunningGrpcService,
  runGrpcServiceCli,
  startGrpcService,
} from './grpc-service.js';
import { isMainModule } from './http-service.js';
import { makeProduct, PRODUCT_COUNT } from './products.js';
import { USER_COUNT } from './users.js';

export type { GrpcServiceOptions, RecordedGrpcCall, RunningGrpcService } from './grpc-service.js';

export const ORDERS_PROTO_PATH = fileURLToPath(new URL('../../schemas/orders.proto', import.meta.url));
export const ORDERS_SERVICE_NAME = 'shop.orders.v1.OrderService';
/** The proto-loader options used by the service, the baseline's client and (expected of) the gateway. */
export const ORDERS_PROTO_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const ORDERS_PER_USER = 3;
export const ITEMS_PER_ORDER = 2;
export const DEFAULT_WATCH_COUNT = 5;
export const DEFAULT_WATCH_INTERVAL_MS = 200;

export type OrderStatus = 'ORDER_STATUS_UNSPECIFIED' | 'PENDING' | 'PAID' | 'SHIPPED';

/** Messages as proto-loader presents them with ORDERS_PROTO_OPTIONS. */
export interface OrderItem {
  product_id: string;
  quantity: number;
  unit_price: number;
}

export interface Order {
  id: string;
  user_id: string;
  status: OrderStatus;
  items: OrderItem[];
  total: number;
  total_cents: string; // int64, longs: String
  created_at: { seconds: string; nanos: number } | null;
  note: { value: string } | null;
}

export interface OrderEvent {
  order: Order;
  kind: string;
}

const LIFECYCLE: ReadonlyArray<{ status: OrderStatus; kind: string }> = [
  { status: 'PENDING', kind: 'CREATED' },
  { status: 'PAID', kind: 'PAID' },
  { status: 'SHIPPED', kind: 'SHIPPED' },
];

// 2026-01-01T00:00:00Z; seed order n (0-based, all users) was created n hours later.
const SEED_EPOCH_SECONDS = Date.UTC(2026, 0, 1) / 1000;

const cents = (price: number): number => Math.round(price * 100);

function catalogPrice(productId: string): number | undefined {
  const n = Number(productId);
  return Number.isInteger(n) && n >= 1 && n <= PRODUCT_COUNT && String(n) === productId
    ? makeProduct(n).price
    : undefined;
}

function priced(
  id: string,
  userId: string,
  status: OrderStatus,
  items: OrderItem[],
  createdSeconds: number,
  note: string | null,
): Order {
  // Sum in integer cents: total and total_cents always agree, with no float noise.
  const totalCents = items.reduce((sum, item) => sum + item.quantity * cents(item.unit_price), 0);
  return {
    id,
    user_id: userId,
    status,
    items,
    total: totalCents / 100,
    total_cents: String(totalCents),
    created_at: { seconds: String(createdSeconds), nanos: 0 },
    note: note === null ? null : { value: note },
  };
}

/**
 * Seed order k (1..3) of user `userNumber` (1..100): id "<user>-<k>", two items of
 * distinct products (37 is coprime with 200, so the first items of consecutive
 * orders never repeat within 200 orders), status PENDING/PAID/SHIPPED by k,
 * a note on every third order (k = 3).
 */
export function makeOrder(userNumber: number, k: number): Order {
  const n = (userNumber - 1) * ORDERS_PER_USER + (k - 1); // 0-based across all users
  const first = ((n * 37) % PRODUCT_COUNT) + 1;
  const second = ((n * 37 + 101) % PRODUCT_COUNT) + 1;
  const items: OrderItem[] = [
    { product_id: String(first), quantity: (n % 3) + 1, unit_price: makeProduct(first).price },
    { product_id: String(second), quantity: ((n + userNumber) % 3) + 1, unit_price: makeProduct(second).price },
  ];
  const id = `${userNumber}-${k}`;
  return priced(
    id,
    String(userNumber),
    LIFECYCLE[(k - 1) % LIFECYCLE.length]!.status,
    items,
    SEED_EPOCH_SECONDS + n * 3600,
    k % 3 === 0 ? `Order ${id}: leave the parcel at the door` : null,
  );
}

export function makeOrders(userNumber: number): Order[] {
  return Array.from({ length: ORDERS_PER_USER }, (_, i) => makeOrder(userNumber, i + 1));
}

// One store per running service, so tests that create orders stay isolated.
function createOrderStore() {
  const all: Order[] = [];
  const byId = new Map<string, Order>();
  const byUser = new Map<string, Order[]>();
  const nextK = new Map<string, number>();
  const add = (order: Order): void => {
    all.push(order);
    byId.set(order.id, order);
    const list = byUser.get(order.user_id);
    if (list) list.push(order);
    else byUser.set(order.user_id, [order]);
  };
  for (let u = 1; u <= USER_COUNT; u++) {
    for (const order of makeOrders(u)) add(order);
    nextK.set(String(u), ORDERS_PER_USER + 1);
  }
  return {
    all,
    byId,
    byUser,
    create(userId: string, items: OrderItem[]): Order {
      const k = nextK.get(userId) ?? 1;
      nextK.set(userId, k + 1);
      const order = priced(`${userId}-${k}`, userId, 'PENDING', items, Math.floor(Date.now() / 1000), null);
      add(order);
      return order;
    },
  };
}

interface GrpcError {
  code: grpc.status;
  details: string;
}
const fail = (code: grpc.status, details: string): GrpcError => ({ code, details });

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

let cachedDefinition: grpc.ServiceDefinition | undefined;
/** shop.orders.v1.OrderService as grpc-js sees it (loaded once per process). */
export function ordersServiceDefinition(): grpc.ServiceDefinition {
  if (!cachedDefinition) {
    const packageDefinition = protoLoader.loadSync(ORDERS_PROTO_PATH, ORDERS_PROTO_OPTIONS);
    const client = packageDefinition[ORDERS_SERVICE_NAME] as unknown as grpc.ServiceDefinition | undefined;
    if (!client) throw new Error(`${ORDERS_PROTO_PATH} defines no ${ORDERS_SERVICE_NAME}`);
    cachedDefinition = client;
  }
  return cachedDefinition;
}

/** A grpc-js client constructor for OrderService (`new OrderServiceClient(target, credentials)`). */
export function ordersClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(ordersServiceDefinition(), 'OrderService');
}

function ordersSpec({ noteCancellation }: GrpcServiceHooks): GrpcServiceSpec {
  const store = createOrderStore();

  const GetOrder: Unary<{ id: string }, { order: Order }> = (call, callback) => {
    const order = store.byId.get(call.request.id);
    if (!order) return callback(fail(grpc.status.NOT_FOUND, `order "${call.request.id}" not found`));
    callback(null, { order });
  };

  const ListOrdersByUsers: Unary<{ user_ids: string[] }, { orders: Order[] }> = (call, callback) => {
    const orders: Order[] = [];
    for (const userId of new Set(call.request.user_ids)) orders.push(...(store.byUser.get(userId) ?? []));
    callback(null, { orders });
  };

  const ListUserOrders: Unary<{ user_ids: string[] }, { results: { user_id: string; orders: Order[] }[] }> = (
    call,
    callback,
  ) => {
    const results = [...new Set(call.request.user_ids)].map((userId) => ({
      user_id: userId,
      orders: store.byUser.get(userId) ?? [],
    }));
    callback(null, { results });
  };

  const CreateOrder: Unary<{ user_id: string; items: OrderItem[] }, { order: Order }> = (call, callback) => {
    const { user_id: userId, items } = call.request;
    if (userId === '') return callback(fail(grpc.status.INVALID_ARGUMENT, 'user_id is required'));
    if (items.length === 0) return callback(fail(grpc.status.INVALID_ARGUMENT, 'an order needs at least one item'));
    const bad = items.findIndex((item) => !(item.quantity >= 1));
    if (bad >= 0) {
      return callback(
        fail(grpc.status.INVALID_ARGUMENT, `items[${bad}].quantity must be >= 1, got ${items[bad]!.quantity}`),
      );
    }
    const withPrices = items.map((item) => ({
      product_id: item.product_id,
      quantity: item.quantity,
      unit_price: catalogPrice(item.product_id) ?? item.unit_price,
    }));
    callback(null, { order: store.create(userId, withPrices) });
  };

  const WatchOrders = (
    call: grpc.ServerWritableStream<{ user_id: string; count: number; interval_ms: number }, OrderEvent>,
  ): void => {
    const { user_id: userId } = call.request;
    const count = call.request.count === 0 ? DEFAULT_WATCH_COUNT : call.request.count;
    const intervalMs = call.request.interval_ms === 0 ? DEFAULT_WATCH_INTERVAL_MS : call.request.interval_ms;
    if (count < 0 || intervalMs < 0) {
      call.emit('error', fail(grpc.status.INVALID_ARGUMENT, 'count and interval_ms must not be negative'));
      return;
    }
    const source = userId === '' ? store.all : store.byUser.get(userId);
    if (!source || source.length === 0) {
      call.emit('error', fail(grpc.status.NOT_FOUND, `user "${userId}" has no orders`));
      return;
    }

    let sent = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    call.on('cancelled', () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      noteCancellation();
    });
    // Event i replays the lifecycle of order floor(i / 3): CREATED, PAID, SHIPPED.
    const tick = (): void => {
      if (done) return;
      const step = LIFECYCLE[sent % LIFECYCLE.length]!;
      const order = source[Math.floor(sent / LIFECYCLE.length) % source.length]!;
      sent += 1;
      call.write({ order: { ...order, status: step.status }, kind: step.kind });
      if (sent >= count) {
        done = true;
        call.end();
      } else {
        timer = setTimeout(tick, intervalMs);
      }
    };
    tick();
  };

  return {
    serviceName: ORDERS_SERVICE_NAME,
    definition: ordersServiceDefinition(),
    implementation: {
      GetOrder,
      ListOrdersByUsers,
      ListUserOrders,
      CreateOrder,
      WatchOrders,
    } as grpc.UntypedServiceImplementation,
  };
}

export function startOrdersService(opts: GrpcServiceOptions = {}): Promise<RunningGrpcService> {
  return startGrpcService(ordersSpec, opts);
}

if (isMainModule(import.meta.url)) {
  await runGrpcServiceCli('orders', startOrdersService);
}
