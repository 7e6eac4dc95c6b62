// GET /healthz (the process is alive) and GET /readyz (a schema is loaded and being served).
import type { Plugin } from 'graphql-yoga';
import type { SchemaManager } from '../server/schema-manager.js';

export function useOperationsEndpoints(manager: SchemaManager): Plugin {
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname === '/healthz') {
        endResponse(new fetchAPI.Response('{"status":"ok"}', { headers: { 'content-type': 'application/json' } }));
      } else if (url.pathname === '/readyz') {
        const current = manager.current;
        const body = current
          ? { status: 'ready', schemaVersion: manager.version, upstreams: current.sources.map((s) => s.upstream.name), problems: manager.lastProblems }
          : { status: 'not ready', reasons: manager.lastProblems.length ? manager.lastProblems : ['no schema loaded yet'] };
        endResponse(new fetchAPI.Response(JSON.stringify(body), { status: current ? 200 : 503, headers: { 'content-type': 'application/json' } }));
      }
    },
  };
}
