// The directives a schema file may use, as SDL. Files are validated against these
// definitions, so an unknown directive or argument, or a value of the wrong type, is a
// load error with its file:line:column. Only directives Quilt enforces are defined: a
// schema asking for protection that is not implemented must fail, not be silently open.
import {
  type ASTVisitor,
  buildSchema,
  type DirectiveNode,
  type DocumentNode,
  type GraphQLDirective,
  GraphQLError,
  getDirectiveValues,
  visit,
} from 'graphql';

/**
 * Auth, cost and limit directives (their standard names, as in Apollo Router and the IBM cost
 * spec; see the README's "Security and limits"). Unlike the directives
 * below, they stay in the composed schema: the security plugins read them from the served
 * schema's AST (src/security/schema-policy.ts).
 */
export const SECURITY_DIRECTIVES_SDL = /* GraphQL */ `
"A number written as the IBM cost spec's numeric string ('2.5') or Apollo's integer (2)."
scalar CostWeight
directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @cost(weight: CostWeight!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
directive @rateLimit(max: Int, window: String, identityArgs: [String], arrayLengthField: String, message: String) on FIELD_DEFINITION
`;

export const SECURITY_DIRECTIVE_NAMES = new Set(['authenticated', 'requiresScopes', 'cost', 'listSize', 'rateLimit']);

/**
 * Apollo's @cacheControl, for response caching (src/caching/). Like the security directives it
 * stays in the served schema, where the response cache reads it (src/caching/cache-policy.ts).
 */
export const CACHE_DIRECTIVES_SDL = /* GraphQL */ `
enum CacheControlScope { PUBLIC PRIVATE }
"how long a response holding this field or type may be cached (seconds), and for whom; inheritMaxAge: take the parent field's maxAge"
directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
`;

/** The directives that stay in the served schema, with their definitions (compose/compile-schema.ts). */
export const SERVED_DIRECTIVES_SDL = SECURITY_DIRECTIVES_SDL + CACHE_DIRECTIVES_SDL;
export const SERVED_DIRECTIVE_NAMES = new Set([...SECURITY_DIRECTIVE_NAMES, 'cacheControl']);

export const QUILT_DIRECTIVES_SDL = /* GraphQL */ `
${SERVED_DIRECTIVES_SDL}
scalar QuiltJSON
enum QuiltProtocol { HTTP GRPC GRAPHQL }
"how @http sends body: JSON, or FORM (application/x-www-form-urlencoded; nested keys as a[b], lists repeated)"
enum QuiltBodyFormat { JSON FORM }
enum QuiltBalanceAlgorithm { ROUND_ROBIN WEIGHTED_ROUND_ROBIN STICKY HASH LEAST_CONNECTIONS LEAST_RESPONSE_TIME RANDOM }
input QuiltReplica { url: String! weight: Int = 1 }
input QuiltHeader { name: String! value: String! }
input QuiltBalance {
  algorithm: QuiltBalanceAlgorithm = ROUND_ROBIN
  "HASH: ip, url, header:NAME or claim:NAME"
  hashOn: String
  "STICKY: header:NAME or cookie:NAME naming a client that has no JWT subject (else its IP)"
  stickyOn: String
  stickyTtlMs: Int = 600000
  stickyMaxClients: Int = 10000
}
input QuiltHealth {
  "HTTP: GET this path, 2xx = up"
  path: String = "/health"
  "GRPC: the service name asked of grpc.health.v1.Health/Check (empty = the whole server)"
  service: String = ""
  intervalMs: Int = 5000
  timeoutMs: Int = 1000
  healthyThreshold: Int = 2
  unhealthyThreshold: Int = 2
}
input QuiltOutlierDetection {
  consecutiveFailures: Int = 5
  baseEjectionMs: Int = 30000
  maxEjectionMs: Int = 300000
  maxEjectionPercent: Int = 50
  "the success-rate rules count each replica's attempts over this long, then judge them"
  intervalMs: Int = 10000
  successRateMinimumHosts: Int = 3
  successRateRequestVolume: Int = 100
  "eject a replica whose success rate is below mean - this x standard deviation"
  successRateStdevFactor: Float = 1.9
  "eject a replica whose failures are at least this percent of its attempts (0 = off)"
  failurePercentageThreshold: Int = 50
  failurePercentageMinimumHosts: Int = 2
  failurePercentageRequestVolume: Int = 20
}
input QuiltRetryBudget { percent: Int = 20 minPerSecond: Int = 10 }
input QuiltTls {
  "PEM file of the CA certificates that sign the replicas' certificates, relative to the schema file (default: Node's root store)"
  ca: String
  "PEM file of the client certificate (chain) presented to the replicas (mTLS); needs key"
  cert: String
  "PEM file of the client certificate's private key"
  key: String
  "do not verify the replicas' certificates at all (logged as a warning at every load)"
  insecureSkipVerify: Boolean = false
  "the name the replicas' certificates must carry (and the SNI sent), instead of the url's host"
  serverName: String
}

directive @upstream(
  name: String!
  protocol: QuiltProtocol!
  replicas: [QuiltReplica!]!
  headers: [QuiltHeader!]
  forwardHeaders: [String!]
  balance: QuiltBalance
  "active health checks: on when given"
  health: QuiltHealth
  "passive health: always on, these are its settings"
  outlierDetection: QuiltOutlierDetection
  "overall deadline of one call, retries included"
  timeoutMs: Int = 10000
  "deadline of each attempt (default: timeoutMs)"
  tryTimeoutMs: Int
  "extra attempts on other replicas (see the README's retry rules)"
  retries: Int = 2
  retryBudget: QuiltRetryBudget
  "calls in flight above this fail fast with UPSTREAM_UNAVAILABLE (circuit breaker)"
  maxInFlight: Int = 1024
  "a replica that comes back ramps its weight up over this long (0 = off)"
  slowStartMs: Int = 0
  "GRAPHQL: the path of the remote endpoint on each replica"
  endpoint: String = "/graphql"
  "GRAPHQL: fetch the remote SDL by introspection instead of writing it in the file"
  introspect: Boolean = false
  "GRPC: the .proto file, relative to the schema file"
  proto: String
  "GRPC: the fully qualified service name, e.g. shop.orders.v1.OrderService"
  service: String
  "headers of this upstream's answers passed on to the client (set-cookie appended, cache-control the most restrictive)"
  responseHeaders: [String!]
  "the path in an error answer's JSON whose string becomes the GraphQL error's message (off: no upstream text reaches clients)"
  errorMessage: String
  "TLS to the replicas: CA, client certificate (mTLS), server name; https:// and grpcs:// replicas, or host:port gRPC ones"
  tls: QuiltTls
  "HTTP: keep GET answers as their Cache-Control, Expires, Vary and ETag allow (RFC 9111, a shared cache)"
  httpCache: Boolean = false
) on SCHEMA

directive @http(
  GET: String
  POST: String
  PUT: String
  PATCH: String
  DELETE: String
  body: QuiltJSON
  bodyFormat: QuiltBodyFormat = JSON
  headers: [QuiltHeader!]
  result: String
  key: String
  "batching: the path of each item's key, or $index (one entry per key, in order) or $key (an object keyed by key)"
  match: String
  "batching: the part of each matched item the parent gets (a grouped reply's value)"
  pick: String
  maxBatchSize: Int = 100
  timeoutMs: Int
  "the path in an error answer's JSON whose string becomes the GraphQL error's message"
  errorMessage: String
) on FIELD_DEFINITION

directive @grpc(
  method: String!
  request: QuiltJSON
  result: String
  key: String
  match: String
  pick: String
  maxBatchSize: Int = 100
  timeoutMs: Int
) on FIELD_DEFINITION

"path: a dotted path into the JSON; key: one JSON key taken as it is, dots included (@odata.type)"
directive @from(path: String, key: String) on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @key(selectionSet: String!) on OBJECT
"a lookup of the returned entity by key; match: and pick: read the reply as @http's batching does (default match: keyField)"
directive @merge(keyField: String, keyArg: String, match: String, pick: String) on FIELD_DEFINITION
directive @computed(selectionSet: String!) on FIELD_DEFINITION
"the upstream's spelling of this enum value, both ways (results and arguments)"
directive @enumValue(value: String!) on ENUM_VALUE
input QuiltDiscriminatorType { value: String! type: String! }
"which member type an object is: the value of field (a path); without types, the value is the type name (any case)"
directive @discriminator(field: String!, types: [QuiltDiscriminatorType!]) on UNION | INTERFACE
directive @canonical on OBJECT | INTERFACE | UNION | ENUM | SCALAR | INPUT_OBJECT | FIELD_DEFINITION
`;

const directiveSchema = buildSchema(`${QUILT_DIRECTIVES_SDL}\ntype Query { _: Boolean }`);

export const QUILT_DIRECTIVE_NAMES = new Set([
  'upstream',
  'http',
  'grpc',
  'from',
  'key',
  'merge',
  'computed',
  'canonical',
  'enumValue',
  'discriminator',
]);

export function directiveDefinition(name: string): GraphQLDirective {
  const d = directiveSchema.getDirective(name);
  if (!d) throw new Error(`unknown Quilt directive @${name}`);
  return d;
}

/** The arguments of one directive use, coerced to their declared types (defaults applied). */
export function readDirective(node: DirectiveNode): Record<string, unknown> {
  const def = directiveDefinition(node.name.value);
  // getDirectiveValues looks the directive up among a node's directives by name.
  const values = getDirectiveValues(def, { directives: [node] });
  if (!values) throw new GraphQLError(`@${node.name.value} could not be read`, { nodes: node });
  return values;
}

/**
 * The SDL of a source without what only Quilt reads: its own directives and the `extend
 * schema @upstream(...)`. The security directives stay (the served schema keeps them).
 * `also` adds visitors (the composed schema drops non-canonical duplicates with it).
 */
export function stripQuiltDirectives(document: DocumentNode, also: ASTVisitor = {}): DocumentNode {
  return visit(document, {
    ...also,
    Directive: (node) => (QUILT_DIRECTIVE_NAMES.has(node.name.value) ? null : undefined),
    SchemaExtension: () => null,
  });
}
