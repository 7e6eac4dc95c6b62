// Command-line flags, each with its QUILT_* environment variable (DESIGN.md section 2).
// A flag wins over its variable; the variable wins over the default.

export interface FlagSpec {
  name: string;
  type: 'string' | 'number' | 'boolean';
  default?: string | number | boolean;
  description: string;
}

export const FLAGS: FlagSpec[] = [
  { name: 'schemas', type: 'string', default: 'schemas', description: 'folder of schema files (*.graphql)' },
  { name: 'port', type: 'number', default: 4000, description: 'port to listen on' },
  { name: 'host', type: 'string', default: '0.0.0.0', description: 'address to listen on' },
  { name: 'log-level', type: 'string', default: 'info', description: 'fatal, error, warn, info, debug or trace' },
  { name: 'graphiql', type: 'boolean', default: true, description: 'serve GraphiQL on GET /graphql (--no-graphiql to turn off)' },
  { name: 'watch', type: 'boolean', default: true, description: 'reload when the schemas folder changes (--no-watch to turn off)' },
];

/** `quilt import proto`'s own flags: no environment variables, not accepted by serve or check. */
export const IMPORT_FLAGS: FlagSpec[] = [
  { name: 'service', type: 'string', description: 'the service to import (needed when the file has several)' },
  { name: 'out', type: 'string', description: 'write the schema file here (default: stdout)' },
  { name: 'upstream-name', type: 'string', description: '@upstream(name:) (default: the service name in kebab-case)' },
  { name: 'replicas', type: 'string', description: 'comma-separated host:port replicas (default 127.0.0.1:50051)' },
];

export function envName(flag: string): string {
  return `QUILT_${flag.replace(/-/g, '_').toUpperCase()}`;
}

export type Options = Record<string, string | number | boolean | undefined>;

export class UsageError extends Error {}

/** Parses `--name value`, `--name=value`, `--flag` and `--no-flag`; positionals are returned apart. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, flags: FlagSpec[] = FLAGS): { options: Options; positionals: string[] } {
  const options: Options = {};
  for (const f of flags) {
    const fromEnv = env[envName(f.name)];
    options[f.name] = fromEnv !== undefined ? coerce(f, fromEnv, envName(f.name)) : f.default;
  }
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const [rawName, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const negated = rawName.startsWith('no-') && flags.some((f) => f.name === rawName.slice(3) && f.type === 'boolean');
    const name = negated ? rawName.slice(3) : rawName;
    const spec = flags.find((f) => f.name === name);
    if (!spec) throw new UsageError(`unknown flag --${rawName} (see --help)`);
    if (spec.type === 'boolean') {
      options[name] = negated ? false : inline === undefined ? true : coerce(spec, inline, `--${name}`);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    options[name] = coerce(spec, value, `--${name}`);
  }
  return { options, positionals };
}

function coerce(spec: FlagSpec, value: string, where: string): string | number | boolean {
  if (spec.type === 'number') {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${where}: expected a whole number, received "${value}"`);
    return n;
  }
  if (spec.type === 'boolean') {
    if (['1', 'true', 'yes'].includes(value)) return true;
    if (['0', 'false', 'no'].includes(value)) return false;
    throw new UsageError(`${where}: expected true or false, received "${value}"`);
  }
  return value;
}

export function helpText(): string {
  const rows = FLAGS.map((f) => `  --${f.name.padEnd(12)} ${envName(f.name).padEnd(18)} ${f.description}${f.default !== undefined ? ` (default ${f.default})` : ''}`);
  return [
    'Usage:',
    '  quilt serve [--schemas DIR] [--port N] [...]   serve the gateway over a schemas folder',
    '  quilt check [DIR]                              load and compose DIR as serve would; print the SDL or every problem',
    '  quilt import proto FILE.proto [--service NAME] [--out FILE] [--upstream-name NAME] [--replicas host:port,...]',
    '                                                 write a schema file serving a gRPC service',
    '',
    'Flags (each also read from its environment variable):',
    ...rows,
    '',
    'quilt import proto flags:',
    ...IMPORT_FLAGS.map((f) => `  --${f.name.padEnd(31)} ${f.description}`),
  ].join('\n');
}
