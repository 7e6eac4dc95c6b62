// The request body limit. A Content-Length above it is refused in onRequest, before a byte of
// the body is read (Node's parser already refuses a body longer than its Content-Length). A
// chunked body has no length up front: the GraphQL request parser then reads it through a
// counting stream that fails with the same 413 as soon as the limit is passed, so the gateway
// never buffers more than the limit. This replaces yoga's own guard (maxRequestBodySize,
// 25 MB by default), which gateway.ts turns off (see yogaHardening).
import type { Plugin } from 'graphql-yoga';
import { refusalResponse, requestTooLarge } from '../../errors.js';
import type { RejectionCounter } from '../security-metrics.js';

export function useBodyLimit(maxBytes: number, count: RejectionCounter): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      const length = request.headers.get('content-length');
      if (length === null || !/^\d+$/.test(length) || Number(length) <= maxBytes) return;
      count('body_size');
      endResponse(refusalResponse(fetchAPI, request, requestTooLarge(maxBytes)));
    },
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (!requestParser || !request.body || request.headers.has('content-length')) return;
      const parse = requestParser;
      setRequestParser(function parseLimitedBody(req) {
        return parse(limitedRequest(req, maxBytes, fetchAPI, count));
      });
    },
  };
}

function limitedRequest(
  request: Request,
  maxBytes: number,
  fetchAPI: { Request: typeof Request; TransformStream: typeof TransformStream },
  count: RejectionCounter,
): Request {
  // Node's own Request wants Node's own TransformStream (as in yoga's limitRequestBodySize).
  const Transform = request.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  let seen = 0;
  const body = request.body!.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) {
          count('body_size');
          controller.error(requestTooLarge(maxBytes));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body,
    duplex: 'half',
  } as RequestInit);
}
