// Shared pieces of the gateway-level gRPC tests: the demo schema files with their replica
// urls replaced, a port nothing listens on, a schema file over the mapping fixture's
// MappingService, the order-events subscription with the events it must yield, and a tiny
// Server-Sent Events reader for subscriptions.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { makeOrders } from '../../demo/backends/orders.js';

export const MAPPING_PROTO = fileURLToPath(new URL('../fixtures/grpc/mapping.proto', import.meta.url));
export const MAPPING_SERVICE = 'quilt.test.v1.MappingService';
export const ORDERS_PROTO_TEXT = readFileSync(new URL('../../schemas/orders.proto', import.meta.url), 'utf8');

/** The order-events subscription of the demo schema (WatchOrders, server streaming). */
export const WATCH_ORDERS =
  'subscription Watch($u: ID!, $n: Int, $ms: Int) { orderEvents(userId: $u, count: $n, intervalMs: $ms) { kind order { id userId status totalCents } } }';

const LIFECYCLE = [
  ['CREATED', 'PENDING'],
  ['PAID', 'PAID'],
  ['SHIPPED', 'SHIPPED'],
] as const;

/** Event i of WatchOrders for user `u` as WATCH_ORDERS selects it: the lifecycle of the user's order floor(i / 3). */
export function expectedOrderEvent(u: number, i: number) {
  const order = makeOrders(u)[Math.floor(i / 3) % 3]!;
  const [kind, status] = LIFECYCLE[i % 3]!;
  return { kind, order: { id: order.id, userId: String(u), status, totalCents: order.total_cents } };
}

/** A file of schemas/ with its replicas replaced by `urls` (and `edit` applied to the text). */
export function demoSchema(name: string, urls: string[], edit: (text: string) => string = (t) => t): string {
  const text = readFileSync(new URL(`../../schemas/${name}`, import.meta.url), 'utf8').replace(
    /replicas: \[[^\]]*\]/,
    `replicas: [${urls.map((u) => `{ url: "${u}" }`).join(', ')}]`,
  );
  return edit(text);
}

/** A 127.0.0.1 port that was free a moment ago: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A source over test/fixtures/grpc/mapping.proto. Echo returns the request's bytes, so what
 * GraphQL returns is what the gateway encoded and decoded. `JSON` is the custom scalar that
 * serves maps (and the whole request, in `echo(input:)`). Every field but `slow` has its own
 * generous deadline, so a tight upstream `timeoutMs` applies to `slow` alone (a first call on
 * a cold channel on a loaded machine can take a few hundred ms).
 */
export function mappingSchema(address: string, upstreamExtra = ''): string {
  return `extend schema @upstream(name: "mapping", protocol: GRPC, proto: ${JSON.stringify(MAPPING_PROTO)}, service: "${MAPPING_SERVICE}", replicas: [{ url: "${address}" }]${upstreamExtra ? `, ${upstreamExtra}` : ''})

scalar JSON

enum Color {
  COLOR_UNSPECIFIED
  RED
  GREEN
}

type Tag {
  name: String!
  weight: String!
  color: Color!
}

type Kitchen {
  big: String!
  ubig: String!
  sbig: String!
  small: Int!
  ratio: Float!
  flag: Boolean!
  text: String!
  blob: String!
  color: Color!
  at: String
  took: String
  maybeText: String
  maybeInt: Int
  maybeBig: String
  maybeFlag: Boolean
  maybeBytes: String
  tag: Tag
  tags: [Tag!]!
  bigs: [String!]!
  colors: [Color!]!
  tagsByName: JSON
  namesById: JSON
  choiceText: String
  choiceTag: Tag
  choiceBig: String
  "the oneof's name: which member is set"
  choice: String
  optInt: Int
  optText: String
  optColor: Color
}

type Query {
  echo(input: JSON!): Kitchen @grpc(method: "Echo", request: "{args.input}", timeoutMs: 5000)
  echoArgs(big: String, color: Color, small: Int, blob: String): Kitchen @grpc(method: "Echo", request: { big: "{args.big}", color: "{args.color}", small: "{args.small}", blob: "{args.blob}" }, timeoutMs: 5000)
  fail(code: Int!, details: String): JSON @grpc(method: "Fail", request: { code: "{args.code}", details: "{args.details}" }, timeoutMs: 5000)
  "the upstream's own deadline"
  slow(delayMs: Int!): JSON @grpc(method: "Slow", request: { delayMs: "{args.delayMs}" })
}
`;
}

export interface SseEvent {
  event: string;
  data: string;
}

/** Reads a text/event-stream body event by event (comments and keep-alives skipped). */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':') || line === '') continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (event === 'message' && data.length === 0) continue; // a comment-only block
      yield { event, data: data.join('\n') };
    }
  }
}
