// GET /status (the live page), GET /status/history (its data: the pools of /upstreams with
// five minutes of per-second series, health events and refusals; `?since=S` answers only the
// seconds after epoch second S) and GET /status/uplot.js, /status/uplot.css (the charting
// library, read from node_modules on first use and cached by browsers for a year: the page
// asks for them with uPlot's version in the query). Answered before any limit, like
// /upstreams, and for this process only (each --workers worker has its own pools and history).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Plugin } from 'graphql-yoga';
import type { StatusHistory } from './status-history.js';
import { STATUS_PAGE_CSP, statusPageHtml } from './status-page.js';
import type { ServingState } from './use-operations-endpoints.js';

export interface StatusPageOptions {
  /** Worker processes of this instance (--workers), shown on the page; default 1. */
  workers?: number;
}

const require = createRequire(import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  '/status/uplot.js': { file: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/status/uplot.css': { file: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};
const YEAR_SEC = 31_536_000;

export function useStatusPage(state: ServingState, history: StatusHistory, options: StatusPageOptions = {}): Plugin {
  const workers = options.workers ?? 1;
  let html: string | undefined;
  const assets = new Map<string, Promise<string | undefined>>();
  const asset = (path: string) => {
    let text = assets.get(path);
    if (!text) {
      text = readFile(require.resolve(ASSETS[path].file), 'utf8').catch(() => undefined);
      assets.set(path, text);
    }
    return text;
  };
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      const { pathname } = url;
      if (pathname === '/status') {
        html ??= statusPageHtml(uplotVersion());
        return endResponse(
          new fetchAPI.Response(html, {
            headers: {
              'content-type': 'text/html; charset=utf-8',
              'content-security-policy': STATUS_PAGE_CSP,
              'cache-control': 'no-store',
            },
          }),
        );
      }
      if (pathname === '/status/history') {
        const json = (body: unknown, status = 200) =>
          endResponse(
            new fetchAPI.Response(JSON.stringify(body), {
              status,
              headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
            }),
          );
        const since = url.searchParams.get('since');
        if (since !== null && !/^\d{1,12}$/.test(since))
          return json(
            { error: `since: expected an epoch second (a whole number), received "${since.slice(0, 40)}"` },
            400,
          );
        const snapshots = state.servedUpstreams ? state.snapshot() : [];
        return json({
          process: { pid: process.pid, workers },
          ...history.view(snapshots, since === null ? undefined : Number(since)),
        });
      }
      const spec = ASSETS[pathname];
      if (!spec) return;
      return asset(pathname).then((text) =>
        endResponse(
          text === undefined
            ? new fetchAPI.Response(`${spec.file} could not be read: is the uplot package installed?`, {
                status: 404,
                headers: { 'content-type': 'text/plain; charset=utf-8' },
              })
            : new fetchAPI.Response(text, {
                headers: {
                  'content-type': spec.type,
                  'cache-control': `public, max-age=${YEAR_SEC}, immutable`,
                  'x-content-type-options': 'nosniff',
                },
              }),
        ),
      );
    },
  };
}

/** uPlot's version, for the asset urls; "missing" when the package is not installed (the page then shows no charts). */
function uplotVersion(): string {
  try {
    return String((require('uplot/package.json') as { version: string }).version);
  } catch {
    return 'missing';
  }
}
