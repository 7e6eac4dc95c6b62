// The settings of tracing (--otlp-endpoint and the --otel-* flags), kept apart from
// src/observability/tracing/ so that reading them loads no OpenTelemetry module: the SDK is
// imported only when tracing is on (src/server/gateway.ts imports tracing/ dynamically).

export interface TracingOptions {
  /** Where spans are POSTed (OTLP/HTTP, JSON): the full `.../v1/traces` url (otlpTracesUrl in src/cli/tracing-options.ts resolves --otlp-endpoint). */
  tracesUrl: string;
  /**
   * service.name when the operator named it (--otel-service-name or its variable); otherwise
   * OTEL_SERVICE_NAME, then service.name in OTEL_RESOURCE_ATTRIBUTES, then "quilt".
   */
  serviceName?: string;
  /** Share of new traces that are recorded, 0 to 1; a trace the client started keeps the client's decision. */
  sampleRatio: number;
  /**
   * The batch span processor's queue; each setting left out comes from OTEL_BSP_* or the SDK's
   * default (a queue of 2048 spans, batches of 512, sent every 5 s).
   */
  batch?: {
    maxQueueSize?: number;
    maxExportBatchSize?: number;
    scheduledDelayMillis?: number;
    exportTimeoutMillis?: number;
  };
  /** Longest one export may take, its retries included (default OTEL_EXPORTER_OTLP_TIMEOUT, else 10 s). */
  exportTimeoutMs?: number;
  /** Longest a graceful shutdown waits for the last spans to reach the collector (default 5000 ms). */
  shutdownFlushMs?: number;
}

export const DEFAULT_SERVICE_NAME = 'quilt';
export const DEFAULT_SHUTDOWN_FLUSH_MS = 5_000;
