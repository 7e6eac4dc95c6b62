// The security flags of `quilt serve` (README, "Commands"): each flag and its QUILT_*
// variable produce the expected SecurityOptions, a flag wins over its variable, bad values are
// usage errors naming the flag or variable, what was expected and what was received; --help
// lists them all; and a real `quilt serve` process applies them.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { envName, FLAGS, helpText, parseOptions, UsageError } from '../../src/cli/options.js';
import { SECURITY_FLAGS } from '../../src/cli/security-flags.js';
import { securityOptionsFrom } from '../../src/cli/security-options.js';
import { httpUpstream, tempSchemasDir } from '../helpers/gateway-harness.js';
import { sendJson, startTestServer, type TestServer } from '../helpers/json-server.js';

const repoRoot = new URL('../..', import.meta.url).pathname;

function security(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const { options, sources } = parseOptions(argv, env);
  return securityOptionsFrom(options, sources);
}

function usageError(argv: string[], env: NodeJS.ProcessEnv, pattern: RegExp): void {
  assert.throws(
    () => security(argv, env),
    (e: unknown) => e instanceof UsageError && pattern.test(e.message),
  );
}

describe('security flags -> SecurityOptions', () => {
  test('no flags: the documented defaults, JWT off', () => {
    assert.deepEqual(security([]), {
      jwt: undefined,
      scopeClaim: undefined,
      cost: { maxCost: undefined, budget: undefined, restoreRate: 10, defaultListSize: 10, model: 'ibm' },
      hardening: {
        maxDepth: 15,
        maxAliases: 30,
        maxTokens: 5000,
        maxDirectives: 50,
        maxBatch: 0,
        maxBodyBytes: 1_048_576,
        ipAllow: undefined,
        ipDeny: undefined,
        introspection: true,
        csrfPrevention: true,
        trustedDocuments: undefined,
      },
      shared: { redisUrl: undefined, redisFailure: 'open', redisTimeoutMs: 250 },
    });
  });

  test('every flag', () => {
    const options = security([
      '--jwks-url',
      'https://issuer.example/.well-known/jwks.json',
      '--jwt-public-key',
      'a.pem,b.json',
      '--jwt-public-key=c.pem',
      '--jwt-issuer',
      'https://issuer.example/',
      '--jwt-audience',
      'api,web',
      '--jwt-algorithms',
      'RS256,ES256',
      '--jwt-cookie',
      'session',
      '--jwt-clock-tolerance',
      '5',
      '--jwt-required-claims',
      'sub,scope',
      '--scope-claim',
      'permissions',
      '--cost-model',
      'apollo',
      '--max-cost',
      '1000',
      '--cost-budget',
      '5000',
      '--cost-restore-rate',
      '2.5',
      '--default-list-size',
      '20',
      '--max-depth',
      '8',
      '--max-aliases',
      '0',
      '--max-tokens',
      '900',
      '--max-directives',
      '4',
      '--max-batch',
      '3',
      '--max-body-bytes',
      '65536',
      '--ip-allow',
      '10.0.0.0/8,2001:db8::/32',
      '--ip-deny',
      '10.0.0.66',
      '--no-introspection',
      '--no-csrf-prevention',
      '--trusted-documents',
      'docs.json',
      '--redis-url',
      'redis://127.0.0.1:6379',
      '--redis-failure',
      'closed',
    ]);
    assert.deepEqual(options, {
      jwt: {
        jwksUrl: 'https://issuer.example/.well-known/jwks.json',
        publicKeyFiles: ['a.pem', 'b.json', 'c.pem'],
        secret: undefined,
        issuer: ['https://issuer.example/'],
        audience: ['api', 'web'],
        algorithms: ['RS256', 'ES256'],
        cookie: 'session',
        clockToleranceSec: 5,
        requiredClaims: ['sub', 'scope'],
      },
      scopeClaim: 'permissions',
      cost: { maxCost: 1000, budget: 5000, restoreRate: 2.5, defaultListSize: 20, model: 'apollo' },
      hardening: {
        maxDepth: 8,
        maxAliases: 0,
        maxTokens: 900,
        maxDirectives: 4,
        maxBatch: 3,
        maxBodyBytes: 65536,
        ipAllow: ['10.0.0.0/8', '2001:db8::/32'],
        ipDeny: ['10.0.0.66'],
        introspection: false,
        csrfPrevention: false,
        trustedDocuments: 'docs.json',
      },
      shared: { redisUrl: 'redis://127.0.0.1:6379', redisFailure: 'closed', redisTimeoutMs: 250 },
    });
  });

  test('every variable; a flag wins over its variable', () => {
    const env = {
      QUILT_JWT_SECRET: 'not-a-real-secret-but-long-enough',
      QUILT_JWT_ALGORITHMS: 'HS256',
      QUILT_JWT_ISSUER: 'quilt-demo',
      QUILT_MAX_DEPTH: '6',
      QUILT_MAX_BATCH: '4',
      QUILT_IP_DENY: '192.0.2.0/24, 198.51.100.7',
      QUILT_NO_INTROSPECTION: 'true',
      QUILT_CSRF_PREVENTION: 'false',
      QUILT_COST_BUDGET: '100',
      QUILT_REDIS_FAILURE: 'closed',
    };
    const fromEnv = security([], env);
    assert.deepEqual(fromEnv.jwt, {
      jwksUrl: undefined,
      publicKeyFiles: undefined,
      secret: 'not-a-real-secret-but-long-enough',
      issuer: ['quilt-demo'],
      audience: undefined,
      algorithms: ['HS256'],
      cookie: undefined,
      clockToleranceSec: 60,
      requiredClaims: [],
    });
    assert.equal(fromEnv.hardening.maxDepth, 6);
    assert.equal(fromEnv.hardening.maxBatch, 4);
    assert.deepEqual(fromEnv.hardening.ipDeny, ['192.0.2.0/24', '198.51.100.7']);
    assert.equal(fromEnv.hardening.introspection, false);
    assert.equal(fromEnv.hardening.csrfPrevention, false);
    assert.equal(fromEnv.cost.budget, 100);
    assert.equal(fromEnv.shared.redisFailure, 'closed');
    const flagsWin = security(
      ['--max-depth', '9', '--ip-deny', '203.0.113.0/24', '--introspection', '--redis-failure', 'open'],
      env,
    );
    assert.equal(flagsWin.hardening.maxDepth, 9);
    assert.deepEqual(flagsWin.hardening.ipDeny, ['203.0.113.0/24']);
    assert.equal(flagsWin.hardening.introspection, true);
    assert.equal(flagsWin.shared.redisFailure, 'open');
  });

  test('JWT is on with a key source; then --jwt-algorithms is required, with no default', () => {
    usageError(
      ['--jwks-url', 'https://i.example/jwks'],
      {},
      /^--jwt-algorithms \(QUILT_JWT_ALGORITHMS\) is required \(JWT is on: --jwks-url given\): there is no default; expected .*RS256,ES256, received nothing$/,
    );
    usageError([], { QUILT_JWT_PUBLIC_KEY: 'key.pem' }, /required \(JWT is on: QUILT_JWT_PUBLIC_KEY given\)/);
    usageError(
      ['--jwt-issuer', 'x'],
      {},
      /^--jwt-issuer is set but JWT is off: JWT is on when a key source is given .*received none$/,
    );
    usageError([], { QUILT_JWT_AUDIENCE: 'api' }, /^QUILT_JWT_AUDIENCE is set but JWT is off/);
  });

  test('algorithms: never none, only known names, and keys to match', () => {
    usageError(
      ['--jwks-url', 'u', '--jwt-algorithms', 'RS256,none'],
      {},
      /^--jwt-algorithms: "none" \(unsigned tokens\) is never accepted/,
    );
    usageError(
      ['--jwks-url', 'u'],
      { QUILT_JWT_ALGORITHMS: 'RS265' },
      /^QUILT_JWT_ALGORITHMS: expected some of HS256, .*, received "RS265"$/,
    );
    usageError(
      ['--jwks-url', 'u', '--jwt-algorithms', 'HS256'],
      {},
      /^--jwt-algorithms: HS256 needs --jwt-secret \(QUILT_JWT_SECRET\), received none$/,
    );
    usageError(
      ['--jwt-secret', 's', '--jwt-algorithms', 'RS256'],
      {},
      /^--jwt-algorithms: RS256 needs public keys from --jwks-url or --jwt-public-key, received none$/,
    );
  });

  test('bad values name the flag or variable, the expectation and the value', () => {
    usageError(['--max-depth', 'deep'], {}, /^--max-depth: expected a whole number >= 0, received "deep"$/);
    usageError(
      [],
      { QUILT_MAX_BODY_BYTES: '1.5' },
      /^QUILT_MAX_BODY_BYTES: expected a whole number >= 0, received "1.5"$/,
    );
    usageError(['--cost-restore-rate', '-1'], {}, /^--cost-restore-rate: expected a number >= 0, received "-1"$/);
    usageError(
      ['--ip-allow', '10.0.0.0/8,10.0.0.0/40'],
      {},
      /^--ip-allow: "10.0.0.0\/40": the prefix length must be a whole number from 0 to 32$/,
    );
    usageError(
      [],
      { QUILT_IP_DENY: 'example.com' },
      /^QUILT_IP_DENY: "example.com" is not an IPv4 or IPv6 address or CIDR block/,
    );
    usageError(['--redis-failure', 'maybe'], {}, /^--redis-failure: expected open or closed, received "maybe"$/);
    usageError([], { QUILT_INTROSPECTION: 'true', QUILT_NO_INTROSPECTION: 'true' }, /contradict each other/);
  });

  test('--help lists every flag with its variable', () => {
    const help = helpText();
    for (const f of FLAGS) {
      assert.match(help, new RegExp(`--(no-)?${f.name}\\b`), `--help misses --${f.name}`);
      assert.ok(help.includes(envName(f.name)), `--help misses ${envName(f.name)}`);
    }
    for (const name of [
      'jwks-url',
      'jwt-public-key',
      'jwt-secret',
      'jwt-issuer',
      'jwt-audience',
      'jwt-algorithms',
      'jwt-cookie',
      'max-cost',
      'cost-budget',
      'cost-restore-rate',
      'max-depth',
      'max-aliases',
      'max-tokens',
      'max-directives',
      'max-batch',
      'max-body-bytes',
      'ip-allow',
      'ip-deny',
      'introspection',
      'trusted-documents',
      'redis-url',
      'redis-failure',
    ]) {
      assert.ok(
        SECURITY_FLAGS.some((f) => f.name === name),
        `no --${name}`,
      );
    }
    assert.match(help, /--no-introspection +QUILT_INTROSPECTION/);
  });
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/quilt.js', ...args],
      { cwd: repoRoot, env: { PATH: process.env.PATH, ...env } },
      (e, stdout, stderr) => {
        resolve({ code: e ? Number(e.code) : 0, stdout, stderr });
      },
    );
  });
}

describe('quilt serve with security variables and flags', () => {
  let upstream: TestServer;
  let url = '';
  let child: ReturnType<typeof spawn> | undefined;
  before(async () => {
    upstream = await startTestServer((_req, res) => sendJson(res, 200, { id: '1', friendId: '2' }));
    const dir = tempSchemasDir({
      'a.graphql': `${httpUpstream('a', [upstream.url])}
type User { id: ID friendId: ID friend: User @http(GET: "/users/{parent.friendId}") }
type Query { user: User @http(GET: "/users/1") }`,
    });
    child = spawn(
      process.execPath,
      ['bin/quilt.js', 'serve', '--port', '0', '--host', '127.0.0.1', '--schemas', dir, '--max-depth', '3'],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { PATH: process.env.PATH, QUILT_MAX_DEPTH: '10', QUILT_NO_INTROSPECTION: 'true', QUILT_LOG_LEVEL: 'info' },
      },
    );
    const lines = createInterface({ input: child.stdout! });
    url = await new Promise<string>((resolve, reject) => {
      child!.once('exit', (code) => reject(new Error(`quilt exited early with ${code}`)));
      lines.on('line', (line) => {
        const entry = JSON.parse(line);
        if (entry.msg === 'quilt listening') resolve(new URL(entry.url).origin);
      });
    });
  });
  after(async () => {
    child?.kill('SIGKILL');
    await upstream?.close();
  });

  const post = async (query: string) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query }),
    });
    return {
      status: res.status,
      body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] },
    };
  };

  test('--max-depth 3 (winning over QUILT_MAX_DEPTH=10) and QUILT_NO_INTROSPECTION=true apply', async () => {
    assert.equal((await post('{ user { friend { id } } }')).status, 200);
    const deep = await post('{ user { friend { friend { id } } } }');
    assert.equal(deep.status, 400);
    assert.equal(deep.body.errors?.[0]?.extensions?.code, 'DEPTH_LIMIT_EXCEEDED');
    const introspection = await post('{ __schema { types { name } } }');
    assert.equal(introspection.status, 400);
    assert.match(introspection.body.errors?.[0]?.message ?? '', /introspection has been disabled/);
  });

  test('a bad security setting stops serve with exit 2 before it listens', async () => {
    const r = await run(['serve', '--port', '0', '--jwks-url', 'https://issuer.example/jwks']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /quilt: --jwt-algorithms \(QUILT_JWT_ALGORITHMS\) is required/);
    const env = await run(['serve', '--port', '0'], { QUILT_IP_ALLOW: '10.0.0.0/33' });
    assert.equal(env.code, 2);
    assert.match(
      env.stderr,
      /quilt: QUILT_IP_ALLOW: "10.0.0.0\/33": the prefix length must be a whole number from 0 to 32/,
    );
  });

  test('quilt --help lists the security flags', async () => {
    const r = await run(['--help']);
    assert.match(r.stdout, /--max-depth N +QUILT_MAX_DEPTH/);
    assert.match(r.stdout, /--jwt-algorithms ALG,\.\.\. +QUILT_JWT_ALGORITHMS/);
    assert.match(r.stdout, /--no-introspection +QUILT_INTROSPECTION/);
  });
});
