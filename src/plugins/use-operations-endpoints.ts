// The operational endpoints of DESIGN.md section 7: GET /healthz (the process is alive),
// GET /readyz (a schema is being served and every one of its upstreams has a healthy
// replica), GET /upstreams (every pool as JSON) and GET /status (the same as a live page).
// An upstream in panic mode still answers some calls, but readiness says no: a load
// balancer in front should prefer an instance whose upstreams are reachable.
import type { Plugin } from 'graphql-yoga';
import type { SchemaManager } from '../server/schema-manager.js';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from '../server/status-page.js';

export function useOperationsEndpoints(manager: SchemaManager): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      // A fresh headers object each time: the fetch ponyfill writes content-length into it.
      const json = (body: unknown, status = 200) => endResponse(new fetchAPI.Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }));
      switch (url.pathname) {
        case '/healthz':
          return json({ status: 'ok' });
        case '/readyz':
          return readiness(manager, json);
        case '/upstreams':
          return json({ upstreams: manager.current ? manager.registry.snapshot() : [] });
        case '/status':
          return endResponse(
            new fetchAPI.Response(STATUS_PAGE_HTML, { headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': STATUS_PAGE_CSP, 'cache-control': 'no-store' } }),
          );
      }
    },
  };
}

function readiness(manager: SchemaManager, json: (body: unknown, status?: number) => void): void {
  const current = manager.current;
  if (!current) {
    return json({ status: 'not ready', reasons: manager.lastProblems.length ? manager.lastProblems : ['no schema loaded yet'], unhealthyUpstreams: [] }, 503);
  }
  const unhealthy = manager.registry.snapshot().filter((u) => u.healthyReplicas === 0);
  if (unhealthy.length) {
    return json(
      {
        status: 'not ready',
        reasons: unhealthy.map((u) => `upstream "${u.name}" has no healthy replica (0 of ${u.replicas.length})`),
        unhealthyUpstreams: unhealthy.map((u) => u.name),
        schemaVersion: manager.version,
      },
      503,
    );
  }
  json({ status: 'ready', schemaVersion: manager.version, upstreams: current.sources.map((s) => s.upstream.name), problems: manager.lastProblems });
}
