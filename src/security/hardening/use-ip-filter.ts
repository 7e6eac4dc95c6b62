// IP allow and deny lists, checked in onRequest: a refused client costs no body read, no
// parse and no upstream call. The address is the TCP peer, never a header such as
// X-Forwarded-For, which any client can write; behind a proxy, list the proxy. The
// operational endpoints that answer before the security plugins (/healthz, /metrics,
// /upstreams, /status) are not covered.
import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { addressForbidden, refusalResponse } from '../../errors.js';
import type { RejectionCounter } from '../security-metrics.js';
import type { IpFilter } from './ip-filter.js';

export function useIpFilter(filter: IpFilter, count: RejectionCounter): Plugin {
  return {
    onRequest({ request, serverContext, endResponse, fetchAPI }) {
      const peer = (serverContext as { req?: IncomingMessage }).req?.socket?.remoteAddress;
      if (filter.allows(peer)) return;
      count('ip');
      endResponse(refusalResponse(fetchAPI, request, addressForbidden()));
    },
  };
}
