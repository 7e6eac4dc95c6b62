// --max-in-flight: at most N requests served at once. One more is refused in onRequest, before
// its body is read or parsed, with 503 and Retry-After, so a gateway past its capacity sheds
// load at the cost of a few bytes instead of queueing work it cannot finish in time. The
// operational endpoints answer before this plugin runs (gateway.ts orders them first), so
// health checks and scrapes are never refused.
import type { Plugin } from 'graphql-yoga';
import { overloaded, type QuiltError, refusalResponse } from '../errors.js';

/** What a client is told to wait before trying again. */
const RETRY_AFTER_SEC = 1;

export function useInFlightLimit(maxInFlight: number, onRefused: (refusal: QuiltError) => void): Plugin {
  let inFlight = 0;
  // onResponse runs for every response, those of requests another plugin answered included.
  const counted = new WeakSet<Request>();
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (inFlight >= maxInFlight) {
        const refusal = overloaded(maxInFlight, RETRY_AFTER_SEC);
        onRefused(refusal);
        endResponse(refusalResponse(fetchAPI, request, refusal));
        return;
      }
      inFlight++;
      counted.add(request);
    },
    onResponse({ request }) {
      if (counted.delete(request)) inFlight--;
    },
  };
}
