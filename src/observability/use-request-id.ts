// The request id: taken from `x-request-id` when the client sent a sane one, made otherwise;
// echoed on the response and (through the context) forwarded on every upstream call.
import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ids = new WeakMap<Request, string>();

export function requestIdOf(request: Request): string {
  let id = ids.get(request);
  if (!id) {
    id = requestIdFrom(request.headers.get('x-request-id'));
    ids.set(request, id);
  }
  return id;
}

/** The client's id when it is a sane one, else a new one. */
export function requestIdFrom(given: string | string[] | null | undefined): string {
  return typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID();
}

export function useRequestId(): Plugin {
  return {
    onResponse({ request, response }) {
      response.headers.set('x-request-id', requestIdOf(request));
    },
  };
}
