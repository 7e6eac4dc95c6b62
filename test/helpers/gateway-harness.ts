// Test harness: a temporary schemas folder and a gateway on 127.0.0.1 with an ephemeral port.
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { type Gateway, type GatewayOptions, startGateway } from '../../src/server/gateway.js';

export interface GraphQLResponse {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, any> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
  };
}

export interface Harness {
  gateway: Gateway;
  dir: string;
  /** Every log line the gateway wrote, parsed. */
  logs: Record<string, any>[];
  query(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse>;
  writeSchema(name: string, text: string): void;
  removeSchema(name: string): void;
  close(): Promise<void>;
}

/** A temporary folder holding `files`; a name may have folders ("certs/ca.pem"). */
export function tempSchemasDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'quilt-test-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

export async function startHarness(
  files: Record<string, string>,
  options: Partial<GatewayOptions> = {},
): Promise<Harness> {
  const dir = tempSchemasDir(files);
  const logs: Record<string, any>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level: options.logLevel ?? 'info' }, sink);
  const gateway = await startGateway({ schemasDir: dir, port: 0, host: '127.0.0.1', watch: false, logger, ...options });
  return {
    gateway,
    dir,
    logs,
    async query(query, variables, headers = {}) {
      const res = await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as GraphQLResponse['body'] };
    },
    writeSchema(name, text) {
      writeFileSync(join(dir, name), text);
    },
    removeSchema(name) {
      unlinkSync(join(dir, name));
    },
    async close() {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An @upstream header for an HTTP source over the given replica urls. */
export function httpUpstream(name: string, urls: string[], extra = ''): string {
  return `extend schema @upstream(name: "${name}", protocol: HTTP, replicas: [${urls.map((u) => `{ url: "${u}" }`).join(', ')}]${extra ? `, ${extra}` : ''})\n`;
}

/** A response body without `extensions` (every response carries extensions.cost): what most tests compare. */
export function payload(body: GraphQLResponse['body']): Omit<GraphQLResponse['body'], 'extensions'> {
  const { extensions: _extensions, ...rest } = body as GraphQLResponse['body'] & { extensions?: unknown };
  return rest;
}
