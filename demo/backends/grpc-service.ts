// Shared skeleton for the demo gRPC backends, the gRPC twin of http-service.ts:
// a grpc-js server that also serves grpc.health.v1 (grpc-health-check), records
// every business RPC (so tests and the benchmark can count upstream calls) and,
// when asked for an admin port, exposes those counters over plain HTTP:
//
//   GET    /__calls  {"calls": N, "byMethod": {"GetOrder": N, ...}, "cancellations": N}
//   DELETE /__calls  the same, then resets every counter
//   GET    /health   200 {"status":"SERVING"} or 503 {"status":"NOT_SERVING"}
//
// The admin port is what the bench and `npm start` talk to, exactly as they
// talk to the REST backends' /__calls and /health (see topology.ts).
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { CallRecorder, stopOnSignals } from './http-service.js';
import { GRPC_ADMIN_PORT_OFFSET } from './topology.js';

export interface RecordedGrpcCall {
  method: string; // short method name, e.g. "ListOrdersByUsers"
  request: unknown; // the decoded request message (undefined for client-streaming calls)
  metadata: Record<string, string>; // incoming metadata, first value per key; -bin values base64
}

export type HealthStatus = 'SERVING' | 'NOT_SERVING';

export interface RunningGrpcService {
  target: string; // "127.0.0.1:PORT", what a grpc-js client dials
  port: number;
  adminUrl: string | undefined; // http://127.0.0.1:ADMIN_PORT when started with an admin port
  requests: RecordedGrpcCall[];
  /** Every RPC to the business service (health checks are a separate service and never count). */
  calls(): number;
  callsByMethod(): Record<string, number>;
  /** Server-streaming calls that saw the client cancel before the stream ended. */
  cancellations(): number;
  /** Zero every counter and forget the recorded requests. */
  reset(): void;
  /** grpc.health.v1 status of both "" (the whole server) and the business service. */
  setHealth(status: HealthStatus): void;
  close(): Promise<void>;
}

export interface GrpcServiceOptions {
  port?: number; // 0 or undefined: pick a free port
  host?: string; // default 127.0.0.1
  adminPort?: number; // HTTP side port for /__calls and /health; undefined: none, 0: any free port
  // Long-running CLI processes keep only the most recent requests so memory
  // stays flat under a benchmark; counters stay exact. Default: keep all.
  maxRecordedRequests?: number;
}

/** What a service implementation may report besides its calls. */
export interface GrpcServiceHooks {
  noteCancellation(): void;
}

export interface GrpcServiceSpec {
  serviceName: string; // fully qualified, e.g. "shop.orders.v1.OrderService"
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation; // keyed by the proto's method names
}

function metadataRecord(metadata: grpc.Metadata): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) {
    record[key] = typeof value === 'string' ? value : Buffer.from(value).toString('base64');
  }
  return record;
}

const hostPort = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

function bindGrpc(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    );
  });
}

function listenHttp(server: HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Finish in-flight calls for up to `graceMs`, then cut whatever is left (e.g. long streams). */
function shutdownGrpc(server: grpc.Server, graceMs = 250): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Start a grpc-js server for one service. `makeSpec` receives the hooks the
 * implementation reports through; every handler it returns is wrapped so the
 * call is recorded before the handler runs.
 */
export async function startGrpcService(
  makeSpec: (hooks: GrpcServiceHooks) => GrpcServiceSpec,
  opts: GrpcServiceOptions = {},
): Promise<RunningGrpcService> {
  const host = opts.host ?? '127.0.0.1';
  const maxRecorded = opts.maxRecordedRequests ?? Infinity;
  const recorder = new CallRecorder<RecordedGrpcCall>((entry) => entry.method, maxRecorded);
  let cancellationCount = 0;
  const reset = (): void => {
    recorder.reset();
    cancellationCount = 0;
  };
  const counters = () => ({ calls: recorder.calls, byMethod: recorder.byKey(), cancellations: cancellationCount });

  const spec = makeSpec({ noteCancellation: () => (cancellationCount += 1) });
  const wrapped: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(spec.definition)) {
    const handler = spec.implementation[method];
    if (!handler) throw new Error(`${spec.serviceName}: no handler for ${method}`);
    const recorded = (call: { request?: unknown; metadata: grpc.Metadata }, callback?: unknown): void => {
      recorder.record({ method, request: call.request, metadata: metadataRecord(call.metadata) });
      (handler as (call: unknown, callback?: unknown) => void)(call, callback);
    };
    wrapped[method] = recorded as grpc.UntypedHandleCall;
  }

  let healthStatus: HealthStatus = 'SERVING';
  const health = new HealthImplementation({ '': 'SERVING', [spec.serviceName]: 'SERVING' });
  const setHealth = (status: HealthStatus): void => {
    healthStatus = status;
    for (const name of ['', spec.serviceName]) health.setStatus(name, status satisfies ServingStatus);
  };

  const server = new grpc.Server();
  server.addService(spec.definition, wrapped);
  health.addToServer(server);
  const port = await bindGrpc(server, hostPort(host, opts.port ?? 0));

  let admin: HttpServer | undefined;
  let adminUrl: string | undefined;
  if (opts.adminPort !== undefined) {
    admin = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://admin.local').pathname;
      const method = req.method ?? 'GET';
      let status = 404;
      let body: unknown = { error: 'not found' };
      if (path === '/health' && method === 'GET') {
        status = healthStatus === 'SERVING' ? 200 : 503;
        body = { status: healthStatus };
      } else if (path === '/__calls' && (method === 'GET' || method === 'DELETE')) {
        if (method === 'DELETE') reset();
        status = 200;
        body = counters();
      }
      const payload = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
      req.resume(); // drain any request body
    });
    admin.keepAliveTimeout = 65_000;
    try {
      const adminPort = await listenHttp(admin, opts.adminPort, host);
      adminUrl = `http://${hostPort(host, adminPort)}`;
    } catch (error) {
      server.forceShutdown();
      throw error;
    }
  }

  return {
    target: hostPort(host, port),
    port,
    adminUrl,
    requests: recorder.requests,
    calls: () => recorder.calls,
    callsByMethod: () => recorder.byKey(),
    cancellations: () => cancellationCount,
    reset,
    setHealth,
    close: async () => {
      const adminClosed = admin
        ? new Promise<void>((resolve) => {
            admin.close(() => resolve());
            admin.closeAllConnections();
          })
        : Promise.resolve();
      await Promise.all([shutdownGrpc(server), adminClosed]);
    },
  };
}

/**
 * CLI wrapper, same conventions as the REST backends' runServiceCli:
 * `--port N` (env PORT), `--host H` (env HOST), plus `--admin-port N` (env
 * ADMIN_PORT; default: the gRPC port + GRPC_ADMIN_PORT_OFFSET, or any free
 * port when the gRPC port is 0). One log line on listen, clean exit on
 * SIGTERM/SIGINT and when the supervising parent goes away.
 */
export async function runGrpcServiceCli(
  name: string,
  start: (opts: GrpcServiceOptions) => Promise<RunningGrpcService>,
): Promise<void> {
  const flag = (flagName: string): string | undefined => {
    const index = process.argv.indexOf(flagName);
    return index >= 0 ? process.argv[index + 1] : undefined;
  };
  const validPort = (value: number): boolean => Number.isInteger(value) && value >= 0 && value <= 65535;
  const port = Number(flag('--port') ?? process.env.PORT ?? 0);
  const host = flag('--host') ?? process.env.HOST ?? '127.0.0.1';
  if (!validPort(port)) {
    console.error(`${name}: invalid port ${String(flag('--port') ?? process.env.PORT)}`);
    process.exit(2);
  }
  const adminText = flag('--admin-port') ?? process.env.ADMIN_PORT;
  const adminPort = adminText !== undefined ? Number(adminText) : port === 0 ? 0 : port + GRPC_ADMIN_PORT_OFFSET;
  if (!validPort(adminPort)) {
    console.error(`${name}: invalid admin port ${adminText ?? String(adminPort)}`);
    process.exit(2);
  }

  let service: RunningGrpcService;
  try {
    service = await start({ port, host, adminPort, maxRecordedRequests: 1000 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = String(error);
    const reason =
      code === 'EADDRINUSE' || /EADDRINUSE|address already in use|No address added/i.test(message)
        ? `port ${code === 'EADDRINUSE' ? adminPort : port} is already in use`
        : message;
    console.error(`${name}: cannot listen on ${host}: ${reason}`);
    process.exit(1);
  }
  console.log(`${name} gRPC service listening on ${service.target} (admin ${service.adminUrl ?? 'none'})`);

  stopOnSignals(name, () => service.close());
}
