// CSRF prevention with yoga's plugin: a request a browser may send cross-site without a CORS
// preflight (a GET, or a POST with a form or text/plain content type) must carry yoga's
// header, which a foreign page cannot set without a preflight. application/json POSTs pass.
// Yoga's refusal has no code; this wraps it to give CSRF_PREVENTED and count it.
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Plugin } from 'graphql-yoga';
import { csrfPrevented } from '../../errors.js';
import type { RejectionCounter } from '../security-metrics.js';

/** yoga's default header; any non-empty value will do. */
export const CSRF_HEADERS = ['x-graphql-yoga-csrf'] as const;

export function useCsrf(count: RejectionCounter): Plugin {
  const yogaCsrf = useCSRFPrevention({ requestHeaders: [...CSRF_HEADERS] });
  const check = yogaCsrf.onRequestParse!;
  return {
    onRequestParse(payload) {
      try {
        check(payload);
      } catch {
        count('csrf');
        throw csrfPrevented(CSRF_HEADERS);
      }
    },
  };
}
