// `node --import tsx bench/cache-overhead.ts`: what the response cache costs, in-process (no
// sockets, trivial resolvers, so the plugin's own work is what differs). First the hooks alone
// on a schema without @cacheControl (what every request pays once the plugin is in the list),
// then CPU per request through yoga.fetch: without the plugin, with it on a schema without
// @cacheControl, an operation with maxAge 0, a miss that stores, and a hit. Best of 3 rounds.
import { makeExecutableSchema } from '@graphql-tools/schema';
import { buildSchema, parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { Registry } from 'prom-client';
import { CacheMetrics } from '../src/caching/cache-metrics.js';
import { MemoryResponseStore } from '../src/caching/response-store.js';
import { useResponseCache } from '../src/caching/use-response-cache.js';
import { SERVED_DIRECTIVES_SDL } from '../src/config/directives.js';

const plugin = () => useResponseCache({ store: new MemoryResponseStore(), metrics: new CacheMetrics(new Registry()) });

function hooksOff(): void {
  const p = plugin();
  const schema = buildSchema('type Query { a: String }');
  const params = { args: { schema, document: parse('{ a }'), operationName: undefined, contextValue: {} } } as never;
  const response = { request: new Request('http://x/'), response: new Response('') } as never;
  const N = 5e6;
  const time = (f: () => void) => {
    for (let i = 0; i < N; i++) f();
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) f();
    return (Number(process.hrtime.bigint() - t) / N).toFixed(1);
  };
  console.log(
    `no @cacheControl: onExecute ${time(() => p.onExecute!(params))} ns, onResponse ${time(() => p.onResponse!(response))} ns per request`,
  );
}

const QUERY = 'query Q($id: ID!) { t(id: $id) { id name } }';

function yoga(cacheControl: boolean, withPlugin: boolean) {
  const schema = makeExecutableSchema({
    typeDefs: `${SERVED_DIRECTIVES_SDL}
type T ${cacheControl ? '@cacheControl(maxAge: 600)' : ''} { id: ID name: String }
type Query { t(id: ID!): T n: Int }`,
    resolvers: { Query: { t: (_: unknown, { id }: { id: string }) => ({ id, name: `n${id}` }), n: () => 1 } },
  });
  // The gateway always has onExecute (authorization) and onResponse (request id, response
  // headers) hooks, so yoga's and envelop's hooked paths are there with or without the cache:
  // the baseline has no-op ones.
  const alwaysThere = { onExecute() {}, onResponse() {} };
  return createYoga({ schema, plugins: withPlugin ? [alwaysThere, plugin()] : [alwaysThere], logging: false });
}

/** CPU µs per request; `id(i)` is the variable of request i, or null for `{ n }` (maxAge 0). */
async function cpuPerRequest(server: ReturnType<typeof yoga>, id: (i: number) => string | null): Promise<number> {
  const send = async (i: number) => {
    const v = id(i);
    const body = v === null ? { query: '{ n }' } : { query: QUERY, variables: { id: v } };
    const res = await server.fetch('http://x/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return res.text();
  };
  for (let i = 0; i < 2000; i++) await send(1e9 + i);
  const n = 20_000;
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await send(i);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

hooksOff();
const cases: [string, () => ReturnType<typeof yoga>, (round: number) => (i: number) => string | null][] = [
  ['without the plugin', () => yoga(false, false), () => (i) => String(i % 50)],
  ['plugin, no @cacheControl', () => yoga(false, true), () => (i) => String(i % 50)],
  ['plugin, maxAge 0 operation', () => yoga(true, true), () => () => null],
  ['plugin, miss and store', () => yoga(true, true), (round) => (i) => `${round}-${i}`],
  ['plugin, hit', () => yoga(true, true), () => () => '1'],
];
const best = new Map<string, number[]>();
for (let round = 0; round < 3; round++)
  for (const [name, make, ids] of cases)
    best.set(name, [...(best.get(name) ?? []), await cpuPerRequest(make(), ids(round))]);
for (const [name, runs] of best) console.log(`${name.padEnd(28)} ${Math.min(...runs).toFixed(0)} µs CPU per request`);
