// Tracing with OpenTelemetry's SDK, when --otlp-endpoint is set: the only module that builds
// the SDK, loaded by src/server/gateway.ts with a dynamic import so that a gateway without
// tracing loads none of it. The pieces, each the SDK's own:
// - a tracer provider of this gateway only. Nothing is registered globally (no global
//   provider, propagator or context manager): spans are parented explicitly, through the
//   request's context (use-tracing.ts), so several gateways in one process keep apart and no
//   AsyncLocalStorage runs on every promise;
// - a resource: service.name "quilt" unless OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES or
//   --otel-service-name (in that order of strength) say otherwise, service.version, and a
//   service.instance.id per process (each worker of --workers is an instance);
// - a parent-based sampler: a trace the client started follows the client's sampled flag; a
//   new one is recorded with probability --otel-sample-ratio;
// - a batch span processor over the OTLP/HTTP (JSON) exporter: finished spans wait in a
//   bounded queue and are sent in the background, so a slow or unreachable collector costs
//   dropped spans (counted and logged by SpanExportStats), never a slower request.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type BufferConfig,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DEFAULT_SERVICE_NAME, DEFAULT_SHUTDOWN_FLUSH_MS, type TracingOptions } from '../tracing-options.js';
import { SpanExportStats } from './span-export-stats.js';
import { UpstreamSpans } from './upstream-spans.js';
import { useTracing } from './use-tracing.js';

export interface Tracing {
  /** The yoga plugin: a span per operation, and the tracer of its upstream calls on the context. */
  plugin: Plugin;
  /** Sends the spans still queued (for at most shutdownFlushMs) and stops. */
  shutdown(): Promise<void>;
}

/** The nearest package.json above this file: three folders up from src/, four from a build's dist/src/. */
function packageVersion(): string {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    try {
      return (JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { version: string }).version;
    } catch {
      // not here: one folder up
    }
  }
  return 'unknown';
}

const VERSION = packageVersion();

export function startTracing(options: TracingOptions, deps: { log: Logger; registry: Registry }): Tracing {
  const log = deps.log.child({ component: 'tracing' });
  const stats = new SpanExportStats(deps.registry, log, options.tracesUrl);
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        'service.name': DEFAULT_SERVICE_NAME,
        'service.version': VERSION,
        'service.instance.id': randomUUID(),
      }),
    )
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(options.serviceName ? resourceFromAttributes({ 'service.name': options.serviceName }) : null);
  const processor = new BatchSpanProcessor(
    stats.wrap(new OTLPTraceExporter({ url: options.tracesUrl, timeoutMillis: options.exportTimeoutMs })),
    {
      ...options.batch,
      // The SDK's processor takes it, but its env-reading wrapper's type does not list it yet
      // (experimental in 2.x; the package is pinned, and the dropped-spans test reads the count).
      selfObsMeterProvider: stats.meterProvider(),
    } as BufferConfig,
  );
  const provider = new BasicTracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    spanProcessors: [processor],
  });
  const spans = new UpstreamSpans(provider.getTracer('quilt', VERSION));
  log.info(
    {
      collector: options.tracesUrl,
      serviceName: resource.attributes['service.name'],
      sampleRatio: options.sampleRatio,
    },
    'tracing on: spans sent to the OTLP collector',
  );

  return {
    plugin: useTracing(spans) as Plugin,
    async shutdown() {
      const waitMs = options.shutdownFlushMs ?? DEFAULT_SHUTDOWN_FLUSH_MS;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), waitMs);
      });
      const flushed = provider.shutdown().then(
        () => 'flushed' as const,
        (e: Error) => {
          log.warn({ err: e.message }, 'tracing: the last spans could not be sent');
          return 'failed' as const;
        },
      );
      if ((await Promise.race([flushed, late])) === 'late')
        log.warn(
          { waitedMs: waitMs },
          'tracing: the collector did not take the last spans in time; stopping without them',
        );
      clearTimeout(timer);
    },
  };
}
