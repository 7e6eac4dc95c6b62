// GraphQL over WebSocket (graphql-ws, subprotocol graphql-transport-ws) on the HTTP server's
// own port and path, beside SSE. The upgrade request is checked first (path, shutdown, the IP
// lists: refused with a plain HTTP answer before any handshake); connection_init then carries
// the token, verified by the JWT plugin's verifier (src/security/connection-guard.ts): an
// invalid one closes the socket with 4403, none is anonymous. Operations run through yoga's
// getEnveloped (websocket-operations.ts), each with a signal of its own, fired when the client
// completes it, when the socket closes, or when the token expires: the signal is the
// request's signal of HTTP, so the connectors cancel upstream calls and gRPC streams on it.
// Graceful shutdown closes every connection with 1001 once its queries and mutations in
// flight are done (subscriptions never are), within the server's grace period.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError } from 'graphql';
import { CloseCode, type Context } from 'graphql-ws';
import { type Extra, useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { addressForbidden, type QuiltError } from '../errors.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import { requestIdFrom } from '../observability/use-request-id.js';
import { clientIpOf } from '../request-context/context.js';
import type { ConnectionGuard } from '../security/connection-guard.js';
import {
  type ConnectionIdentity,
  type OperationDeps,
  prepareOperation,
  type RunningOperation,
  runEnveloped,
  wireError,
  wireResult,
} from './websocket-operations.js';

export interface WebSocketOptions extends OperationDeps {
  server: Server;
  /** The GraphQL path (yoga's graphqlEndpoint). */
  endpoint: string;
  guard: ConnectionGuard;
  /** Largest message, as --max-body-bytes; 0: ws's own limit (100 MiB). */
  maxMessageBytes: number;
  log: Logger;
  metrics: GatewayMetrics;
}

export interface WebSocketEndpoint {
  /** Closes every connection with 1001 when its queries and mutations in flight are done, at most after graceMs. */
  close(graceMs: number): Promise<void>;
}

interface Connection extends ConnectionIdentity {
  socket: WebSocket;
  operations: Map<string, RunningOperation>;
  expiry?: NodeJS.Timeout;
  opened: number;
}

const GOING_AWAY = 1001;
/** setTimeout's longest delay; a token valid for longer is not timed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const cancelled = (why: string) => new DOMException(why, 'AbortError');

export function serveWebSocket(options: WebSocketOptions): WebSocketEndpoint {
  const { server, endpoint, guard, log, metrics } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes || undefined });
  const connections = new Map<WebSocket, Connection>();
  let draining = false;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== endpoint && path !== `${endpoint}/`) return refuseUpgrade(socket, 404, 'Not Found');
    if (draining) return refuseUpgrade(socket, 503, 'Service Unavailable');
    if (!guard.admits(req.socket.remoteAddress)) return refuseUpgrade(socket, 403, 'Forbidden', addressForbidden());
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  server.on('upgrade', onUpgrade);

  wss.on('connection', (socket: WebSocket, req: IncomingMessage) => {
    const connection: Connection = {
      socket,
      id: requestIdFrom(req.headers['x-request-id']),
      clientIp: clientIpOf(req),
      headers: headersOf(req),
      operations: new Map(),
      opened: performance.now(),
    };
    connections.set(socket, connection);
    metrics.websocketConnection(1);
    // A client's `complete` for an operation still running: graphql-ws forgets the operation
    // (and returns its stream at the stream's next event), this ends its upstream calls now.
    socket.on('message', (data) => {
      const text = String(data);
      if (!text.includes('"complete"')) return;
      const id = completedId(text);
      if (id !== undefined) connection.operations.get(id)?.controller.abort(cancelled('the client completed it'));
    });
    socket.once('close', (code, reason) => {
      clearTimeout(connection.expiry);
      for (const op of connection.operations.values()) op.controller.abort(cancelled('the WebSocket closed'));
      connections.delete(socket);
      metrics.websocketConnection(-1);
      log.info(
        {
          connectionId: connection.id,
          code,
          reason: String(reason),
          ms: Math.round(performance.now() - connection.opened),
        },
        'websocket closed',
      );
    });
    log.info({ connectionId: connection.id, clientIp: connection.clientIp }, 'websocket opened');
  });

  const connectionOf = (ctx: Context<Record<string, unknown> | undefined, Extra>) => connections.get(ctx.extra.socket);

  useServer(
    {
      isProd: true,
      ...runEnveloped,
      async onConnect(ctx) {
        const connection = connectionOf(ctx);
        if (!connection) return false;
        const payload = ctx.connectionParams as Record<string, unknown> | undefined;
        const auth = await guard.authenticate(payload, ctx.extra.request.headers);
        if ('refused' in auth) {
          ctx.extra.socket.close(CloseCode.Forbidden, closeReason(`Forbidden: ${auth.refused}`));
          return false;
        }
        // As the HTTP header would be: for {header.authorization} and forwardHeaders.
        const authorization = payloadAuthorization(payload);
        if (authorization) connection.headers = { ...connection.headers, authorization };
        if (auth.claims) {
          connection.jwt = auth.claims;
          if (auth.expiresAtMs !== undefined) expireAt(connection, auth.expiresAtMs, log);
        }
        return true;
      },
      async onSubscribe(ctx, id, payload) {
        const connection = connectionOf(ctx);
        // Shutting down: the client reconnects (graphql-ws retries on 1001), to another instance.
        if (!connection || draining) {
          ctx.extra.socket.close(GOING_AWAY, 'Going away');
          return [new GraphQLError('The server is shutting down')];
        }
        return prepareOperation(options, connection, payload, (op) => connection.operations.set(id, op));
      },
      // Only results with errors need another form (graphql-ws serializes the rest as they are).
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors || 'incremental' in result ? (wireResult(result) as never) : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map(wireError),
      onComplete(ctx, id) {
        const connection = connectionOf(ctx);
        if (!connection?.operations.delete(id)) return;
        // graphql-ws sends `complete` after this hook returns: close after it, not before.
        if (draining && !busy(connection)) setImmediate(() => connection.socket.close(GOING_AWAY, 'Going away'));
      },
    },
    wss,
  );

  return {
    async close(graceMs) {
      // Upgrades on connections still open are answered 503 from now on.
      draining = true;
      for (const connection of connections.values())
        if (!busy(connection)) connection.socket.close(GOING_AWAY, 'Going away');
      const closed = [...connections.keys()].map((socket) => new Promise((r) => socket.once('close', r)));
      const force = setTimeout(() => {
        for (const socket of connections.keys()) socket.terminate();
      }, graceMs);
      await Promise.all(closed);
      clearTimeout(force);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Queries and mutations in flight: shutdown waits for them; subscriptions never end by themselves. */
function busy(connection: Connection): boolean {
  for (const op of connection.operations.values()) if (op.type !== 'subscription') return true;
  return false;
}

/** Closes the connection when its token expires: a subscription must not outlive its token. */
function expireAt(connection: Connection, atMs: number, log: Logger): void {
  const delay = atMs - Date.now();
  if (delay > MAX_TIMER_MS) return;
  connection.expiry = setTimeout(
    () => {
      log.info({ connectionId: connection.id }, 'websocket: token expired; closing');
      connection.socket.close(CloseCode.Forbidden, 'Forbidden: Token expired');
    },
    Math.max(0, delay),
  );
  connection.expiry.unref();
}

function refuseUpgrade(socket: Duplex, status: number, text: string, error?: QuiltError): void {
  const body = error ? JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.code } }] }) : '';
  const type = error ? 'Content-Type: application/json; charset=utf-8\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${type}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The id of a `complete` message, else undefined. */
function completedId(text: string): string | undefined {
  try {
    const message = JSON.parse(text) as { type?: unknown; id?: unknown };
    return message?.type === 'complete' && typeof message.id === 'string' ? message.id : undefined;
  } catch {
    return undefined;
  }
}

/** connection_init's `Authorization` value, passed on as the header would be (forwardHeaders). */
function payloadAuthorization(payload: Record<string, unknown> | undefined): string | undefined {
  const headers = payload?.headers as Record<string, unknown> | undefined;
  for (const record of [payload, headers])
    for (const [key, value] of Object.entries(record ?? {}))
      if (key.toLowerCase() === 'authorization' && typeof value === 'string') return value;
  return undefined;
}

function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** A close reason fits in 123 bytes. */
function closeReason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : `${text.slice(0, 119)}...`;
}
