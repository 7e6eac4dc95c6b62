// Where the demo backends live. One place, shared by `npm start`
// (scripts/demo.ts), the benchmark (bench/run.ts) and the hand-written
// baseline (bench/baseline.ts), so the three can never disagree on ports.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEMO_HOST = '127.0.0.1';

/** Repository root: child processes run from here so `--import tsx` and relative paths resolve. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export type BackendKind = 'users' | 'products';

export interface BackendReplica {
  name: string; // log prefix and process name, e.g. "users-1"
  kind: BackendKind;
  script: string; // relative to REPO_ROOT
  port: number;
  url: string;
}

function replica(kind: BackendKind, index: number, port: number): BackendReplica {
  return {
    name: `${kind}-${index}`,
    kind,
    script: `demo/backends/${kind}.ts`,
    port,
    url: `http://${DEMO_HOST}:${port}`,
  };
}

/** Two replicas per service: the gateway (and the baseline) load-balance across them. */
export const DEMO_BACKENDS: readonly BackendReplica[] = [
  replica('users', 1, 4001),
  replica('users', 2, 4002),
  replica('products', 1, 4011),
  replica('products', 2, 4012),
];

export function replicaUrls(kind: BackendKind): string[] {
  return DEMO_BACKENDS.filter((backend) => backend.kind === kind).map((backend) => backend.url);
}

/** The gateway CLI (owned by the gateway code in src/); run as `node --import tsx GATEWAY_ENTRY serve ...`. */
export const GATEWAY_ENTRY = 'src/cli/main.ts';
export const GATEWAY_SCHEMAS_DIR = 'schemas';
