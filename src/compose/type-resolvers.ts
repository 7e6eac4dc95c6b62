// Resolvers of types rather than fields, generated at load time: the internal values of enums
// whose upstream spelling differs (`IN_STOCK @enumValue(value: "in-stock")`: graphql-js then
// serializes "in-stock" as IN_STOCK and hands "in-stock" to resolvers for an IN_STOCK
// argument, so both directions are one mapping), and __resolveType of unions and interfaces
// with @discriminator. An upstream value no enum value maps, or an object no member type
// matches, is a field error UPSTREAM_BAD_RESPONSE at its path.
import { upstreamDataMismatch } from '../errors.js';
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
  return resolvers;
}

function discriminatorResolver(abstractName: string, d: Discriminator): (value: unknown) => string {
  const path = d.field.split('.');
  const byLowerName = new Map(d.members.map((m) => [m.toLowerCase(), m]));
  return function resolveByDiscriminator(value) {
    const tag = getPath(value, path);
    const type =
      tag === undefined || tag === null
        ? undefined
        : d.types
          ? d.types.get(String(tag))
          : byLowerName.get(String(tag).toLowerCase());
    if (type) return type;
    // The tag itself stays out of the message: it is upstream data.
    throw upstreamDataMismatch(
      undefined,
      tag === undefined || tag === null
        ? `an object of ${abstractName} has no "${d.field}" to tell its type by`
        : `the "${d.field}" of an object of ${abstractName} names none of its member types`,
      {},
      { value: tag },
    );
  };
}
