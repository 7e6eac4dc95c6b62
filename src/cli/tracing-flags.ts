// The tracing flags (README, "Tracing (OpenTelemetry)"); tracing-options.ts reads them.
import type { FlagSpec } from './flag-spec.js';

const group = 'Tracing (OpenTelemetry)';

export const TRACING_FLAGS: FlagSpec[] = [
  {
    group,
    name: 'otlp-endpoint',
    type: 'string',
    arg: 'URL',
    description:
      'send a span per operation and per upstream call attempt to this OTLP/HTTP collector (http://collector:4318: /v1/traces is added unless the url ends with it); off when unset',
  },
  {
    group,
    name: 'otel-service-name',
    type: 'string',
    arg: 'NAME',
    description:
      'service.name of the spans (default: OTEL_SERVICE_NAME, else service.name in OTEL_RESOURCE_ATTRIBUTES, else quilt)',
  },
  {
    group,
    name: 'otel-sample-ratio',
    type: 'number',
    fractional: true,
    arg: 'R',
    default: 1,
    description: "share of new traces recorded, 0 to 1; a client's traceparent keeps its own sampled decision",
  },
];
