// Command-line flags, each with its QUILT_* environment variable.
// A flag wins over its variable; the variable wins over the default. A boolean flag that is
// on by default is turned off by --no-X, QUILT_X=false or QUILT_NO_X=true. A list flag takes
// comma-separated values and may be repeated; its flags replace its variable's list.
import { DEFAULT_MEMORY_LIMITS } from '../caching/response-store.js';
import type { FlagSpec } from './flag-spec.js';
import { SECURITY_FLAGS } from './security-flags.js';
import { TRACING_FLAGS } from './tracing-flags.js';

export type { FlagSpec };

export const FLAGS: FlagSpec[] = [
  {
    name: 'schemas',
    type: 'string',
    arg: 'DIR',
    default: 'schemas',
    description: 'folder of schema files (*.graphql)',
  },
  { name: 'port', type: 'number', default: 4000, description: 'port to listen on' },
  { name: 'host', type: 'string', arg: 'ADDR', default: '0.0.0.0', description: 'address to listen on' },
  {
    name: 'log-level',
    type: 'string',
    arg: 'LEVEL',
    default: 'info',
    description: 'fatal, error, warn, info, debug or trace',
  },
  {
    name: 'graphiql',
    type: 'boolean',
    default: true,
    description: 'serve GraphiQL on GET /graphql (--no-graphiql to turn off)',
  },
  {
    name: 'watch',
    type: 'boolean',
    default: true,
    description: 'reload when the schemas folder changes (--no-watch to turn off)',
  },
  {
    name: 'compiled-execution',
    type: 'boolean',
    default: true,
    description:
      "run each operation as code compiled once per document by graphql-jit (--no-compiled-execution: graphql-js's executor)",
  },
  {
    name: 'websocket',
    type: 'boolean',
    default: true,
    description:
      'GraphQL over WebSocket (graphql-transport-ws) on the GraphQL path, beside SSE (--no-websocket to turn off)',
  },
  {
    name: 'defer-stream',
    type: 'boolean',
    default: true,
    description:
      '@defer and @stream, answered as multipart/mixed, SSE or WebSocket messages (--no-defer-stream to turn off)',
  },
  {
    name: 'workers',
    type: 'string',
    arg: 'N|auto',
    default: '1',
    description: 'processes serving the port (node:cluster); auto: one per core; a worker that dies is replaced',
  },
  {
    group: 'TLS',
    name: 'tls-cert',
    type: 'string',
    arg: 'FILE',
    description:
      'serve HTTPS with this PEM certificate (the server certificate, then its chain); needs --tls-key; a changed file is served without a restart',
  },
  {
    group: 'TLS',
    name: 'tls-key',
    type: 'string',
    arg: 'FILE',
    description: 'the PEM private key of --tls-cert (unencrypted)',
  },
  {
    group: 'Request protections',
    name: 'request-timeout-ms',
    type: 'number',
    arg: 'MS',
    default: 0,
    description:
      'deadline of each query or mutation: calls still running fail with UPSTREAM_TIMEOUT, the rest is answered (0: none)',
  },
  {
    group: 'Request protections',
    name: 'max-in-flight',
    type: 'number',
    arg: 'N',
    default: 0,
    description: 'requests served at once; one more gets 503 OVERLOADED with Retry-After (0: no limit)',
  },
  {
    group: 'Caching',
    name: 'cache-max-entries',
    type: 'number',
    arg: 'N',
    default: DEFAULT_MEMORY_LIMITS.maxEntries,
    description:
      'entries each in-memory cache keeps (responses by @cacheControl; upstream answers by httpCache); not used with --redis-url',
  },
  {
    group: 'Caching',
    name: 'cache-max-bytes',
    type: 'number',
    arg: 'BYTES',
    default: DEFAULT_MEMORY_LIMITS.maxBytes,
    description: 'bytes each in-memory cache keeps; an entry over an eighth of it is not kept, in Redis too',
  },
  ...SECURITY_FLAGS,
  ...TRACING_FLAGS,
];

/** `quilt import proto`'s own flags: no environment variables, not accepted by serve or check. */
export const IMPORT_FLAGS: FlagSpec[] = [
  { name: 'service', type: 'string', description: 'the service to import (needed when the file has several)' },
  { name: 'out', type: 'string', description: 'write the schema file here (default: stdout)' },
  { name: 'upstream-name', type: 'string', description: '@upstream(name:) (default: the service name in kebab-case)' },
  { name: 'replicas', type: 'string', description: 'comma-separated host:port replicas (default 127.0.0.1:50051)' },
];

/** `quilt import openapi`'s own flags, likewise command-line only. */
export const OPENAPI_IMPORT_FLAGS: FlagSpec[] = [
  { name: 'out', type: 'string', description: 'write the schema file here (default: stdout)' },
  {
    name: 'upstream-name',
    type: 'string',
    description: "@upstream(name:) (default: the document's title in kebab-case)",
  },
  { name: 'replicas', type: 'list', description: "comma-separated base urls (default: the document's first server)" },
  { name: 'tags', type: 'list', description: 'only the operations with one of these tags' },
];

export function envName(flag: string): string {
  return `QUILT_${flag.replace(/-/g, '_').toUpperCase()}`;
}

export type OptionValue = string | number | boolean | string[];
export type Options = Record<string, OptionValue | undefined>;
/** Where each option that is not its default came from: "--max-depth" or "QUILT_MAX_DEPTH". */
export type OptionSources = Record<string, string>;

export class UsageError extends Error {}

/** Parses `--name value`, `--name=value`, `--flag` and `--no-flag`; positionals are returned apart. */
export function parseOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
  flags: FlagSpec[] = FLAGS,
): { options: Options; positionals: string[]; sources: OptionSources } {
  const options: Options = {};
  const sources: OptionSources = {};
  for (const f of flags) {
    options[f.name] = f.default;
    const fromEnv = env[envName(f.name)];
    if (fromEnv !== undefined) {
      options[f.name] = coerce(f, fromEnv, envName(f.name));
      sources[f.name] = envName(f.name);
    }
    const negatedName = `QUILT_NO_${envName(f.name).slice('QUILT_'.length)}`;
    const negated = f.type === 'boolean' ? env[negatedName] : undefined;
    if (negated !== undefined) {
      const value = !coerce(f, negated, negatedName);
      if (fromEnv !== undefined && options[f.name] !== value)
        throw new UsageError(
          `${envName(f.name)}=${fromEnv} and ${negatedName}=${negated} contradict each other: set one of them`,
        );
      options[f.name] = value;
      sources[f.name] = negatedName;
    }
  }
  const positionals: string[] = [];
  const listsFromFlags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const [rawName, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const negated = rawName.startsWith('no-') && flags.some((f) => f.name === rawName.slice(3) && f.type === 'boolean');
    const name = negated ? rawName.slice(3) : rawName;
    const spec = flags.find((f) => f.name === name);
    if (!spec) throw new UsageError(`unknown flag --${rawName} (see --help)`);
    sources[name] = `--${name}`;
    if (spec.type === 'boolean') {
      options[name] = negated ? false : inline === undefined ? true : coerce(spec, inline, `--${name}`);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    const coerced = coerce(spec, value, `--${name}`);
    if (spec.type === 'list') {
      // The first occurrence replaces the variable's list; later ones add to it.
      const previous = listsFromFlags.has(name) ? (options[name] as string[]) : [];
      listsFromFlags.add(name);
      options[name] = [...previous, ...(coerced as string[])];
    } else {
      options[name] = coerced;
    }
  }
  return { options, positionals, sources };
}

function coerce(spec: FlagSpec, value: string, where: string): OptionValue {
  if (spec.type === 'number') {
    const n = value.trim() === '' ? NaN : Number(value);
    const valid = spec.fractional ? Number.isFinite(n) && n >= 0 : Number.isInteger(n) && n >= 0;
    if (!valid)
      throw new UsageError(
        `${where}: expected ${spec.fractional ? 'a number >= 0' : 'a whole number >= 0'}, received "${value}"`,
      );
    return n;
  }
  if (spec.type === 'boolean') {
    if (['1', 'true', 'yes'].includes(value)) return true;
    if (['0', 'false', 'no'].includes(value)) return false;
    throw new UsageError(`${where}: expected true or false, received "${value}"`);
  }
  if (spec.type === 'list') {
    return value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  }
  if (spec.choices && !spec.choices.includes(value))
    throw new UsageError(`${where}: expected ${spec.choices.join(' or ')}, received "${value}"`);
  return value;
}

function flagLabel(f: FlagSpec): string {
  if (f.type === 'boolean') return f.default === true ? `no-${f.name}` : f.name;
  return `${f.name} ${f.arg ?? (f.choices ? f.choices.join('|') : f.type === 'list' ? 'X,...' : f.type === 'number' ? 'N' : 'VALUE')}`;
}

export function helpText(): string {
  const width = Math.max(...FLAGS.map((f) => flagLabel(f).length)) + 2;
  const envWidth = Math.max(...FLAGS.map((f) => envName(f.name).length)) + 2;
  const rows: string[] = [];
  let group: string | undefined;
  for (const f of FLAGS) {
    if (f.group !== group) {
      group = f.group;
      rows.push('', `${group ?? 'server'}:`);
    }
    const fallback = f.default !== undefined && f.type !== 'boolean' ? ` (default ${f.default})` : '';
    rows.push(`  --${flagLabel(f).padEnd(width)}${envName(f.name).padEnd(envWidth)}${f.description}${fallback}`);
  }
  return [
    'Usage:',
    '  quilt serve [--schemas DIR] [--port N] [...]   serve the gateway over a schemas folder',
    '  quilt check [DIR]                              load and compose DIR as serve would; print the SDL or every problem',
    '  quilt import proto FILE.proto [--service NAME] [--out FILE] [--upstream-name NAME] [--replicas host:port,...]',
    '                                                 write a schema file serving a gRPC service',
    '  quilt import openapi SPEC [--out FILE] [--upstream-name NAME] [--replicas URL,...] [--tags T,...]',
    '                                                 write a schema file serving a REST API from its OpenAPI document',
    '',
    'Flags, each also read from its environment variable (a flag wins). --no-X is also',
    'QUILT_X=false or QUILT_NO_X=true. X,... flags take a comma-separated list and may be repeated.',
    ...rows,
    '',
    'quilt import proto flags:',
    ...IMPORT_FLAGS.map((f) => `  --${f.name.padEnd(31)} ${f.description}`),
    '',
    'quilt import openapi flags:',
    ...OPENAPI_IMPORT_FLAGS.map((f) => `  --${f.name.padEnd(31)} ${f.description}`),
  ].join('\n');
}
