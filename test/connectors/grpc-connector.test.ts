// The gRPC building blocks against a real grpc-js server: loading a service from a .proto,
// the JSON <-> proto mapping both ways over the wire, status -> error mapping, which
// failures may be retried elsewhere (never reached) and which may not, and server streaming.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { compileDecoder, compileEncoder, jsonName } from '../../src/connectors/grpc/mapping.js';
import { type GrpcServiceInfo, loadGrpcService, ProtoLoadError } from '../../src/connectors/grpc/proto.js';
import { grpcCallError, grpcStatusToError } from '../../src/connectors/grpc/status.js';
import { NOT_FOUND } from '../../src/connectors/upstream-call.js';
import { QuiltError } from '../../src/errors.js';
import { GrpcStatusError, GrpcTransport, grpcTarget } from '../../src/upstream/transport/grpc.js';
import { TransportFailure } from '../../src/upstream/types.js';
import { type MappingServer, startMappingServer } from '../fixtures/grpc/mapping-server.js';
import { testCluster } from '../helpers/cluster-fixtures.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'grpc');
const SERVICE = 'quilt.test.v1.MappingService';
const BIG = '9007199254740993'; // 2^53 + 1: Number would make it ...992

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('loadGrpcService', () => {
  test('1 methods, fields and enums of the service', () => {
    const info = loadGrpcService(join(FIXTURES, 'mapping.proto'), SERVICE);
    assert.deepEqual(info.methods.get('Echo'), {
      name: 'Echo',
      path: `/${SERVICE}/Echo`,
      requestType: 'quilt.test.v1.Kitchen',
      responseType: 'quilt.test.v1.Kitchen',
      serverStreaming: false,
      clientStreaming: false,
      idempotent: true,
    });
    assert.equal(info.methods.get('Fail')!.idempotent, true); // IDEMPOTENT
    assert.equal(info.methods.get('Slow')!.idempotent, false);
    assert.equal(info.methods.get('Ticks')!.serverStreaming, true);
    assert.equal(info.methods.get('Upload')!.clientStreaming, true);
    const fields = info.messageFields('.quilt.test.v1.Kitchen')!;
    assert.deepEqual(fields.get('big'), {
      name: 'big',
      kind: 'scalar',
      protoType: 'int64',
      repeated: false,
      optional: false,
    });
    assert.deepEqual(fields.get('names_by_id')!.mapKey, 'int64');
    assert.deepEqual(fields.get('tags_by_name')!.mapValue, {
      name: 'value',
      kind: 'message',
      protoType: 'quilt.test.v1.Tag',
      repeated: false,
      optional: false,
    });
    assert.equal(fields.get('choice_big')!.oneof, 'choice');
    assert.equal(fields.get('opt_int')!.optional, true);
    assert.equal(fields.get('opt_int')!.oneof, undefined); // proto3 optional's synthetic oneof is not a oneof
    assert.equal(fields.get('maybe_text')!.optional, true);
    assert.equal(fields.get('price')!.protoType, 'quilt.common.Money'); // imported relative to the file
    assert.equal(fields.get('tags')!.repeated, true);
    assert.equal(fields.get('color')!.kind, 'enum');
    assert.deepEqual(info.enumValues('quilt.test.v1.Color'), ['COLOR_UNSPECIFIED', 'RED', 'GREEN']);
    assert.ok(info.messageNames().includes('google.protobuf.Timestamp'));
    assert.ok(info.enumNames().includes('quilt.test.v1.Color'));
    assert.equal(info.messageFields('quilt.test.v1.Nope'), undefined);
  });

  test('2 a missing file', () => {
    assert.throws(
      () => loadGrpcService(join(FIXTURES, 'nowhere.proto'), SERVICE),
      (e: ProtoLoadError) => {
        assert.ok(e instanceof ProtoLoadError);
        assert.match(e.message, /nowhere\.proto does not exist/);
        return true;
      },
    );
  });

  test('3 a syntax error, with its line and column', () => {
    assert.throws(
      () => loadGrpcService(join(FIXTURES, 'broken.proto'), 'quilt.test.broken.Orders'),
      (e: ProtoLoadError) => {
        assert.ok(e instanceof ProtoLoadError);
        // protobufjs stops at the token after the missing ';' of line 7.
        assert.deepEqual([e.file, e.line, e.column], [join(FIXTURES, 'broken.proto'), 8, 3]);
        assert.equal(e.message, "illegal token 'int64', ';' expected");
        return true;
      },
    );
  });

  test('4 an unknown type and a missing import are located too', () => {
    assert.throws(() => loadGrpcService(join(FIXTURES, 'unknown-type.proto'), 'x.Y'), {
      message: 'unknown type "Money"',
      file: join(FIXTURES, 'unknown-type.proto'),
      line: 8,
      column: 3,
    });
    assert.throws(
      () => loadGrpcService(join(FIXTURES, 'missing-import.proto'), 'x.Y'),
      (e: ProtoLoadError) => {
        assert.deepEqual([e.file, e.line, e.column], [join(FIXTURES, 'missing-import.proto'), 6, 8]);
        assert.match(e.message, /^import "shared\/nowhere\.proto" not found/);
        return true;
      },
    );
  });

  test('5 an unknown service lists the services the file has', () => {
    assert.throws(() => loadGrpcService(join(FIXTURES, 'mapping.proto'), 'quilt.test.v1.Nope'), {
      name: 'ProtoLoadError',
      message:
        'service "quilt.test.v1.Nope" is not defined in mapping.proto: it has "quilt.test.v1.MappingService", "quilt.test.v1.OtherService"',
    });
    // A message is not a service.
    assert.throws(() => loadGrpcService(join(FIXTURES, 'mapping.proto'), 'quilt.test.v1.Kitchen'), ProtoLoadError);
  });
});

describe('gRPC against a real server', () => {
  let info: GrpcServiceInfo;
  let server: MappingServer;
  let transport: GrpcTransport;
  let silent: Server;
  const silentSockets = new Set<Socket>();
  const method = (name: string) => info.methods.get(name)!;

  before(async () => {
    info = loadGrpcService(join(FIXTURES, 'mapping.proto'), SERVICE);
    server = await startMappingServer(info);
    transport = new GrpcTransport(info.service, info.packageDefinition[info.service] as ServiceDefinition);
    // Accepts TCP connections and never speaks HTTP/2: no gRPC connection is ever established.
    silent = createServer((socket) => silentSockets.add(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    transport.close();
    await server.close();
    for (const socket of silentSockets) socket.destroy();
    silent.close();
  });

  const echo = async (json: unknown) => {
    const encode = compileEncoder(info, 'quilt.test.v1.Kitchen');
    const decode = compileDecoder(info, 'quilt.test.v1.Kitchen');
    return decode(await transport.unary(server.address, method('Echo'), encode(json), {}, 2000)) as Record<string, any>;
  };

  test('6 every mapping survives a round trip through the wire (replies use proto3 JSON names)', async () => {
    const json = {
      big: BIG,
      ubig: '18446744073709551615',
      fbig: BIG,
      sbig: `-${BIG}`,
      sfbig: '-5',
      small: -7,
      ratio: 1.5,
      ratio32: 0.25,
      flag: true,
      text: 'héllo',
      blob: 'AAEC/w==',
      color: 'GREEN',
      at: '2024-05-01T12:00:00.123456789Z',
      took: 'PT1.500S',
      maybeText: '',
      maybeInt: 0,
      maybeBig: BIG,
      maybeFlag: false,
      maybeDouble: 2.5,
      maybeFloat: 0.5,
      maybeUint: 4,
      maybeUbig: '18446744073709551615',
      maybeBytes: 'AA==',
      tag: { name: 'a', weight: BIG, color: 'RED' },
      tags: [
        { name: 'b', weight: '1', color: 'COLOR_UNSPECIFIED' },
        { name: 'c', weight: '0', color: 'GREEN' },
      ],
      bigs: [BIG, '-1'],
      colors: ['RED', 'GREEN'],
      tagsByName: { x: { name: 'x', weight: '2', color: 'RED' } },
      namesById: { [BIG]: 'big', '-9223372036854775808': 'min', '5': 'five' },
      choiceBig: BIG,
      choice: 'choiceBig',
      optInt: 0,
      optText: '',
      optColor: 'COLOR_UNSPECIFIED',
      nothing: {},
      meta: { a: 1, b: [null, true, 'x', { c: {} }] },
      anyJson: 'text',
      listJson: [1, { k: null }],
      history: [
        '1970-01-01T00:00:00Z',
        '0001-01-01T00:00:00Z',
        '9999-12-31T23:59:59.999999999Z',
        '1969-12-31T23:59:59.500Z',
        '2024-05-01T12:00:00.123456Z',
      ],
      atByName: { t: '2024-01-01T00:00:00.100Z' },
      price: { currency: 'EUR', units: BIG, nanos: 5 },
      byFlag: { true: 'yes', false: 'no' },
      tagsByUbig: { '18446744073709551615': { name: 'max', weight: '0', color: 'COLOR_UNSPECIFIED' } },
    };
    const reply = await echo(json);
    assert.deepEqual(reply, json);
    // What went over the wire, as any proto3 peer reads it.
    const wire = server.lastEchoRequest();
    assert.equal(wire.big, BIG);
    assert.deepEqual(wire.at, { seconds: '1714564800', nanos: 123456789 });
    assert.deepEqual(wire.took, { seconds: '1', nanos: 500000000 });
    assert.deepEqual(wire.maybe_text, { value: '' }); // set, though empty
    assert.equal(wire.opt_int, 0);
    assert.equal(wire._opt_int, 'opt_int'); // present on the wire although 0
    assert.equal(wire.blob, 'AAEC/w==');
  });

  test('7 unset fields: defaults for plain proto3 scalars, null for optional, wrappers and messages', async () => {
    const reply = await echo({ maybeText: null, optInt: null, tag: null });
    assert.deepEqual(
      {
        big: reply.big,
        ubig: reply.ubig,
        small: reply.small,
        ratio: reply.ratio,
        flag: reply.flag,
        text: reply.text,
        blob: reply.blob,
        color: reply.color,
      },
      { big: '0', ubig: '0', small: 0, ratio: 0, flag: false, text: '', blob: '', color: 'COLOR_UNSPECIFIED' },
    );
    for (const name of [
      'optInt',
      'optText',
      'optColor',
      'maybeText',
      'maybeBig',
      'maybeFlag',
      'at',
      'took',
      'tag',
      'nothing',
      'meta',
      'anyJson',
      'price',
    ]) {
      assert.equal(reply[name], null, name);
    }
    assert.deepEqual([reply.tags, reply.bigs, reply.namesById, reply.tagsByName], [[], [], {}, {}]);
    // No oneof member set: neither the members nor the oneof's name appear.
    assert.ok(!('choice' in reply) && !('choiceText' in reply) && !('choiceBig' in reply));
    assert.equal(server.lastEchoRequest().maybe_text, null);
  });

  test('8 encoder accepts numbers for int64, camelCase names, offsets, and a oneof by member', async () => {
    const reply = await echo({
      big: 42,
      bigs: 7,
      choiceText: 'hi',
      at: '2024-01-01T02:00:00+02:00',
      took: '-0.5s',
      maybeBig: 3,
    });
    assert.equal(reply.big, '42');
    assert.deepEqual(reply.bigs, ['7']); // a single value where a list is expected
    assert.equal(reply.choiceText, 'hi');
    assert.equal(reply.choice, 'choiceText');
    assert.equal(reply.at, '2024-01-01T00:00:00Z');
    assert.equal(reply.took, '-PT0.500S'); // the proto3 JSON form is accepted on input too
    assert.equal((await echo({ took: 'P1DT1H1M1.25S' })).took, 'PT90061.250S');
    assert.equal(reply.maybeBig, '3');
    assert.deepEqual(['user_ids', 'interval_ms', 'a_1b'].map(jsonName), ['userIds', 'intervalMs', 'a1b']);
  });

  test('9 bad request values are BAD_USER_INPUT naming the field', () => {
    const encode = compileEncoder(info, 'quilt.test.v1.Kitchen');
    const cases: [unknown, RegExp][] = [
      [{ big: '12abc' }, /field "big": expected a 64-bit integer/],
      [{ ubig: '-1' }, /field "ubig": "-1" is out of range for uint64/],
      [{ tags: [{}, { weight: 1.5 }] }, /field "tags\.1\.weight"/],
      [{ color: 'BLUE' }, /field "color": expected one of COLOR_UNSPECIFIED, RED, GREEN/],
      [{ at: '2024-02-30T00:00:00Z' }, /field "at": .* is not a valid date/],
      [{ took: '5 minutes' }, /field "took": expected an ISO-8601 duration/],
      [{ names_by_id: { abc: 'x' } }, /field "names_by_id\.abc": expected a 64-bit integer/],
      [
        { choice_text: 'a', choice_big: 1 },
        /"choice_text" and "choice_big" are both set but belong to the same oneof "choice"/,
      ],
    ];
    for (const [json, message] of cases) {
      assert.throws(
        () => encode(json),
        (e: QuiltError) => e instanceof QuiltError && e.code === 'BAD_USER_INPUT' && message.test(e.message),
        String(message),
      );
    }
  });

  test('10 statuses map onto the error catalog; details stay out of the client message', async () => {
    const fail = (code: number) =>
      transport.unary(server.address, method('Fail'), { code, details: 'db password is hunter2' }, {}, 2000);
    const outcome = async (code: number) => {
      const e = await fail(code).then(
        () => assert.fail('expected a failure'),
        (err: unknown) => err,
      );
      assert.ok(e instanceof GrpcStatusError, `code ${code} gives ${e}`);
      return grpcStatusToError('orders', e);
    };
    assert.equal(await outcome(5), NOT_FOUND);
    const expected: [number, string, Record<string, unknown>][] = [
      [3, 'BAD_USER_INPUT', { code: 'BAD_USER_INPUT', upstream: 'orders' }],
      [16, 'UNAUTHENTICATED', { code: 'UNAUTHENTICATED', upstream: 'orders' }],
      [7, 'FORBIDDEN', { code: 'FORBIDDEN', upstream: 'orders' }],
      [14, 'UPSTREAM_UNAVAILABLE', { code: 'UPSTREAM_UNAVAILABLE', upstream: 'orders' }],
      [13, 'UPSTREAM_ERROR', { code: 'UPSTREAM_ERROR', upstream: 'orders', status: 'INTERNAL' }],
      [9, 'UPSTREAM_ERROR', { code: 'UPSTREAM_ERROR', upstream: 'orders', status: 'FAILED_PRECONDITION' }],
    ];
    for (const [code, quiltCode, extensions] of expected) {
      const error = (await outcome(code)) as QuiltError;
      assert.equal(error.code, quiltCode);
      assert.deepEqual(error.extensions, extensions);
      assert.doesNotMatch(JSON.stringify(error.toJSON()), /hunter2|127\.0\.0\.1/);
      assert.equal(error.detail.grpcDetails, 'db password is hunter2');
      assert.equal(error.detail.replica, server.address);
    }
    assert.equal(
      ((await outcome(16)) as QuiltError).message,
      'Upstream "orders" rejected the request as unauthenticated',
    );
    // A DEADLINE_EXCEEDED status, however it arrives, is UPSTREAM_TIMEOUT.
    const timeout = grpcStatusToError(
      'orders',
      new GrpcStatusError(4, 'DEADLINE_EXCEEDED', 'x', server.address),
    ) as QuiltError;
    assert.equal(timeout.code, 'UPSTREAM_TIMEOUT');
    const served = await fail(4).catch((e: unknown) => e);
    assert.equal((grpcCallError('orders', 2000, served, {}) as QuiltError).code, 'UPSTREAM_TIMEOUT');
  });

  test('11 a deadline that expires on a connected replica is a timeout that reached it', async () => {
    const cancelled = server.cancelled('Slow');
    const e = await transport
      .unary(server.address, method('Slow'), { delay_ms: 2000 }, {}, 150)
      .catch((err: unknown) => err);
    assert.ok(e instanceof TransportFailure);
    assert.equal(e.kind, 'timeout');
    assert.equal(e.reached, true);
    const error = grpcCallError('orders', 150, e, { method: 'Slow' }) as QuiltError;
    assert.equal(error.code, 'UPSTREAM_TIMEOUT');
    assert.equal(error.message, 'Upstream "orders" did not answer within 150 ms');
    await cancelled; // the server learns the client gave up
  });

  test('12 connection refused never reached the replica: the cluster tries the next one', async () => {
    const dead = `127.0.0.1:${await closedPort()}`;
    const e = await transport.unary(dead, method('Echo'), {}, {}, 2000).catch((err: unknown) => err);
    assert.ok(e instanceof TransportFailure, String(e));
    assert.deepEqual([e.kind, e.reached, e.replica], ['connect', false, dead]);
    assert.equal((grpcCallError('orders', 2000, e, {}) as QuiltError).code, 'UPSTREAM_UNAVAILABLE');
    const cluster = testCluster('orders', [
      { url: dead, weight: 1 },
      { url: `grpc://${server.address}`, weight: 1 },
    ]);
    for (let i = 0; i < 2; i++) {
      const reply = await cluster.call(
        (replica) => transport.unary(replica.url, method('Echo'), { text: 'ok' }, {}, 2000),
        { idempotent: true },
      );
      assert.equal((reply as { text: string }).text, 'ok');
    }
    assert.equal(cluster.stats.failures, 0);
  });

  test('13 no connection established before the deadline is a connect failure, not reached', async () => {
    const { port } = silent.address() as { port: number };
    for (const target of [`127.0.0.1:${port}`, `grpcs://localhost:${port}`]) {
      const e = await transport.unary(target, method('Echo'), {}, {}, 300).catch((err: unknown) => err);
      assert.ok(e instanceof TransportFailure, `${target}: ${e}`);
      assert.deepEqual([e.kind, e.reached], ['connect', false], target);
    }
  });

  test('14 UNAVAILABLE answered by a server reached it: a status error the cluster does not retry', async () => {
    const before = server.calls.get('Fail') ?? 0;
    // Even when the server relays another service's connect failure text.
    const request = { code: 14, details: 'No connection established. Last error: connect ECONNREFUSED' };
    const cluster = testCluster('orders', [
      { url: server.address, weight: 1 },
      { url: server.address.replace('127.0.0.1', 'localhost'), weight: 1 },
    ]);
    const e = await cluster
      .call((replica) => transport.unary(replica.url, method('Fail'), request, {}, 2000), { idempotent: true })
      .catch((err: unknown) => err);
    assert.ok(e instanceof GrpcStatusError && !(e instanceof TransportFailure));
    assert.equal(e.codeName, 'UNAVAILABLE');
    assert.equal(server.calls.get('Fail'), before + 1);
    assert.equal((grpcCallError('orders', 2000, e, {}) as QuiltError).code, 'UPSTREAM_UNAVAILABLE');
  });

  test('15 one channel per replica, metadata sent', async () => {
    const start = server.peers.length;
    await transport.unary(
      server.address,
      method('Echo'),
      {},
      { 'x-request-id': 'r-1', 'trace-bin': Buffer.from([1, 2]).toString('base64') },
      2000,
    );
    await transport.unary(server.address, method('Echo'), {}, {}, 2000);
    const [a, b] = server.peers.slice(start);
    assert.equal(a, b); // same client port: the channel (and its connection) was reused
    const md = server.metadata[start];
    assert.deepEqual(md.get('x-request-id'), ['r-1']);
    assert.deepEqual(md.get('trace-bin'), [Buffer.from([1, 2])]);
  });

  test('16 server streaming yields every message, recursive messages decoded', async () => {
    const decode = compileDecoder(info, 'quilt.test.v1.Tick');
    const seen: unknown[] = [];
    for await (const tick of transport.serverStream(
      server.address,
      method('Ticks'),
      { count: 5, interval_ms: 1 },
      {},
      new AbortController().signal,
    )) {
      seen.push(decode(tick));
    }
    assert.equal(seen.length, 5);
    assert.deepEqual(seen[4], { n: 5, children: [{ n: 50, children: [{ n: 500, children: [] }] }] });
  });

  test('17 a stream ending with a status fails after its messages', async () => {
    const seen: number[] = [];
    const stream = transport.serverStream(
      server.address,
      method('Ticks'),
      { count: 2, interval_ms: 1, fail_with_code: 13 },
      {},
      new AbortController().signal,
    );
    await assert.rejects(
      async () => {
        for await (const tick of stream) seen.push((tick as { n: number }).n);
      },
      (e: unknown) => e instanceof GrpcStatusError && e.codeName === 'INTERNAL',
    );
    assert.deepEqual(seen, [1, 2]);
  });

  test('18 aborting the signal cancels the call upstream and ends the stream quietly', async () => {
    const controller = new AbortController();
    const cancelled = server.cancelled('Ticks');
    const seen: number[] = [];
    for await (const tick of transport.serverStream(
      server.address,
      method('Ticks'),
      { count: 1000, interval_ms: 20 },
      {},
      controller.signal,
    )) {
      seen.push((tick as { n: number }).n);
      if (seen.length === 2) controller.abort();
    }
    assert.deepEqual(seen, [1, 2]);
    await cancelled;
  });

  test('19 leaving the loop early cancels the call upstream too', async () => {
    const cancelled = server.cancelled('Ticks');
    for await (const tick of transport.serverStream(
      server.address,
      method('Ticks'),
      { count: 1000, interval_ms: 20 },
      {},
      new AbortController().signal,
    )) {
      assert.equal((tick as { n: number }).n, 1);
      break;
    }
    await cancelled;
  });

  test('20 a stream to a dead replica is a connect failure; ready() tells before the first message', async () => {
    const dead = `127.0.0.1:${await closedPort()}`;
    const stream = transport.serverStream(dead, method('Ticks'), { count: 1 }, {}, new AbortController().signal, 2000);
    await assert.rejects(
      async () => {
        for await (const _ of stream) assert.fail('no message expected');
      },
      (e: unknown) => e instanceof TransportFailure && e.kind === 'connect' && !e.reached,
    );
    // So the cluster can move a stream to another replica before anything was sent.
    await assert.rejects(
      transport.ready(dead, 2000),
      (e: unknown) => e instanceof TransportFailure && e.kind === 'connect' && !e.reached,
    );
    const { port } = silent.address() as { port: number };
    await assert.rejects(
      transport.ready(`127.0.0.1:${port}`, 200),
      (e: unknown) => e instanceof TransportFailure && !e.reached,
    );
    const cluster = testCluster('events', [
      { url: dead, weight: 1 },
      { url: server.address, weight: 1 },
    ]);
    for (let i = 0; i < 2; i++) {
      const stream = await cluster.call(
        async (replica) => {
          await transport.ready(replica.url, 2000);
          return transport.serverStream(
            replica.url,
            method('Ticks'),
            { count: 2, interval_ms: 1 },
            {},
            new AbortController().signal,
          );
        },
        { idempotent: false },
      );
      const seen: unknown[] = [];
      for await (const tick of stream) seen.push(tick);
      assert.equal(seen.length, 2);
    }
  });
});

test('21 grpcTarget', () => {
  assert.deepEqual(grpcTarget('127.0.0.1:50051'), { address: '127.0.0.1:50051', secure: false });
  assert.deepEqual(grpcTarget('grpc://orders:50051'), { address: 'orders:50051', secure: false });
  assert.deepEqual(grpcTarget('grpcs://orders.example.com:443/'), { address: 'orders.example.com:443', secure: true });
  assert.deepEqual(grpcTarget('[::1]:50051'), { address: '[::1]:50051', secure: false });
  assert.throws(() => grpcTarget('http://orders:50051'), /not host:port/);
  assert.throws(() => grpcTarget('orders'), /not host:port/);
});
