// The tracing flags' values -> the gateway's tracing options. Tracing is on only with
// --otlp-endpoint; another tracing flag without it is a usage error, as a --jwt-* setting
// without a key is, rather than silently ignored.
import type { GatewayOptions } from '../server/gateway.js';
import { envName, type OptionSources, type Options, UsageError } from './options.js';

/**
 * The url spans are sent to. Like OTEL_EXPORTER_OTLP_ENDPOINT, the endpoint is the collector's
 * OTLP/HTTP base url and `/v1/traces` is appended ("http://collector:4318" sends to
 * "http://collector:4318/v1/traces"); a url that already ends in /v1/traces (the form of
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is used as it is, so either form works.
 */
export function otlpTracesUrl(endpoint: string, where: string): string {
  const expected = 'expected the http:// or https:// url of an OTLP/HTTP collector (such as http://collector:4318)';
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new UsageError(`${where}: ${expected}, received "${endpoint}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash)
    throw new UsageError(`${where}: ${expected} without a query, received "${endpoint}"`);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith('/v1/traces') ? path : `${path}/v1/traces`;
  return url.href;
}

export function tracingOptionsFrom(options: Options, sources: OptionSources): GatewayOptions['tracing'] {
  const where = (name: string) => sources[name] ?? `--${name} (${envName(name)})`;
  const endpoint = options['otlp-endpoint'] === undefined ? '' : String(options['otlp-endpoint']).trim();
  const ratio = Number(options['otel-sample-ratio']);
  if (ratio > 1)
    throw new UsageError(`${where('otel-sample-ratio')}: expected a number from 0 to 1, received "${ratio}"`);
  if (!endpoint) {
    const stray = ['otel-service-name', 'otel-sample-ratio'].find((name) => sources[name] !== undefined);
    if (stray)
      throw new UsageError(`${where(stray)} has no effect without --otlp-endpoint (${envName('otlp-endpoint')})`);
    return undefined;
  }
  const serviceName = options['otel-service-name'] === undefined ? '' : String(options['otel-service-name']).trim();
  return {
    tracesUrl: otlpTracesUrl(endpoint, where('otlp-endpoint')),
    serviceName: serviceName || undefined,
    sampleRatio: ratio,
  };
}
