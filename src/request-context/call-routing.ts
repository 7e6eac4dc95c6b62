// What the HASH and STICKY balancers may key on, read from the request being served. The
// cluster asks for a key only when its algorithm uses one, so for the other algorithms
// nothing here runs beyond building this small object.
import type { CallRouting } from '../upstream/types.js';
import { perRequest, type QuiltContext } from './context.js';

export function callRouting(ctx: QuiltContext | undefined, path: string): CallRouting {
  return {
    clientIp: ctx?.clientIp,
    path,
    header: (name) => ctx?.headers[name],
    cookie: (name) => (ctx ? cookiesOf(ctx).get(name) : undefined),
    claim: (name) => ctx?.jwt?.[name],
  };
}

function cookiesOf(ctx: QuiltContext): Map<string, string> {
  return perRequest(ctx, 'cookies', () => {
    const cookies = new Map<string, string>();
    for (const part of (ctx.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) cookies.set(part.slice(0, eq).trim(), safeDecode(part.slice(eq + 1).trim()));
    }
    return cookies;
  });
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
