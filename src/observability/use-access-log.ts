// One JSON log line per HTTP request, with its request id, status and duration.
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { requestIdOf } from './use-request-id.js';

export function useAccessLog(log: Logger): Plugin {
  // Decided once: below info level the plugin costs nothing per request.
  if (!log.isLevelEnabled('info')) return {};
  const started = new WeakMap<Request, number>();
  return {
    onRequest({ request }) {
      started.set(request, performance.now());
    },
    onResponse({ request, response }) {
      const t0 = started.get(request);
      log.info(
        {
          requestId: requestIdOf(request),
          method: request.method,
          path: new URL(request.url).pathname,
          status: response.status,
          ms: t0 === undefined ? undefined : Math.round((performance.now() - t0) * 10) / 10,
        },
        'request',
      );
    },
  };
}
