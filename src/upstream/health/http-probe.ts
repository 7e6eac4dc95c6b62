// HTTP health probe: GET `${replica}${path}`, any 2xx = up. Probes use
// their own undici Agent (one kept-alive connection per replica) rather than the gateway's
// traffic pools: a probe must not queue behind traffic on a saturated pool, nor take one of
// its connections, and a replica that is down for traffic should still be probed.
// Probes of an upstream with `tls:` connect with its CA and client certificate, as calls do.
// The helpers here are shared with the GraphQL probe.
import { Agent, type Dispatcher, request } from 'undici';
import { undiciConnectOptions } from '../transport/tls.js';
import type { HealthProbe, UpstreamTls } from '../types.js';

export interface ClosableProbe {
  probe: HealthProbe;
  /** Closes the probe's connections; probes still running fail. */
  close(): Promise<void>;
}

export function createProbeAgent(tls?: UpstreamTls): Agent {
  return new Agent({
    connections: 1,
    pipelining: 1,
    // Kept between probes (the replica's keep-alive hint may cut it shorter).
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 60_000,
    ...(tls && { connect: undiciConnectOptions(tls) }),
  });
}

/** `${replicaUrl}${path}` without a doubled "/". */
export function probeUrl(replicaUrl: string, path: string): string {
  return replicaUrl.endsWith('/') && path.startsWith('/') ? replicaUrl + path.slice(1) : replicaUrl + path;
}

/** One request bounded by timeoutMs from connect to the last body byte. */
export async function probeRequest(
  agent: Agent,
  url: string,
  timeoutMs: number,
  options: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
): Promise<Dispatcher.ResponseData> {
  try {
    return await request(url, {
      ...options,
      dispatcher: agent,
      headers: { 'user-agent': 'quilt-health-check', ...options.headers },
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  } catch (error) {
    throw probeError(error, timeoutMs);
  }
}

/** A failed probe's reason: names the timeout, or the error code (ECONNREFUSED, UND_ERR_...). */
export function probeError(error: unknown, timeoutMs: number): Error {
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string } } | undefined;
  if (e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') {
    return new Error(`health check timed out after ${timeoutMs} ms`, { cause: error });
  }
  const code = e?.code ?? e?.cause?.code;
  const message = e?.message || 'request failed';
  return new Error(code && !message.includes(code) ? `${code}: ${message}` : message, { cause: error });
}

/** Reads the body within the probe's deadline, turning failures into a probe reason. */
export async function readBody<T>(read: () => Promise<T>, timeoutMs: number): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw probeError(error, timeoutMs);
  }
}

export function createHttpProbe(path: string, tls?: UpstreamTls): ClosableProbe {
  const agent = createProbeAgent(tls);
  return {
    probe: async function httpHealthProbe(replicaUrl, timeoutMs) {
      const res = await probeRequest(agent, probeUrl(replicaUrl, path), timeoutMs, { method: 'GET' });
      // Drain the body so the connection is reused by the next probe.
      await readBody(() => res.body.dump(), timeoutMs);
      if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`HTTP ${res.statusCode} from ${path}`);
    },
    // destroy, not close: shutting down must not wait for a probe of a hung replica.
    close: () => agent.destroy(),
  };
}
