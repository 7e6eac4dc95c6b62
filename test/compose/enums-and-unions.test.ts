// Enums and abstract types as REST and gRPC services send them (README, "Enums, unions and
// interfaces"): @enumValue maps an upstream spelling both ways (results and arguments, REST
// and gRPC); an upstream value nothing maps is UPSTREAM_BAD_RESPONSE at that field, the rest
// of the result intact; @discriminator tells a union's or an interface's members apart by a
// property (with a types map, or by name); without it, `__typename` in the JSON does; and
// any other value graphql-js cannot fit into the schema is coded too, never an internal error.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { type RunningGrpcService, startOrdersService } from '../../demo/backends/orders.js';
import { assertExit, assertReported, runCheck, schemaFolder } from '../helpers/check-fixtures.js';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { demoSchema, ORDERS_PROTO_TEXT } from '../helpers/grpc-fixtures.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

const PETS = [
  { kind: 'dog', name: 'Rex', barks: true, status: 'for-sale' },
  { kind: 'cat', name: 'Tom', lives: 9, status: 'sold' },
  { kind: 'DOG', name: 'Odie', barks: false, status: 'on-hold' },
];

describe('enums and abstract types over REST', () => {
  let api: TestServer;
  let h: Harness;
  before(async () => {
    api = await startTestServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      const status = url.searchParams.get('status');
      switch (url.pathname) {
        case '/pets':
          return sendJson(res, 200, status ? PETS.filter((p) => p.status === status) : PETS);
        case '/odd-pets':
          return sendJson(res, 200, [PETS[0], { ...PETS[1], status: 'stolen' }]);
        case '/animals':
          return sendJson(res, 200, [
            { type: 'canine', name: 'Rex', barks: true },
            { type: 'feline', name: 'Tom', lives: 9 },
          ]);
        case '/unknown-animals':
          return sendJson(res, 200, [
            { type: 'canine', name: 'Rex', barks: true },
            { type: 'parrot', name: 'Polly' },
          ]);
        case '/tagged':
          return sendJson(res, 200, [
            { __typename: 'Cat', name: 'Tom', lives: 9 },
            { __typename: 'Dog', name: 'Rex', barks: true },
          ]);
        case '/untagged':
          return sendJson(res, 200, [{ name: 'Rex', barks: true }]);
        case '/broken':
          return sendJson(res, 200, { id: '1', title: null, count: 1 });
        case '/miscounted':
          return sendJson(res, 200, { id: '2', title: 't', count: 'many' });
        default:
          return sendJson(res, 404, {});
      }
    });
    h = await startHarness({
      'pets.graphql': `${httpUpstream('pets', [api.url])}
enum PetStatus {
  FOR_SALE @enumValue(value: "for-sale")
  SOLD @enumValue(value: "sold")
  ON_HOLD @enumValue(value: "on-hold")
}
"kind: dog or cat, in any case: the member whose name it is"
interface Pet @discriminator(field: "kind") { name: String! status: PetStatus! }
type Dog implements Pet { name: String! status: PetStatus! barks: Boolean }
type Cat implements Pet { name: String! status: PetStatus! lives: Int }
union Animal @discriminator(field: "type", types: [{ value: "canine", type: "Dog" }, { value: "feline", type: "Cat" }]) = Dog | Cat
union Tagged = Dog | Cat
type Broken { id: ID! title: String! count: Int }
type Query {
  pets(status: PetStatus): [Pet!]! @http(GET: "/pets?status={args.status}")
  oddPets: [Pet] @http(GET: "/odd-pets")
  animals: [Animal!]! @http(GET: "/animals")
  unknownAnimals: [Animal] @http(GET: "/unknown-animals")
  tagged: [Tagged!]! @http(GET: "/tagged")
  untagged: [Tagged] @http(GET: "/untagged")
  broken: Broken @http(GET: "/broken")
  miscounted: Broken @http(GET: "/miscounted")
  alsoOk: String @http(GET: "/pets")
}
`,
    });
  });
  after(async () => {
    await h?.close();
    await api?.close();
  });

  test('@enumValue: the upstream spelling becomes the GraphQL name, and an argument goes back spelled upstream', async () => {
    const all = await h.query('{ pets { name status } }');
    assert.deepEqual(
      all.body.data!.pets.map((p: { status: string }) => p.status),
      ['FOR_SALE', 'SOLD', 'ON_HOLD'],
    );
    api.seen.length = 0;
    const held = await h.query('{ pets(status: ON_HOLD) { name } }');
    assert.deepEqual(held.body, { data: { pets: [{ name: 'Odie' }] } });
    assert.equal(api.seen[0].url, '/pets?status=on-hold');
  });

  test('an upstream enum value nothing maps: UPSTREAM_BAD_RESPONSE at that field, the value not echoed', async () => {
    const r = await h.query('{ oddPets { name status } }');
    assert.deepEqual(r.body.data!.oddPets, [{ name: 'Rex', status: 'FOR_SALE' }, null]);
    const [error] = r.body.errors!;
    assert.deepEqual(error.path, ['oddPets', 1, 'status']);
    assert.equal(error.extensions!.code, 'UPSTREAM_BAD_RESPONSE');
    assert.ok(!JSON.stringify(r.body).includes('stolen'), 'the upstream value stays in the log');
    assert.ok(
      h.logs.some((l) => String(l.reason ?? '').includes('stolen')),
      'the log has it',
    );
  });

  test('@discriminator without types: the member named by the value, in any case', async () => {
    const r = await h.query('{ pets { __typename name ... on Dog { barks } ... on Cat { lives } } }');
    assert.deepEqual(r.body.data!.pets, [
      { __typename: 'Dog', name: 'Rex', barks: true },
      { __typename: 'Cat', name: 'Tom', lives: 9 },
      { __typename: 'Dog', name: 'Odie', barks: false },
    ]);
  });

  test('@discriminator with types: the member the value maps to', async () => {
    const r = await h.query('{ animals { __typename ... on Dog { name barks } ... on Cat { name lives } } }');
    assert.deepEqual(r.body, {
      data: {
        animals: [
          { __typename: 'Dog', name: 'Rex', barks: true },
          { __typename: 'Cat', name: 'Tom', lives: 9 },
        ],
      },
    });
  });

  test('a discriminator value no member has: UPSTREAM_BAD_RESPONSE at that item', async () => {
    const r = await h.query('{ unknownAnimals { __typename } }');
    assert.deepEqual(r.body.data, { unknownAnimals: [{ __typename: 'Dog' }, null] });
    assert.deepEqual(
      r.body.errors!.map((e) => [e.path, e.extensions!.code]),
      [[['unknownAnimals', 1], 'UPSTREAM_BAD_RESPONSE']],
    );
    assert.ok(!JSON.stringify(r.body).includes('parrot'));
  });

  test('without @discriminator, __typename in the JSON picks the member; without it, UPSTREAM_BAD_RESPONSE', async () => {
    const tagged = await h.query('{ tagged { __typename ... on Cat { lives } ... on Dog { barks } } }');
    assert.deepEqual(tagged.body, {
      data: {
        tagged: [
          { __typename: 'Cat', lives: 9 },
          { __typename: 'Dog', barks: true },
        ],
      },
    });
    const untagged = await h.query('{ untagged { __typename } alsoOk: __typename }');
    assert.deepEqual(untagged.body.data, { untagged: [null], alsoOk: 'Query' });
    assert.equal(untagged.body.errors![0].extensions!.code, 'UPSTREAM_BAD_RESPONSE');
  });

  test('data that does not fit the schema: a null for a non-null field and a string for an Int are coded', async () => {
    const r = await h.query('{ broken { id title count } miscounted { id title count } }');
    assert.deepEqual(r.body.data, { broken: null, miscounted: { id: '2', title: 't', count: null } });
    const codes = r.body.errors!.map((e) => [e.path!.join('.'), e.extensions!.code]);
    assert.deepEqual(codes.sort(), [
      ['broken.title', 'UPSTREAM_BAD_RESPONSE'],
      ['miscounted.count', 'UPSTREAM_BAD_RESPONSE'],
    ]);
    assert.ok(!JSON.stringify(r.body).includes('many'), 'the value is not echoed');
    assert.ok(r.body.errors!.every((e) => !e.message.includes('Unexpected error')));
  });
});

describe('@enumValue over gRPC', () => {
  let orders: RunningGrpcService;
  let h: Harness;
  before(async () => {
    orders = await startOrdersService();
    h = await startHarness({
      'orders.proto': ORDERS_PROTO_TEXT,
      'orders.graphql': demoSchema('orders.graphql', [`127.0.0.1:${orders.port}`], (text) =>
        text.replace(
          /enum OrderStatus \{[^}]*\}/,
          'enum OrderStatus { UNSPECIFIED @enumValue(value: "ORDER_STATUS_UNSPECIFIED") PENDING PAID SHIPPED }',
        ),
      ),
      'stub.graphql': `${httpUpstream('stub', ['http://127.0.0.1:1'])}
type Product @key(selectionSet: "{ id }") { id: ID! }
type Query { productsByIds(ids: [ID!]!): [Product]! @http(GET: "/p?ids={args.ids}") @merge(keyField: "id") }
`,
    });
  });
  after(async () => {
    await h?.close();
    await orders?.close();
  });

  test('a proto enum value mapped to a shorter GraphQL name, in results', async () => {
    const r = await h.query('{ order(id: "1-1") { id status } }');
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    assert.ok(['PENDING', 'PAID', 'SHIPPED', 'UNSPECIFIED'].includes(r.body.data!.order.status));
  });

  test('quilt check: a GraphQL enum must still represent every proto value after mapping', async () => {
    const fixture = schemaFolder({
      'orders.proto': ORDERS_PROTO_TEXT,
      'orders.graphql': demoSchema('orders.graphql', ['127.0.0.1:4021'], (text) =>
        text.replace(
          /enum OrderStatus \{[^}]*\}/,
          'enum OrderStatus { UNSPECIFIED @enumValue(value: "UNSET") PENDING PAID SHIPPED }',
        ),
      ),
    });
    try {
      const result = await runCheck(fixture.dir);
      assertExit(result, 1);
      assert.match(result.stderr, /enum OrderStatus lacks ORDER_STATUS_UNSPECIFIED of shop\.orders\.v1\.OrderStatus/);
    } finally {
      fixture.remove();
    }
  });
});

describe('quilt check: enum and discriminator problems', () => {
  test('two values spelled the same upstream, a discriminator naming a non-member, one enum spelled two ways', async () => {
    const fixture = schemaFolder({
      'a.graphql': `${httpUpstream('a', ['http://127.0.0.1:1'])}
enum Size { S @enumValue(value: "small") M @enumValue(value: "small") }
type Dog { name: String }
type Cat { name: String }
union Pet @discriminator(field: "kind", types: [{ value: "bird", type: "Bird" }]) = Dog | Cat
type Query { size: Size @http(GET: "/s") pet: Pet @http(GET: "/p") }
`,
      'b.graphql': `${httpUpstream('b', ['http://127.0.0.1:1'])}
enum Size { S @enumValue(value: "sm") M @enumValue(value: "small") }
type Query { otherSize: Size @http(GET: "/s") }
`,
    });
    try {
      const result = await runCheck(fixture.dir);
      assertExit(result, 1);
      assert.match(result.stderr, /Size\.M and Size\.S both map to "small"/);
      assertReported(
        result,
        fixture,
        'a.graphql',
        ['@discriminator'],
        /names type Bird, which is not one of its members \(Dog, Cat\)/,
      );
      assertReported(
        result,
        fixture,
        'b.graphql',
        ['@enumValue(value: "sm")'],
        /Size\.S is "sm" upstream here but "small" in another file/,
      );
    } finally {
      fixture.remove();
    }
  });
});

describe('a union over a gRPC oneof', () => {
  const PETS_PROTO = new URL('../fixtures/grpc/pets.proto', import.meta.url);
  const union = (
    discriminator: string,
  ) => `extend schema @upstream(name: "pets", protocol: GRPC, proto: "pets.proto", service: "quilt.test.pets.PetService", replicas: [{ url: "127.0.0.1:PORT" }])
union Pet ${discriminator} = Dog | Cat
type Dog { name: String @from(path: "dog.name") barks: Boolean @from(path: "dog.barks") }
type Cat { name: String @from(path: "cat.name") lives: Int @from(path: "cat.lives") }
type Query { pets: [Pet!]! @grpc(method: "ListPets", result: "pets") }
`;
  let server: grpc.Server;
  let port = 0;
  before(async () => {
    const definition = protoLoader.loadSync(PETS_PROTO.pathname, { keepCase: true, defaults: true, oneofs: true });
    const service = (grpc.loadPackageDefinition(definition).quilt as any).test.pets.PetService.service;
    server = new grpc.Server();
    server.addService(service, {
      ListPets: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { pets: [{ dog: { name: 'Rex', barks: true } }, { cat: { name: 'Tom', lives: 9 } }] }),
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
  });
  after(() => server?.forceShutdown());

  test('@discriminator on the oneof name, members reading their message by @from', async () => {
    const h = await startHarness({
      'pets.proto': readFileSync(PETS_PROTO, 'utf8'),
      'pets.graphql': union(
        '@discriminator(field: "kind", types: [{ value: "dog", type: "Dog" }, { value: "cat", type: "Cat" }])',
      ).replace('PORT', String(port)),
    });
    try {
      const r = await h.query('{ pets { __typename ... on Dog { name barks } ... on Cat { name lives } } }');
      assert.deepEqual(r.body, {
        data: {
          pets: [
            { __typename: 'Dog', name: 'Rex', barks: true },
            { __typename: 'Cat', name: 'Tom', lives: 9 },
          ],
        },
      });
    } finally {
      await h.close();
    }
  });

  test('without @discriminator: a check problem, since a gRPC reply has no __typename', async () => {
    const fixture = schemaFolder({
      'pets.proto': readFileSync(PETS_PROTO, 'utf8'),
      'pets.graphql': union('').replace('PORT', String(port)),
    });
    try {
      const result = await runCheck(fixture.dir);
      assertExit(result, 1);
      assert.match(
        result.stderr,
        /Pet is a union or interface over quilt\.test\.pets\.Pet, and a gRPC reply carries no __typename; add @discriminator/,
      );
    } finally {
      fixture.remove();
    }
  });
});
