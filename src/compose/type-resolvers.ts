// Resolvers of types rather than fields, generated at load time: the internal values of enums
// whose upstream spelling differs (`IN_STOCK @enumValue(value: "in-stock")`: graphql-js then
// serializes "in-stock" as IN_STOCK and hands "in-stock" to resolvers for an IN_STOCK
// argument, so both directions are one mapping), and __resolveType of unions and interfaces
// with @discriminator. An upstream value no enum value maps, or an object no member type
// matches, is a field error UPSTREAM_BAD_RESPONSE at its path.
import type { QuiltContext } from '../request-context/context.js';
import { getPath } from '../templates/placeholders.js';
import type { Discriminator } from './enums-and-unions.js';
import type { CompositionModel } from './model.js';

type TypeResolvers = Record<string, Record<string, unknown>>;

export function typeResolvers(model: CompositionModel): TypeResolvers {
  const resolvers: TypeResolvers = {};
  for (const [name, values] of model.enumValues) {
    const mapped = Object.fromEntries([...values].filter(([gql, upstream]) => gql !== upstream));
    if (Object.keys(mapped).length) resolvers[name] = mapped;
  }
  for (const [name, discriminator] of model.discriminators) {
    resolvers[name] = { __resolveType: discriminatorResolver(name, discriminator) };
  }
  for (const name of model.abstracts.keys()) resolvers[name] ??= { __resolveType: byTypename };
  return resolvers;
}

/**
 * Without @discriminator, the `__typename` the JSON carries. Written out rather than left to
 * the executor's default, which throws where none is found: graphql-jit cannot take a throw
 * from a type resolver, and undefined gets the same coded error from both executors.
 */
function byTypename(value: unknown): string | undefined {
  const typename = (value as { __typename?: unknown } | null)?.__typename;
  return typeof typename === 'string' ? typename : undefined;
}

function discriminatorResolver(
  abstractName: string,
  d: Discriminator,
): (value: unknown, ctx: QuiltContext) => string | undefined {
  const path = d.field.split('.');
  const byLowerName = new Map(d.members.map((m) => [m.toLowerCase(), m]));
  return function resolveByDiscriminator(value, ctx) {
    const tag = getPath(value, path);
    const type =
      tag === undefined || tag === null
        ? undefined
        : d.types
          ? d.types.get(String(tag))
          : byLowerName.get(String(tag).toLowerCase());
    if (type) return type;
    // No type: the executor (graphql-js or the compiled one, which cannot take a throw here)
    // raises its own error at this path, which mask-error.ts codes UPSTREAM_BAD_RESPONSE. The
    // tag is upstream data, so it goes to the log only.
    ctx.log.warn(
      { type: abstractName, field: d.field, value: tag },
      tag === undefined || tag === null
        ? 'an object has no discriminator to tell its type by'
        : 'a discriminator value names none of the member types',
    );
    return undefined;
  };
}
