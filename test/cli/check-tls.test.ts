// `quilt check` on @upstream(tls:) (README, "TLS"): the PEM files are read at load time,
// relative to the schema file, and every one that cannot be used is a problem at the line and
// column of its setting, naming the setting and the path: missing, not PEM, a key that is not
// the certificate's, a certificate without its key; so is tls: on a plain-text replica url and
// a serverName that is not a host name. insecureSkipVerify loads, with a warning printed.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  assertExit,
  assertReported,
  type CheckResult,
  type Fixture,
  positionOf,
  runCheck,
  schemaFolder,
} from '../helpers/check-fixtures.js';
import { MAPPING_PROTO, MAPPING_SERVICE } from '../helpers/grpc-fixtures.js';
import { makePki } from '../helpers/tls-fixtures.js';

const http = (name: string, url: string, tls: string) =>
  `extend schema @upstream(name: "${name}", protocol: HTTP, replicas: [{ url: "${url}" }],
  tls: ${tls})
type Query { ${name}: String @http(GET: "/") }
`;

const FILES = {
  'missing.graphql': http('missing', 'https://127.0.0.1:9', '{ ca: "certs/nope.pem" }'),
  'garbage.graphql': http('garbage', 'https://127.0.0.1:9', '{ ca: "certs/garbage.pem" }'),
  'mismatch.graphql': http(
    'mismatch',
    'https://127.0.0.1:9',
    '{ cert: "certs/client.pem", key: "certs/other-key.pem" }',
  ),
  'nokey.graphql': http('nokey', 'https://127.0.0.1:9', '{ ca: "certs/ca.pem", cert: "certs/client.pem" }'),
  'plain.graphql': http('plain', 'http://127.0.0.1:9', '{ ca: "certs/ca.pem" }'),
  'badname.graphql': http('badname', 'https://127.0.0.1:9', '{ ca: "certs/ca.pem", serverName: "https://api" }'),
  'plaingrpc.graphql': `extend schema @upstream(name: "plaingrpc", protocol: GRPC, proto: ${JSON.stringify(MAPPING_PROTO)}, service: "${MAPPING_SERVICE}", replicas: [{ url: "grpc://127.0.0.1:9" }],
  tls: { ca: "certs/ca.pem" })
type PlainKitchen { small: Int! }
type Query { plaingrpc(small: Int!): PlainKitchen @grpc(method: "Echo", request: { small: "{args.small}" }) }
`,
};

describe('quilt check: @upstream(tls:)', () => {
  let bad: Fixture;
  let good: Fixture;
  let badResult: CheckResult;
  let goodResult: CheckResult;

  before(async () => {
    const pki = await makePki();
    const certs = {
      'ca.pem': pki.ca.cert,
      'client.pem': pki.client.cert,
      'client-key.pem': pki.client.key,
      'other-key.pem': pki.otherClient.key,
      'garbage.pem': 'not a certificate\n',
    };
    bad = schemaFolder(FILES);
    good = schemaFolder({
      'skip.graphql': http('skip', 'https://127.0.0.1:9', '{ insecureSkipVerify: true }'),
      'mtls.graphql': http(
        'mtls',
        'https://127.0.0.1:9',
        '{ ca: "certs/ca.pem", cert: "certs/client.pem", key: "certs/client-key.pem", serverName: "api.internal" }',
      ),
    });
    for (const f of [bad, good]) {
      mkdirSync(join(f.dir, 'certs'));
      for (const [name, text] of Object.entries(certs)) writeFileSync(join(f.dir, 'certs', name), text);
    }
    [badResult, goodResult] = await Promise.all([runCheck(bad.dir), runCheck(good.dir)]);
  });
  after(() => {
    bad?.remove();
    good?.remove();
  });

  test('a file that cannot be read: its setting, the path as written and the absolute one', () => {
    assertExit(badResult, 1);
    assertReported(
      badResult,
      bad,
      'missing.graphql',
      ['"certs/nope.pem"'],
      new RegExp(
        `@upstream\\(tls\\.ca\\) expected a readable PEM file \\(relative to this file\\); received "certs/nope\\.pem" \\(${join(bad.dir, 'certs', 'nope.pem')}: ENOENT\\)`,
      ),
    );
  });

  test("a file that is not PEM, and a key that is not the certificate's", () => {
    assertReported(
      badResult,
      bad,
      'garbage.graphql',
      ['"certs/garbage.pem"'],
      /@upstream\(tls\.ca\) expected a PEM file of CA certificates; received "certs\/garbage\.pem": it holds no "-----BEGIN CERTIFICATE-----" block/,
    );
    assertReported(
      badResult,
      bad,
      'mismatch.graphql',
      ['"certs/other-key.pem"'],
      /@upstream\(tls\.key\) expected the private key of the certificate in "certs\/client\.pem"; received "certs\/other-key\.pem": it is the key of another certificate/,
    );
  });

  test('a certificate without its key', () => {
    assertReported(
      badResult,
      bad,
      'nokey.graphql',
      ['"certs/client.pem"'],
      /@upstream\(tls\.cert\) needs tls\.key: the client certificate's private key/,
    );
  });

  test('tls: on a plain-text replica url (http://, grpc://), and a serverName that is not a host name', () => {
    assertReported(
      badResult,
      bad,
      'plain.graphql',
      ['tls:'],
      /@upstream\(tls:\) expected https:\/\/ replica urls \(tls: sets up TLS connections\); received "http:\/\/127\.0\.0\.1:9", which is plain text/,
    );
    assertReported(
      badResult,
      bad,
      'plaingrpc.graphql',
      ['tls:'],
      /@upstream\(tls:\) expected grpcs:\/\/host:port or host:port replica urls .* received "grpc:\/\/127\.0\.0\.1:9"/,
    );
    assertReported(
      badResult,
      bad,
      'badname.graphql',
      ['"https://api"'],
      /@upstream\(tls\.serverName\) expected a host name such as "api\.internal"; received "https:\/\/api"/,
    );
    assert.match(badResult.stderr, /quilt check: 7 problem\(s\)/);
  });

  test('insecureSkipVerify loads, with a warning at its line; good files compose', () => {
    assertExit(goodResult, 0);
    const { line, column } = positionOf(good.text('skip.graphql'), 'true');
    assert.match(
      goodResult.stderr,
      new RegExp(
        `^warning: ${good.path('skip.graphql')}:${line}:${column}: @upstream\\(tls\\.insecureSkipVerify\\) is true: the certificates of upstream "skip" are not verified`,
        'm',
      ),
    );
    assert.equal(goodResult.stderr.match(/^warning:/gm)?.length, 1);
  });
});
