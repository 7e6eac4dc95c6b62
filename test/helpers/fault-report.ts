// What the fault tests report and assert on, shared by the REST and gRPC files: who answered
// each query (client side), the gateway's own view of its pools, and a one-line summary.
import type { Harness } from './gateway-harness.js';
import { describeLoad, type GraphQLBody, type LoadResult } from './load.js';
import type { CallsReport } from './replica-process.js';

/** Counts the replica name `answeredBy` finds in each response. */
export function tally(answeredBy: (data: Record<string, any> | null | undefined) => unknown): {
  counts: Record<string, number>;
  inspect: (r: { body: GraphQLBody | undefined }) => void;
} {
  const counts: Record<string, number> = {};
  return {
    counts,
    inspect: ({ body }) => {
      const replica = answeredBy(body?.data);
      if (typeof replica === 'string') counts[replica] = (counts[replica] ?? 0) + 1;
    },
  };
}

/** The gateway's own view of its pools, for assertion messages. */
export async function poolState(h: Harness): Promise<string> {
  try {
    const res = await fetch(`${h.gateway.url}/upstreams`);
    const body = (await res.json()) as {
      upstreams: {
        name: string;
        panic: boolean;
        retries: number;
        replicas: {
          url: string;
          health: string;
          calls: number;
          failures: number;
          ejections: number;
          lastFailure: string | null;
        }[];
      }[];
    };
    return JSON.stringify(
      body.upstreams.map((u) => ({
        name: u.name,
        panic: u.panic,
        retries: u.retries,
        replicas: u.replicas.map((r) => ({
          url: r.url,
          health: r.health,
          calls: r.calls,
          failures: r.failures,
          ejections: r.ejections,
          lastFailure: r.lastFailure,
        })),
      })),
    );
  } catch (error) {
    return `(no /upstreams: ${String(error)})`;
  }
}

export function summary(
  load: LoadResult,
  reports: Record<string, Partial<CallsReport> | number>,
  who?: Record<string, number>,
): string {
  const seen = Object.fromEntries(
    Object.entries(reports).map(([name, r]) => [
      name,
      typeof r === 'number'
        ? { received: r }
        : { calls: r.calls, byStatus: r.byStatus, health: r.health, healthByStatus: r.healthByStatus },
    ]),
  );
  return `${describeLoad(load)}\nreplicas: ${JSON.stringify(seen)}${who ? `\nanswered by (client side): ${JSON.stringify(who)}` : ''}`;
}
