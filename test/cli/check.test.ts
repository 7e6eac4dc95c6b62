// `quilt check [DIR]` as a user runs it: `node bin/quilt.js check DIR` in a child process.
// A good folder prints the composed SDL and exits 0; a bad one exits 1 and names every
// problem as FILE:LINE:COLUMN (README, "Commands" and "Schema files"). Positions are computed from the
// fixture text, so each assertion is the exact line:column of the offending token.
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildSchema, type GraphQLObjectType } from 'graphql';
import {
  assertExit,
  assertReported,
  envWithout,
  type Fixture,
  runCheck,
  schemaFolder,
  UPSTREAM_A,
  UPSTREAM_B,
} from '../helpers/check-fixtures.js';

async function withFolder<T>(files: Record<string, string>, fn: (f: Fixture) => Promise<T>): Promise<T> {
  const fixture = schemaFolder(files);
  try {
    return await fn(fixture);
  } finally {
    fixture.remove();
  }
}

/** A valid HTTP source with a Query field; `extra` is appended to the file. */
const helloFile = (extra = '') => `${UPSTREAM_A}
type Query {
  hello: String @http(GET: "/hello")
}
${extra}`;

// Two sources that share a User; `aId`/`bId` are the types each gives User.id.
const usersFile = (aId: string) => `${UPSTREAM_A}
type User @key(selectionSet: "{ id }") {
  id: ${aId}
  name: String
}

type Query {
  usersByIds(ids: [ID!]!): [User]! @http(GET: "/users?ids={args.ids}") @merge(keyField: "id")
}
`;
const reviewsFile = (bId: string) => `${UPSTREAM_B}
type Review {
  id: ID!
  text: String
  userId: ID
}

type User @key(selectionSet: "{ id }") {
  id: ${bId}
  reviews: [Review!]! @http(GET: "/reviews?userId={keys}", key: "{parent.id}", match: "userId")
}

type Query {
  topReviewer: User @http(GET: "/top-reviewer")
}
`;

describe('quilt check', { concurrency: 4 }, () => {
  test('the demo schemas folder composes: exit 0 and the composed SDL on stdout', async () => {
    const result = await runCheck('schemas');
    assertExit(result, 0);
    assert.match(result.stdout, /^type User\b/m);
    const schema = buildSchema(result.stdout);
    const user = schema.getType('User') as GraphQLObjectType;
    assert.ok(user, 'the composed SDL defines User');
    const fields = Object.keys(user.getFields());
    assert.ok(fields.includes('posts'), `User has posts (from users.graphql): ${fields}`);
    assert.ok(fields.includes('products'), `User has products (from products.graphql): ${fields}`);
    assert.ok(schema.getQueryType()?.getFields().user, 'Query.user');
    assert.ok(schema.getQueryType()?.getFields().product, 'Query.product');
    assert.doesNotMatch(
      result.stdout,
      /@(upstream|http|from|merge|key)\b/,
      'Quilt directives are not in the public SDL',
    );
  });

  test('a GraphQL syntax error', async () => {
    const text = `${UPSTREAM_A}
type Query {
  hello String @http(GET: "/hello")
}
`;
    await withFolder({ 'broken.graphql': text }, async (f) => {
      const result = await runCheck(f.dir);
      assertExit(result, 1);
      // Expected ":", found Name "String".
      assertReported(result, f, 'broken.graphql', ['String'], /Syntax Error/);
    });
  });

  test('an unknown directive', async () => {
    const text = `${UPSTREAM_A}
type Query {
  hello: String @http(GET: "/hello") @cache(maxAge: 30)
}
`;
    await withFolder({ 'a.graphql': text }, async (f) => {
      const result = await runCheck(f.dir);
      assertExit(result, 1);
      assertReported(result, f, 'a.graphql', ['@cache'], /Unknown directive "@cache"/);
    });
  });

  test('an unknown directive argument', async () => {
    const text = `${UPSTREAM_A}
type Query {
  hello: String @http(GET: "/hello", retries: 2)
}
`;
    await withFolder({ 'a.graphql': text }, async (f) => {
      const result = await runCheck(f.dir);
      assertExit(result, 1);
      assertReported(result, f, 'a.graphql', ['retries'], /retries/);
    });
  });

  describe('a directive argument of the wrong type', () => {
    test('on @upstream (timeoutMs: "fast")', async () => {
      const text = `extend schema @upstream(name: "a", protocol: HTTP, replicas: [{ url: "http://127.0.0.1:9" }], timeoutMs: "fast")

type Query {
  hello: String @http(GET: "/hello")
}
`;
      await withFolder({ 'a.graphql': text }, async (f) => {
        const result = await runCheck(f.dir);
        assertExit(result, 1);
        assertReported(result, f, 'a.graphql', ['"fast"', 'timeoutMs'], /timeoutMs/);
      });
    });

    test('on @http of a field (maxBatchSize: "lots")', async () => {
      const text = `${UPSTREAM_A}
type Query {
  hello: String @http(GET: "/hello", maxBatchSize: "lots")
}
`;
      await withFolder({ 'a.graphql': text }, async (f) => {
        const result = await runCheck(f.dir);
        assertExit(result, 1);
        assertReported(result, f, 'a.graphql', ['"lots"', 'maxBatchSize'], /maxBatchSize/);
      });
    });

    test('on @key of a type (selectionSet: 5)', async () => {
      const text = `${UPSTREAM_A}
type User @key(selectionSet: 5) {
  id: ID!
}

type Query {
  user(id: ID!): User @http(GET: "/users/{args.id}")
}
`;
      await withFolder({ 'a.graphql': text }, async (f) => {
        const result = await runCheck(f.dir);
        assertExit(result, 1);
        assertReported(result, f, 'a.graphql', ['5)', 'selectionSet'], /selectionSet/);
      });
    });
  });

  describe('{env.NAME}', () => {
    const text = `extend schema
  @upstream(
    name: "a"
    protocol: HTTP
    replicas: [{ url: "{env.QUILT_CHECK_TEST_URL}" }]
  )

type Query {
  hello: String @http(GET: "/hello")
}
`;
    test('an unset variable is a load error at its position', async () => {
      await withFolder({ 'a.graphql': text }, async (f) => {
        const result = await runCheck(f.dir, envWithout('QUILT_CHECK_TEST_URL'));
        assertExit(result, 1);
        // The string literal holding the placeholder (or the placeholder inside it).
        assertReported(
          result,
          f,
          'a.graphql',
          ['"{env.QUILT_CHECK_TEST_URL}"', '{env.QUILT_CHECK_TEST_URL}'],
          /QUILT_CHECK_TEST_URL/,
        );
        assert.equal(
          result.stderr.split('\n').filter((l) => l.includes('a.graphql:')).length,
          1,
          `only the real problem is reported:\n${result.stderr}`,
        );
      });
    });

    test('a set variable is substituted and the folder composes', async () => {
      await withFolder({ 'a.graphql': text }, async (f) => {
        const result = await runCheck(f.dir, { ...process.env, QUILT_CHECK_TEST_URL: 'http://127.0.0.1:9' });
        assertExit(result, 0);
        assert.match(result.stdout, /hello: String/);
      });
    });
  });

  test('symlinked schema files are sources (a ConfigMap mount is a folder of symlinks)', async () => {
    const real = schemaFolder({ 'hello.graphql': helloFile() });
    const linked = schemaFolder({});
    try {
      symlinkSync(join(real.dir, 'hello.graphql'), join(linked.dir, 'hello.graphql'));
      const result = await runCheck(linked.dir);
      assertExit(result, 0);
      assert.match(result.stdout, /hello: String/);
    } finally {
      real.remove();
      linked.remove();
    }
  });

  describe('@merge without a usable key', () => {
    test('no keyField and no @key on the type', async () => {
      const text = `${UPSTREAM_A}
type User {
  id: ID!
  name: String
}

type Query {
  usersByIds(ids: [ID!]!): [User]!
    @http(GET: "/users?ids={args.ids}")
    @merge
}
`;
      await withFolder({ 'a.graphql': text }, async (f) => {
        const result = await runCheck(f.dir);
        assertExit(result, 1);
        assertReported(result, f, 'a.graphql', ['@merge'], /@merge/);
      });
    });

    test('keyField naming a field the type does not have', async () => {
      const text = `${UPSTREAM_A}
type User @key(selectionSet: "{ id }") {
  id: ID!
  name: String
}

type Query {
  usersByIds(ids: [ID!]!): [User]!
    @http(GET: "/users?ids={args.ids}")
    @merge(keyField: "uuid")
}
`;
      await withFolder({ 'a.graphql': text }, async (f) => {
        const result = await runCheck(f.dir);
        assertExit(result, 1);
        assertReported(result, f, 'a.graphql', ['@merge', 'keyField', '"uuid"'], /uuid/);
      });
    });
  });

  describe('a field type conflict across two files', () => {
    test('User.id: ID! in one file and Int in the other', async () => {
      await withFolder({ 'a.graphql': usersFile('ID!'), 'b.graphql': reviewsFile('Int') }, async (f) => {
        const result = await runCheck(f.dir);
        assertExit(result, 1);
        assertReported(result, f, 'b.graphql', ['Int', 'id: Int'], /User\.id/);
      });
    });

    test('@canonical on one of them resolves the conflict', async () => {
      await withFolder({ 'a.graphql': usersFile('ID! @canonical'), 'b.graphql': reviewsFile('Int') }, async (f) => {
        const result = await runCheck(f.dir);
        assertExit(result, 0);
        const user = buildSchema(result.stdout).getType('User') as GraphQLObjectType;
        assert.equal(String(user.getFields().id.type), 'ID!', 'the canonical definition wins');
        assert.ok(user.getFields().reviews && user.getFields().name);
      });
    });

    test('the same two files with agreeing types compose', async () => {
      await withFolder({ 'a.graphql': usersFile('ID!'), 'b.graphql': reviewsFile('ID!') }, async (f) => {
        const result = await runCheck(f.dir);
        assertExit(result, 0);
      });
    });
  });

  test('a template naming an argument that does not exist ({args.nope})', async () => {
    const text = `${UPSTREAM_A}
type User {
  id: ID!
}

type Query {
  user(id: ID!): User @http(GET: "/users/{args.nope}")
}
`;
    await withFolder({ 'a.graphql': text }, async (f) => {
      const result = await runCheck(f.dir);
      assertExit(result, 1);
      assertReported(result, f, 'a.graphql', ['@http', '"/users/{args.nope}"', '{args.nope}'], /nope/);
    });
  });

  test('{parent.x} naming a field the type lacks', async () => {
    const text = `${UPSTREAM_A}
type User {
  id: ID!
  posts: [Post!]! @http(GET: "/posts?userId={keys}", key: "{parent.uid}", match: "userId")
}

type Post {
  id: ID!
  userId: ID
}

type Query {
  user(id: ID!): User @http(GET: "/users/{args.id}")
}
`;
    await withFolder({ 'a.graphql': text }, async (f) => {
      const result = await runCheck(f.dir);
      assertExit(result, 1);
      assertReported(result, f, 'a.graphql', ['@http', ['"{parent.uid}"', 0], '{parent.uid}'], /uid/);
    });
  });

  test('a file without @upstream', async () => {
    const text = `type Query {
  hello: String @http(GET: "/hello")
}
`;
    await withFolder({ 'a.graphql': helloFile(), 'z.graphql': text }, async (f) => {
      const result = await runCheck(f.dir);
      assertExit(result, 1);
      // A problem of the whole file is reported at its start.
      assertReported(result, f, 'z.graphql', ['type Query'], /@upstream/);
    });
  });

  test('two problems in two files are both reported', async () => {
    const broken = `${UPSTREAM_A}
type Query {
  hello: String @http(GET: "/hello"
}
`;
    const unknown = `${UPSTREAM_B}
type Query {
  bye: String @http(GET: "/bye", cacheSeconds: 5)
}
`;
    await withFolder({ 'a.graphql': broken, 'b.graphql': unknown }, async (f) => {
      const result = await runCheck(f.dir);
      assertExit(result, 1);
      // `@http(GET: "/hello"` is not closed: the parser stops at the `}` on the next line
      // (occurrence 1: occurrence 0 is the replica object's brace in the @upstream line).
      assertReported(result, f, 'a.graphql', [['}', 1]], /Syntax Error/);
      assertReported(result, f, 'b.graphql', ['cacheSeconds'], /cacheSeconds/);
    });
  });

  test('two composition problems in two files are both reported', async () => {
    const a = `${UPSTREAM_A}
type Query {
  hello(name: String): String @http(GET: "/hello/{args.nope}")
}
`;
    const b = `${UPSTREAM_B}
type Thing {
  id: ID!
  parts: [String!]! @http(GET: "/parts?thing={keys}", key: "{parent.missing}", match: "thingId")
}

type Query {
  thing(id: ID!): Thing @http(GET: "/things/{args.id}")
}
`;
    await withFolder({ 'a.graphql': a, 'b.graphql': b }, async (f) => {
      const result = await runCheck(f.dir);
      assertExit(result, 1);
      assertReported(result, f, 'a.graphql', ['@http', '"/hello/{args.nope}"', '{args.nope}'], /nope/);
      assertReported(result, f, 'b.graphql', ['@http', '"{parent.missing}"', '{parent.missing}'], /missing/);
    });
  });

  test('problems found at different stages in three files are all reported', async () => {
    // a: unknown directive (SDL validation); b: no @upstream (reading the file);
    // c: {args.nope} (composition). Each file is wrong on its own, so each is reported.
    const a = `${UPSTREAM_A}
type Query {
  hello: String @http(GET: "/hello") @cache(maxAge: 30)
}
`;
    const b = `type Query {
  bye: String @http(GET: "/bye")
}
`;
    const c = `extend schema @upstream(name: "c", protocol: HTTP, replicas: [{ url: "http://127.0.0.1:9" }])

type Query {
  see(id: ID!): String @http(GET: "/see/{args.nope}")
}
`;
    await withFolder({ 'a.graphql': a, 'b.graphql': b, 'c.graphql': c }, async (f) => {
      const result = await runCheck(f.dir);
      assertExit(result, 1);
      assertReported(result, f, 'a.graphql', ['@cache'], /Unknown directive "@cache"/);
      assertReported(result, f, 'b.graphql', ['type Query'], /@upstream/);
      assertReported(result, f, 'c.graphql', ['@http', '"/see/{args.nope}"', '{args.nope}'], /nope/);
    });
  });
});
