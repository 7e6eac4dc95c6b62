// What the compiler needs of a protocol connector: render a call from the field's
// templates, send it through the upstream's cluster, and return the picked JSON.
import type { QuiltContext } from '../execution/context.js';
import type { TemplateScope } from '../templates/placeholders.js';

/** The upstream said "no such thing" (HTTP 404, gRPC NOT_FOUND); the field decides whether that is null. */
export const NOT_FOUND = Symbol('upstream: not found');

export interface UpstreamCall {
  run(scope: TemplateScope, ctx: QuiltContext): Promise<unknown>;
}
