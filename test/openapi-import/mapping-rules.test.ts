// Each mapping rule of the README's "OpenAPI mapping" table, end to end: the hand-made Pet
// Shop document (test/fixtures/openapi/pet-shop.ts) is imported by the CLI, the file is
// served unedited by the gateway against a real upstream on 127.0.0.1, and the test checks
// what a client gets and what reached the upstream: the url with its base path, the headers,
// cookies and credentials, the JSON and form bodies under the document's own keys.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { petShopDocument } from '../fixtures/openapi/pet-shop.js';
import { type Harness, payload, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import {
  type ImportRun,
  importOpenApi,
  removeTempDirs,
  reported,
  tempDir,
  writeDocument,
} from '../helpers/openapi-import.js';

const ENV = { PET_SHOP_API_KEY: 'key-1', PET_SHOP_BEARER: 'tok-2', PET_SHOP_QUERY_KEY: 'qk-3' };

const ORDER = {
  id: 12345678901234,
  placedAt: '2026-12-04T10:00:00Z',
  createdMs: 1733300000000,
  quantity: 2,
  status: 'in-transit',
  note: null,
  meta: { gift: true, tags: ['a', { b: 1 }] },
  internalId: 'int-1',
  'shipping-address': { city: 'Lyon', 'zip-code': '69001' },
  '@odata.etag': 'W/"1"',
};

function shop(req: { method: string; url: string; body: string }, res: Parameters<typeof sendJson>[0]): unknown {
  const url = new URL(req.url, 'http://x');
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /shop/v2/pets')
    return sendJson(res, 200, [
      { petType: 'dog', name: 'Rex', 'bark-volume': 7 },
      { petType: 'cat', name: 'Tom', lives: 9 },
    ]);
  if (route === 'GET /shop/v2/pets/42') return sendJson(res, 200, { petType: 'cat', name: 'Tom', lives: 9 });
  if (route === 'GET /shop/v2/animals')
    return sendJson(res, 200, [
      { kind: 'Bird', wingspan: 1.5 },
      { kind: 'fish', fins: 4 },
    ]);
  if (route === 'GET /shop/v2/vehicles')
    return sendJson(res, 200, [
      { kind: 'car', wheels: 4, seats: 5 },
      { kind: 'Truck', wheels: 6, payload: 12.5 },
    ]);
  if (route === 'GET /shop/v2/shapes') return sendJson(res, 200, [{ radius: 2 }, { side: 3 }]);
  if (route === 'GET /shop/v2/orders/12345678901234') return sendJson(res, 200, ORDER);
  if (route === 'GET /shop/v2/orders/7/label') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    return res.end('LABEL #7');
  }
  if (route === 'POST /shop/v2/orders') return sendJson(res, 201, { ...JSON.parse(req.body), internalId: 'int-9' });
  if (route === 'DELETE /shop/v2/orders/5') {
    res.writeHead(204);
    return res.end();
  }
  if (route === 'POST /shop/v2/subscriptions') return sendJson(res, 201, { subscribed: true });
  sendJson(res, 404, { message: `no route ${route}` });
}

describe('OpenAPI mapping rules, served against a real upstream', () => {
  let upstream: TestServer;
  let run: ImportRun;
  let h: Harness;
  before(async () => {
    upstream = await startTestServer(shop);
    const dir = tempDir();
    const spec = writeDocument(join(dir, 'pet-shop.json'), petShopDocument(Number(new URL(upstream.url).port)));
    run = await importOpenApi(spec, join(dir, 'pet-shop.graphql'));
    assert.equal(run.code, 0, run.stderr.join('\n'));
    h = await startHarness({ 'pet-shop.graphql': run.text! }, { env: { ...process.env, ...ENV } });
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
    removeTempDirs();
  });
  const seen = (method: string, path: string) =>
    upstream.seen.filter((r) => r.method === method && r.url.startsWith(path));

  test("the replica is servers[0] with its variables' defaults and base path; credentials come from env", () => {
    const port = new URL(upstream.url).port;
    assert.match(run.text!, new RegExp(`replicas: \\[\\{ url: "http://127\\.0\\.0\\.1:${port}/shop/v2" \\}\\]`));
    assert.match(run.text!, /\{ name: "x-api-key", value: "\{env\.PET_SHOP_API_KEY\}" \}/);
    assert.match(run.text!, /\{ name: "authorization", value: "Bearer \{env\.PET_SHOP_BEARER\}" \}/);
    assert.ok(
      reported(run).includes(
        'set PET_SHOP_API_KEY, PET_SHOP_BEARER, PET_SHOP_QUERY_KEY before serving (the credentials of its security schemes)',
      ),
    );
  });

  test('a oneOf with a discriminator is a union: mapping by $ref and by name; parameters, header, cookie and apiKey reach the upstream', async () => {
    const res = await h.query(
      `{ listPets(limit: 2, tags: ["a", "b"], xRequestId: "r-1", session: "s-1") {
          __typename ... on Dog { name barkVolume } ... on Cat { name lives } } }`,
    );
    assert.deepEqual(payload(res.body), {
      data: {
        listPets: [
          { __typename: 'Dog', name: 'Rex', barkVolume: 7 },
          { __typename: 'Cat', name: 'Tom', lives: 9 },
        ],
      },
    });
    const [call] = seen('GET', '/shop/v2/pets?');
    assert.equal(call.url, '/shop/v2/pets?limit=2&tags=a&tags=b');
    assert.equal(call.headers['x-request-id'], 'r-1');
    assert.equal(call.headers.cookie, 'session=s-1');
    assert.equal(call.headers['x-api-key'], 'key-1');
    assert.match(
      run.text!,
      /union Pet @discriminator\(field: "petType", types: \[\{ value: "cat", type: "Cat" \}, \{ value: "dog", type: "Dog" \}\]\) = Dog \| Cat/,
    );
  });

  test('a 404 on a single object is null; an int64 path parameter is a String', async () => {
    const res = await h.query(
      '{ found: getPet(petId: "42") { ... on Cat { name } } missing: getPet(petId: "404") { __typename } }',
    );
    assert.deepEqual(payload(res.body), { data: { found: { name: 'Tom' }, missing: null } });
    assert.match(run.text!, /getPet\(petId: String!\): Pet @http\(GET: "\/pets\/\{args\.petId\}"\)/);
  });

  test("implicit mapping by schema name or by the member's own enum, and allOf over a discriminated base is an interface", async () => {
    const res = await h.query(`{
      listAnimals { __typename ... on Bird { wingspan } ... on Fish { fins } }
      listVehicles { __typename kind wheels ... on Car { seats } ... on Truck { payload } } }`);
    assert.deepEqual(payload(res.body), {
      data: {
        listAnimals: [
          { __typename: 'Bird', wingspan: 1.5 },
          { __typename: 'Fish', fins: 4 },
        ],
        listVehicles: [
          { __typename: 'Car', kind: 'car', wheels: 4, seats: 5 },
          { __typename: 'Truck', kind: 'Truck', wheels: 6, payload: 12.5 },
        ],
      },
    });
    assert.match(run.text!, /type Car implements Vehicle \{/);
    assert.match(
      run.text!,
      /union Animal @discriminator\(field: "kind", types: \[\{ value: "fish", type: "Fish" \}, \{ value: "Bird", type: "Bird" \}, \{ value: "Fish", type: "Fish" \}\]\) = Bird \| Fish/,
    );
    assert.match(
      run.text!,
      /interface Vehicle @discriminator\(field: "kind", types: \[\{ value: "car", type: "Car" \}, \{ value: "Truck", type: "Truck" \}\]\)/,
    );
  });

  test('a oneOf without a discriminator is the JSON scalar, as the upstream sent it, and the report says so', async () => {
    const res = await h.query('{ listShapes }');
    assert.deepEqual(payload(res.body), { data: { listShapes: [{ radius: 2 }, { side: 3 }] } });
    assert.ok(
      reported(run).includes(
        'note #/components/schemas/Shape: a oneOf without a discriminator cannot be told apart by __typename: served as the JSON scalar',
      ),
    );
  });

  test('int64 is a String, digits kept; an integer without a format is a Float; enums, nullable, free-form, renamed keys', async () => {
    const res = await h.query(`{ getOrder(id: "12345678901234") {
      id createdMs quantity status note meta placedAt odataEtag shippingAddress { city zipCode } } }`);
    assert.deepEqual(payload(res.body), {
      data: {
        getOrder: {
          id: '12345678901234',
          createdMs: 1733300000000,
          quantity: 2,
          status: 'IN_TRANSIT',
          note: null,
          meta: { gift: true, tags: ['a', { b: 1 }] },
          placedAt: '2026-12-04T10:00:00Z',
          odataEtag: 'W/"1"',
          shippingAddress: { city: 'Lyon', zipCode: '69001' },
        },
      },
    });
    assert.equal(seen('GET', '/shop/v2/orders/12345678901234')[0].url, '/shop/v2/orders/12345678901234?api_key=qk-3');
    assert.match(run.text!, /odataEtag: String @from\(key: "@odata\.etag"\)/);
    assert.match(run.text!, /IN_TRANSIT @enumValue\(value: "in-transit"\)/);
  });

  test('readOnly stays out of inputs and writeOnly out of outputs; a JSON body goes out under its own keys with the bearer token', async () => {
    const order = /type Order \{[^}]*\}/.exec(run.text!)![0];
    const input = /input OrderInput \{[^}]*\}/.exec(run.text!)![0];
    assert.ok(order.includes('internalId: String') && !order.includes('secret'));
    assert.ok(input.includes('secret: String') && !input.includes('internalId'));
    const res = await h.query(
      `mutation($o: OrderInput!) { createOrder(input: $o) { id internalId status shippingAddress { zipCode } } }`,
      {
        o: {
          id: '77',
          placedAt: '2026-12-04T11:00:00Z',
          status: 'IN_TRANSIT',
          secret: 's3',
          odataEtag: 'e1',
          shippingAddress: { city: 'Nice', zipCode: '06000' },
        },
      },
    );
    assert.deepEqual(payload(res.body), {
      data: {
        createOrder: { id: '77', internalId: 'int-9', status: 'IN_TRANSIT', shippingAddress: { zipCode: '06000' } },
      },
    });
    const [call] = seen('POST', '/shop/v2/orders');
    assert.deepEqual(JSON.parse(call.body), {
      id: '77',
      placedAt: '2026-12-04T11:00:00Z',
      status: 'in-transit',
      secret: 's3',
      '@odata.etag': 'e1',
      'shipping-address': { city: 'Nice', 'zip-code': '06000' },
    });
    assert.equal(call.headers.authorization, 'Bearer tok-2');
    assert.equal(call.headers['content-type'], 'application/json');
  });

  test('204 is Boolean true, text/plain is a String, a urlencoded form body is sent as a form', async () => {
    const res = await h.query(
      `mutation { deleteOrder(id: "5") subscribe(input: { email: "a@b.c", plan: PRO_PLUS }) { subscribed } }`,
    );
    assert.deepEqual(payload(res.body), { data: { deleteOrder: true, subscribe: { subscribed: true } } });
    const [form] = seen('POST', '/shop/v2/subscriptions');
    assert.equal(form.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(form.body, 'email=a%40b.c&plan=pro-plus');
    const label = await h.query('{ getOrderLabel(id: "7") }');
    assert.deepEqual(payload(label.body), { data: { getOrderLabel: 'LABEL #7' } });
  });

  test('what a schema file cannot express is on stderr with its JSON pointer, and left out', () => {
    const lines = reported(run);
    for (const expected of [
      'left out #/paths/~1orders/post/callbacks: callbacks are not served: the gateway makes calls, it does not take them',
      "left out #/paths/~1pets/get/parameters/4: the Accept header is the gateway's to send",
      'left out #/paths/~1pets~1{petId}/head: HEAD has no @http verb (GET, POST, PUT, PATCH, DELETE)',
      'left out #/paths/~1photos/post/requestBody: a multipart/form-data request body cannot be sent (the gateway sends JSON or a urlencoded form): operation left out',
    ])
      assert.ok(lines.includes(expected), `missing report: ${expected}\n${lines.join('\n')}`);
    assert.ok(!/uploadPhoto|petExists/.test(run.text!));
    assert.ok(
      lines.some((l) =>
        l.endsWith('(7 Query and 3 Mutation field(s) of 12 operation(s), 18 type(s), 4 part(s) left out)'),
      ),
      lines.join('\n'),
    );
  });
});
