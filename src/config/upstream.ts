// @upstream(...) of one schema file, read into the settings its connector uses and the
// ClusterSpec its pool is built from (src/upstream knows nothing of schema files).
import { dirname, resolve } from 'node:path';
import type { DirectiveNode } from 'graphql';
import { parseTemplate, placeholdersOf, type TemplateScope } from '../templates/placeholders.js';
import { compileText } from '../templates/render.js';
import type { ClusterSpec, Protocol } from '../upstream/types.js';
import { readPoolSettings } from './pool.js';
import type { LoadNotes, ProblemList } from './problems.js';
import { readReplicas } from './replica-urls.js';
import { type RawTls, readUpstreamTls } from './upstream-tls.js';

export type { Protocol };

export interface HeaderTemplate {
  name: string;
  render: (scope: TemplateScope) => string | undefined;
}

export interface UpstreamConfig {
  name: string;
  protocol: Protocol;
  headers: HeaderTemplate[];
  /** Incoming request headers copied onto every upstream call, lower-cased. */
  forwardHeaders: string[];
  /** What the upstream's pool is built from: replicas, balancing, health, retries, deadlines. */
  cluster: ClusterSpec;
  /** Overall deadline of one call (the pool's timeoutMs), the default of a field's own timeoutMs. */
  timeoutMs: number;
  /** GRAPHQL: the path of the remote endpoint on each replica. */
  endpoint: string;
  introspect: boolean;
  /** GRPC: absolute path of the .proto file, and the service in it. */
  proto?: string;
  service?: string;
  /** Headers of the upstream's answers passed to the client, lower-cased. */
  responseHeaders: string[];
  /** Path in an error answer's JSON whose string becomes the client's error message. */
  errorMessage?: string[];
  /** HTTP: GET answers are cached as their own headers allow (RFC 9111; src/upstream/http-cache.ts). */
  httpCache: boolean;
  node: DirectiveNode;
}

interface RawUpstream {
  name: string;
  protocol: Protocol;
  replicas: { url: string; weight: number }[];
  headers?: { name: string; value: string }[] | null;
  forwardHeaders?: string[] | null;
  timeoutMs: number;
  endpoint: string;
  introspect: boolean;
  proto?: string | null;
  service?: string | null;
  responseHeaders?: string[] | null;
  errorMessage?: string | null;
  tls?: RawTls | null;
  httpCache: boolean;
}

export function readUpstream(
  values: Record<string, unknown>,
  node: DirectiveNode,
  file: string,
  problems: ProblemList,
  /** Warnings (tls.insecureSkipVerify) and the files read besides the schema file (tls:). */
  notes: LoadNotes,
): UpstreamConfig | undefined {
  const raw = values as unknown as RawUpstream;
  const at = (argName: string) => node.arguments?.find((a) => a.name.value === argName) ?? node;
  let ok = true;
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(raw.name)) {
    problems.at(
      at('name'),
      file,
      `@upstream(name:) must be letters, digits, "_" or "-", starting with a letter; received "${raw.name}"`,
    );
    ok = false;
  }
  const grpc = raw.protocol === 'GRPC';
  if (grpc && (!raw.proto || !raw.service)) {
    problems.at(
      node,
      file,
      '@upstream(protocol: GRPC) needs proto: (the .proto file, relative to this file) and service: (e.g. "pkg.v1.Service")',
    );
    ok = false;
  }
  if (raw.httpCache && raw.protocol !== 'HTTP') {
    // A remote GraphQL API is asked by POST and gRPC has no HTTP caching semantics.
    problems.at(
      at('httpCache'),
      file,
      `@upstream(httpCache) expected an HTTP upstream (GET answers are what it caches); received protocol ${raw.protocol}`,
    );
    ok = false;
  }
  const replicas = readReplicas(raw.replicas, raw.protocol, node, file, problems);
  if (!replicas) ok = false;
  const pool = readPoolSettings(values, node, file, problems);
  if (!pool) ok = false;
  const before = problems.items.length;
  const tls = readUpstreamTls(
    raw.tls,
    { name: raw.name, protocol: raw.protocol, replicas },
    node,
    file,
    problems,
    notes,
  );
  if (problems.items.length > before) ok = false;
  const headers = raw.headers ?? [];
  for (const h of headers) {
    // Upstream headers are the same for every call of a request (reads are deduplicated on that).
    const perCall = placeholdersOf(parseTemplate(h.value)).find((p) => p.root !== 'jwt' && p.root !== 'header');
    if (perCall) {
      problems.at(
        at('headers'),
        file,
        `@upstream(headers:) "${h.name}" uses ${perCall.text}; upstream headers may use {env.*}, {jwt.*} and {header.*} only (put per-call headers on @http(headers:))`,
      );
      ok = false;
    }
  }
  if (!ok || !pool || !replicas) return undefined;
  return {
    name: raw.name,
    protocol: raw.protocol,
    headers: headers.map((h) => ({ name: h.name.toLowerCase(), render: compileText(h.value) })),
    forwardHeaders: (raw.forwardHeaders ?? []).map((h) => h.toLowerCase()),
    cluster: { name: raw.name, protocol: raw.protocol, replicas, pool, graphqlEndpoint: raw.endpoint, tls },
    timeoutMs: raw.timeoutMs,
    endpoint: raw.endpoint,
    introspect: raw.introspect,
    proto: raw.proto ? resolve(dirname(file), raw.proto) : undefined,
    service: raw.service ?? undefined,
    responseHeaders: (raw.responseHeaders ?? []).map((h) => h.toLowerCase()),
    errorMessage: raw.errorMessage ? raw.errorMessage.split('.') : undefined,
    httpCache: raw.httpCache,
    node,
  };
}
