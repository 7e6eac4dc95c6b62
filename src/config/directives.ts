// The directives a schema file may use, as SDL. Files are validated against these
// definitions, so an unknown directive or argument, or a value of the wrong type, is a
// load error with its file:line:column. Only directives Quilt enforces are defined: a
// schema asking for protection that is not implemented must fail, not be silently open.
import { buildSchema, getDirectiveValues, GraphQLError, type DirectiveNode, type GraphQLDirective } from 'graphql';

export const QUILT_DIRECTIVES_SDL = /* GraphQL */ `
scalar QuiltJSON
enum QuiltProtocol { HTTP GRPC GRAPHQL }
# More algorithms arrive with the pool work (issue 4); until then only what is implemented.
enum QuiltBalanceAlgorithm { ROUND_ROBIN }
input QuiltReplica { url: String! weight: Int = 1 }
input QuiltHeader { name: String! value: String! }
input QuiltBalance { algorithm: QuiltBalanceAlgorithm = ROUND_ROBIN }

directive @upstream(
  name: String!
  protocol: QuiltProtocol!
  replicas: [QuiltReplica!]!
  headers: [QuiltHeader!]
  forwardHeaders: [String!]
  balance: QuiltBalance
  timeoutMs: Int = 10000
  "GRAPHQL: the path of the remote endpoint on each replica"
  endpoint: String = "/graphql"
  "GRAPHQL: fetch the remote SDL by introspection instead of writing it in the file"
  introspect: Boolean = false
  "GRPC: the .proto file, relative to the schema file"
  proto: String
  "GRPC: the fully qualified service name, e.g. shop.orders.v1.OrderService"
  service: String
) on SCHEMA

directive @http(
  GET: String
  POST: String
  PUT: String
  PATCH: String
  DELETE: String
  body: QuiltJSON
  headers: [QuiltHeader!]
  result: String
  key: String
  match: String
  maxBatchSize: Int = 100
  timeoutMs: Int
) on FIELD_DEFINITION

directive @grpc(
  method: String!
  request: QuiltJSON
  result: String
  key: String
  match: String
  maxBatchSize: Int = 100
  timeoutMs: Int
) on FIELD_DEFINITION

directive @from(path: String!) on FIELD_DEFINITION
directive @key(selectionSet: String!) on OBJECT
directive @merge(keyField: String, keyArg: String) on FIELD_DEFINITION
directive @computed(selectionSet: String!) on FIELD_DEFINITION
directive @canonical on OBJECT | INTERFACE | UNION | ENUM | SCALAR | INPUT_OBJECT | FIELD_DEFINITION
`;

const directiveSchema = buildSchema(`${QUILT_DIRECTIVES_SDL}\ntype Query { _: Boolean }`);

export const QUILT_DIRECTIVE_NAMES = new Set(['upstream', 'http', 'grpc', 'from', 'key', 'merge', 'computed', 'canonical']);

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
