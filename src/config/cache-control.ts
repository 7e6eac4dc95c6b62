// @cacheControl(maxAge:, scope:, inheritMaxAge:) uses, checked beyond their types: a maxAge is
// a number of seconds (0 or more), and a field that inherits its parent's maxAge sets none of
// its own (Apollo's rule: inheritMaxAge takes effect only where maxAge is unset, so writing
// both is a mistake that would silently keep one of them).
import { type DirectiveNode, Kind } from 'graphql';
import type { ProblemList } from './problems.js';

export function checkCacheControl(node: DirectiveNode, file: string, problems: ProblemList): void {
  const arg = (name: string) => node.arguments?.find((a) => a.name.value === name);
  const maxAge = arg('maxAge');
  if (maxAge?.value.kind === Kind.INT && Number(maxAge.value.value) < 0)
    problems.at(
      maxAge.value,
      file,
      `@cacheControl(maxAge) expected seconds, an integer of 0 or more; received ${maxAge.value.value}`,
    );
  const inherit = arg('inheritMaxAge');
  if (maxAge && inherit?.value.kind === Kind.BOOLEAN && inherit.value.value)
    problems.at(
      inherit,
      file,
      "@cacheControl(inheritMaxAge) expected no maxAge beside it (the field takes its parent's maxAge); received maxAge too",
    );
}
