// Who a request is for the limits: the JWT subject when a verified token names one, else
// the client's address. Cost budgets and @rateLimit windows are keyed by this.
import type { QuiltContext } from '../request-context/context.js';

export function clientIdOf(ctx: Pick<QuiltContext, 'jwt' | 'clientIp'>): string {
  const sub = ctx.jwt?.sub;
  if (typeof sub === 'string' && sub !== '') return `sub:${sub}`;
  return `ip:${ctx.clientIp ?? 'unknown'}`;
}
