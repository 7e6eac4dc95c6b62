// The remote GraphQL connector: sends an operation to the upstream's endpoint through its
// cluster (a query is a read and may be retried, a mutation never once it reached a replica)
// and returns the GraphQL response. Delegation (which operation to send for a field) is the
// schema compiler's, in src/compose/remote-source.ts; this is the executor it delegates to.
import type { ExecutionRequest, ExecutionResult } from '@graphql-tools/utils';
import { print } from 'graphql';
import { upstreamBadResponse, upstreamError } from '../../errors.js';
import { callRouting } from '../../request-context/call-routing.js';
import type { QuiltContext } from '../../request-context/context.js';
import { type HttpResponse, replicaAddress } from '../../upstream/transport/http.js';
import { failOnServerError, logged, transportError, upstreamHeaders } from '../call-rules.js';
import { passResponseHeaders } from '../response-headers.js';
import type { UpstreamRuntime } from '../upstream-call.js';

export class GraphqlExecutor {
  /** The path posted to on each replica: "" for a url with a path (it is the endpoint), else `endpoint:`. */
  readonly #paths = new Map<string, string>();

  constructor(private readonly runtime: UpstreamRuntime) {}

  #pathOn(replicaUrl: string): string {
    let path = this.#paths.get(replicaUrl);
    if (path === undefined) {
      path = replicaAddress(replicaUrl).basePath ? '' : this.runtime.config.endpoint;
      this.#paths.set(replicaUrl, path);
    }
    return path;
  }

  /** The executor of a @graphql-tools subschema. */
  execute(request: ExecutionRequest): Promise<ExecutionResult> {
    const idempotent = request.operationType === 'query';
    return this.send(
      print(request.document),
      request.variables ?? {},
      request.operationName,
      request.context as QuiltContext | undefined,
      idempotent,
    );
  }

  /** `ctx` is undefined for the gateway's own calls (introspection at load time). */
  async send(
    query: string,
    variables: Record<string, unknown>,
    operationName: string | undefined,
    ctx: QuiltContext | undefined,
    idempotent: boolean,
  ): Promise<ExecutionResult> {
    const { config, cluster, http } = this.runtime;
    const headers = ctx
      ? upstreamHeaders(config, { jwt: ctx.jwt, headers: ctx.headers }, ctx)
      : { accept: 'application/json' };
    headers['content-type'] = 'application/json';
    headers.accept = 'application/graphql-response+json, application/json';
    const body = JSON.stringify({ query, variables, operationName });
    const detail = { method: 'POST', path: config.endpoint };
    const trace = ctx?.tracer?.call({
      upstream: config.name,
      protocol: 'GRAPHQL',
      route: `POST ${config.endpoint}`,
      method: 'POST',
      path: (replica) => this.#pathOn(replica),
    });
    let response: HttpResponse;
    try {
      response = await cluster.call(
        async (replica, tryTimeoutMs, signal, attempt) =>
          failOnServerError(
            await http.send(replica.url, {
              method: 'POST',
              path: this.#pathOn(replica.url),
              headers: attempt ? { ...headers, ...attempt.propagation } : headers,
              body,
              timeoutMs: tryTimeoutMs,
              signal,
              tls: config.cluster.tls,
            }),
            replica.url,
            attempt,
          ),
        { idempotent, routing: callRouting(ctx, config.endpoint), signal: ctx?.signal, trace },
      );
    } catch (e) {
      throw logged(ctx, transportError(config.name, config.timeoutMs, e, detail));
    }
    passResponseHeaders(ctx, config.responseHeaders, response.headers);
    let json: ExecutionResult | undefined;
    try {
      json = JSON.parse(response.text) as ExecutionResult;
    } catch {
      json = undefined;
    }
    // A GraphQL server may answer 4xx with a well-formed errors list; anything else is an error.
    if (!json || typeof json !== 'object' || (!('data' in json) && !('errors' in json))) {
      const error =
        response.status >= 400
          ? upstreamError(config.name, response.status, { ...detail, body: response.text.slice(0, 500) })
          : upstreamBadResponse(config.name, { ...detail, body: response.text.slice(0, 200) });
      throw logged(ctx, error);
    }
    return json;
  }
}
