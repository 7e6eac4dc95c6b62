// The request id: taken from `x-request-id` when the client sent a sane one, made otherwise;
// echoed on the response and (through the context) forwarded on every upstream call.
import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ids = new WeakMap<Request, string>();

export function requestIdOf(request: Request): string {
  let id = ids.get(request);
  if (!id) {
    const given = request.headers.get('x-request-id');
    id = given && SANE_ID.test(given) ? given : randomUUID();
    ids.set(request, id);
  }
  return id;
}

export function useRequestId(): Plugin {
  return {
    onResponse({ request, response }) {
      response.headers.set('x-request-id', requestIdOf(request));
    },
  };
}
