// The kinds of document `quilt import openapi` reads, and the file it writes for each: a
// Swagger 2.0 YAML document with a $ref into another file (served against a real upstream),
// OpenAPI 3.1's null types and const, the flags (--tags, --upstream-name, --replicas), the
// naming rule for collisions, and determinism: the same document gives the same bytes,
// whether it is read twice, read as JSON or as YAML, or written to stdout.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { petShopDocument } from '../fixtures/openapi/pet-shop.js';
import { type Harness, payload, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';
import {
  importOpenApi,
  quiltCli,
  ROOT,
  removeTempDirs,
  reported,
  tempDir,
  writeDocument,
} from '../helpers/openapi-import.js';

const FIXTURES = join(ROOT, 'test/fixtures/openapi');
after(removeTempDirs);

describe('a Swagger 2.0 document in YAML, with a $ref into another file', () => {
  let upstream: TestServer;
  let h: Harness;
  let text: string;
  let lines: string[];
  before(async () => {
    upstream = await startTestServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      if (req.method === 'GET' && url.pathname === '/lib/v1/books')
        return sendJson(res, 200, [
          { isbn: '1', title: 'Dune', shelf: 'non-fiction', subtitle: null, author: { name: 'Herbert', born: 1920 } },
        ]);
      if (req.method === 'POST' && url.pathname === '/lib/v1/books/1/loans')
        return sendJson(res, 200, { due: '2027-01-01' });
      sendJson(res, 404, {});
    });
    const dir = tempDir();
    const port = new URL(upstream.url).port;
    writeFileSync(
      join(dir, 'library.yaml'),
      readFileSync(join(FIXTURES, 'library-swagger2.yaml'), 'utf8').replace('PORT', port),
    );
    copyFileSync(join(FIXTURES, 'library-common.yaml'), join(dir, 'library-common.yaml'));
    const run = await importOpenApi(join(dir, 'library.yaml'), join(dir, 'library.graphql'));
    assert.equal(run.code, 0, run.stderr.join('\n'));
    text = run.text!;
    lines = reported(run);
    h = await startHarness({ 'library.graphql': text }, { env: { ...process.env, LIBRARY_KEY: 'k-1' } });
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
  });

  test('host, basePath and schemes make the replica url; the other file names its type', () => {
    assert.match(
      text,
      new RegExp(`replicas: \\[\\{ url: "http://127\\.0\\.0\\.1:${new URL(upstream.url).port}/lib/v1" \\}\\]`),
    );
    assert.match(text, /author: Person\n/);
    assert.match(text, /type Person \{\n {2}born: Int\n {2}name: String\n\}/);
  });

  test('a query list, x-nullable and an enum; the apiKey goes in the query', async () => {
    const res = await h.query('{ listBooks(shelf: ["a", "b"]) { isbn shelf subtitle author { name born } } }');
    assert.deepEqual(payload(res.body), {
      data: {
        listBooks: [{ isbn: '1', shelf: 'NON_FICTION', subtitle: null, author: { name: 'Herbert', born: 1920 } }],
      },
    });
    assert.equal(upstream.seen.at(-1)!.url, '/lib/v1/books?shelf=a&shelf=b&key=k-1');
    assert.ok(
      lines.includes(
        'note #/paths/~1books/get/parameters/0: a list the document joins (collectionFormat csv) is sent as a repeated parameter',
      ),
      lines.join('\n'),
    );
  });

  test('formData fields of a urlencoded form are one input, sent as a form', async () => {
    const res = await h.query('mutation { lendBook(isbn: "1", input: { reader: "ann", days: 14 }) { due } }');
    assert.deepEqual(payload(res.body), { data: { lendBook: { due: '2027-01-01' } } });
    const call = upstream.seen.at(-1)!;
    assert.deepEqual(
      [call.url, call.headers['content-type'], call.body],
      ['/lib/v1/books/1/loans?key=k-1', 'application/x-www-form-urlencoded', 'days=14&reader=ann'],
    );
  });
});

describe('OpenAPI 3.1 and the naming rule', () => {
  let text: string;
  let lines: string[];
  before(async () => {
    const dir = tempDir();
    const spec = writeDocument(join(dir, 'notes.yaml'), {
      openapi: '3.1.0',
      info: { title: 'Notes 3.1', version: '1' },
      servers: [{ url: 'http://127.0.0.1:1/api' }],
      webhooks: { noteShared: { post: { responses: { '200': { description: 'ok' } } } } },
      components: {
        schemas: {
          Note: {
            type: 'object',
            required: ['id', 'body', 'owner', 'tags'],
            properties: {
              id: { type: 'integer', format: 'int64' },
              body: { type: 'string' },
              nickname: { type: ['string', 'null'] },
              owner: { oneOf: [{ $ref: '#/components/schemas/Person' }, { type: 'null' }] },
              tags: { type: 'array', items: { type: 'string' } },
              kind: { const: 'note' },
              userId: { type: 'string' },
              'user-id': { type: 'string' },
            },
          },
          Person: { type: 'object', properties: { name: { type: 'string' } } },
          'list-pets': { type: 'object', properties: { a: { type: 'string' } } },
          ListPets: { type: 'object', properties: { b: { type: 'string' } } },
          Size: { type: 'string', enum: ['x-large', 'X_LARGE', '1'] },
        },
      },
      paths: {
        '/notes/{id}': {
          get: {
            operationId: 'getNote',
            parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', format: 'int64' } }],
            responses: {
              '200': {
                description: 'ok',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/Note' } } },
              },
            },
          },
        },
        '/a': {
          get: {
            operationId: 'list-pets',
            responses: {
              '200': {
                description: 'ok',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/list-pets' } } },
              },
            },
          },
        },
        '/b': {
          get: {
            operationId: 'listPets',
            responses: {
              '200': {
                description: 'ok',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/ListPets' } } },
              },
            },
          },
        },
        '/sizes': {
          get: {
            responses: {
              '200': {
                description: 'ok',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/Size' } } },
              },
            },
          },
        },
      },
    });
    const run = await importOpenApi(spec, join(dir, 'notes.graphql'));
    assert.equal(run.code, 0, run.stderr.join('\n'));
    text = run.text!;
    lines = reported(run);
  });

  test('webhooks are reported, not served', () => {
    assert.ok(
      lines.includes(
        'left out #/webhooks/noteShared: webhooks are not served: the API calls them, the gateway does not',
      ),
      lines.join('\n'),
    );
  });

  test("3.1's null in a type list or a oneOf makes a required field nullable; const has the type of its value", () => {
    const note = /type Note \{[^}]*\}/.exec(text)![0];
    for (const line of [
      'body: String!',
      'id: String!',
      'kind: String',
      'nickname: String',
      'owner: Person',
      'tags: [String!]!',
    ])
      assert.ok(note.includes(`  ${line}\n`), `${line} in\n${note}`);
  });

  test('collisions: the first name claimed keeps it, the next gets 2, in path then method order; keys keep @from', () => {
    assert.match(text, /listPets: ListPets @http\(GET: "\/a"\)\n {2}listPets2: ListPets2 @http\(GET: "\/b"\)/);
    assert.match(text, /type ListPets \{\n {2}a: String\n\}/);
    assert.match(text, /type ListPets2 \{\n {2}b: String\n\}/);
    assert.match(text, /userId: String @from\(path: "user-id"\)\n {2}userId2: String @from\(path: "userId"\)/);
    assert.match(
      text,
      /enum Size \{\n {2}X_LARGE @enumValue\(value: "x-large"\)\n {2}X_LARGE2 @enumValue\(value: "X_LARGE"\)\n {2}_1 @enumValue\(value: "1"\)\n\}/,
    );
    assert.match(text, /getSizes: Size @http\(GET: "\/sizes"\)/, 'no operationId: method and path');
  });
});

describe('flags and determinism', () => {
  let dir: string;
  let json: string;
  let yaml: string;
  before(() => {
    dir = tempDir();
    json = writeDocument(join(dir, 'shop.json'), petShopDocument(8080));
    yaml = writeDocument(join(dir, 'shop.yaml'), parse(JSON.stringify(petShopDocument(8080))));
  });

  test('the same document gives the same file, byte for byte: twice, as JSON or YAML, to stdout or --out', async () => {
    const first = await importOpenApi(json, join(dir, 'a.graphql'));
    const again = await importOpenApi(json, join(dir, 'b.graphql'));
    const fromYaml = await importOpenApi(yaml, join(dir, 'c.graphql'));
    const toStdout = await quiltCli(['import', 'openapi', json]);
    assert.equal(first.code, 0);
    assert.equal(again.text, first.text);
    const body = (t: string) => t.slice(t.indexOf('\n'));
    assert.equal(body(fromYaml.text!), body(first.text!));
    assert.equal(toStdout.stdout, first.text);
    const reports = (r: typeof first) => reported(r).filter((l) => !l.startsWith('wrote'));
    assert.deepEqual(reports(again), reports(first));
  });

  test('--tags keeps the operations with a tag; --upstream-name and --replicas replace the defaults', async () => {
    const run = await importOpenApi(json, join(dir, 'tagged.graphql'), [
      '--tags',
      'orders',
      '--upstream-name',
      'shop',
      '--replicas',
      'http://10.0.0.1:81/v2,http://10.0.0.2:81/v2',
    ]);
    assert.equal(run.code, 0, run.stderr.join('\n'));
    assert.match(run.text!, /name: "shop"\n/);
    assert.match(
      run.text!,
      /replicas: \[\{ url: "http:\/\/10\.0\.0\.1:81\/v2" \}, \{ url: "http:\/\/10\.0\.0\.2:81\/v2" \}\]/,
    );
    const fields = [...run.text!.matchAll(/^ {2}(\w+)\(/gm)].map((m) => m[1]).sort();
    assert.deepEqual(fields, ['createOrder', 'deleteOrder', 'getOrder', 'getOrderLabel']);
    assert.ok(!/type Dog|union Pet/.test(run.text!), 'types only the kept operations use');
    const none = await importOpenApi(json, join(dir, 'none.graphql'), ['--tags', 'nothing']);
    assert.deepEqual([none.code, reported(none)], [1, ['no operation has the tag(s) nothing']]);
  });
});

describe('security schemes, objects in the query, and answers by range or default', () => {
  let upstream: TestServer;
  let h: Harness;
  let search: string;
  let searchLines: string[];
  before(async () => {
    upstream = await startTestServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/s/search') return sendJson(res, 200, { hits: [{ a: 'x' }, { b: 'y' }] });
      if (url.pathname === '/s/feedback') return sendJson(res, 202, { ok: true });
      if (url.pathname === '/social/me') return sendJson(res, 200, { name: 'ann' });
      sendJson(res, 404, {});
    });
    const dir = tempDir();
    const object = (properties: Record<string, unknown>) => ({ type: 'object', properties });
    const json = (schema: unknown) => ({ 'application/json': { schema } });
    const searchRun = await importOpenApi(
      writeDocument(join(dir, 'search.json'), {
        openapi: '3.0.3',
        info: { title: 'Search', version: '1' },
        servers: [{ url: `${upstream.url}/s` }],
        security: [{ basic: [] }, { oauth: [] }, { session: [] }],
        components: {
          securitySchemes: {
            basic: { type: 'http', scheme: 'basic' },
            oauth: {
              type: 'oauth2',
              flows: { clientCredentials: { tokenUrl: 'https://auth.example.com/token', scopes: {} } },
            },
            session: { type: 'apiKey', in: 'cookie', name: 'sid' },
          },
        },
        paths: {
          '/search': {
            get: {
              operationId: 'search',
              parameters: [
                {
                  name: 'page',
                  in: 'query',
                  style: 'deepObject',
                  schema: object({ size: { type: 'integer', format: 'int32' } }),
                },
                { name: 'where', in: 'query', schema: object({ city: { type: 'string' }, open: { type: 'boolean' } }) },
              ],
              responses: {
                '2XX': {
                  description: 'ok',
                  content: json(
                    object({
                      hits: {
                        type: 'array',
                        items: { anyOf: [object({ a: { type: 'string' } }), object({ b: { type: 'string' } })] },
                      },
                    }),
                  ),
                },
              },
            },
          },
          '/feedback': {
            post: {
              operationId: 'sendFeedback',
              requestBody: {
                content: json({
                  oneOf: [
                    object({ text: { type: 'string' } }),
                    object({ stars: { type: 'integer', format: 'int32' } }),
                  ],
                }),
              },
              responses: {
                default: { description: 'whatever it says', content: json(object({ ok: { type: 'boolean' } })) },
              },
            },
          },
        },
      }),
      join(dir, 'search.graphql'),
    );
    const socialRun = await importOpenApi(
      writeDocument(join(dir, 'social.yaml'), {
        openapi: '3.0.3',
        info: { title: 'Social', version: '1' },
        servers: [{ url: `${upstream.url}/social` }],
        security: [{ oidc: [] }],
        components: {
          securitySchemes: {
            oidc: {
              type: 'openIdConnect',
              openIdConnectUrl: 'https://id.example.com/.well-known/openid-configuration',
            },
          },
        },
        paths: {
          '/me': {
            get: {
              operationId: 'me',
              responses: { '200': { description: 'ok', content: json(object({ name: { type: 'string' } })) } },
            },
          },
        },
      }),
      join(dir, 'social.graphql'),
    );
    assert.equal(searchRun.code + socialRun.code, 0, [...searchRun.stderr, ...socialRun.stderr].join('\n'));
    search = searchRun.text!;
    searchLines = reported(searchRun);
    h = await startHarness(
      { 'search.graphql': search, 'social.graphql': socialRun.text! },
      { env: { ...process.env, SEARCH_BASIC: 'dTpw', SEARCH_SESSION: 'c00kie' } },
    );
  });
  after(async () => {
    await h?.close();
    await upstream?.close();
  });

  test('basic auth and an apiKey cookie from env; an OAuth2 scheme after them is reported, OpenID Connect forwards the client token', async () => {
    const res = await h.query(
      '{ search(page: { size: 5 }, where: { city: "Oslo", open: true }) { hits } me { name } }',
      undefined,
      {
        authorization: 'Bearer client-token',
      },
    );
    assert.deepEqual(payload(res.body), { data: { search: { hits: [{ a: 'x' }, { b: 'y' }] }, me: { name: 'ann' } } });
    const searched = upstream.seen.find((r) => r.url.startsWith('/s/search'))!;
    assert.equal(searched.url, '/s/search?page%5Bsize%5D=5&city=Oslo&open=true');
    assert.deepEqual([searched.headers.authorization, searched.headers.cookie], ['Basic dTpw', 'sid=c00kie']);
    assert.equal(upstream.seen.find((r) => r.url === '/social/me')!.headers.authorization, 'Bearer client-token');
    assert.ok(
      searchLines.includes(
        'left out #/components/securitySchemes/oauth: the Authorization header is already sent for another scheme',
      ),
      searchLines.join('\n'),
    );
  });

  test('a oneOf body is a JSON input, sent as the client wrote it; 2XX and default answers are typed', async () => {
    const res = await h.query('mutation { sendFeedback(input: { stars: 4 }) { ok } }');
    assert.deepEqual(payload(res.body), { data: { sendFeedback: { ok: true } } });
    assert.equal(upstream.seen.find((r) => r.url === '/s/feedback')!.body, '{"stars":4}');
    assert.match(
      search,
      /sendFeedback\(input: JSON\): SendFeedbackResponse @http\(POST: "\/feedback", body: "\{args\.input\}"\)/,
    );
    assert.ok(
      searchLines.some((l) =>
        l.startsWith('note #/paths/~1feedback/post/requestBody/content/application~1json/schema: a oneOf in an input'),
      ),
    );
  });
});
