// `npm start`: the whole Quilt demo on one machine. Two replicas of each demo
// backend (REST users and products, gRPC orders), the REST reviews service
// described by an OpenAPI document (one replica), plus the gateway, each its
// own process (as in production, and so a crash in one shows up as a crash,
// not a hang). Ctrl-C stops them all.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertPortsFree,
  describeExit,
  ProcessSupervisor,
  waitForHealthy,
} from '../demo/backends/process-supervisor.js';
import {
  backendPorts,
  DEMO_BACKENDS,
  DEMO_HOST,
  DEMO_JWT,
  GATEWAY_ENTRY,
  GATEWAY_SCHEMAS_DIR,
  REPO_ROOT,
} from '../demo/backends/topology.js';

const GATEWAY_PORT = 4000;
const HEALTH_TIMEOUT_MS = 20_000;

function log(message: string): void {
  console.log(`[quilt-demo] ${message}`);
}

let shuttingDown = false;
async function shutdown(exitCode: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log('stopping all processes...');
  await supervisor.stopAll();
  log('all processes stopped');
  process.exit(exitCode);
}

const supervisor = new ProcessSupervisor((child, info) => {
  console.error(`[quilt-demo] ${child.name} (PID ${child.pid}) exited unexpectedly with ${describeExit(info)}`);
  void shutdown(1);
});

// A second Ctrl-C while shutting down is ignored: stopAll already escalates
// to SIGKILL after 5 s, so waiting is always bounded.
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

async function main(): Promise<void> {
  if (!existsSync(join(REPO_ROOT, GATEWAY_ENTRY))) {
    throw new Error(`gateway entry point ${GATEWAY_ENTRY} not found`);
  }
  await assertPortsFree(
    [...backendPorts(), GATEWAY_PORT],
    DEMO_HOST,
    'is another `npm start` or `npm run bench` running?',
  );

  const backends = DEMO_BACKENDS.map((backend) => ({
    backend,
    child: supervisor.start({ name: backend.name, script: backend.script, args: ['--port', String(backend.port)] }),
  }));
  // REST backends answer /health themselves; gRPC ones on their HTTP admin port
  // (topology.ts), which reports their grpc.health.v1 status.
  await Promise.all(
    backends.map(({ backend, child }) => waitForHealthy(child, `${backend.adminUrl}/health`, HEALTH_TIMEOUT_MS)),
  );
  if (shuttingDown) return;
  log(`backends up: ${DEMO_BACKENDS.map((backend) => `${backend.name} ${backend.url}`).join(', ')}`);

  const gateway = supervisor.start({
    name: 'gateway',
    script: GATEWAY_ENTRY,
    // Auth on, with the demo's HS256 secret (`npm run token` mints a token for it).
    args: [
      'serve',
      '--schemas',
      GATEWAY_SCHEMAS_DIR,
      '--port',
      String(GATEWAY_PORT),
      '--jwt-secret',
      DEMO_JWT.secret,
      '--jwt-algorithms',
      DEMO_JWT.algorithms,
      '--jwt-issuer',
      DEMO_JWT.issuer,
    ],
  });
  await waitForHealthy(gateway, `http://${DEMO_HOST}:${GATEWAY_PORT}/healthz`, HEALTH_TIMEOUT_MS);
  if (shuttingDown) return;
  console.log(`Quilt demo: GraphiQL at http://localhost:${GATEWAY_PORT}/graphql`);
  log(
    'mutations need a token: `npm run token` prints one; in GraphiQL\'s Headers tab: {"Authorization": "Bearer <token>"}',
  );
  log('press Ctrl-C to stop');
}

main().catch((error: unknown) => {
  // A child that died already triggered shutdown(1) with its own message.
  if (shuttingDown) return;
  console.error(`[quilt-demo] ${error instanceof Error ? error.message : String(error)}`);
  void shutdown(1);
});
