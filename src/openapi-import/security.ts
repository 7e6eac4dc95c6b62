// The security schemes the imported operations need, as what every call sends: an apiKey in
// a header or a cookie is a static upstream header, one in the query a parameter of the
// operations that need it, HTTP bearer and basic an Authorization header, each value read
// from an environment variable (`{env.PETSTORE_API_KEY}`: credentials never sit in the
// schema file). OAuth2 and OpenID Connect forward the client's own Authorization header.
// None is dropped silently: what cannot be sent is reported.

import type { Schema } from './json-schema.js';
import { byCodeUnits, pointer } from './names.js';
import type { Operation } from './operations.js';
import type { Reporter } from './type-defs.js';

export interface UpstreamSecurity {
  /** Static headers of the @upstream, rendered. */
  headers: { name: string; value: string }[];
  forwardHeaders: string[];
  /** Query parameters (`key={env.X}`) an operation adds for its apiKey schemes. */
  queryParams(op: Operation): string[];
  env: string[];
}

export function readSecurity(
  doc: Schema,
  swagger: boolean,
  operations: Operation[],
  upstream: string,
  report: Reporter,
): UpstreamSecurity {
  const schemes: Record<string, Schema> = (swagger ? doc.securityDefinitions : doc.components?.securitySchemes) ?? {};
  const used = [...new Set(operations.flatMap((op) => op.security))].sort();
  const headers = new Map<string, string>();
  const forward = new Set<string>();
  const query = new Map<string, string>();
  const env = new Set<string>();
  const prefix = upstream.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  const variable = (scheme: string) => {
    const name = `${prefix}_${scheme
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toUpperCase()
      .replace(/[^A-Z0-9]+/g, '_')}`.replace(/^([0-9])/, '_$1');
    env.add(name);
    return `{env.${name}}`;
  };
  const header = (name: string, value: string, where: string) => {
    const key = name.toLowerCase();
    if (headers.has(key) || (key === 'authorization' && forward.has(key)))
      report(where, `the ${name} header is already sent for another scheme`, true);
    else headers.set(key, value);
  };
  for (const name of used) {
    const s = schemes[name];
    const where = pointer(
      swagger ? 'securityDefinitions' : 'components',
      ...(swagger ? [name] : ['securitySchemes', name]),
    );
    if (!s) {
      report(where, 'an operation names this security scheme, which the document does not define', true);
      continue;
    }
    const type = String(s.type);
    if (type === 'apiKey' && s.in === 'header') header(s.name, variable(name), where);
    else if (type === 'apiKey' && s.in === 'query') query.set(name, `${s.name}=${variable(name)}`);
    else if (type === 'apiKey' && s.in === 'cookie') header('cookie', `${s.name}=${variable(name)}`, where);
    else if ((type === 'http' && String(s.scheme).toLowerCase() === 'bearer') || type === 'bearer')
      header('authorization', `Bearer ${variable(name)}`, where);
    else if ((type === 'http' && String(s.scheme).toLowerCase() === 'basic') || type === 'basic')
      header('authorization', `Basic ${variable(name)}`, where);
    else if (type === 'oauth2' || type === 'openIdConnect') {
      // The client's token goes on; a scheme that already sends Authorization keeps it.
      if (headers.has('authorization'))
        report(where, 'the Authorization header is already sent for another scheme', true);
      else forward.add('authorization');
    } else report(where, `a ${type}${s.scheme ? ` (${s.scheme})` : ''} security scheme cannot be sent`, true);
  }
  return {
    headers: [...headers].sort(([a], [b]) => byCodeUnits(a, b)).map(([name, value]) => ({ name, value })),
    forwardHeaders: [...forward].sort(),
    queryParams: (op) => op.security.filter((s) => query.has(s)).map((s) => query.get(s)!),
    env: [...env].sort(),
  };
}
