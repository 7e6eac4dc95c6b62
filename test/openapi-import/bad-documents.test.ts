// What `quilt import openapi` says about a file that is not a document it can import: exit
// code 1, one line naming the file and what is wrong with it (with the line, or the pointer
// of the $ref, where there is one), and no file written. Usage mistakes are exit code 2. The
// table runs the command in this process (the same main() bin/quilt.js calls); a missing
// file and the usage mistakes run as a user runs them, as child processes.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { importOpenApi, quiltCli, removeTempDirs, tempDir } from '../helpers/openapi-import.js';

const GOOD_HEAD = `openapi: 3.0.3
info: { title: Refs, version: '1' }
servers: [{ url: 'http://127.0.0.1:1' }]
`;

const BAD: Record<string, { text: string; message: RegExp }> = {
  'an HTML page (a docs site saved instead of its spec)': {
    text: '<!DOCTYPE html>\n<html><head><title>API docs</title></head><body>Swagger UI</body></html>\n',
    message: /page\.json: this is HTML or XML \(it starts with "<!DOCTYPE html>"\), not an OpenAPI document$/,
  },
  'a truncated JSON': {
    text: '{\n  "openapi": "3.0.3",\n  "info": { "title": "Cut", "version": "1" },\n  "paths": {\n    "/a": { "get": { "respon',
    message: /page\.json: not valid JSON: it ends too soon, at line 5 \(a truncated file\?\)$/,
  },
  'a JSON syntax error': {
    text: '{ "openapi": "3.0.3", "info": { "title": "x" "version": "1" } }',
    message: /page\.json: not valid JSON at line 1, column 46: Expected ',' or '}' after property value$/,
  },
  'a YAML syntax error': {
    text: `${GOOD_HEAD}paths:\n  /a:\n    get:\n      responses: { '200': { description: ok }\n  /b: [\n`,
    message: /page\.yaml:\d+:\d+: YAML syntax error: .+/,
  },
  'a JSON file that is not OpenAPI': {
    text: '{ "name": "left-pad", "version": "1.3.0" }',
    message:
      /page\.json: not an OpenAPI document: it has no "openapi" or "swagger" field \(its keys: "name", "version"\)$/,
  },
  'a YAML list': {
    text: '- one\n- two\n',
    message: /page\.yaml: not an OpenAPI document: expected an object with "openapi" or "swagger", received a list$/,
  },
  'Swagger 1.2': {
    text: '{ "swaggerVersion": "1.2", "swagger": "1.2", "apis": [] }',
    message: /page\.json: Swagger 1\.2 is not supported: expected "swagger": "2\.0" or "openapi": "3\.x"$/,
  },
  'an empty file': { text: '', message: /page\.yaml: the file is empty, not an OpenAPI document$/ },
  'a $ref to a part the document does not have': {
    text: `${GOOD_HEAD}paths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content: { application/json: { schema: { $ref: '#/components/schemas/Nope' } } }\n`,
    message:
      /page\.yaml: a \$ref does not resolve: "#\/components\/schemas\/Nope" names no part of .*page\.yaml \(the \$ref at #\/paths\/~1a\/get\/responses\/200\/content\/application~1json\/schema\/\$ref\)$/,
  },
  'a $ref to a file that is not there': {
    text: `${GOOD_HEAD}paths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content: { application/json: { schema: { $ref: './schemas/absent.yaml#/Thing' } } }\n`,
    message:
      /page\.yaml: a \$ref does not resolve: cannot open .*schemas\/absent\.yaml \(ENOENT\) \(the \$ref at #\/paths\/~1a.*\/\$ref\)$/,
  },
  'a document without operations': {
    text: `${GOOD_HEAD}paths: {}\n`,
    message: /quilt import openapi: the document has no operation a schema file can serve$/,
  },
  'a document without servers': {
    text: "openapi: 3.0.3\ninfo: { title: x, version: '1' }\npaths:\n  /a: { get: { responses: { '204': { description: ok } } } }\n",
    message: /quilt import openapi: the document has no servers: pass --replicas https:\/\/host\[:port\]\[\/base\]$/,
  },
  'a relative server url': {
    text: "openapi: 3.0.3\ninfo: { title: x, version: '1' }\nservers: [{ url: /api/v3 }]\npaths:\n  /a: { get: { responses: { '204': { description: ok } } } }\n",
    message: /the document's server "\/api\/v3" is not an absolute http\(s\) url: pass --replicas/,
  },
};

describe('documents the import refuses, with exit code 1 and one clear line', () => {
  after(removeTempDirs);
  for (const [name, { text, message }] of Object.entries(BAD)) {
    test(name, async () => {
      const dir = tempDir();
      const file = join(dir, text.trimStart().startsWith('{') || text.startsWith('<') ? 'page.json' : 'page.yaml');
      writeFileSync(file, text);
      const out = join(dir, 'out.graphql');
      const run = await importOpenApi(file, out);
      assert.equal(run.code, 1, run.stderr.join('\n'));
      assert.equal(run.stderr.length, 1, run.stderr.join('\n'));
      assert.match(run.stderr[0]!, message);
      assert.equal(existsSync(out), false, 'no file is written');
    });
  }

  test('a file that is not there', async () => {
    const run = await quiltCli(['import', 'openapi', 'no/such/spec.yaml']);
    assert.deepEqual(
      [run.code, run.stderr, run.stdout],
      [1, ['quilt import openapi: no/such/spec.yaml: no such file'], ''],
    );
  });

  test('usage mistakes are exit code 2', async () => {
    const runs = await Promise.all([
      quiltCli(['import', 'openapi']),
      quiltCli(['import', 'openapi', 'a.yaml', '--replicas', 'ftp://x']),
      quiltCli(['import', 'openapi', 'a.yaml', '--upstream-name', '9lives']),
      quiltCli(['import', 'openapi', 'a.yaml', '--colour']),
      quiltCli(['import', 'wsdl', 'a.xml']),
    ]);
    assert.deepEqual(
      runs.map((r) => [r.code, r.stderr[0]]),
      [
        [2, 'quilt: import openapi: needs exactly one SPEC (a .json, .yaml or .yml file)'],
        [2, 'quilt: --replicas: expected http(s)://host[:port][/base][,...], received "ftp://x"'],
        [2, 'quilt: --upstream-name: letters, digits, "_" or "-", starting with a letter; received "9lives"'],
        [2, 'quilt: unknown flag --colour (see --help)'],
        [
          2,
          'quilt: import: unknown source kind "wsdl"; usage: quilt import proto FILE.proto ... or quilt import openapi SPEC ...',
        ],
      ],
    );
  });
});
