// `quilt check` on gRPC sources: `node bin/quilt.js check DIR` as a child process. Each bad
// folder exits 1 and names the offending token as FILE:LINE:COLUMN (positions computed from
// the fixture text); the demo folder, gRPC source included, passes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { buildSchema, type GraphQLObjectType } from 'graphql';
import {
  assertExit,
  assertReported,
  type CheckResult,
  type Fixture,
  runCheck,
  schemaFolder,
} from '../helpers/check-fixtures.js';
import { mappingSchema, ORDERS_PROTO_TEXT } from '../helpers/grpc-fixtures.js';

const BROKEN_PROTO = readFileSync(new URL('../fixtures/grpc/broken.proto', import.meta.url), 'utf8');

/** A stand-alone gRPC source over orders.proto (no entity references to other sources). */
const ordersFile = (
  opts: {
    proto?: string;
    service?: string;
    orderFields?: string;
    statusEnum?: string;
    query?: string;
    extra?: string;
  } = {},
) => `extend schema
  @upstream(
    name: "orders"
    protocol: GRPC
    proto: "${opts.proto ?? 'orders.proto'}"
    service: "${opts.service ?? 'shop.orders.v1.OrderService'}"
    replicas: [{ url: "127.0.0.1:9" }]
  )

enum OrderStatus {
  ${opts.statusEnum ?? 'ORDER_STATUS_UNSPECIFIED PENDING PAID SHIPPED'}
}

type Order {
  id: ID!
  status: OrderStatus!
  ${opts.orderFields ?? 'totalCents: String!'}
}

type Query {
  ${opts.query ?? 'order(id: ID!): Order @grpc(method: "GetOrder", request: { id: "{args.id}" }, result: "order")'}
}
${opts.extra ?? ''}`;

async function check(files: Record<string, string>, fn: (result: CheckResult, f: Fixture) => void): Promise<void> {
  const fixture = schemaFolder(files);
  try {
    fn(await runCheck(fixture.dir), fixture);
  } finally {
    fixture.remove();
  }
}

/** The occurrence index of `token` at or after the first `anchor` in `text` (for assertReported). */
function tokenAfter(text: string, anchor: string, token: string): [string, number] {
  const from = text.indexOf(anchor);
  if (from < 0) throw new Error(`fixture error: ${anchor} not found`);
  const at = text.indexOf(token, from);
  let nth = 0;
  for (let i = text.indexOf(token); i >= 0 && i < at; i = text.indexOf(token, i + 1)) nth++;
  return [token, nth];
}

describe('quilt check: gRPC sources', { concurrency: 4 }, () => {
  test('the demo schemas folder (with the orders gRPC source) passes', async () => {
    const result = await runCheck('schemas');
    assertExit(result, 0);
    const schema = buildSchema(result.stdout);
    const user = schema.getType('User') as GraphQLObjectType;
    assert.ok(user.getFields().orders, 'User.orders from orders.graphql');
    assert.ok(schema.getQueryType()?.getFields().order, 'Query.order');
    assert.ok(schema.getSubscriptionType()?.getFields().orderEvents, 'Subscription.orderEvents');
    assert.doesNotMatch(result.stdout, /@grpc\b/, 'Quilt directives are not in the public SDL');
  });

  test('a good stand-alone gRPC source passes', () =>
    check({ 'orders.graphql': ordersFile(), 'orders.proto': ORDERS_PROTO_TEXT }, (r) => assertExit(r, 0)));

  test('a proto that does not exist', () =>
    check({ 'orders.graphql': ordersFile({ proto: 'missing/orders.proto' }) }, (r, f) => {
      assertExit(r, 1);
      assertReported(r, f, 'orders.graphql', ['proto:'], /missing\/orders\.proto/);
    }));

  test('a proto that does not parse: the message names the proto line', () =>
    check(
      {
        'orders.graphql': ordersFile({ proto: 'broken.proto', service: 'quilt.test.broken.Orders' }),
        'broken.proto': BROKEN_PROTO,
      },
      (r, f) => {
        assertExit(r, 1);
        // broken.proto misses the ';' of line 7; protobufjs stops at the next token, line 8 column 3.
        assertReported(r, f, 'orders.graphql', ['proto:'], /broken\.proto:8:3\b.*illegal token/);
      },
    ));

  test('an unknown service', () =>
    check(
      { 'orders.graphql': ordersFile({ service: 'shop.orders.v1.NoSuchService' }), 'orders.proto': ORDERS_PROTO_TEXT },
      (r, f) => {
        assertExit(r, 1);
        assertReported(r, f, 'orders.graphql', ['service:'], /shop\.orders\.v1\.NoSuchService/);
      },
    ));

  test('an unknown method', () => {
    const query = 'order(id: ID!): Order @grpc(method: "FetchOrder", request: { id: "{args.id}" }, result: "order")';
    return check({ 'orders.graphql': ordersFile({ query }), 'orders.proto': ORDERS_PROTO_TEXT }, (r, f) => {
      assertExit(r, 1);
      assertReported(r, f, 'orders.graphql', ['@grpc(method: "FetchOrder"', '"FetchOrder"'], /FetchOrder.*GetOrder/);
    });
  });

  test('a request template naming a field the request message lacks', () => {
    const query = 'order(id: ID!): Order @grpc(method: "GetOrder", request: { orderId: "{args.id}" }, result: "order")';
    return check({ 'orders.graphql': ordersFile({ query }), 'orders.proto': ORDERS_PROTO_TEXT }, (r, f) => {
      assertExit(r, 1);
      assertReported(r, f, 'orders.graphql', ['@grpc(method: "GetOrder"', 'orderId:'], /"orderId".*GetOrderRequest/);
    });
  });

  for (const type of ['Int', 'Float']) {
    test(`an int64 field typed ${type} is rejected`, () => {
      const text = ordersFile({ orderFields: `totalCents: ${type}!` });
      return check({ 'orders.graphql': text, 'orders.proto': ORDERS_PROTO_TEXT }, (r, f) => {
        assertExit(r, 1);
        assertReported(
          r,
          f,
          'orders.graphql',
          [tokenAfter(text, 'totalCents:', `${type}!`)],
          /Order\.totalCents.*int64/,
        );
      });
    });
  }

  test('a GraphQL enum missing a value of the proto enum', () => {
    const text = ordersFile({ statusEnum: 'ORDER_STATUS_UNSPECIFIED PENDING PAID' });
    return check({ 'orders.graphql': text, 'orders.proto': ORDERS_PROTO_TEXT }, (r, f) => {
      assertExit(r, 1);
      assertReported(r, f, 'orders.graphql', [tokenAfter(text, 'status:', 'OrderStatus!')], /OrderStatus.*SHIPPED/);
    });
  });

  test('a Subscription field on a unary method', () => {
    const extra =
      'type Subscription {\n  orderChanged(id: ID!): Order @grpc(method: "GetOrder", request: { id: "{args.id}" }, result: "order")\n}\n';
    const text = ordersFile({ extra });
    return check({ 'orders.graphql': text, 'orders.proto': ORDERS_PROTO_TEXT }, (r, f) => {
      assertExit(r, 1);
      assertReported(
        r,
        f,
        'orders.graphql',
        [tokenAfter(text, 'orderChanged', '@grpc'), tokenAfter(text, 'orderChanged', 'orderChanged')],
        /Subscription\.orderChanged.*unary/,
      );
    });
  });

  test('several problems in one folder are all reported', () => {
    const text = ordersFile({ orderFields: 'totalCents: Int!', statusEnum: 'PENDING PAID SHIPPED' });
    return check({ 'orders.graphql': text, 'orders.proto': ORDERS_PROTO_TEXT }, (r, f) => {
      assertExit(r, 1);
      assertReported(r, f, 'orders.graphql', [tokenAfter(text, 'totalCents:', 'Int!')], /totalCents/);
      assertReported(r, f, 'orders.graphql', [tokenAfter(text, 'status:', 'OrderStatus!')], /ORDER_STATUS_UNSPECIFIED/);
    });
  });
});

// The shape of a field (list or not, object or scalar) must fit the proto field too. Each of
// these schemas fails on every query that selects the field (a GraphQL "cannot represent" or
// "Expected Iterable" error at run time), so `quilt check` must reject it, at the type.
describe('quilt check: gRPC field shapes (mapping fixture)', { concurrency: 4 }, () => {
  test('the mapping schema as written passes (maps through a custom scalar, the oneof name as a String)', () =>
    check({ 'mapping.graphql': mappingSchema('127.0.0.1:9') }, (r) => assertExit(r, 0)));

  const cases: [string, string, string, string, RegExp][] = [
    [
      'a repeated proto field typed as a single value',
      '  bigs: [String!]!\n',
      '  bigs: String!\n',
      'String!',
      /Kitchen\.bigs/,
    ],
    [
      'a singular proto field typed as a list',
      '  text: String!\n',
      '  text: [String!]!\n',
      '[String!]!',
      /Kitchen\.text/,
    ],
    ['a message typed as a built-in scalar', '  tag: Tag\n', '  tag: String\n', 'String', /Kitchen\.tag\b/],
    [
      'a map typed as a built-in scalar',
      '  namesById: JSON\n',
      '  namesById: String\n',
      'String',
      /Kitchen\.namesById/,
    ],
    ['a map typed as an object type', '  tagsByName: JSON\n', '  tagsByName: Tag\n', 'Tag', /Kitchen\.tagsByName/],
  ];
  for (const [label, from, to, token, message] of cases) {
    test(label, () => {
      const good = mappingSchema('127.0.0.1:9');
      assert.ok(good.includes(from), `fixture error: ${from}`);
      const text = good.replace(from, to);
      return check({ 'mapping.graphql': text }, (r, f) => {
        assertExit(r, 1);
        assertReported(r, f, 'mapping.graphql', [tokenAfter(text, to, token)], message);
      });
    });
  }
});
