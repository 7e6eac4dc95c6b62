// @upstream pool settings as a schema author writes them: every algorithm is accepted, and a
// wrong value is a load problem naming file:line:column, the setting, what it expects and
// what it received (messages a user can act on).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { loadSchemaFolder } from '../../src/config/load-folder.js';
import { tempSchemasDir } from '../helpers/gateway-harness.js';

async function load(upstreamArgs: string) {
  const text = `extend schema @upstream(name: "u", protocol: HTTP, replicas: [{ url: "http://127.0.0.1:1" }]
  ${upstreamArgs})
type Query { a: String @http(GET: "/a") }
`;
  const dir = tempSchemasDir({ 'u.graphql': text });
  try {
    return await loadSchemaFolder(dir, {});
  } finally {
    rmSync(dir, { recursive: true });
  }
}

test('every balancing algorithm and the pool settings are read with their defaults', async () => {
  for (const algorithm of [
    'ROUND_ROBIN',
    'WEIGHTED_ROUND_ROBIN',
    'STICKY',
    'LEAST_CONNECTIONS',
    'LEAST_RESPONSE_TIME',
    'RANDOM',
  ]) {
    const loaded = await load(`balance: { algorithm: ${algorithm} }`);
    assert.deepEqual(loaded.problems, [], algorithm);
    assert.equal(loaded.sources[0].upstream.cluster.pool.balance.algorithm, algorithm);
  }
  const loaded = await load(
    'balance: { algorithm: HASH, hashOn: "header:X-Tenant" }, health: { path: "/ready" }, tryTimeoutMs: 500',
  );
  assert.deepEqual(loaded.problems, []);
  const pool = loaded.sources[0].upstream.cluster.pool;
  assert.equal(pool.balance.hashOn, 'header:X-Tenant');
  assert.deepEqual(
    { ...pool.health },
    { path: '/ready', service: '', intervalMs: 5000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 2 },
  );
  assert.deepEqual(
    { ...pool.outlier },
    {
      consecutiveFailures: 5,
      baseEjectionMs: 30000,
      maxEjectionMs: 300000,
      maxEjectionPercent: 50,
      intervalMs: 10000,
      successRateMinimumHosts: 3,
      successRateRequestVolume: 100,
      successRateStdevFactor: 1.9,
      failurePercentageThreshold: 50,
      failurePercentageMinimumHosts: 2,
      failurePercentageRequestVolume: 20,
    },
  );
  assert.deepEqual(
    [pool.timeoutMs, pool.tryTimeoutMs, pool.retry.retries, pool.maxInFlight, pool.slowStartMs],
    [10000, 500, 2, 1024, 0],
  );
  assert.equal(
    (await load('')).sources[0].upstream.cluster.pool.health,
    undefined,
    'no active checks unless asked for',
  );
});

test('a wrong pool setting names the file, the line, the setting, the expected and the received value', async () => {
  const cases: [string, string][] = [
    [
      'balance: { algorithm: HASH }',
      '@upstream(balance.hashOn) expected ip, url, header:NAME or claim:NAME (HASH needs it); received null',
    ],
    ['balance: { algorithm: HASH, hashOn: "body" }', 'received "body"'],
    [
      'balance: { algorithm: ROUND_ROBIN, hashOn: "ip" }',
      '@upstream(balance.hashOn) expected no hashOn unless algorithm is HASH',
    ],
    [
      'balance: { algorithm: STICKY, stickyOn: "query:x" }',
      '@upstream(balance.stickyOn) expected header:NAME or cookie:NAME; received "query:x"',
    ],
    ['health: { path: "health" }', '@upstream(health.path) expected a path starting with "/"; received "health"'],
    [
      'health: { unhealthyThreshold: 0 }',
      '@upstream(health.unhealthyThreshold) expected an integer of 1 or more; received 0',
    ],
    [
      'outlierDetection: { maxEjectionPercent: 150 }',
      '@upstream(outlierDetection.maxEjectionPercent) expected a percent from 0 to 100; received 150',
    ],
    [
      'timeoutMs: 100, tryTimeoutMs: 500',
      '@upstream(tryTimeoutMs) expected an integer from 1 to timeoutMs (100); received 500',
    ],
    ['retries: -1', '@upstream(retries) expected an integer of 0 or more; received -1'],
    ['maxInFlight: 0', '@upstream(maxInFlight) expected an integer of 1 or more; received 0'],
    [
      'balance: { algorithm: FASTEST }',
      '@upstream(balance.algorithm) expected one of ROUND_ROBIN, WEIGHTED_ROUND_ROBIN, STICKY, HASH, LEAST_CONNECTIONS, LEAST_RESPONSE_TIME, RANDOM; received FASTEST',
    ],
    ['health: { intervalMs: "2s" }', '@upstream(health.intervalMs) expected Int; received "2s"'],
    [
      'outlierDetection: { ejectAfter: 3 }',
      '@upstream(outlierDetection.ejectAfter) expected one of the settings consecutiveFailures, baseEjectionMs, maxEjectionMs, maxEjectionPercent, intervalMs, successRateMinimumHosts, successRateRequestVolume, successRateStdevFactor, failurePercentageThreshold, failurePercentageMinimumHosts, failurePercentageRequestVolume; received ejectAfter',
    ],
    [
      'outlierDetection: { failurePercentageThreshold: 101 }',
      '@upstream(outlierDetection.failurePercentageThreshold) expected a percent from 0 (off) to 100; received 101',
    ],
    [
      'outlierDetection: { successRateMinimumHosts: 1 }',
      '@upstream(outlierDetection.successRateMinimumHosts) expected an integer of 2 or more; received 1',
    ],
    [
      'outlierDetection: { successRateStdevFactor: -0.5 }',
      '@upstream(outlierDetection.successRateStdevFactor) expected a number of 0 or more; received -0.5',
    ],
    [
      'outlierDetection: { intervalMs: 10 }',
      '@upstream(outlierDetection.intervalMs) expected an integer of 100 or more; received 10',
    ],
  ];
  for (const [args, message] of cases) {
    const { problems } = await load(args);
    assert.equal(problems.length, 1, `${args}: ${JSON.stringify(problems)}`);
    assert.match(problems[0].file, /u\.graphql$/);
    assert.equal(problems[0].line, 2, args);
    assert.ok(problems[0].message.includes(message), `${args}: ${problems[0].message}`);
  }
});
