// Shared by the hardening tests: a users upstream whose every user has a friend (so depth is
// easy to build), the schema over it, and assertions that a request was refused with a code
// and never reached the upstream.
import assert from 'node:assert/strict';
import { DEFAULT_SECURITY, type HardeningOptions, type SecurityOptions } from '../../src/security/options.js';
import { type GraphQLResponse, type Harness, httpUpstream } from './gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from './json-server.js';

/** GET /users/N answers { id: N, name: "User N", friendId: N+1 }. */
export function startUsersUpstream(): Promise<TestServer> {
  return startTestServer((req, res) => {
    const id = Number(req.url.split('/').pop());
    sendJson(res, 200, { id: String(id), name: `User ${id}`, friendId: String(id + 1) });
  });
}

export function usersFiles(upstream: TestServer): Record<string, string> {
  return {
    'users.graphql': `${httpUpstream('users', [upstream.url])}
type User {
  id: ID!
  name: String
  friendId: ID
  friend: User @http(GET: "/users/{parent.friendId}")
}
type Query {
  user(id: ID!): User @http(GET: "/users/{args.id}")
}
`,
  };
}

/** DEFAULT_SECURITY with these hardening options. */
export function withHardening(hardening: Partial<HardeningOptions>): SecurityOptions {
  return { ...DEFAULT_SECURITY, hardening: { ...DEFAULT_SECURITY.hardening, ...hardening } };
}

/** `{ user(id: "1") { friend { friend { ... { id } } } } }` with `depth` levels of fields. */
export function nested(depth: number): string {
  return `{ user(id: "1") ${'{ friend '.repeat(depth - 2)}{ id }${' }'.repeat(depth - 2)} }`;
}

export function codes(r: GraphQLResponse): unknown[] {
  return (r.body.errors ?? []).map((e) => e.extensions?.code);
}

/** quilt_limit_rejections_total{reason} of the harness's gateway. */
export async function rejections(h: Harness, reason: string): Promise<number> {
  const line = (await h.gateway.metrics.scrape())
    .split('\n')
    .find((l) => l.startsWith(`quilt_limit_rejections_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Asserts the status, the one error code, and that the upstream saw no call. */
export function refusedBy(upstream: TestServer) {
  return async function refused(r: GraphQLResponse, status: number, code: string): Promise<void> {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.deepEqual(codes(r), [code], JSON.stringify(r.body));
    assert.equal(upstream.seen.length, 0, 'the upstream was called for a refused request');
  };
}

export async function send(url: string, init: RequestInit): Promise<GraphQLResponse> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: (await res.json()) as GraphQLResponse['body'] };
}
