// Writes the upstream headers collected during a request (response-headers.ts) onto the
// client's response. The collector exists only when an upstream with responseHeaders
// answered, so for every other request this costs one map lookup.
import type { Plugin } from 'graphql-yoga';
import type { QuiltContext } from '../request-context/context.js';
import { collectedResponseHeaders, type ResponseHeaders } from './response-headers.js';

export function useResponseHeaders(): Plugin {
  const pending = new WeakMap<Request, ResponseHeaders>();
  return {
    onExecutionResult({ request, context }) {
      const collected = collectedResponseHeaders(context as unknown as QuiltContext);
      if (collected) pending.set(request, collected);
    },
    onResponse({ request, response }) {
      const collected = pending.get(request);
      if (!collected) return;
      pending.delete(request);
      collected.applyTo(response.headers);
    },
  };
}
