// The balancer of an upstream's `balance.algorithm` (one strategy class per file beside this
// one), and the key a call gives HASH and STICKY: the cluster builds one balancer per
// upstream from its settings and derives each call's key here; only HASH and STICKY look at
// the call at all.
import type { BalanceSettings, CallRouting, LoadBalancer } from '../types.js';
import { ConsistentHashBalancer } from './consistent-hash.js';
import { LeastConnectionsBalancer } from './least-connections.js';
import { LeastResponseTimeBalancer } from './least-response-time.js';
import { RandomBalancer } from './random.js';
import { RoundRobinBalancer } from './round-robin.js';
import { StickyBalancer } from './sticky.js';
import { SmoothWeightedBalancer } from './weighted-round-robin.js';

/** `random` is injectable so tests get fixed sequences from the randomized algorithms. */
export function createBalancer(settings: BalanceSettings, random: () => number = Math.random): LoadBalancer {
  switch (settings.algorithm) {
    case 'ROUND_ROBIN':
      return new RoundRobinBalancer();
    case 'WEIGHTED_ROUND_ROBIN':
      return new SmoothWeightedBalancer();
    case 'STICKY':
      return new StickyBalancer(settings, random);
    case 'HASH':
      return new ConsistentHashBalancer(random);
    case 'LEAST_CONNECTIONS':
      return new LeastConnectionsBalancer(random);
    case 'LEAST_RESPONSE_TIME':
      return new LeastResponseTimeBalancer(random);
    case 'RANDOM':
      return new RandomBalancer(random);
    default: {
      const unknown: never = settings.algorithm;
      throw new Error(`unknown balance algorithm ${String(unknown)}`);
    }
  }
}

/**
 * The PickContext key of a call: the hashed value for HASH, the client identity for
 * STICKY, undefined for the other algorithms (they ignore it, so no work is done) and when
 * the call lacks the value (HASH then spreads it at random, STICKY by least connections).
 */
export function callKey(settings: BalanceSettings, routing: CallRouting | undefined): string | undefined {
  if (!routing) return undefined;
  if (settings.algorithm === 'HASH') return hashKey(settings.hashOn, routing);
  if (settings.algorithm === 'STICKY') return stickyKey(settings.stickyOn, routing);
  return undefined;
}

function hashKey(hashOn: string | undefined, routing: CallRouting): string | undefined {
  if (hashOn === 'ip') return routing.clientIp;
  if (hashOn === 'url') return routing.path;
  if (hashOn?.startsWith('header:')) return routing.header(hashOn.slice(7).toLowerCase());
  if (hashOn?.startsWith('claim:')) return claimText(routing.claim(hashOn.slice(6)));
  return undefined;
}

/** Prefixed by source, so a subject never shares a key with a header value or an IP. */
function stickyKey(stickyOn: string | undefined, routing: CallRouting): string | undefined {
  const sub = claimText(routing.claim('sub'));
  if (sub !== undefined && sub !== '') return `sub:${sub}`;
  let named: string | undefined;
  if (stickyOn?.startsWith('header:')) named = routing.header(stickyOn.slice(7).toLowerCase());
  else if (stickyOn?.startsWith('cookie:')) named = routing.cookie(stickyOn.slice(7));
  if (named !== undefined && named !== '') return `h:${named}`;
  return routing.clientIp !== undefined && routing.clientIp !== '' ? `ip:${routing.clientIp}` : undefined;
}

/** A claim as text; objects and arrays as JSON, so distinct values do not all read "[object Object]". */
function claimText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
