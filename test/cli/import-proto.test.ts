// `quilt import proto` as a user runs it (a child process): the schema file it writes passes
// `quilt check` and serves without edits, over a real grpc-js route guide (unary as a Query
// field, server streaming as a Subscription over SSE) and the mapping fixture's Echo (every
// kind of field the proto3 JSON mapping covers); usage and load problems give exit 2 and 1.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { loadGrpcService } from '../../src/connectors/grpc/proto.js';
import { type MappingServer, startMappingServer } from '../fixtures/grpc/mapping-server.js';
import { type Harness, payload, startHarness } from '../helpers/gateway-harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ROUTE_GUIDE = join(ROOT, 'test/fixtures/route-guide/route_guide.proto');
const MAPPING = join(ROOT, 'test/fixtures/grpc/mapping.proto');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function quilt(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/quilt.js'), ...args], { cwd: ROOT }, (e, stdout, stderr) => {
      resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'quilt-import-'));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

type Point = { latitude: number; longitude: number };
const FEATURES = [
  { name: 'Patriots Path, Mendham, NJ 07945, USA', location: { latitude: 407838351, longitude: -746143763 } },
  { name: '101 New Jersey 10, Whippany, NJ 07981, USA', location: { latitude: 408122808, longitude: -743999179 } },
  { name: 'U.S. 6, Shohola, PA 18458, USA', location: { latitude: 413628156, longitude: -749015468 } },
  { name: '5 Conners Road, Kingston, NY 12401, USA', location: { latitude: 419999544, longitude: -740371136 } },
];

/** The route guide server of the gRPC examples, over FEATURES. */
async function startRouteGuide(): Promise<{ address: string; close(): Promise<void> }> {
  const definition = loadSync(ROUTE_GUIDE, { keepCase: true, defaults: true });
  const service = definition['routeguide.RouteGuide'] as grpc.ServiceDefinition;
  const server = new grpc.Server();
  const at = (p: Point) =>
    FEATURES.find((f) => f.location.latitude === p.latitude && f.location.longitude === p.longitude);
  server.addService(service, {
    GetFeature(call: grpc.ServerUnaryCall<Point, unknown>, callback: grpc.sendUnaryData<unknown>) {
      callback(null, at(call.request) ?? { name: '', location: call.request });
    },
    ListFeatures(call: grpc.ServerWritableStream<{ lo: Point; hi: Point }, unknown>) {
      const { lo, hi } = call.request;
      const [left, right] = [Math.min(lo.longitude, hi.longitude), Math.max(lo.longitude, hi.longitude)];
      const [bottom, top] = [Math.min(lo.latitude, hi.latitude), Math.max(lo.latitude, hi.latitude)];
      for (const f of FEATURES) {
        const { latitude, longitude } = f.location;
        if (longitude >= left && longitude <= right && latitude >= bottom && latitude <= top) call.write(f);
      }
      call.end();
    },
    RecordRoute(call: grpc.ServerReadableStream<Point, unknown>, callback: grpc.sendUnaryData<unknown>) {
      call.on('data', () => {}).on('end', () => callback(null, {}));
    },
    RouteChat(call: grpc.ServerDuplexStream<unknown, unknown>) {
      call.on('data', (note) => call.write(note)).on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

/** The `data:` payloads of `event: next` until `event: complete`. */
async function sseNext(res: Response): Promise<any[]> {
  const text = await res.text();
  const events = text.split(/\r?\n\r?\n/).filter((b) => /^(event|data):/m.test(b));
  const kinds = events.map((b) => /^event: ?(.*)$/m.exec(b)?.[1] ?? 'message');
  assert.equal(kinds.at(-1), 'complete', text);
  return events
    .filter((_, i) => kinds[i] === 'next')
    .map((b) =>
      JSON.parse(
        b
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n'),
      ),
    );
}

describe('quilt import proto: the route guide', () => {
  let guide: Awaited<ReturnType<typeof startRouteGuide>>;
  let h: Harness;
  let dir: string;
  let schema: string;

  before(async () => {
    guide = await startRouteGuide();
    dir = tempDir();
    copyFileSync(ROUTE_GUIDE, join(dir, 'route_guide.proto'));
    const run = await quilt(
      'import',
      'proto',
      join(dir, 'route_guide.proto'),
      '--out',
      join(dir, 'route-guide.graphql'),
      '--replicas',
      guide.address,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
    schema = readFileSync(join(dir, 'route-guide.graphql'), 'utf8');
    h = await startHarness({ 'route-guide.graphql': schema, 'route_guide.proto': readFileSync(ROUTE_GUIDE, 'utf8') });
  });
  after(async () => {
    await h?.close();
    await guide?.close();
  });

  test('1 the file: upstream, roots, skipped streaming methods, types', async () => {
    assert.match(
      schema,
      /name: "route-guide"\n {4}protocol: GRPC\n {4}proto: "route_guide.proto"\n {4}service: "routeguide.RouteGuide"\n {4}replicas: \[\{ url: "127\.0\.0\.1:\d+" \}\]/,
    );
    assert.match(
      schema,
      /type Query \{\n.*\n {2}getFeature\(latitude: Int, longitude: Int\): Feature @grpc\(method: "GetFeature", request: \{ latitude: "\{args.latitude\}", longitude: "\{args.longitude\}" \}\)\n\}/,
    );
    assert.match(
      schema,
      /type Subscription \{\n.*\n {2}listFeatures\(lo: PointInput, hi: PointInput\): Feature @grpc\(method: "ListFeatures", request: \{ lo: "\{args.lo\}", hi: "\{args.hi\}" \}\)\n\}/,
    );
    assert.doesNotMatch(schema, /type Mutation|recordRoute|routeChat|RouteSummary|RouteNote/);
    assert.match(schema, /^# RecordRoute: not generated, client streaming/m);
    assert.match(schema, /^# RouteChat: not generated, bidirectional streaming/m);
    assert.match(schema, /type Feature \{\n {2}name: String!\n {2}location: Point\n\}/);
    assert.match(schema, /input PointInput \{\n {2}latitude: Int\n {2}longitude: Int\n\}/);
    const check = await quilt('check', dir);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /listFeatures\(lo: PointInput, hi: PointInput\): Feature/);
  });

  test('2 getFeature serves through the gateway (and an empty name where there is no feature)', async () => {
    const q =
      'query($lat: Int, $lng: Int) { getFeature(latitude: $lat, longitude: $lng) { name location { latitude longitude } } }';
    const found = await h.query(q, { lat: 408122808, lng: -743999179 });
    assert.deepEqual(payload(found.body), { data: { getFeature: FEATURES[1] } });
    const none = await h.query(q, { lat: 1, lng: 2 });
    assert.deepEqual(payload(none.body), {
      data: { getFeature: { name: '', location: { latitude: 1, longitude: 2 } } },
    });
  });

  test('3 listFeatures streams every feature in the rectangle over SSE', async () => {
    const res = await fetch(`${h.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query:
          'subscription($lo: PointInput, $hi: PointInput) { listFeatures(lo: $lo, hi: $hi) { name location { latitude longitude } } }',
        variables: {
          lo: { latitude: 400000000, longitude: -750000000 },
          hi: { latitude: 420000000, longitude: -730000000 },
        },
      }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.deepEqual(
      await sseNext(res),
      FEATURES.map((f) => ({ data: { listFeatures: f } })),
    );
  });
});

describe('quilt import proto: the mapping fixture', () => {
  let server: MappingServer;
  let h: Harness;

  before(async () => {
    server = await startMappingServer(loadGrpcService(MAPPING, 'quilt.test.v1.MappingService'));
  });
  after(async () => {
    await h?.close();
    await server?.close();
  });

  test('4 every mapped kind of field passes quilt check (proto: relative to --out)', async () => {
    const dir = tempDir();
    const run = await quilt(
      'import',
      'proto',
      'test/fixtures/grpc/mapping.proto',
      '--service',
      'quilt.test.v1.MappingService',
      '--out',
      join(dir, 'mapping.graphql'),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /Upload: not generated, client streaming/);
    const schema = readFileSync(join(dir, 'mapping.graphql'), 'utf8');
    assert.match(schema, /proto: "(\.\.\/)+.*\/test\/fixtures\/grpc\/mapping\.proto"/);
    assert.match(schema, /replicas: \[\{ url: "127\.0\.0\.1:50051" \}\]/);
    // NO_SIDE_EFFECTS -> Query; IDEMPOTENT or nothing, no read-like name -> Mutation.
    assert.match(schema, /type Query \{\n.*\n {2}echo\(/);
    assert.match(schema, /type Mutation \{\n.*\n {2}fail\(code: Int, details: String\): Empty @grpc/);
    assert.match(
      schema,
      /type Subscription \{\n.*\n {2}ticks\(count: Int, intervalMs: Int, failWithCode: Int\): Tick @grpc/,
    );
    for (const line of [
      'big: String!',
      'blob: String!',
      'color: Color!',
      'at: String',
      'took: String',
      'maybeInt: Int',
      'maybeUint: Float',
      'tagsByName: ProtoMap!',
      'choiceBig: String',
      'choice: String',
      'optInt: Int',
      'nothing: Empty',
      'meta: ProtoJSON',
      'price: Money',
      'children: [Tick!]!',
    ]) {
      assert.ok(schema.includes(`\n  ${line}\n`), line);
    }
    assert.match(schema, /enum Color \{\n {2}COLOR_UNSPECIFIED\n {2}RED\n {2}GREEN\n\}/);
    assert.match(schema, /type Empty \{\n.*\n {2}_: Boolean\n\}/);
    const check = await quilt('check', dir);
    assert.equal(check.code, 0, check.stderr);
  });

  test('5 and serves: Echo round-trips 64-bit ints, enums, maps, oneof, Timestamp, wrappers, Empty', async () => {
    const run = await quilt(
      'import',
      'proto',
      MAPPING,
      '--service',
      'quilt.test.v1.MappingService',
      '--replicas',
      server.address,
      '--upstream-name',
      'kitchen',
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /name: "kitchen"/);
    assert.ok(run.stdout.includes(`proto: ${JSON.stringify(MAPPING)}`), 'on stdout, proto: is the path as given');
    h = await startHarness({ 'mapping.graphql': run.stdout });
    // A map keyed by numbers goes in as a variable: GraphQL object literal keys are names.
    const res = await h.query(
      `query($byId: ProtoMap) {
      echo(big: "9007199254740993", color: RED, tagsByName: { a: { name: "x", weight: "5", color: "GREEN" } }, namesById: $byId,
           choiceTag: { name: "picked" }, at: "2024-01-31T12:00:00Z", maybeText: "hi", nothing: {}, tags: [{ name: "t", color: GREEN }], meta: { k: [1, "a"] }) {
        big color tagsByName namesById choice choiceTag { name } choiceText at maybeText maybeInt nothing { _ } tags { name weight color } meta small
      }
    }`,
      { byId: { 7: 'seven' } },
    );
    assert.deepEqual(payload(res.body), {
      data: {
        echo: {
          big: '9007199254740993',
          color: 'RED',
          tagsByName: { a: { name: 'x', weight: '5', color: 'GREEN' } },
          namesById: { 7: 'seven' },
          choice: 'choiceTag',
          choiceTag: { name: 'picked' },
          choiceText: null,
          at: '2024-01-31T12:00:00Z',
          maybeText: 'hi',
          maybeInt: null,
          nothing: { _: null },
          tags: [{ name: 't', weight: '0', color: 'GREEN' }],
          meta: { k: [1, 'a'] },
          small: 0,
        },
      },
    });
    // A google.protobuf.Empty reply is an Empty object whose one field is null.
    assert.deepEqual(payload((await h.query('mutation { slow(delayMs: 1) { _ } }')).body), {
      data: { slow: { _: null } },
    });
    const fail = await h.query('mutation { fail(code: 13, details: "boom") { _ } }');
    assert.equal(fail.body.errors?.[0]?.extensions?.code, 'UPSTREAM_ERROR');
  });
});

describe('quilt import proto: more shapes, and problems', () => {
  test('6 name collisions, well-known requests and replies, Empty, the Query/Mutation rule', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'things.proto'),
      `syntax = "proto3";
package demo.v1;
import "google/protobuf/empty.proto";
import "google/protobuf/timestamp.proto";
message Outer { message Inner { string a = 1; } Inner inner = 1; }
message Other { message Inner { int64 b = 1; } Inner inner = 1; }
message Query { string q = 1; }
message Pair { Outer outer = 1; Other other = 2; Query query = 3; }
service Things {
  rpc FindPair(Query) returns (Pair);
  rpc Listing(Query) returns (Pair);
  rpc Touch(google.protobuf.Timestamp) returns (google.protobuf.Empty);
  rpc Now(google.protobuf.Empty) returns (google.protobuf.Timestamp) { option idempotency_level = NO_SIDE_EFFECTS; }
  rpc Listen(google.protobuf.Empty) returns (stream Pair);
}
`,
    );
    const run = await quilt('import', 'proto', join(dir, 'things.proto'), '--out', join(dir, 'things.graphql'));
    assert.equal(run.code, 0, run.stderr);
    const schema = readFileSync(join(dir, 'things.graphql'), 'utf8');
    assert.match(schema, /type OuterInner \{\n {2}a: String!\n\}/);
    assert.match(schema, /type OtherInner \{\n.*\n {2}b: String!\n\}/);
    assert.match(schema, /type DemoV1Query \{/);
    assert.match(
      schema,
      /type Query \{\n.*\n {2}findPair\(q: String\): Pair @grpc.*\n.*\n {2}now: String @grpc\(method: "Now"\)\n\}/,
    );
    assert.match(
      schema,
      /type Mutation \{\n.*\n {2}listing\(q: String\): Pair @grpc.*\n.*\n {2}touch\(value: String\): Empty @grpc\(method: "Touch", request: "\{args.value\}"\)\n\}/,
    );
    assert.match(schema, /listen: Pair @grpc\(method: "Listen"\)/);
    const check = await quilt('check', dir);
    assert.equal(check.code, 0, check.stderr);
  });

  test('7 several services without --service: exit 2 listing them; an unknown one too', async () => {
    const [run, unknown] = await Promise.all([
      quilt('import', 'proto', 'test/fixtures/grpc/mapping.proto'),
      quilt('import', 'proto', 'test/fixtures/grpc/mapping.proto', '--service', 'Nope'),
    ]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /defines 2 services; choose one with --service:\n {2}quilt\.test\.v1\.MappingService\n {2}quilt\.test\.v1\.OtherService/,
    );
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no service "Nope"; its services:\n {2}quilt\.test\.v1\.MappingService/);
  });

  test('8 a missing file: exit 1 with its path; a broken one: exit 1 with file:line:column', async () => {
    const [missing, broken, usage] = await Promise.all([
      quilt('import', 'proto', 'test/fixtures/nowhere/route_guide.proto'),
      quilt('import', 'proto', 'test/fixtures/grpc/broken.proto'),
      quilt('import', 'proto', ROUTE_GUIDE, '--replicas', 'http://x'),
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /test\/fixtures\/nowhere\/route_guide\.proto: no such file/);
    assert.equal(broken.code, 1);
    assert.ok(
      broken.stderr.includes(
        `${join(ROOT, 'test/fixtures/grpc/broken.proto')}:8:3: illegal token 'int64', ';' expected`,
      ),
      broken.stderr,
    );
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--replicas: expected host:port/);
  });
});
