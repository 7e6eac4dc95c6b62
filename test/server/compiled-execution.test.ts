// Compiled execution (README, "Compiled execution"): operations run as code graphql-jit
// compiled once per schema and document. The same documents give the same answers, errors
// and codes as graphql-js's executor (--no-compiled-execution); a reload compiles again, so
// a document asked before and after it runs on the schema being served.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

const PETS = [
  { id: 1, name: 'Rex', kind: 'dog', barks: true, status: 'in-stock' },
  { id: 2, name: 'Tom', kind: 'cat', lives: 9, status: 'sold' },
  { id: 3, name: 'Polly', kind: 'parrot', status: 'in-stock' },
];

function petsSchema(url: string, listPath = '/pets'): string {
  return `${httpUpstream('pets', [url])}
enum Status { IN_STOCK @enumValue(value: "in-stock") SOLD @enumValue(value: "sold") }
interface Pet @discriminator(field: "kind") { id: ID! name: String! status: Status }
type Dog implements Pet { id: ID! name: String! status: Status barks: Boolean }
type Cat implements Pet { id: ID! name: String! status: Status lives: Int }
type Query {
  pets: [Pet]! @http(GET: "${listPath}")
  pet(id: ID!): Pet @http(GET: "/pets/{args.id}")
  broken: Pet! @http(GET: "/broken")
  failing: String @http(GET: "/fail")
}
`;
}

/** Queries whose answers hold data, field errors, codes, paths and null propagation. */
const QUERIES = [
  '{ pets { __typename id name status ... on Dog { barks } ... on Cat { lives } } }',
  'query Named($id: ID!) { one: pet(id: $id) { id name } two: pet(id: "2") { ...Bits } } fragment Bits on Pet { name status }',
  '{ pet(id: "404") { id } failing }',
  '{ broken { id name } }',
  'query A { pets { id } } query B { failing }',
];

describe('compiled execution', () => {
  let backend: TestServer;
  const gateways: Harness[] = [];
  let compiled: Harness;
  let interpreted: Harness;

  before(async () => {
    backend = await startTestServer((req, res) => {
      const path = req.url.split('?')[0];
      if (path === '/pets' || path === '/v2/pets')
        return sendJson(res, 200, path === '/pets' ? PETS : PETS.slice(0, 1));
      if (path === '/broken') return sendJson(res, 200, { id: 9, kind: 'dog' });
      if (path === '/fail') return sendJson(res, 500, { error: 'boom' });
      const pet = PETS.find((p) => `/pets/${p.id}` === path);
      return pet ? sendJson(res, 200, pet) : sendJson(res, 404, {});
    });
    compiled = await startHarness({ 'pets.graphql': petsSchema(backend.url) });
    interpreted = await startHarness({ 'pets.graphql': petsSchema(backend.url) }, { compiledExecution: false });
    gateways.push(compiled, interpreted);
  });
  after(async () => {
    for (const g of gateways) await g.close();
    await backend?.close();
  });

  test('every query answers exactly as graphql-js does: data, errors, paths and codes', async () => {
    for (const query of QUERIES) {
      const operationName = query.startsWith('query A') ? 'B' : undefined;
      const ask = (h: Harness) =>
        fetch(`${h.gateway.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body: JSON.stringify({ query, variables: { id: '1' }, operationName }),
        }).then(async (r) => ({ status: r.status, body: await r.json() }));
      // Twice each: the second request runs the cached compiled function.
      for (let i = 0; i < 2; i++) {
        const [jit, js] = await Promise.all([ask(compiled), ask(interpreted)]);
        assert.deepEqual(jit, js, query);
      }
    }
    const pets = await compiled.query('{ pets { __typename id } }');
    assert.deepEqual(pets.body.data?.pets, [{ __typename: 'Dog', id: '1' }, { __typename: 'Cat', id: '2' }, null]);
    assert.equal(pets.body.errors?.[0]?.extensions?.code, 'UPSTREAM_BAD_RESPONSE');
    assert.deepEqual(pets.body.errors?.[0]?.path, ['pets', 2]);
  });

  test('a reload compiles again: the same document runs on the schema being served', async () => {
    const query = '{ pets { id } }';
    assert.equal((await compiled.query(query)).body.data?.pets.length, 3);
    compiled.writeSchema('pets.graphql', petsSchema(backend.url, '/v2/pets'));
    const reloaded = await compiled.gateway.manager.reload();
    assert.ok(reloaded.ok);
    assert.deepEqual((await compiled.query(query)).body.data?.pets, [{ id: '1' }]);
    assert.ok(backend.seen.some((r) => r.url === '/v2/pets'));
  });
});
