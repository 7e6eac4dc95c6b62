// What happens to finished spans on their way to the collector, counted and logged: a
// collector that is down or slow must never slow a request, so spans are dropped instead
// (the batch processor's queue is bounded), and an operator has to be able to see that.
// - Exports, and exports that failed (collector unreachable, refused, timed out), are seen by
//   wrapping the exporter.
// - Spans dropped because the queue was full are counted by the batch processor itself
//   through OpenTelemetry's self-observability metrics (`otel.sdk.processor.span.processed`
//   with error.type "queue_full"), which it reports to the MeterProvider it is given: this one
//   turns that count into a Prometheus counter and ignores every other instrument.
import { createNoopMeter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

export type DropReason = 'queue_full' | 'export_failed';

/** The self-observability counter of span processors (OpenTelemetry semantic conventions). */
const PROCESSED_SPANS = 'otel.sdk.processor.span.processed';
/** One warning line per this long at most while spans are being dropped. */
const LOG_EVERY_MS = 60_000;

export class SpanExportStats {
  readonly #exported: Counter;
  readonly #dropped: Counter<'reason'>;
  readonly #log: Logger;
  readonly #collector: string;
  /** Drops since the last warning, and the last export error seen. */
  #unreported: Record<DropReason, number> = { queue_full: 0, export_failed: 0 };
  #lastError: string | undefined;
  #nextWarningAt = 0;

  constructor(registry: Registry, log: Logger, collector: string) {
    this.#log = log;
    this.#collector = collector;
    this.#exported = new Counter({
      name: 'quilt_tracing_spans_exported_total',
      help: 'Spans the OTLP collector accepted.',
      registers: [registry],
    });
    this.#dropped = new Counter({
      name: 'quilt_tracing_spans_dropped_total',
      help: 'Spans that never reached the collector (queue_full: the export queue was full; export_failed: the collector could not be reached, refused or timed out).',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  /** `exporter`, counting what it sends and what fails. */
  wrap(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans: ReadableSpan[], done: (result: ExportResult) => void) =>
        exporter.export(spans, (result) => {
          if (result.code === ExportResultCode.SUCCESS) this.#exported.inc(spans.length);
          else this.dropped('export_failed', spans.length, result.error);
          done(result);
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }

  /** For the batch processor's `selfObsMeterProvider`: only its queue-full drops are kept. */
  meterProvider(): MeterProvider {
    const noop = createNoopMeter();
    const queueFull = {
      add: (value: number, attributes?: Record<string, unknown>) => {
        if (attributes?.['error.type'] === 'queue_full') this.dropped('queue_full', value);
      },
    };
    const meter: Meter = Object.create(noop);
    meter.createCounter = ((name: string, options?: object) =>
      name === PROCESSED_SPANS ? queueFull : noop.createCounter(name, options)) as Meter['createCounter'];
    return { getMeter: () => meter };
  }

  dropped(reason: DropReason, count: number, error?: Error): void {
    this.#dropped.inc({ reason }, count);
    this.#unreported[reason] += count;
    if (error) this.#lastError = error.message || error.name;
    const now = Date.now();
    if (now < this.#nextWarningAt) return;
    this.#nextWarningAt = now + LOG_EVERY_MS;
    this.#log.warn(
      { droppedSpans: this.#unreported, collector: this.#collector, lastError: this.#lastError },
      'tracing: spans dropped on the way to the collector (requests are not affected)',
    );
    this.#unreported = { queue_full: 0, export_failed: 0 };
  }
}
