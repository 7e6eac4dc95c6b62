// GraphQL over WebSocket in tests: graphql-ws's own client with ws as its WebSocket, never
// retrying (a close is what the test looks at), and the security options of the WebSocket
// and @defer tests: HS256 tokens signed with WS_SECRET.
import { type Client, type ClientOptions, createClient, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { DEFAULT_SECURITY, type SecurityOptions } from '../../src/security/options.js';
import type { Harness } from './gateway-harness.js';

export const WS_SECRET = 'quilt-websocket-test-secret-0123456789';

export const wsSecurity = (over: Partial<SecurityOptions> = {}): SecurityOptions => ({
  ...DEFAULT_SECURITY,
  jwt: { secret: WS_SECRET, algorithms: ['HS256'], clockToleranceSec: 0, requiredClaims: [] },
  ...over,
});

/** A graphql-ws client of the gateway that never retries, with every close it saw. */
export function wsClient(h: Harness, options: Partial<ClientOptions> = {}): Client & { closes: CloseEvent[] } {
  const closes: CloseEvent[] = [];
  const client = createClient({
    url: `${h.gateway.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    // A non-lazy client reports a close on the console by default; the test reads `closes`.
    onNonLazyError: () => {},
    ...options,
    on: { closed: (event) => closes.push(event as CloseEvent), ...options.on },
  });
  return Object.assign(client, { closes });
}

/** Every result of one operation. */
export async function results(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Promise<ExecutionResult<Record<string, any>>[]> {
  const out: ExecutionResult<Record<string, any>>[] = [];
  for await (const r of client.iterate({ query, variables })) out.push(r as ExecutionResult<Record<string, any>>);
  return out;
}
