// Where the demo backends live. One place, shared by `npm start`
// (scripts/demo.ts), the benchmark (bench/run.ts) and the hand-written
// baseline (bench/baseline.ts), so the three can never disagree on ports.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEMO_HOST = '127.0.0.1';

/** Repository root: child processes run from here so `--import tsx` and relative paths resolve. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export type BackendKind = 'users' | 'products' | 'orders' | 'reviews';
export type BackendProtocol = 'http' | 'grpc';

/**
 * A gRPC backend started as a CLI (`npx tsx demo/backends/orders.ts --port 4021`)
 * also opens a small HTTP admin port, by default the gRPC port + this offset
 * (4021 -> 5021), answering `GET /health` and `GET|DELETE /__calls` like the
 * REST backends do. That is how `npm start` waits for it and how the bench
 * counts its upstream calls; the gateway itself health-checks it over
 * grpc.health.v1 on the gRPC port.
 */
export const GRPC_ADMIN_PORT_OFFSET = 1000;

export interface BackendReplica {
  name: string; // log prefix and process name, e.g. "users-1"
  kind: BackendKind;
  protocol: BackendProtocol;
  script: string; // relative to REPO_ROOT
  port: number;
  // What a client dials: http://HOST:PORT for REST, HOST:PORT (a grpc-js target) for gRPC.
  url: string;
  // Where GET /health and GET|DELETE /__calls answer: the service itself for
  // REST, the admin port for gRPC.
  adminPort: number;
  adminUrl: string;
}

function replica(kind: BackendKind, index: number, port: number): BackendReplica {
  const protocol: BackendProtocol = kind === 'orders' ? 'grpc' : 'http';
  const adminPort = protocol === 'grpc' ? port + GRPC_ADMIN_PORT_OFFSET : port;
  return {
    name: `${kind}-${index}`,
    kind,
    protocol,
    script: `demo/backends/${kind}.ts`,
    port,
    url: protocol === 'grpc' ? `${DEMO_HOST}:${port}` : `http://${DEMO_HOST}:${port}`,
    adminPort,
    adminUrl: `http://${DEMO_HOST}:${adminPort}`,
  };
}

/**
 * Two replicas of users, products and orders: the gateway (and the baseline) load-balance
 * across them. One of reviews: its schema file is imported from its OpenAPI document
 * (demo/openapi/reviews.yaml), whose server url, with its variables' defaults, is this port.
 */
export const DEMO_BACKENDS: readonly BackendReplica[] = [
  replica('users', 1, 4001),
  replica('users', 2, 4002),
  replica('products', 1, 4011),
  replica('products', 2, 4012),
  replica('orders', 1, 4021), // gRPC; admin HTTP on 5021
  replica('orders', 2, 4022), // gRPC; admin HTTP on 5022
  replica('reviews', 1, 4031), // REST, mounted at /reviews-api/v2
];

/** Client addresses of one service's replicas: URLs for REST, host:port targets for gRPC. */
export function replicaUrls(kind: BackendKind): string[] {
  return DEMO_BACKENDS.filter((backend) => backend.kind === kind).map((backend) => backend.url);
}

/** Every port the demo backends listen on (service and admin ports). */
export function backendPorts(): number[] {
  return [...new Set(DEMO_BACKENDS.flatMap((backend) => [backend.port, backend.adminPort]))];
}

/** The gateway CLI (owned by the gateway code in src/); run as `node --import tsx GATEWAY_ENTRY serve ...`. */
export const GATEWAY_ENTRY = 'src/cli/main.ts';
export const GATEWAY_SCHEMAS_DIR = 'schemas';

/**
 * The demo gateway verifies HS256 tokens signed with this secret (`npm run token` mints one).
 * A demo convenience only: a real deployment uses --jwks-url or --jwt-public-key.
 */
export const DEMO_JWT = {
  secret: 'quilt-demo-secret-not-for-production-0123',
  issuer: 'quilt-demo',
  algorithms: 'HS256',
} as const;
