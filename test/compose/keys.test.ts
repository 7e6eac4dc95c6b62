// Keys named differently per source, and IDs that hold integers (README, "Composition"):
// a gRPC service keys its Branch by int32 id, a REST service by a number it calls
// branchId; each source maps its own JSON onto the shared `id: ID!` (@from), the gateway
// compares keys as strings, and an ID argument goes to the gRPC service as the proto's int32.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { type Harness, httpUpstream, startHarness } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

const PROTO = new URL('../fixtures/grpc/branches.proto', import.meta.url);
const BRANCHES = [
  { id: 1, city: 'Lisbon', head_office_id: '9007199254740993' },
  { id: 2, city: 'Porto', head_office_id: '1' },
  { id: 30, city: 'Faro', head_office_id: '1' },
];

describe('keys across sources', () => {
  let server: grpc.Server;
  let address: string;
  const requests: unknown[] = [];
  let rest: TestServer;
  let h: Harness;
  before(async () => {
    const definition = protoLoader.loadSync(PROTO.pathname, { keepCase: true, longs: String, defaults: true });
    const service = (grpc.loadPackageDefinition(definition).quilt as any).test.branches.BranchService.service;
    server = new grpc.Server();
    server.addService(service, {
      GetBranch: (call: grpc.ServerUnaryCall<{ id: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        requests.push(call.request);
        const b = BRANCHES.find((x) => x.id === call.request.id);
        cb(b ? null : { code: grpc.status.NOT_FOUND, details: 'no branch' }, b);
      },
      ListBranches: (call: grpc.ServerUnaryCall<{ ids: number[] }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        requests.push(call.request);
        cb(null, { branches: BRANCHES.filter((b) => call.request.ids.includes(b.id)) });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
    rest = await startTestServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/staff')
        return sendJson(res, 200, [
          { name: 'Ana', branchId: 30 },
          { name: 'Rui', branchId: 1 },
        ]);
      if (url.pathname === '/branches') {
        const ids = url.searchParams.getAll('id');
        return sendJson(
          res,
          200,
          [
            { branchId: 1, manager: 'Ana' },
            { branchId: 30, manager: 'Rui' },
          ].filter((b) => ids.includes(String(b.branchId))),
        );
      }
      sendJson(res, 404, {});
    });
    h = await startHarness({
      'branches.proto': readFileSync(PROTO, 'utf8'),
      'branches.graphql': `extend schema @upstream(name: "branches", protocol: GRPC, proto: "branches.proto", service: "quilt.test.branches.BranchService", replicas: [{ url: "${address}" }])
type Branch @key(selectionSet: "{ id }") {
  "an int32 upstream"
  id: ID!
  city: String!
  "a uint64: a decimal string, never rounded"
  headOfficeId: ID!
}
type Query {
  branch(id: ID!): Branch @grpc(method: "GetBranch", request: { id: "{args.id}" })
  branchesByIds(ids: [ID!]!): [Branch]! @grpc(method: "ListBranches", request: { ids: "{args.ids}" }, result: "branches") @merge(keyField: "id")
}
`,
      'staff.graphql': `${httpUpstream('staff', [rest.url])}
"The REST service calls the branch's key branchId, and sends it as a number."
type Branch @key(selectionSet: "{ id }") {
  id: ID! @from(path: "branchId")
  manager: String
}
type Person { name: String! branch: Branch @from(path: "branchId") }
type Query {
  staff: [Person!]! @http(GET: "/staff")
  branchesById(ids: [ID!]!): [Branch]! @http(GET: "/branches?id={args.ids}") @merge(keyField: "id")
}
`,
    });
  });
  after(async () => {
    await h?.close();
    await rest?.close();
    server?.forceShutdown();
  });

  test('an ID argument reaches the gRPC service as its int32; the int32 comes back as an ID', async () => {
    requests.length = 0;
    const r = await h.query('{ branch(id: "30") { id city headOfficeId } }');
    assert.deepEqual(r.body, { data: { branch: { id: '30', city: 'Faro', headOfficeId: '1' } } });
    assert.deepEqual(requests, [{ id: 30 }]);
    const big = await h.query('{ branch(id: "1") { headOfficeId } }');
    assert.deepEqual(big.body, { data: { branch: { headOfficeId: '9007199254740993' } } });
  });

  test('REST objects keyed by a number named branchId join gRPC branches keyed by int32 id', async () => {
    requests.length = 0;
    const r = await h.query('{ staff { name branch { id city manager } } }');
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    assert.deepEqual(r.body.data, {
      staff: [
        { name: 'Ana', branch: { id: '30', city: 'Faro', manager: 'Rui' } },
        { name: 'Rui', branch: { id: '1', city: 'Lisbon', manager: 'Ana' } },
      ],
    });
    assert.deepEqual(requests, [{ ids: [30, 1] }], 'one ListBranches call, the keys sent as int32');
  });

  test('and the other way: gRPC branches get the REST fields by the REST key', async () => {
    const r = await h.query('{ branch(id: "1") { id city manager } }');
    assert.deepEqual(r.body, { data: { branch: { id: '1', city: 'Lisbon', manager: 'Ana' } } });
    assert.ok(
      rest.seen.some((s) => s.url === '/branches?id=1'),
      JSON.stringify(rest.seen.map((s) => s.url)),
    );
  });
});
