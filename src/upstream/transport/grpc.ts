// gRPC to one replica: one grpc-js channel per replica, created on first use and kept.
// Knows nothing of picking or retrying; failures become TransportFailure with whether the
// call reached the replica (the cluster's retry rule) or GrpcStatusError for a status the
// replica answered with. Requests and replies are proto-loader objects: the connector's
// JSON mapping (src/connectors/grpc/mapping.ts) runs before and after.
import * as grpc from '@grpc/grpc-js';
import { cancelledCall, TransportFailure, type UpstreamTls } from '../types.js';

/** The method a call names: its name in the service definition and the HTTP/2 path grpc-js sends. */
export interface GrpcMethodRef {
  name: string;
  /** "/pkg.Service/Method". */
  path: string;
}

export class GrpcStatusError extends Error {
  constructor(
    readonly code: number,
    /** 'NOT_FOUND', 'UNAVAILABLE', ... */
    readonly codeName: string,
    /** The status message: for the log only, it may hold upstream internals. */
    readonly details: string,
    readonly replica: string,
  ) {
    super(`gRPC status ${codeName} from ${replica}: ${details}`);
    this.name = 'GrpcStatusError';
  }
}

/** "host:port", "grpc://host:port" or "grpcs://host:port" -> the address grpc-js dials and whether TLS is on. */
export function grpcTarget(url: string): { address: string; secure: boolean } {
  const m = /^(?:(grpcs?):\/\/)?([^/\s]+?)\/?$/i.exec(url.trim());
  if (!m || !/:\d+$/.test(m[2]))
    throw new Error(`gRPC replica "${url}" is not host:port, grpc://host:port or grpcs://host:port`);
  return { address: m[2], secure: m[1]?.toLowerCase() === 'grpcs' };
}

export function grpcCodeName(code: number): string {
  return grpc.status[code] ?? `CODE_${code}`;
}

// grpc-js backs off up to 120 s between reconnects to a replica that refused; Quilt's own
// health checks decide when a replica is back, so neither the traffic channels nor the
// health probe's (health/grpc-probe.ts) may lag behind them.
export const GRPC_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

/**
 * What a grpc-js client of one replica is built from. TLS is on for grpcs:// and for any
 * replica of an upstream with `tls:` (its CA, client certificate and key for mTLS, and
 * serverName as grpc.ssl_target_name_override); createSsl() without a CA verifies against
 * Node's root store (plus NODE_EXTRA_CA_CERTS).
 */
export function grpcChannelArgs(
  url: string,
  tls?: UpstreamTls,
): { address: string; credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  const { address, secure } = grpcTarget(url);
  if (!secure && !tls)
    return { address, credentials: grpc.credentials.createInsecure(), options: GRPC_CHANNEL_OPTIONS };
  const credentials = grpc.credentials.createSsl(
    tls?.ca ?? null,
    tls?.key ?? null,
    tls?.cert ?? null,
    tls && !tls.verify ? { rejectUnauthorized: false } : undefined,
  );
  const options = tls?.serverName
    ? { ...GRPC_CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': tls.serverName }
    : GRPC_CHANNEL_OPTIONS;
  return { address, credentials, options };
}

interface MethodDefinition {
  requestSerialize: (value: unknown) => Buffer;
  responseDeserialize: (bytes: Buffer) => unknown;
}

export class GrpcTransport {
  readonly #Client: grpc.ServiceClientConstructor;
  readonly #definition: Record<string, MethodDefinition>;
  readonly #clients = new Map<string, grpc.Client>();
  #closed = false;

  /** `service`: the fully qualified name; `definition`: its proto-loader service definition; `tls`: the upstream's. */
  constructor(
    service: string,
    definition: grpc.ServiceDefinition,
    private readonly tls?: UpstreamTls,
  ) {
    this.#Client = grpc.makeClientConstructor(definition, service);
    this.#definition = definition as unknown as Record<string, MethodDefinition>;
  }

  /** One channel per replica, created on first use and reused. */
  #client(target: string): grpc.Client {
    let client = this.#clients.get(target);
    if (!client) {
      // A request still running on a replaced schema must not open a channel nobody closes.
      if (this.#closed)
        throw new TransportFailure(
          'connect',
          false,
          target,
          'gRPC transport closed (replaced by a schema reload, or shutting down)',
        );
      const { address, credentials, options } = grpcChannelArgs(target, this.tls);
      client = new this.#Client(address, credentials, options);
      this.#clients.set(target, client);
    }
    return client;
  }

  #method(method: GrpcMethodRef): MethodDefinition {
    const definition = this.#definition[method.name];
    if (!definition) throw new Error(`method "${method.name}" is not part of this transport's service`);
    return definition;
  }

  /**
   * Resolves once the replica's channel is connected; TransportFailure('connect', reached:
   * false) when it cannot connect within `timeoutMs` or is failing. A stream's first message
   * may take minutes, so a caller that wants the cluster to move a stream to another replica
   * awaits this inside the cluster's attempt, then iterates serverStream outside it.
   */
  async ready(target: string, timeoutMs: number): Promise<void> {
    const channel = this.#client(target).getChannel();
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const check = () => {
        const state = channel.getConnectivityState(true); // true: an idle channel starts connecting
        if (state === grpc.connectivityState.READY) return resolve();
        if (state === grpc.connectivityState.TRANSIENT_FAILURE || state === grpc.connectivityState.SHUTDOWN) {
          return reject(
            new TransportFailure(
              'connect',
              false,
              target,
              `no connection established (channel ${grpc.connectivityState[state]})`,
            ),
          );
        }
        channel.watchConnectivityState(state, deadline, (error) => {
          if (error)
            reject(new TransportFailure('connect', false, target, `no connection established within ${timeoutMs} ms`));
          else check();
        });
      };
      check();
    });
  }

  async unary(
    target: string,
    method: GrpcMethodRef,
    request: unknown,
    metadata: Record<string, string>,
    timeoutMs: number,
    /** The caller's: when it fires, the call is cancelled (the server sees it cancelled). */
    signal?: AbortSignal,
  ): Promise<unknown> {
    if (signal?.aborted) throw cancelledCall(target, signal);
    const client = this.#client(target);
    const { requestSerialize, responseDeserialize } = this.#method(method);
    return new Promise((resolve, reject) => {
      const call = client.makeUnaryRequest(
        method.path,
        requestSerialize,
        responseDeserialize,
        request,
        toMetadata(metadata),
        { deadline: Date.now() + timeoutMs },
        (error, reply) => {
          signal?.removeEventListener('abort', cancel);
          if (error)
            reject(signal?.aborted ? cancelledCall(target, signal) : classify(error, call.getPeer(), client, target));
          else resolve(reply);
        },
      );
      const cancel = () => call.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /**
   * Server streaming: yields each reply message. Aborting `signal` (or leaving the loop)
   * cancels the call upstream and ends the iteration without an error. `timeoutMs` bounds
   * the whole stream (a Query field collecting it); a subscription leaves it out.
   */
  async *serverStream(
    target: string,
    method: GrpcMethodRef,
    request: unknown,
    metadata: Record<string, string>,
    signal: AbortSignal,
    timeoutMs?: number,
  ): AsyncIterable<unknown> {
    if (signal.aborted) return;
    const client = this.#client(target);
    const { requestSerialize, responseDeserialize } = this.#method(method);
    const options: grpc.CallOptions = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
    const call = client.makeServerStreamRequest(
      method.path,
      requestSerialize,
      responseDeserialize,
      request,
      toMetadata(metadata),
      options,
    );
    let finished = false;
    const cancel = () => call.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      for await (const reply of call) yield reply;
      finished = true;
    } catch (e) {
      finished = true;
      if (signal.aborted && (e as grpc.ServiceError).code === grpc.status.CANCELLED) return;
      throw isServiceError(e) ? classify(e, call.getPeer(), client, target) : e;
    } finally {
      signal.removeEventListener('abort', cancel);
      // The consumer stopped early (break, return() from a subscription): tell the server.
      if (!finished) call.cancel();
    }
  }

  close(): void {
    this.#closed = true;
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}

function toMetadata(headers: Record<string, string>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    // Binary metadata travels as bytes; a template can only produce text, so it is base64.
    metadata.set(key, key.endsWith('-bin') ? Buffer.from(value, 'base64') : value);
  }
  return metadata;
}

function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as grpc.ServiceError).code === 'number' && 'details' in e;
}

/**
 * Did the call reach the replica? grpc-js reports a replica it could not connect to as
 * UNAVAILABLE ("No connection established") or, while still connecting, DEADLINE_EXCEEDED,
 * the same codes a server may answer with after running the call. The rule: a call reached
 * the replica once grpc-js opened an HTTP/2 stream for it on a connection, and only then
 * does `getPeer()` name the remote address; before that it returns the channel's target
 * ("dns:host:port") or "unknown". Details text is not trusted: a server may relay another
 * service's "No connection established" as its own UNAVAILABLE.
 */
function classify(error: grpc.ServiceError, peer: string, client: grpc.Client, target: string): Error {
  const onConnection = peer !== 'unknown' && peer !== client.getChannel().getTarget();
  if (error.code === grpc.status.DEADLINE_EXCEEDED) {
    return onConnection
      ? new TransportFailure('timeout', true, target, `deadline exceeded: ${error.details}`, { cause: error })
      : new TransportFailure(
          'connect',
          false,
          target,
          `no connection established before the deadline: ${error.details}`,
          { cause: error },
        );
  }
  if (error.code === grpc.status.UNAVAILABLE && !onConnection) {
    return new TransportFailure('connect', false, target, error.details, { cause: error });
  }
  return new GrpcStatusError(error.code, grpcCodeName(error.code), error.details, target);
}
