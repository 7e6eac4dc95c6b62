// The replica urls of @upstream(replicas:), checked where they are written: a url that cannot
// work for its protocol is a `quilt check` problem at its line, never a runtime
// UPSTREAM_UNAVAILABLE. An HTTP url may carry a base path (it prefixes every @http path); a
// GRAPHQL url with a path is the endpoint itself; a GRPC replica is host:port.
import { type DirectiveNode, Kind, type ValueNode } from 'graphql';
import type { Protocol, ReplicaSpec } from '../upstream/types.js';
import type { ProblemList } from './problems.js';

interface RawReplica {
  url: string;
  weight: number;
}

const GRPC_REPLICA = /^(grpcs?:\/\/)?(\[[0-9A-Fa-f:.]+\]|[^/:\s[\]]+):\d{1,5}\/?$/;

/** Why `url` cannot be a replica of `protocol`, or undefined when it can. */
export function replicaUrlProblem(url: string, protocol: Protocol): string | undefined {
  if (protocol === 'GRPC') {
    return GRPC_REPLICA.test(url) ? undefined : 'host:port, grpc://host:port or grpcs://host:port';
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'an absolute http:// or https:// url';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'an http:// or https:// url';
  if (parsed.search || url.includes('?'))
    return 'a url without a query string (put query parameters in the @http template)';
  if (parsed.hash) return 'a url without a #fragment';
  if (parsed.username || parsed.password) return 'a url without credentials (send them with @upstream(headers:))';
  return undefined;
}

/**
 * The replicas, one per url (an {env.X} value holding commas gives one per item), each
 * checked; problems point at the url as written. Trailing slashes of a base path are dropped.
 */
export function readReplicas(
  raw: readonly RawReplica[],
  protocol: Protocol,
  node: DirectiveNode,
  file: string,
  problems: ProblemList,
): ReplicaSpec[] | undefined {
  const argument = node.arguments?.find((a) => a.name.value === 'replicas');
  const written: readonly ValueNode[] = argument?.value.kind === Kind.LIST ? argument.value.values : [];
  const replicas: ReplicaSpec[] = [];
  let ok = true;
  raw.forEach((r, i) => {
    const element = written[i];
    const urlNode =
      element?.kind === Kind.OBJECT ? element.fields.find((f) => f.name.value === 'url')?.value : undefined;
    const where = urlNode ?? element ?? argument ?? node;
    if (!(r.weight >= 1)) {
      problems.at(where, file, `@upstream(replicas[${i}].weight) expected 1 or more; received ${r.weight}`);
      ok = false;
    }
    for (const item of r.url.split(',')) {
      const url = item.trim().replace(/\/+$/, '');
      if (!url) continue;
      const expected = replicaUrlProblem(url, protocol);
      if (expected) {
        problems.at(where, file, `@upstream(replicas[${i}].url) expected ${expected}; received "${item.trim()}"`);
        ok = false;
      }
      replicas.push({ url, weight: r.weight });
    }
  });
  if (ok && replicas.length === 0) {
    problems.at(argument ?? node, file, '@upstream(replicas:) needs at least one replica url');
    ok = false;
  }
  return ok ? replicas : undefined;
}
