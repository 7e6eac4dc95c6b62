// The GraphQL-over-HTTP spec audit of the graphql-http package, run against the gateway's
// /graphql over the demo users schema. Every MUST audit has to pass; a failed SHOULD or MAY
// audit is reported as a diagnostic (it shows in the runner's output) without failing.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type AuditResult, serverAudits } from 'graphql-http';
import { type RunningService, startUsersService } from '../../demo/backends/users.js';
import { DEFAULT_SECURITY } from '../../src/security/options.js';
import { type Harness, startHarness } from '../helpers/gateway-harness.js';

const demoUsers = readFileSync(new URL('../../schemas/users.graphql', import.meta.url), 'utf8');

/** The demo schema with its hard-coded replica list pointed at the test's own service. */
function usersSchema(url: string): string {
  const replaced = demoUsers.replace(/replicas:\s*\[[^\]]*\]/, `replicas: [{ url: "${url}" }]`);
  assert.notEqual(replaced, demoUsers, 'schemas/users.graphql no longer has a replicas list to replace');
  return replaced;
}

// Built at load time so that each audit becomes its own test; the url is read lazily, once
// the gateway is up (the audits call `url()` only when they run).
let endpoint: string | undefined;
const audits = serverAudits({
  url: () => {
    assert.ok(endpoint, 'gateway not started');
    return endpoint;
  },
});

function describeFailure(result: Exclude<AuditResult, { status: 'ok' }>): string {
  return `${result.id} ${result.name}: ${result.reason} (HTTP ${result.response.status})`;
}

describe('GraphQL over HTTP (graphql-http server audit)', () => {
  let users: RunningService | undefined;
  let harness: Harness | undefined;
  const failures: { level: string; text: string }[] = [];

  before(async () => {
    users = await startUsersService();
    // CSRF prevention (on by default) refuses the audit's header-less GETs; it is a browser
    // protection on top of the protocol, tested in security-hardening.test.ts.
    const hardening = { ...DEFAULT_SECURITY.hardening, csrfPrevention: false };
    harness = await startHarness(
      { 'users.graphql': usersSchema(users.url) },
      { watch: false, logLevel: 'warn', security: { ...DEFAULT_SECURITY, hardening } },
    );
    endpoint = `${harness.gateway.url}/graphql`;
    // The schema really serves data, so the audits exercise a working gateway.
    const res = await harness.query('{ user(id: "7") { name } }');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, { user: { name: 'User 7' } });
  });

  after(async () => {
    for (const f of failures) console.log(`# graphql-http ${f.level} audit failed: ${f.text}`);
    await harness?.close();
    await users?.close();
  });

  for (const audit of audits) {
    const level = audit.name.split(' ', 1)[0]!;
    test(`${audit.id} ${audit.name}`, async (t) => {
      const result = await audit.fn();
      if (result.status === 'ok') return;
      const text = describeFailure(result);
      if (level === 'MUST') assert.fail(`MUST audit failed: ${text}`);
      failures.push({ level, text });
      t.diagnostic(`${level} audit failed (not required): ${text}`);
    });
  }

  test('the audit list is not empty and has MUST audits', () => {
    assert.ok(audits.length > 10, `only ${audits.length} audits`);
    assert.ok(audits.some((a) => a.name.startsWith('MUST')));
  });
});
