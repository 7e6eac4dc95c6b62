// Shared skeleton for the demo REST backends: a plain node:http server that
// speaks JSON, records every business request (so tests and the benchmark can
// count upstream calls), and exposes those counters over HTTP at /__calls
// because the bench and `npm start` run backends as separate processes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RecordedRequest {
  method: string;
  path: string;
  url: string; // path + query
  headers: Record<string, string | string[] | undefined>;
  body: unknown; // parsed JSON or undefined
}

export interface RunningService {
  url: string; // http://127.0.0.1:PORT
  port: number;
  requests: RecordedRequest[];
  calls(): number;
  reset(): void;
  close(): Promise<void>;
}

export interface ServiceOptions {
  port?: number; // 0 or undefined: pick a free port
  host?: string; // default 127.0.0.1
  // Long-running CLI processes keep only the most recent requests so memory
  // stays flat under a benchmark; counters stay exact. Default: keep all.
  maxRecordedRequests?: number;
  // Answer every business request (not /health or /__calls) this many ms late:
  // the bench's slow replica. Default 0. The CLI reads it from DEMO_DELAY_ENV.
  delayMs?: number;
  // Also serve every route (and /health) under this prefix, as a service mounted behind
  // an ingress at /catalog/v1 is; the routes see the path without it. Default: none.
  basePath?: string;
}

/** Env var the backend CLIs read at startup: an added latency per response, in ms (default 0). */
export const DEMO_DELAY_ENV = 'QUILT_DEMO_DELAY_MS';

export interface ServiceRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown; // parsed JSON, or undefined when absent or not valid JSON
}

export interface JsonReply {
  status: number;
  body: unknown;
}

export type RouteHandler = (request: ServiceRequest) => JsonReply;

export const ok = (body: unknown): JsonReply => ({ status: 200, body });
export const created = (body: unknown): JsonReply => ({ status: 201, body });
export const badRequest = (error: string): JsonReply => ({ status: 400, body: { error } });
export const notFound = (): JsonReply => ({ status: 404, body: { error: 'not found' } });

/** Values of a query parameter given repeated (`ids=1&ids=2`) or comma separated (`ids=1,2`). */
export function listParam(query: URLSearchParams, name: string): string[] {
  return query
    .getAll(name)
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '');
}

/** The `:id` of `/collection/:id`, decoded; undefined when the path has another shape. */
export function idFromPath(path: string, collection: string): string | undefined {
  const prefix = `/${collection}/`;
  if (!path.startsWith(prefix)) return undefined;
  const raw = path.slice(prefix.length);
  if (raw === '' || raw.includes('/')) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined; // malformed escape such as %zz: no such resource
  }
}

/** A non-negative integer query parameter; a string error message when malformed. */
export function intParam(query: URLSearchParams, name: string, fallback: number): number | string {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) return `${name} must be a non-negative integer`;
  return value;
}

/** limit/offset pagination shared by the list endpoints. */
export function paginate<T>(items: readonly T[], query: URLSearchParams): JsonReply {
  const limit = intParam(query, 'limit', 20);
  const offset = intParam(query, 'offset', 0);
  if (typeof limit === 'string') return badRequest(limit);
  if (typeof offset === 'string') return badRequest(offset);
  return ok(items.slice(offset, offset + limit));
}

function sendJson(res: ServerResponse, reply: JsonReply): void {
  const payload = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  // Skip reading entirely for body-less requests (the hot path for GETs).
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
    return undefined;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function startJsonService(route: RouteHandler, opts: ServiceOptions = {}): Promise<RunningService> {
  const host = opts.host ?? '127.0.0.1';
  const maxRecorded = opts.maxRecordedRequests ?? Infinity;
  const delayMs = opts.delayMs ?? 0;
  const basePath = opts.basePath?.replace(/\/+$/, '');
  const recorder = new CallRecorder<RecordedRequest>((entry) => entry.path, maxRecorded);
  // Business requests that came in under basePath, reported by /__calls as `mounted`.
  let mountedCalls = 0;

  const server = createServer((req, res) => {
    const handle = async (): Promise<void> => {
      const method = req.method ?? 'GET';
      const url = new URL(req.url ?? '/', 'http://backend.local');
      const underBase = basePath && url.pathname.startsWith(`${basePath}/`);
      const path = underBase ? url.pathname.slice(basePath.length) : url.pathname;
      const body = await readJsonBody(req);

      if (path === '/health' && method === 'GET') return sendJson(res, ok({ status: 'ok' }));
      if (path === '/__calls') {
        if (method === 'DELETE') {
          recorder.reset();
          mountedCalls = 0;
        }
        if (method === 'GET' || method === 'DELETE') {
          return sendJson(res, ok({ calls: recorder.calls, byPath: recorder.byKey(), mounted: mountedCalls }));
        }
      }

      if (underBase) mountedCalls++;
      recorder.record({ method, path, url: path + url.search, headers: { ...req.headers }, body });
      const reply = route({ method, path, query: url.searchParams, body });
      if (delayMs > 0) await new Promise((resolveDelay) => setTimeout(resolveDelay, delayMs));
      sendJson(res, reply);
    };
    handle().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, { status: 500, body: { error: String(error) } });
      else res.destroy();
    });
  });
  // Outlive undici's and autocannon's idle sockets so a reused keep-alive
  // connection is never closed by us in the middle of a request.
  server.keepAliveTimeout = 65_000;

  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolvePromise({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
        port,
        requests: recorder.requests,
        calls: () => recorder.calls,
        reset: () => recorder.reset(),
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            server.closeAllConnections(); // idle keep-alive sockets would delay close()
          }),
      });
    });
  });
}

/** True when `moduleUrl` is the file node was asked to run (`tsx file.ts`). */
export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && resolve(entry) === fileURLToPath(moduleUrl);
}

/**
 * Set by ProcessSupervisor, which hands each child a stdin pipe it never
 * writes to. If the supervisor is SIGKILLed (the tsx CLI does that when its
 * child is slow to acknowledge a signal) the pipe closes and the child
 * follows instead of lingering as an orphan. Opt-in, because a CLI started by
 * hand with stdin at /dev/null would otherwise exit at once.
 */
export const EXIT_WITH_PARENT_ENV = 'QUILT_EXIT_WITH_PARENT';

export function stopWhenParentExits(stop: () => void): void {
  if (process.env[EXIT_WITH_PARENT_ENV] !== '1') return;
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

/**
 * CLI wrapper: `--port N` (or env PORT) and `--host H` (or env HOST), an
 * optional added latency from env QUILT_DEMO_DELAY_MS, one log line on
 * listen, clean exit on SIGTERM/SIGINT.
 */
export async function runServiceCli(
  name: string,
  start: (opts: ServiceOptions) => Promise<RunningService>,
): Promise<void> {
  const flag = (flagName: string): string | undefined => {
    const index = process.argv.indexOf(flagName);
    return index >= 0 ? process.argv[index + 1] : undefined;
  };
  const port = Number(flag('--port') ?? process.env.PORT ?? 0);
  const host = flag('--host') ?? process.env.HOST ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`${name}: invalid port ${String(flag('--port') ?? process.env.PORT)}`);
    process.exit(2);
  }
  const delayText = process.env[DEMO_DELAY_ENV] ?? '';
  const delayMs = delayText === '' ? 0 : Number(delayText);
  if (!Number.isInteger(delayMs) || delayMs < 0) {
    console.error(`${name}: ${DEMO_DELAY_ENV} must be a whole number of ms >= 0, got "${delayText}"`);
    process.exit(2);
  }

  let service: RunningService;
  try {
    service = await start({ port, host, maxRecordedRequests: 1000, delayMs });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EADDRINUSE' ? `port ${port} is already in use` : String(error);
    console.error(`${name}: cannot listen on ${host}:${port}: ${reason}`);
    process.exit(1);
  }
  const delayNote = delayMs > 0 ? ` (every response ${delayMs} ms late)` : '';
  console.log(`${name} service listening on ${service.url}${delayNote}`);

  stopOnSignals(name, () => service.close());
}

/** SIGTERM, SIGINT or the parent going away: close, then exit (1 if closing failed). */
export function stopOnSignals(name: string, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`${name}: error while closing: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  stopWhenParentExits(stop);
}

/** Calls a demo backend received: counted exactly, the most recent ones kept for tests. */
export class CallRecorder<T> {
  /** The same array for the recorder's life: callers may hold a reference to it. */
  readonly requests: T[] = [];
  calls = 0;
  #byKey: Record<string, number> = {};

  constructor(
    private readonly keyOf: (entry: T) => string,
    private readonly maxRecorded: number,
  ) {}

  record(entry: T): void {
    this.calls += 1;
    const key = this.keyOf(entry);
    this.#byKey[key] = (this.#byKey[key] ?? 0) + 1;
    this.requests.push(entry);
    // Trim in bulk (amortised O(1)) rather than shifting on every call.
    if (this.requests.length > this.maxRecorded * 2) this.requests.splice(0, this.requests.length - this.maxRecorded);
  }

  byKey(): Record<string, number> {
    return { ...this.#byKey };
  }

  reset(): void {
    this.requests.length = 0;
    this.calls = 0;
    this.#byKey = {};
  }
}
