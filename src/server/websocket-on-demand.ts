// GraphQL over WebSocket, loaded with the first upgrade request: graphql-ws and ws stay out of
// a gateway no client opens a WebSocket to (each MB resident at start lets V8 grow the heap
// under load by several; bench/RESULTS.md, "Memory"). The first upgrade waits for the import,
// then goes to websocket.ts's handler like every later one.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketEndpoint, WebSocketOptions } from './websocket.js';

export function serveWebSocketOnDemand(options: WebSocketOptions): WebSocketEndpoint {
  const { server } = options;
  let endpoint: Promise<WebSocketEndpoint | undefined> | undefined;
  // Upgrades that arrive while the module loads wait with the first one.
  const waiting: [IncomingMessage, Duplex, Buffer][] = [];
  const load = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    waiting.push([req, socket, head]);
    endpoint ??= import('./websocket.js').then(
      (module) => {
        server.off('upgrade', load);
        const served = module.serveWebSocket(options);
        // websocket.ts now listens for upgrades: the waiting ones are handed to it.
        for (const args of waiting.splice(0)) server.emit('upgrade', ...args);
        return served;
      },
      (error: unknown) => {
        server.off('upgrade', load);
        options.log.error({ err: error }, 'GraphQL over WebSocket could not be loaded');
        for (const [, waitingSocket] of waiting.splice(0)) waitingSocket.destroy();
        return undefined;
      },
    );
  };
  server.on('upgrade', load);
  return {
    async close(graceMs) {
      server.off('upgrade', load);
      await (await endpoint)?.close(graceMs);
    },
  };
}
