// `npm run token -- [--sub alice] [--scope "orders:write users:email"] [--ttl 3600]`: prints a
// token the demo gateway accepts (HS256 with the demo secret, issuer quilt-demo), for
// GraphiQL's Headers tab: { "Authorization": "Bearer <token>" }.
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { DEMO_JWT } from '../demo/backends/topology.js';

const { values } = parseArgs({
  options: {
    sub: { type: 'string', default: 'demo-user' },
    scope: { type: 'string', default: 'orders:write users:email' },
    ttl: { type: 'string', default: '3600' },
  },
});
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0)
  throw new Error(`--ttl expected a whole number of seconds; received "${values.ttl}"`);
const token = await new SignJWT({ scope: values.scope })
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject(values.sub!)
  .setIssuer(DEMO_JWT.issuer)
  .setIssuedAt()
  .setExpirationTime(`${ttl}s`)
  .sign(new TextEncoder().encode(DEMO_JWT.secret));
console.log(token);
