// What the schema compiler needs of a protocol connector: render a call from the field's
// templates, send it through the upstream's cluster, and return the picked JSON.
import type { UpstreamConfig } from '../config/upstream.js';
import type { QuiltContext } from '../request-context/context.js';
import type { TemplateScope } from '../templates/placeholders.js';
import type { Cluster } from '../upstream/cluster.js';
import type { HttpCache } from '../upstream/http-cache.js';
import type { HttpTransport } from '../upstream/transport/http.js';

/** The upstream said "no such thing" (HTTP 404, gRPC NOT_FOUND); the field decides whether that is null. */
export const NOT_FOUND = Symbol('upstream: not found');

export interface UpstreamCall {
  run(scope: TemplateScope, ctx: QuiltContext): Promise<unknown>;
}

/** One upstream as its connector sees it: what the schema file says, its pool and the HTTP transport. */
export interface UpstreamRuntime {
  config: UpstreamConfig;
  cluster: Cluster;
  http: HttpTransport;
  /** With @upstream(httpCache: true): the RFC 9111 cache in front of the cluster. */
  httpCache?: HttpCache;
}
