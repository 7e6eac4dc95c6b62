// --request-timeout-ms: a deadline per query or mutation. When it passes, the request's
// signal fires with a RequestDeadlineExceeded: every upstream call still running is
// cancelled (HTTP aborted, gRPC cancelled) and fails its field with UPSTREAM_TIMEOUT, no new
// call starts, and graphql-js answers with what did finish: partial data and an error per
// field that did not. Subscriptions are not bounded (onExecute does not see them).
import type { Plugin } from 'graphql-yoga';
import { type QuiltContext, RequestDeadlineExceeded } from '../request-context/context.js';

export function useRequestTimeout(timeoutMs: number): Plugin<QuiltContext> {
  return {
    onExecute({ args }) {
      const ctx = args.contextValue as QuiltContext;
      // One signal for both ends: the deadline, or the client going away (the request's own
      // signal, whose reason is passed on). A timer and a listener, both released when
      // execution is done (AbortSignal.any costs tens of µs per request: bench/RESULTS.md).
      const ends = new AbortController();
      const clientGone = ctx.signal;
      const onClientGone = () => ends.abort(clientGone?.reason);
      const timer = setTimeout(() => ends.abort(new RequestDeadlineExceeded(timeoutMs)), timeoutMs);
      if (clientGone?.aborted) onClientGone();
      else clientGone?.addEventListener('abort', onClientGone, { once: true });
      ctx.signal = ends.signal;
      return {
        onExecuteDone() {
          clearTimeout(timer);
          clientGone?.removeEventListener('abort', onClientGone);
        },
      };
    },
  };
}
