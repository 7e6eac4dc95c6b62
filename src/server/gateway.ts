// The composition root: the schema manager, the ordered plugin list and the HTTP server.
// Plugin order: request id first (everything after logs it), then metrics (so /metrics and
// every GraphQL request are seen before another plugin can end the request), access log and
// the operational endpoints; enforcement plugins (auth, cost, limits) join after these, and the
// response cache comes last: its lookup runs after cost and authorization have run.

import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { createYoga, type Plugin } from 'graphql-yoga';
import pino, { type Logger } from 'pino';
import { type CachingOptions, createCaches, DEFAULT_CACHING } from '../caching/create-caches.js';
import { useResponseHeaders } from '../connectors/use-response-headers.js';
import { ConfigError } from '../errors.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { useAccessLog } from '../observability/use-access-log.js';
import { useMetrics } from '../observability/use-metrics.js';
import { useOperationsEndpoints } from '../observability/use-operations-endpoints.js';
import { requestIdOf, useRequestId } from '../observability/use-request-id.js';
import { useInFlightLimit } from '../protections/use-in-flight-limit.js';
import { useRequestTimeout } from '../protections/use-request-timeout.js';
import type { QuiltContext } from '../request-context/context.js';
import { yogaHardening } from '../security/hardening/index.js';
import { DEFAULT_SECURITY, type SecurityOptions } from '../security/options.js';
import { assembleSecurityLayer } from '../security/security-layer.js';
import { createErrorMasker } from './mask-error.js';
import { SchemaManager } from './schema-manager.js';

export interface GatewayOptions {
  schemasDir: string;
  port: number;
  host: string;
  logLevel?: string;
  graphiql?: boolean;
  /** Watch the schemas folder and reload on change (default true). */
  watch?: boolean;
  /** GraphiQL's preloaded tabs; default `<schemas>/examples/*.graphql`. */
  examplesDir?: string;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Auth, cost, limits and hardening (default: DEFAULT_SECURITY, everything anonymous and in memory). */
  security?: SecurityOptions;
  /** In a worker of --workers: the instance's metrics, aggregated by the primary (worker-pool.ts). */
  instanceScrape?: () => Promise<string>;
  /** Bounds of the in-memory caches (default 10 000 entries and 64 MiB each); with security.shared.redisUrl they live in Redis. */
  caching?: Pick<CachingOptions, 'memory'>;
  /** Request protections; each is off when left out. */
  protections?: {
    /** Deadline of each query or mutation (--request-timeout-ms). */
    requestTimeoutMs?: number;
    /** Requests served at once (--max-in-flight). */
    maxInFlight?: number;
  };
}

export interface Gateway {
  url: string;
  server: Server;
  manager: SchemaManager;
  /** This gateway's own Prometheus registry and the upstream observer feeding it. */
  metrics: GatewayMetrics;
  log: Logger;
  close(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 10_000;

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const log = options.logger ?? pino({ level: options.logLevel ?? 'info', base: { service: 'quilt' } });
  // The pool gauges read the manager's registry at scrape time, after both exist.
  const metrics: GatewayMetrics = new GatewayMetrics({
    snapshots: () => manager.snapshot(),
    instanceScrape: options.instanceScrape,
  });
  const securityOptions = options.security ?? DEFAULT_SECURITY;
  const security = assembleSecurityLayer(securityOptions, { log, metrics });
  // Both caches share --redis-url and its deadline with the limits; nothing runs per request
  // until a schema file asks for caching.
  const caches = createCaches(
    {
      memory: options.caching?.memory ?? DEFAULT_CACHING.memory,
      redisUrl: securityOptions.shared.redisUrl,
      redisTimeoutMs: securityOptions.shared.redisTimeoutMs,
    },
    {
      log,
      registry: metrics.registry,
      sourcesOf: (schema) => (manager.current?.schema === schema ? manager.current.sources.map((s) => s.document) : []),
    },
  );
  const manager = new SchemaManager(options.schemasDir, log, options.env, {
    observer: metrics,
    batches: metrics,
    schemaTransforms: security.schemaTransforms,
    httpCache: caches.httpCache,
  });
  const first = await manager.reload();
  if (!first.ok) {
    await manager.close();
    await security.close();
    await caches.close();
    throw new ConfigError(first.problems);
  }
  if (options.watch !== false) manager.watch();

  const plugins: Plugin[] = [
    useRequestId(),
    useMetrics(metrics),
    useAccessLog(log),
    useOperationsEndpoints(manager),
    ...protectionPlugins(options.protections ?? {}, metrics),
    ...security.plugins,
    // Upstream answers' headers the schema files pass on (@upstream(responseHeaders:)).
    useResponseHeaders(),
    // @cacheControl: after the security plugins (a cached answer is costed and only served to
    // the callers it was made for) and after the response headers (their cache-control is
    // combined with its own).
    caches.plugin,
  ];
  const yoga = createYoga<{ req?: IncomingMessage }, QuiltContext>({
    schema: () => manager.current!.schema,
    context: ({ request, req }) => {
      let headers: Record<string, string> | undefined;
      return {
        requestId: requestIdOf(request),
        clientIp: clientIpOf(req),
        // Built on first use: most requests never read an incoming header.
        get headers() {
          return (headers ??= Object.fromEntries(request.headers));
        },
        log,
        perRequest: new Map(),
        // Fires when the client goes away: its upstream calls are cancelled.
        signal: request.signal,
      };
    },
    plugins,
    // GraphiQL cannot show a schema it may not introspect.
    graphiql:
      options.graphiql === false || !securityOptions.hardening.introspection
        ? false
        : {
            title: 'Quilt',
            defaultTabs: await loadExamples(options.examplesDir ?? join(options.schemasDir, 'examples')),
          },
    // GraphiQL's assets inline, not from a CDN: the gateway must work on a closed network.
    // The page is ~9 MB, so it is loaded on the first visit, not held by every instance.
    renderGraphiQL: async (opts) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(opts),
    landingPage: false,
    maskedErrors: { maskError: createErrorMasker(log) },
    logging: log.child({ component: 'yoga' }) as never,
    ...yogaHardening(securityOptions.hardening),
  });

  const server = createServer(yoga);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  log.info({ url: `${url}/graphql`, version: manager.version }, 'quilt listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      log.info('shutting down: no new connections, finishing requests in flight');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(force);
      await manager.close();
      await security.close();
      await caches.close();
      log.info('stopped');
    })());
  return { url, server, manager, metrics, log, close };
}

async function loadExamples(dir: string): Promise<{ query: string }[] | undefined> {
  const { readdir } = await import('node:fs/promises');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.graphql')).sort();
  } catch {
    return undefined;
  }
  const tabs = await Promise.all(names.map(async (n) => ({ query: await readFile(join(dir, n), 'utf8') })));
  return tabs.length ? tabs : undefined;
}

/** The request protections that are configured, in the order they act: load shedding, then the deadline. */
function protectionPlugins(
  { maxInFlight, requestTimeoutMs }: NonNullable<GatewayOptions['protections']>,
  metrics: GatewayMetrics,
): Plugin[] {
  const plugins: Plugin[] = [];
  if (maxInFlight) plugins.push(useInFlightLimit(maxInFlight, () => metrics.limitRejection('in_flight')));
  if (requestTimeoutMs) plugins.push(useRequestTimeout(requestTimeoutMs) as Plugin);
  return plugins;
}

/** The TCP peer, with IPv4-mapped IPv6 addresses ("::ffff:10.0.0.1") written as IPv4. */
function clientIpOf(req: IncomingMessage | undefined): string | undefined {
  const address = req?.socket.remoteAddress;
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}
