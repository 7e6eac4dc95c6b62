// @rateLimit(max, window, identityArgs, arrayLengthField, message) on fields, decided by graphql-rate-limit's own limiter (getGraphQLRateLimiter): its
// window parsing, identity keys, call counting, messages and decision.
//
// What Quilt changes is the Store. The package's stores read the call log, then write it
// back: two gateway instances (or two concurrent calls waiting on Redis) both read the same
// log and both pass. Here each call gets its own adapter whose getForIdentity performs the
// LimitStore's atomic `hit` (drop expired entries, append this call's entries, return the
// ones before), and whose setForIdentity does nothing: the limiter decides on exactly the
// log that existed before this call, serialized by the store. As in the package's default
// (uncountRejected: false), refused calls count too.
//
// A limited field is null with RATE_LIMITED at its path and its resolver (so its upstream)
// is never called; the rest of the operation runs.
import { createRequire } from 'node:module';
import {
  defaultFieldResolver,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  isObjectType,
} from 'graphql';
import type { GraphQLRateLimitDirectiveArgs, Identity, Store } from 'graphql-rate-limit';
import { readDirective } from '../../config/directives.js';
import { rateLimited } from '../../errors.js';
import type { QuiltContext } from '../../request-context/context.js';
import { clientIdOf } from '../identity.js';
import type { LimitStore } from '../limits/types.js';
import type { SecurityMetrics } from '../security-metrics.js';

// The package bundles graphql-shield, graphql-middleware, yup and lodash (~270 modules): it is
// loaded when a schema first uses @rateLimit, not by every gateway.
const requireHere = createRequire(import.meta.url);
let rateLimitPackage:
  | {
      getGraphQLRateLimiter: typeof import('graphql-rate-limit').getGraphQLRateLimiter;
      ms: (text: string) => number | undefined;
    }
  | undefined;
function rateLimitLibrary(): NonNullable<typeof rateLimitPackage> {
  return (rateLimitPackage ??= {
    getGraphQLRateLimiter: requireHere('graphql-rate-limit').getGraphQLRateLimiter,
    ms: createRequire(requireHere.resolve('graphql-rate-limit'))('ms'),
  });
}

/** graphql-rate-limit's defaults, for a directive that leaves them out. */
const DEFAULT_WINDOW_MS = 60_000;
const DEFAULT_MAX = 5;

export interface RateLimitDeps {
  metrics: SecurityMetrics;
}

type Resolver = GraphQLFieldResolver<unknown, QuiltContext>;

interface FieldLimit {
  args: GraphQLRateLimitDirectiveArgs;
  windowMs: number;
  max: number;
  coordinate: string;
}

/** Wraps, in place, the resolver of every object field that carries @rateLimit. */
export function rateLimitTransform(store: LimitStore, deps: RateLimitDeps): (schema: GraphQLSchema) => void {
  return function applyRateLimits(schema) {
    const subscriptionType = schema.getSubscriptionType();
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        const limit = fieldLimit(`${type.name}.${field.name}`, field);
        if (!limit) continue;
        // A subscription is limited when it starts, not per event.
        if (type === subscriptionType && field.subscribe)
          field.subscribe = limited(field.subscribe as Resolver, limit, store, deps);
        else field.resolve = limited((field.resolve ?? defaultFieldResolver) as Resolver, limit, store, deps);
      }
    }
  };
}

function fieldLimit(coordinate: string, field: GraphQLField<unknown, unknown>): FieldLimit | undefined {
  const node = field.astNode?.directives?.find((d) => d.name.value === 'rateLimit');
  if (!node) return undefined;
  const values = readDirective(node) as {
    max?: number | null;
    window?: string | null;
    identityArgs?: (string | null)[] | null;
    arrayLengthField?: string | null;
    message?: string | null;
  };
  let windowMs = DEFAULT_WINDOW_MS;
  if (values.window != null) {
    const parsed = rateLimitLibrary().ms(values.window);
    // An unreadable window would make the package's limiter count nothing: refuse the schema.
    if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed <= 0) {
      throw new Error(
        `${coordinate}: @rateLimit(window: "${values.window}") is not a duration (write e.g. "1s", "5m", "1h")`,
      );
    }
    windowMs = parsed;
  }
  if (values.max != null && values.max < 1)
    throw new Error(`${coordinate}: @rateLimit(max: ${values.max}) must be at least 1`);
  const args: GraphQLRateLimitDirectiveArgs = {
    max: values.max ?? undefined,
    window: values.window ?? undefined,
    identityArgs: values.identityArgs?.filter((a): a is string => a != null),
    arrayLengthField: values.arrayLengthField ?? undefined,
    message: values.message ?? undefined,
  };
  return { args, windowMs, max: values.max ?? DEFAULT_MAX, coordinate };
}

function limited(resolve: Resolver, limit: FieldLimit, store: LimitStore, deps: RateLimitDeps): Resolver {
  const typeName = limit.coordinate.slice(0, limit.coordinate.indexOf('.'));
  return async function rateLimitedResolver(parent, args, ctx, info) {
    const count = callCount(args, limit.args.arrayLengthField);
    let prior: readonly number[] = [];
    const adapter: Store = {
      async getForIdentity(identity: Identity) {
        prior = await store.hit(
          `${identity.contextIdentity}:${typeName}:${identity.fieldIdentity}`,
          count,
          limit.windowMs,
        );
        return prior;
      },
      setForIdentity() {},
    };
    const limiter = rateLimitLibrary().getGraphQLRateLimiter({
      store: adapter,
      identifyContext: (context: QuiltContext) => clientIdOf(context),
      formatError: ({ max }) =>
        `Too many calls to ${limit.coordinate}: at most ${max} per ${limit.args.window ?? '1m'}`,
    });
    const message = await limiter({ parent, args, context: ctx, info }, limit.args);
    if (message !== undefined) {
      const error = rateLimited(message, retryAfterSec(prior, count, limit));
      deps.metrics.limitRejection('rate_limit', error);
      throw error;
    }
    return resolve(parent, args, ctx, info);
  };
}

/** The count graphql-rate-limit's limiter uses: the length of `arrayLengthField`, else 1. */
function callCount(args: Record<string, unknown>, arrayLengthField: string | undefined): number {
  if (!arrayLengthField) return 1;
  const length = (args[arrayLengthField] as { length?: unknown } | null | undefined)?.length;
  return typeof length === 'number' && length > 0 ? length : 1;
}

/** Seconds until one more call fits: when the entry that keeps the window full has left it. */
function retryAfterSec(prior: readonly number[], count: number, limit: FieldLimit): number {
  const now = Date.now();
  // The log after this call is prior (oldest first) then `count` entries stamped now.
  const blocking = prior.length + count - limit.max;
  const stamp = blocking >= 0 && blocking < prior.length ? prior[blocking] : now;
  return Math.max(1, Math.ceil((stamp + limit.windowMs - now) / 1000));
}
