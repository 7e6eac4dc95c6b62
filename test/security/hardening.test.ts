// Query hardening (README, "Security and limits"), document side, through a real gateway over a real
// upstream: depth, aliases, tokens and directives each refuse with their code and the
// upstream sees no call, at the limit the query runs, undefined takes the default and 0 is
// off; batching off and on; --no-introspection refuses introspection and drops suggestions.
// The request side (CSRF, body size, IP lists, trusted documents) is in
// security-hardening-http.test.ts.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { getIntrospectionQuery } from 'graphql';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';
import {
  codes,
  nested,
  refusedBy,
  rejections,
  withHardening as security,
  startUsersUpstream,
  usersFiles,
} from '../helpers/hardening-fixtures.js';
import type { TestServer } from '../helpers/json-server.js';

let upstream: TestServer;
let files: () => Record<string, string>;
let refused: ReturnType<typeof refusedBy>;
before(async () => {
  upstream = await startUsersUpstream();
  files = () => usersFiles(upstream);
  refused = refusedBy(upstream);
});
after(() => upstream?.close());
beforeEach(() => {
  upstream.seen.length = 0;
});

describe('document limits: each refused with its code before any upstream call', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(files(), {
      security: security({ maxDepth: 4, maxAliases: 2, maxTokens: 40, maxDirectives: 2 }),
    });
  });
  after(() => h?.close());

  test('depth: at the limit runs, one more level is DEPTH_LIMIT_EXCEEDED (fragments add no level)', async () => {
    const ok = await h.query(nested(4));
    assert.deepEqual(ok.body.data, { user: { friend: { friend: { id: '3' } } } });
    upstream.seen.length = 0;
    await refused(await h.query(nested(5)), 400, 'DEPTH_LIMIT_EXCEEDED');
    const viaFragment = await h.query(
      `{ user(id: "1") { ...F } } fragment F on User { friend { friend { friend { id } } } }`,
    );
    await refused(viaFragment, 400, 'DEPTH_LIMIT_EXCEEDED');
    assert.match(viaFragment.body.errors![0]!.message, /depth limit of 4 exceeded, found 5/);
  });

  test('aliases: 2 run, 3 are ALIAS_LIMIT_EXCEEDED, also when hidden in a fragment', async () => {
    assert.equal((await h.query(`{ a: user(id: "1") { id } b: user(id: "2") { id } }`)).status, 200);
    upstream.seen.length = 0;
    await refused(
      await h.query(`{ a: user(id: "1") { id } b: user(id: "2") { id } c: user(id: "3") { id } }`),
      400,
      'ALIAS_LIMIT_EXCEEDED',
    );
    await refused(
      await h.query(`{ a: user(id: "1") { ...F } } fragment F on User { x: id y: name }`),
      400,
      'ALIAS_LIMIT_EXCEEDED',
    );
  });

  test('tokens: a document over 40 tokens is TOKEN_LIMIT_EXCEEDED, refused while parsing', async () => {
    const padding = Array.from({ length: 40 }, () => 'id').join(' ');
    await refused(await h.query(`{ user(id: "1") { ${padding} } }`), 400, 'TOKEN_LIMIT_EXCEEDED');
  });

  test('directives: 2 run, 3 are DIRECTIVE_LIMIT_EXCEEDED', async () => {
    assert.equal((await h.query(`{ user(id: "1") { id @include(if: true) name @skip(if: false) } }`)).status, 200);
    upstream.seen.length = 0;
    await refused(
      await h.query(`{ user(id: "1") @include(if: true) { id @include(if: true) name @skip(if: false) } }`),
      400,
      'DIRECTIVE_LIMIT_EXCEEDED',
    );
  });

  test('every refusal is counted, also a repeated one that yoga answers from its caches', async () => {
    const before = { depth: await rejections(h, 'depth'), tokens: await rejections(h, 'tokens') };
    const deep = nested(6);
    const long = `{ user(id: "1") { ${Array.from({ length: 40 }, () => 'name').join(' ')} } }`;
    for (let i = 0; i < 3; i++) {
      await h.query(deep);
      await h.query(long);
    }
    assert.equal(await rejections(h, 'depth'), before.depth + 3);
    assert.equal(await rejections(h, 'tokens'), before.tokens + 3);
  });
});

describe('default limits and 0 = off', () => {
  let defaults: Harness;
  let off: Harness;
  before(async () => {
    defaults = await startHarness(files()); // no security option: DEFAULT_SECURITY
    off = await startHarness(files(), { security: security({ maxDepth: 0, maxAliases: 0 }) });
  });
  after(async () => {
    await defaults?.close();
    await off?.close();
  });

  test('undefined limits take the defaults: depth 15, aliases 30', async () => {
    assert.equal((await defaults.query(nested(15))).status, 200);
    upstream.seen.length = 0;
    await refused(await defaults.query(nested(16)), 400, 'DEPTH_LIMIT_EXCEEDED');
    // armor does not count aliases of __typename, which cost nothing.
    const aliases = (n: number) =>
      `{ ${Array.from({ length: n }, (_v, i) => `a${i}: user(id: "1") { id }`).join(' ')} }`;
    assert.equal((await defaults.query(aliases(30))).status, 200);
    upstream.seen.length = 0;
    await refused(await defaults.query(aliases(31)), 400, 'ALIAS_LIMIT_EXCEEDED');
  });

  test("GraphiQL's full introspection query passes every default limit", async () => {
    const r = await defaults.query(
      getIntrospectionQuery({
        descriptions: true,
        specifiedByUrl: true,
        directiveIsRepeatable: true,
        schemaDescription: true,
        inputValueDeprecation: true,
      }),
    );
    assert.equal(r.status, 200, JSON.stringify(r.body.errors));
    assert.ok(r.body.data?.__schema);
  });

  test('0 turns a limit off', async () => {
    const r = await off.query(nested(20));
    assert.equal(r.status, 200);
    assert.equal(upstream.seen.length, 19);
  });
});

async function postBatch(h: Harness, operations: string[]): Promise<{ status: number; body: any }> {
  const res = await fetch(`${h.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify(operations.map((query) => ({ query }))),
  });
  return { status: res.status, body: await res.json() };
}

describe('batching', () => {
  let offByDefault: Harness;
  let two: Harness;
  before(async () => {
    offByDefault = await startHarness(files());
    two = await startHarness(files(), { security: security({ maxBatch: 2 }) });
  });
  after(async () => {
    await offByDefault?.close();
    await two?.close();
  });

  test('off by default: a batch is BATCH_LIMIT_EXCEEDED (400)', async () => {
    const r = await postBatch(offByDefault, ['{ user(id: "1") { id } }', '{ user(id: "2") { id } }']);
    await refused({ status: r.status, headers: new Headers(), body: r.body }, 400, 'BATCH_LIMIT_EXCEEDED');
  });

  test('maxBatch 2: two operations run, three are BATCH_LIMIT_EXCEEDED (413)', async () => {
    const ok = await postBatch(two, ['{ user(id: "1") { id } }', '{ user(id: "2") { id } }']);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(
      ok.body.map((r: any) => r.data),
      [{ user: { id: '1' } }, { user: { id: '2' } }],
    );
    upstream.seen.length = 0;
    const r = await postBatch(two, [
      '{ user(id: "1") { id } }',
      '{ user(id: "2") { id } }',
      '{ user(id: "3") { id } }',
    ]);
    await refused({ status: r.status, headers: new Headers(), body: r.body }, 413, 'BATCH_LIMIT_EXCEEDED');
  });
});

describe('--no-introspection', () => {
  let closed: Harness;
  let open: Harness;
  before(async () => {
    closed = await startHarness(files(), { security: security({ introspection: false }) });
    open = await startHarness(files());
  });
  after(async () => {
    await closed?.close();
    await open?.close();
  });

  test('__schema and __type are refused; __typename still works', async () => {
    for (const q of ['{ __schema { queryType { name } } }', '{ __type(name: "User") { name } }']) {
      const r = await closed.query(q);
      assert.equal(r.status, 400);
      assert.ok(
        codes(r).every((c) => c === 'GRAPHQL_VALIDATION_FAILED'),
        JSON.stringify(r.body),
      );
      assert.match(r.body.errors![0]!.message, /introspection has been disabled/);
      assert.equal(upstream.seen.length, 0);
    }
    assert.deepEqual((await closed.query('{ __typename }')).body.data, { __typename: 'Query' });
    assert.equal((await open.query('{ __schema { queryType { name } } }')).status, 200);
  });

  test('no "Did you mean" suggestion in errors', async () => {
    const typo = '{ user(id: "1") { nmae } }';
    assert.match((await open.query(typo)).body.errors![0]!.message, /Did you mean "name"\?/);
    const r = await closed.query(typo);
    await refused(r, 400, 'GRAPHQL_VALIDATION_FAILED');
    assert.equal(r.body.errors![0]!.message, 'Cannot query field "nmae" on type "User".');
    const argument = await closed.query('{ user(idd: "1") { id } }');
    assert.ok(
      argument.body.errors!.every((e) => !/Did you mean/.test(e.message)),
      JSON.stringify(argument.body),
    );
  });
});
