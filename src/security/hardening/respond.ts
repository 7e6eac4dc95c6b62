// What the hardening plugins share: the rejection counter they report to, and the JSON body
// of a refusal made in onRequest, before yoga has a request to turn an error into.
import type { QuiltError } from '../../errors.js';

/** Reasons as the quilt_limit_rejections_total metric labels them. */
export type RejectionReason = 'depth' | 'aliases' | 'tokens' | 'directives' | 'batch' | 'ip' | 'body_size' | 'trusted_documents' | 'csrf';

export type RejectionCounter = (reason: RejectionReason) => void;

export function errorResponse(fetchAPI: { Response: typeof Response }, error: QuiltError, status: number): Response {
  const body = JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.code } }] });
  return new fetchAPI.Response(body, { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}
