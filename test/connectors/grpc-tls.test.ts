// gRPC over TLS with mTLS (README, "TLS"): real grpc-js servers with
// ServerCredentials.createSsl(ca, [server pair], checkClientCertificate = true) and
// certificates made at test time. A host:port replica of an upstream with tls: (or a
// grpcs:// one) calls with the CA and client certificate, and so does its grpc.health.v1
// probe; without the client certificate or trusting another CA the field is
// UPSTREAM_UNAVAILABLE and the probe takes the replica down; serverName overrides the name
// checked (grpc.ssl_target_name_override); insecureSkipVerify connects without verifying. A
// reload that reads the same files keeps the channel; a renewed client certificate is a new one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadGrpcService } from '../../src/connectors/grpc/proto.js';
import { type MappingServer, startMappingServer } from '../fixtures/grpc/mapping-server.js';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';
import { MAPPING_PROTO, MAPPING_SERVICE } from '../helpers/grpc-fixtures.js';
import {
  clientTlsFiles,
  type KeyPair,
  makeClientCert,
  makePki,
  makeServerCert,
  type Pki,
} from '../helpers/tls-fixtures.js';
import { eventually } from '../helpers/wait.js';

const CLIENT = 'ca: "certs/ca.pem", cert: "certs/client.pem", key: "certs/client-key.pem"';

/** A gRPC source `name` over MappingService with one field `name(small:)` calling Echo. */
const source = (name: string, url: string, tls: string, extra = '') => {
  const type = `${name[0]!.toUpperCase()}${name.slice(1)}Kitchen`;
  return `extend schema @upstream(name: "${name}", protocol: GRPC, proto: ${JSON.stringify(MAPPING_PROTO)}, service: "${MAPPING_SERVICE}", replicas: [{ url: "${url}" }], tls: ${tls}${extra})
type ${type} { small: Int! }
type Query { ${name}(small: Int!): ${type} @grpc(method: "Echo", request: { small: "{args.small}" }, timeoutMs: 5000) }
`;
};

const HEALTH =
  ', health: { service: "", intervalMs: 100, timeoutMs: 2000, healthyThreshold: 1, unhealthyThreshold: 1 }';

describe('gRPC upstreams over TLS with @upstream(tls:)', () => {
  let pki: Pki;
  /** Requires a client certificate signed by the test CA; its certificate names localhost and 127.0.0.1. */
  let server: MappingServer;
  /** The same, with a certificate for api.internal only. */
  let internal: MappingServer;
  let h: Harness;

  const mtls = (pair: KeyPair) =>
    grpc.ServerCredentials.createSsl(
      Buffer.from(pki.ca.cert),
      [{ cert_chain: Buffer.from(pair.cert), private_key: Buffer.from(pair.key) }],
      true,
    );

  const health = async (upstream: string) => {
    const pools = (await (await fetch(`${h.gateway.url}/upstreams`)).json()) as {
      upstreams: { name: string; replicas: { health: string }[] }[];
    };
    return pools.upstreams.find((u) => u.name === upstream)?.replicas[0]?.health;
  };

  before(async () => {
    pki = await makePki();
    const info = loadGrpcService(MAPPING_PROTO, MAPPING_SERVICE);
    server = await startMappingServer(info, { credentials: mtls(pki.server), health: true });
    internal = await startMappingServer(info, {
      credentials: mtls(await makeServerCert(pki.ca, ['api.internal'], false)),
    });
    h = await startHarness({
      ...clientTlsFiles(pki),
      'certs/other-ca.pem': pki.otherCa.cert,
      'secure.graphql': source('secure', server.address, `{ ${CLIENT} }`, HEALTH),
      'viaUrl.graphql': source('viaUrl', `grpcs://${server.address}`, `{ ${CLIENT} }`),
      'noCert.graphql': source('noCert', server.address, '{ ca: "certs/ca.pem" }', HEALTH),
      'wrongCa.graphql': source(
        'wrongCa',
        server.address,
        '{ ca: "certs/other-ca.pem", cert: "certs/client.pem", key: "certs/client-key.pem" }',
      ),
      'skipVerify.graphql': source(
        'skipVerify',
        server.address,
        '{ insecureSkipVerify: true, cert: "certs/client.pem", key: "certs/client-key.pem" }',
      ),
      'named.graphql': source('named', internal.address, `{ ${CLIENT}, serverName: "api.internal" }`),
      'unnamed.graphql': source('unnamed', internal.address, `{ ${CLIENT} }`),
    });
  });
  after(async () => {
    await h?.close();
    await server?.close();
    await internal?.close();
  });

  test('a host:port replica of an upstream with tls: calls over mTLS; so does a grpcs:// one', async () => {
    const r = await h.query('{ secure(small: 7) { small } viaUrl(small: 8) { small } }');
    assert.deepEqual(r.body, { data: { secure: { small: 7 }, viaUrl: { small: 8 } } });
    assert.equal(server.calls.get('Echo'), 2);
    assert.deepEqual(server.clientCertificates, ['quilt-gateway', 'quilt-gateway']);
  });

  test('the grpc.health.v1 probe uses the same credentials; without a client certificate it takes the replica down', async () => {
    await eventually(() => server.healthChecks.length >= 2, { what: 'two health checks' });
    assert.deepEqual([...new Set(server.healthChecks)], ['quilt-gateway']);
    assert.equal(await health('secure'), 'healthy');
    await eventually(async () => (await health('noCert')) === 'failed_active_hc', {
      what: 'noCert failing its health checks',
    });
    const down = h.logs.find((l) => l.upstream === 'noCert' && l.msg === 'replica failed health checks');
    assert.match(down?.reason, /gRPC UNAVAILABLE: No connection established.*certificate required/s);
  });

  test('without the client certificate, or trusting another CA: UPSTREAM_UNAVAILABLE and no call served', async () => {
    const echoes = server.calls.get('Echo');
    const r = await h.query('{ noCert(small: 1) { small } wrongCa(small: 2) { small } secure(small: 3) { small } }');
    assert.deepEqual(r.body.data, { noCert: null, wrongCa: null, secure: { small: 3 } });
    assert.deepEqual(r.body.errors?.map((e) => `${e.path?.[0]} ${e.extensions?.code}`).sort(), [
      'noCert UPSTREAM_UNAVAILABLE',
      'wrongCa UPSTREAM_UNAVAILABLE',
    ]);
    assert.equal(server.calls.get('Echo'), (echoes ?? 0) + 1, 'only the secure call reached the server');
    const wrongCa = h.logs.find((l) => l.upstream === 'wrongCa' && l.code === 'UPSTREAM_UNAVAILABLE');
    assert.match(wrongCa?.failure, /No connection established.*self-signed certificate in certificate chain/s);
  });

  test('serverName is checked instead of the address (grpc.ssl_target_name_override)', async () => {
    const r = await h.query('{ named(small: 5) { small } unnamed(small: 6) { small } }');
    assert.deepEqual(r.body.data, { named: { small: 5 }, unnamed: null });
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'UPSTREAM_UNAVAILABLE');
    assert.deepEqual(internal.clientCertificates, ['quilt-gateway']);
    const unnamed = h.logs.find((l) => l.upstream === 'unnamed' && l.code === 'UPSTREAM_UNAVAILABLE');
    assert.match(unnamed?.failure, /ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  test('insecureSkipVerify: true connects without verifying the server, and is a warning', async () => {
    const r = await h.query('{ skipVerify(small: 9) { small } }');
    assert.deepEqual(r.body, { data: { skipVerify: { small: 9 } } });
    assert.ok(
      h.logs.some(
        (l) => l.level === 40 && /skipVerify\.graphql:1:\d+: @upstream\(tls\.insecureSkipVerify\) is true/.test(l.msg),
      ),
    );
  });

  test('a reload that reads the same files keeps the channel; a renewed client certificate opens a new one', async () => {
    const call = async () => {
      assert.deepEqual((await h.query('{ secure(small: 4) { small } }')).body, { data: { secure: { small: 4 } } });
      return { peer: server.peers.at(-1), cn: server.clientCertificates.at(-1) };
    };
    const first = await call();
    assert.equal((await h.gateway.manager.reload()).ok, true);
    assert.deepEqual(await call(), first, 'the same connection after a reload that changed nothing');
    const renewed = await makeClientCert(pki.ca, 'quilt-gateway-renewed');
    h.writeSchema('certs/client.pem', renewed.cert);
    h.writeSchema('certs/client-key.pem', renewed.key);
    assert.equal((await h.gateway.manager.reload()).ok, true);
    const after = await call();
    assert.equal(after.cn, 'quilt-gateway-renewed');
    assert.notEqual(after.peer, first.peer);
  });
});
