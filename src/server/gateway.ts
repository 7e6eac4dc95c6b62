// The composition root: the schema manager, the ordered plugin list and the HTTP server.
// Plugin order: request id first (everything after logs it), then metrics (so /metrics and
// every GraphQL request are seen before another plugin can end the request), access log and
// the operational endpoints; enforcement plugins (auth, cost, limits) join after these, then
// the response cache, whose lookup runs after cost and authorization have run, and yoga's
// @defer/@stream plugin after it.
// With --tls-cert/--tls-key the same server speaks HTTPS (HTTP/1.1), its certificate
// reloaded from the files without a restart (tls-files.ts).
// The same plugin list serves GraphQL over WebSocket (websocket.ts), through yoga's getEnveloped.

import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import { createYoga, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import pino, { type Logger } from 'pino';
import { type CachingOptions, createCaches, DEFAULT_CACHING } from '../caching/create-caches.js';
import { useResponseHeaders } from '../connectors/use-response-headers.js';
import { ConfigError } from '../errors.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { ObserverFanOut } from '../observability/observer-fan-out.js';
import { StatusHistory } from '../observability/status-history.js';
import type { TracingOptions } from '../observability/tracing-options.js';
import { useAccessLog } from '../observability/use-access-log.js';
import { useMetrics } from '../observability/use-metrics.js';
import { useOperationsEndpoints } from '../observability/use-operations-endpoints.js';
import { requestIdOf, useRequestId } from '../observability/use-request-id.js';
import { useStatusPage } from '../observability/use-status-page.js';
import { useInFlightLimit } from '../protections/use-in-flight-limit.js';
import { useRequestTimeout } from '../protections/use-request-timeout.js';
import { clientIpOf, type QuiltContext } from '../request-context/context.js';
import { yogaHardening } from '../security/hardening/index.js';
import { DEFAULT_SECURITY, type SecurityOptions } from '../security/options.js';
import { assembleSecurityLayer } from '../security/security-layer.js';
import type { SecurityMetrics } from '../security/security-metrics.js';
import { createErrorMasker } from './mask-error.js';
import { SchemaManager } from './schema-manager.js';
import { followTlsFiles, readTlsPair, type TlsFiles } from './tls-files.js';
import { useCompiledExecution } from './use-compiled-execution.js';
import type { WebSocketEndpoint } from './websocket.js';
import { serveWebSocketOnDemand } from './websocket-on-demand.js';

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
  /** Run operations compiled by graphql-jit (default true); false: graphql-js's executor. */
  compiledExecution?: boolean;
  /** Worker processes of the instance (--workers), shown on /status; default 1. */
  workers?: number;
  /** Bounds of the in-memory caches (default 10 000 entries and 64 MiB each); with security.shared.redisUrl they live in Redis. */
  caching?: Pick<CachingOptions, 'memory'>;
  /** Request protections; each is off when left out. */
  protections?: {
    /** Deadline of each query or mutation (--request-timeout-ms). */
    requestTimeoutMs?: number;
    /** Requests served at once (--max-in-flight). */
    maxInFlight?: number;
  };
  /** OpenTelemetry tracing (--otlp-endpoint); off when left out. */
  tracing?: TracingOptions;
  /** Serve HTTPS with this PEM certificate (and chain) and key, reloaded when the files change. */
  tls?: TlsFiles;
  /** GraphQL over WebSocket (graphql-transport-ws) on the GraphQL path (default true). */
  websocket?: boolean;
  /** @defer and @stream (default true). */
  deferStream?: boolean;
}

export interface Gateway {
  url: string;
  server: Server | HttpsServer;
  manager: SchemaManager;
  /** This gateway's own Prometheus registry and the upstream observer feeding it. */
  metrics: GatewayMetrics;
  log: Logger;
  close(): Promise<void>;
}

/** Longest a graceful shutdown waits for requests in flight (deploy/kubernetes allows for it). */
export const SHUTDOWN_GRACE_MS = 10_000;

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const log = options.logger ?? pino({ level: options.logLevel ?? 'info', base: { service: 'quilt' } });
  // Before anything starts: a certificate that cannot be served is a startup error naming its file.
  const tlsPair = options.tls && readTlsPair(options.tls);
  // The pool gauges read the manager's registry at scrape time, after both exist.
  const metrics: GatewayMetrics = new GatewayMetrics({
    snapshots: () => manager.snapshot(),
    instanceScrape: options.instanceScrape,
  });
  // The status page's five minutes of history, fed by the same events as the metrics.
  const history = new StatusHistory();
  const observer = new ObserverFanOut(metrics, history);
  const securityOptions = options.security ?? DEFAULT_SECURITY;
  const security = assembleSecurityLayer(securityOptions, { log, metrics: observer });
  const deferStream = options.deferStream !== false;
  // Trusted documents allow no query text, and a WebSocket operation always carries one.
  const websocket = options.websocket !== false && securityOptions.hardening.trustedDocuments === undefined;
  if (options.websocket !== false && !websocket)
    log.info('GraphQL over WebSocket is off: --trusted-documents allows no query text, which it needs');
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
    observer,
    batches: metrics,
    schemaTransforms: security.schemaTransforms,
    deferStream,
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
  // Imported only when on: a gateway without --otlp-endpoint loads no OpenTelemetry module.
  const tracing = options.tracing
    ? (await import('../observability/tracing/start-tracing.js')).startTracing(options.tracing, {
        log,
        registry: metrics.registry,
      })
    : undefined;

  const plugins: Plugin[] = [
    // The schema being served, for every execution, HTTP or WebSocket: yoga's schema-factory
    // option finds the schema by HTTP request, which a WebSocket operation has not.
    { onEnveloped: ({ setSchema }) => setSchema(manager.current!.schema) },
    useRequestId(),
    useMetrics(metrics),
    useAccessLog(log),
    useOperationsEndpoints(manager),
    // The executor first: plugins that wrap execution (authorization) wrap the compiled one.
    ...(options.compiledExecution === false ? [] : [useCompiledExecution(log)]),
    useStatusPage(manager, history, { workers: options.workers }),
    // A span per GraphQL operation; the endpoints above answer before any operation exists.
    ...(tracing ? [tracing.plugin] : []),
    ...protectionPlugins(options.protections ?? {}, observer),
    ...security.plugins,
    // Upstream answers' headers the schema files pass on (@upstream(responseHeaders:)).
    useResponseHeaders(),
    // @cacheControl: after the security plugins (a cached answer is costed and only served to
    // the callers it was made for) and after the response headers (their cache-control is
    // combined with its own).
    caches.plugin,
  ];
  const maskError = createErrorMasker(log);
  if (deferStream) plugins.push((await import('@graphql-yoga/plugin-defer-stream')).useDeferStream());
  const yoga = createYoga<{ req?: IncomingMessage }, QuiltContext>({
    // A WebSocket operation comes with its context made (websocket-operations.ts): no request.
    context: ({ request, req }: Partial<YogaInitialContext> & { req?: IncomingMessage }) => {
      if (!request) return {} as QuiltContext;
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
            // Subscriptions over the WebSocket when it is served, else over SSE.
            subscriptionsProtocol: websocket ? 'WS' : 'SSE',
            defaultTabs: await loadExamples(options.examplesDir ?? join(options.schemasDir, 'examples')),
          },
    // GraphiQL's assets inline, not from a CDN: the gateway must work on a closed network.
    // The page is ~9 MB, so it is loaded on the first visit, not held by every instance.
    renderGraphiQL: async (opts) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(opts),
    landingPage: false,
    maskedErrors: { maskError },
    logging: log.child({ component: 'yoga' }) as never,
    ...yogaHardening(securityOptions.hardening),
  });

  // HTTP/1.1 only, also over TLS (ALPN offers nothing else): see the README's "TLS".
  const server = tlsPair
    ? createHttpsServer({ cert: tlsPair.cert, key: tlsPair.key, ALPNProtocols: ['http/1.1'] }, yoga)
    : createServer(yoga);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const stopWatchingTls = tlsPair && followTlsFiles(server as HttpsServer, options.tls!, tlsPair, log);
  const ws: WebSocketEndpoint | undefined = websocket
    ? serveWebSocketOnDemand({
        server,
        endpoint: yoga.graphqlEndpoint,
        guard: security.connections,
        maxMessageBytes: security.maxBodyBytes,
        getEnveloped: yoga.getEnveloped as never,
        maskError,
        log,
        metrics,
      })
    : undefined;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `${tlsPair ? 'https' : 'http'}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  log.info(
    { url: `${url}/graphql`, version: manager.version, ...(tlsPair && { certificate: tlsPair.description }) },
    'quilt listening',
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      log.info('shutting down: no new connections, finishing requests in flight');
      stopWatchingTls?.();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      // WebSockets close with 1001 once their queries in flight are done (a subscription never is).
      await Promise.all([closed, ws?.close(SHUTDOWN_GRACE_MS)]);
      clearTimeout(force);
      await manager.close();
      await security.close();
      await caches.close();
      // The last spans, those of the requests just finished (bounded: a dead collector cannot hold the exit).
      await tracing?.shutdown();
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
  metrics: SecurityMetrics,
): Plugin[] {
  const plugins: Plugin[] = [];
  if (maxInFlight)
    plugins.push(useInFlightLimit(maxInFlight, (refusal) => metrics.limitRejection('in_flight', refusal)));
  if (requestTimeoutMs) plugins.push(useRequestTimeout(requestTimeoutMs) as Plugin);
  return plugins;
}
