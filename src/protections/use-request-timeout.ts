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
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new RequestDeadlineExceeded(timeoutMs)), timeoutMs);
      // Either ends the calls: the client going away (the request's own signal) or the deadline.
      ctx.signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline.signal]) : deadline.signal;
      return {
        onExecuteDone() {
          clearTimeout(timer);
        },
      };
    },
  };
}
