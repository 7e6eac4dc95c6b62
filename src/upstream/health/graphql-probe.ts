// GraphQL health probe: POST `{ __typename }` to the replica's GraphQL
// endpoint. A 2xx alone is not enough: a proxy or a default page also answers 200, so the
// replica is up only when the answer is GraphQL, with data.__typename a string. Uses its
// own undici Agent like the HTTP probe (see http-probe.ts for why).
import { replicaAddress } from '../transport/http.js';
import type { UpstreamTls } from '../types.js';
import { type ClosableProbe, createProbeAgent, probeRequest, probeUrl, readBody } from './http-probe.js';

const QUERY = JSON.stringify({ query: '{ __typename }' });

export function createGraphqlProbe(endpoint: string, tls?: UpstreamTls): ClosableProbe {
  const agent = createProbeAgent(tls);
  return {
    probe: async function graphqlHealthProbe(replicaUrl, timeoutMs) {
      // A replica url with a path is the endpoint itself; `endpoint` is the path of the others.
      const path = replicaAddress(replicaUrl).basePath ? '' : endpoint;
      const res = await probeRequest(agent, probeUrl(replicaUrl, path), timeoutMs, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        body: QUERY,
      });
      if (res.statusCode < 200 || res.statusCode > 299) {
        await readBody(() => res.body.dump(), timeoutMs);
        throw new Error(`HTTP ${res.statusCode} from ${path || replicaUrl}`);
      }
      const text = await readBody(() => res.body.text(), timeoutMs);
      let answer: { data?: { __typename?: unknown } | null; errors?: Array<{ message?: unknown }> } | null;
      try {
        answer = JSON.parse(text) as typeof answer;
      } catch {
        throw new Error(`not a GraphQL response from ${endpoint}: the body is not JSON`);
      }
      if (typeof answer?.data?.__typename === 'string') return;
      const firstError = answer?.errors?.[0]?.message;
      throw new Error(
        typeof firstError === 'string'
          ? `GraphQL error from ${endpoint}: ${firstError}`
          : `not a GraphQL response from ${endpoint}: no data.__typename`,
      );
    },
    close: () => agent.destroy(),
  };
}
