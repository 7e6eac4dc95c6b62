// The cache policy of an operation from @cacheControl (src/caching/cache-policy.ts), rule by
// rule against Apollo Server's documented behaviour, on a schema built with Quilt's own
// directive definitions; and the load-time checks of the directive (src/config/cache-control.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildSchema, parse } from 'graphql';
import { SchemaCachePolicy } from '../../src/caching/cache-policy.js';
import { SERVED_DIRECTIVES_SDL } from '../../src/config/directives.js';
import { loadSchemaFolder } from '../../src/config/load-folder.js';

const schema = buildSchema(`${SERVED_DIRECTIVES_SDL}
type Book @cacheControl(maxAge: 60) {
  title: String
  author: Author
  reviews: [Review] @cacheControl(maxAge: 30)
  publisher: Publisher @cacheControl(inheritMaxAge: true)
  notes: String @cacheControl(scope: PRIVATE)
}
type Author { name: String }
type Review @cacheControl(maxAge: 120) { stars: Int }
type Publisher { name: String }
type Secret @cacheControl(maxAge: 60) { code: String @requiresScopes(scopes: [["secret:read"]]) }
interface Media @cacheControl(maxAge: 20) { id: ID }
type Movie implements Media @cacheControl(maxAge: 90) { id: ID }
union Result @cacheControl(maxAge: 15) = Book | Movie
type Query {
  book: Book
  media: Media
  search: Result
  recent: Book @cacheControl(maxAge: 10)
  version: String
  pinned: String @cacheControl(maxAge: 300)
  secret: Secret
}
type Mutation { touch: Book }
`);
const policies = SchemaCachePolicy.of(schema);
const policy = (query: string, operationName?: string) => policies.policyOf(parse(query), operationName);

describe('cache policy of an operation (Apollo rules)', () => {
  test('a field returning a type takes its maxAge; scalars under it inherit', () => {
    assert.deepEqual(policy('{ book { title } }'), { maxAge: 60, scope: 'PUBLIC' });
  });
  test("a field's own hint replaces its type's", () => {
    assert.deepEqual(policy('{ recent { title } }'), { maxAge: 10, scope: 'PUBLIC' });
  });
  test('the smallest maxAge of the fields wins', () => {
    assert.deepEqual(policy('{ book { title reviews { stars } } }'), { maxAge: 30, scope: 'PUBLIC' });
    assert.deepEqual(policy('{ book { title } pinned }'), { maxAge: 60, scope: 'PUBLIC' });
  });
  test('a composite field without a hint is 0: not cacheable', () => {
    assert.deepEqual(policy('{ book { author { name } } }'), { maxAge: 0, scope: 'PUBLIC' });
  });
  test('inheritMaxAge: a composite field takes its parent maxAge instead of 0', () => {
    assert.deepEqual(policy('{ book { publisher { name } } }'), { maxAge: 60, scope: 'PUBLIC' });
  });
  test('a root scalar without a hint is 0; with one it is its hint', () => {
    assert.equal(policy('{ version }').maxAge, 0);
    assert.deepEqual(policy('{ pinned }'), { maxAge: 300, scope: 'PUBLIC' });
  });
  test('one PRIVATE field makes the operation PRIVATE', () => {
    assert.deepEqual(policy('{ book { title notes } }'), { maxAge: 60, scope: 'PRIVATE' });
  });
  test('interfaces and unions: the returned type named by the field, and fragments count', () => {
    assert.equal(policy('{ media { id } }').maxAge, 20);
    assert.equal(policy('{ search { ... on Book { title } } }').maxAge, 15);
    assert.equal(policy('{ search { ... on Book { author { name } } } }').maxAge, 0);
    assert.equal(policy('query Q { ...F } fragment F on Query { book { title reviews { stars } } }').maxAge, 30);
  });
  test('a field or type under @authenticated or @requiresScopes makes it PRIVATE', () => {
    assert.deepEqual(policy('{ secret { code } }'), { maxAge: 60, scope: 'PRIVATE' });
  });
  test('introspection, mutations and unknown operations are not cacheable', () => {
    assert.equal(policy('{ __schema { queryType { name } } }').maxAge, 0);
    assert.equal(policy('{ __typename book { title } }').maxAge, 60);
    assert.equal(policy('mutation { touch { title } }').maxAge, 0);
    assert.equal(policy('query A { pinned } query B { version }', 'A').maxAge, 300);
    assert.equal(policy('query A { pinned } query B { version }', 'B').maxAge, 0);
    assert.equal(policy('query A { pinned }', 'Nope').maxAge, 0);
  });
  test('a schema without @cacheControl turns the cache off', () => {
    assert.equal(policies.enabled, true);
    assert.equal(SchemaCachePolicy.of(buildSchema('type Query { a: String }')).enabled, false);
  });
});

describe('@cacheControl in schema files', () => {
  const load = async (body: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'quilt-cache-config-'));
    try {
      writeFileSync(
        join(dir, 'a.graphql'),
        `extend schema @upstream(name: "a", protocol: HTTP, replicas: [{ url: "http://127.0.0.1:1" }])\n${body}`,
      );
      return (await loadSchemaFolder(dir, {})).problems.map((p) => `${p.line}:${p.column} ${p.message}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test('is accepted on fields, objects, interfaces and unions', async () => {
    assert.deepEqual(
      await load(`type T @cacheControl(maxAge: 5, scope: PRIVATE) { a: String @cacheControl(inheritMaxAge: true) }
interface I @cacheControl(maxAge: 5) { a: String }
union U @cacheControl(maxAge: 1) = T
type Query { t: T @http(GET: "/t") @cacheControl(maxAge: 0) }`),
      [],
    );
  });
  test('a negative maxAge, an unknown scope, maxAge beside inheritMaxAge: each at its line', async () => {
    const problems = await load(`type Query {
  a: String @http(GET: "/a") @cacheControl(maxAge: -1)
  b: String @http(GET: "/b") @cacheControl(scope: SHARED)
  c: String @http(GET: "/c") @cacheControl(maxAge: 5, inheritMaxAge: true)
}`);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0]!, /^3:52 @cacheControl\(maxAge\) expected seconds, an integer of 0 or more; received -1/);
    assert.match(problems[1]!, /^4:51 @cacheControl\(scope\) expected one of PUBLIC, PRIVATE; received SHARED/);
    assert.match(problems[2]!, /^5:55 @cacheControl\(inheritMaxAge\) expected no maxAge beside it/);
  });
  test('httpCache on an upstream that is not HTTP is a problem at its line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quilt-cache-config-'));
    try {
      writeFileSync(
        join(dir, 'g.graphql'),
        `extend schema @upstream(name: "g", protocol: GRAPHQL, replicas: [{ url: "http://127.0.0.1:1/graphql" }],
  httpCache: true)
type Query { a: String }`,
      );
      writeFileSync(
        join(dir, 'h.graphql'),
        `extend schema @upstream(name: "h", protocol: HTTP, replicas: [{ url: "http://127.0.0.1:1" }], httpCache: "yes")
type Query { b: String @http(GET: "/b") }`,
      );
      const problems = (await loadSchemaFolder(dir, {})).problems.map(
        (p) => `${p.file.endsWith('g.graphql') ? 'g' : 'h'}:${p.line}:${p.column} ${p.message}`,
      );
      assert.deepEqual(problems.sort(), [
        'g:2:3 @upstream(httpCache) expected an HTTP upstream (GET answers are what it caches); received protocol GRAPHQL',
        'h:1:106 @upstream(httpCache) expected Boolean; received "yes"',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
