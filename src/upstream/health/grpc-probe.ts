// gRPC health probe: grpc.health.v1.Health/Check, SERVING = up. grpc-js has no health-check
// client, so this calls Check with the method definition that the grpc-health-check package
// loads from its own proto (once, when imported). One channel per replica, separate from the
// traffic transport's, with the same short reconnect backoff (the probe must notice a replica
// that came back within a few seconds, not grpc-js's 120 s) and the same TLS credentials.
// NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN, any error status (NOT_FOUND for a service the
// replica does not know, UNAVAILABLE, DEADLINE_EXCEEDED, ...) = down.
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { grpcChannelArgs, grpcCodeName } from '../transport/grpc.js';
import type { UpstreamTls } from '../types.js';
import type { ClosableProbe } from './http-probe.js';

/** A channel no probe used for this long belongs to a removed replica: closed on the next probe. */
const IDLE_CHANNEL_MS = 10 * 60_000;

const check = healthService.Check as unknown as {
  path: string;
  requestSerialize: (request: { service: string }) => Buffer;
  responseDeserialize: (bytes: Buffer) => { status?: string };
};

interface Channel {
  client: grpc.Client;
  lastUsed: number;
}

export function createGrpcProbe(service: string, tls?: UpstreamTls): ClosableProbe {
  const channels = new Map<string, Channel>();
  let closed = false;

  function channel(replicaUrl: string, now: number): grpc.Client {
    for (const [url, idle] of channels) {
      if (now - idle.lastUsed <= IDLE_CHANNEL_MS) continue;
      idle.client.close();
      channels.delete(url);
    }
    let entry = channels.get(replicaUrl);
    if (!entry) {
      const { address, credentials, options } = grpcChannelArgs(replicaUrl, tls);
      entry = { client: new grpc.Client(address, credentials, options), lastUsed: now };
      channels.set(replicaUrl, entry);
    }
    entry.lastUsed = now;
    return entry.client;
  }

  return {
    probe: function grpcHealthProbe(replicaUrl, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        if (closed) throw new Error('gRPC health probe closed');
        const now = Date.now();
        channel(replicaUrl, now).makeUnaryRequest(
          check.path,
          check.requestSerialize,
          check.responseDeserialize,
          { service },
          new grpc.Metadata(),
          { deadline: now + timeoutMs },
          (error, response) => {
            if (error)
              reject(
                new Error(`gRPC ${grpcCodeName(error.code)}: ${error.details || error.message}`, { cause: error }),
              );
            else if (response?.status === 'SERVING') resolve();
            else reject(new Error(`health status ${response?.status ?? 'UNKNOWN'} for service "${service}"`));
          },
        );
      });
    },
    close: async () => {
      closed = true;
      for (const { client } of channels.values()) client.close();
      channels.clear();
    },
  };
}
