// The operational endpoints: GET /healthz (the process is alive),
// GET /readyz (a schema is being served and every one of its upstreams has a healthy
// replica) and GET /upstreams (every pool as JSON); GET /status, the live page, is
// use-status-page.ts.
// An upstream in panic mode still answers some calls, but readiness says no: a load
// balancer in front should prefer an instance whose upstreams are reachable.
import type { Plugin } from 'graphql-yoga';
import type { ConfigProblem } from '../errors.js';
import type { UpstreamSnapshot } from '../upstream/types.js';

/** What the endpoints read of the gateway: the schema being served and its pools. */
export interface ServingState {
  /** The upstream names of the schema being served; undefined until one loaded. */
  readonly servedUpstreams: readonly string[] | undefined;
  /** Counts the schemas served so far (0: none yet). */
  readonly version: number;
  /** The problems of the last failed load (empty after a good one). */
  readonly lastProblems: readonly ConfigProblem[];
  snapshot(): UpstreamSnapshot[];
}

export function useOperationsEndpoints(state: ServingState): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      // A fresh headers object each time: the fetch ponyfill writes content-length into it.
      const json = (body: unknown, status = 200) =>
        endResponse(
          new fetchAPI.Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }),
        );
      switch (url.pathname) {
        case '/healthz':
          return json({ status: 'ok' });
        case '/readyz':
          return readiness(state, json);
        case '/upstreams':
          return json({ upstreams: state.servedUpstreams ? state.snapshot() : [] });
      }
    },
  };
}

function readiness(state: ServingState, json: (body: unknown, status?: number) => void): void {
  const served = state.servedUpstreams;
  if (!served) {
    json(
      {
        status: 'not ready',
        reasons: state.lastProblems.length ? state.lastProblems : ['no schema loaded yet'],
        unhealthyUpstreams: [],
      },
      503,
    );
    return;
  }
  const unhealthy = state.snapshot().filter((u) => u.healthyReplicas === 0);
  if (unhealthy.length) {
    json(
      {
        status: 'not ready',
        reasons: unhealthy.map((u) => `upstream "${u.name}" has no healthy replica (0 of ${u.replicas.length})`),
        unhealthyUpstreams: unhealthy.map((u) => u.name),
        schemaVersion: state.version,
      },
      503,
    );
    return;
  }
  json({ status: 'ready', schemaVersion: state.version, upstreams: served, problems: state.lastProblems });
}
