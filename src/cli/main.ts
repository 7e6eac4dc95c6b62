// `quilt serve`, `quilt check` and `quilt import proto|openapi` (import-proto.ts, import-openapi.ts).
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import pino from 'pino';
import { compileSchema } from '../compose/compile-schema.js';
import { loadSchemaFolder } from '../config/load-folder.js';
import { ConfigError, formatProblem } from '../errors.js';
import { JwtConfigError } from '../security/jwt/index.js';
import { startGateway } from '../server/gateway.js';
import { readTlsPair, type TlsFiles, TlsFilesError } from '../server/tls-files.js';
import { instanceMetrics, isWorkerProcess, runPrimary, shareMetricsWithPrimary } from '../server/worker-pool.js';
import { UpstreamRegistry } from '../upstream/registry.js';
import { helpText, type OptionSources, type Options, parseOptions, UsageError } from './options.js';
import { securityOptionsFrom } from './security-options.js';
import { tracingOptionsFrom } from './tracing-options.js';

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help' || rest.includes('--help')) {
    console.log(helpText());
    return command ? 0 : 1;
  }
  try {
    if (command === 'import') {
      const [kind, ...args] = rest;
      // Loaded on demand: `serve` never holds the OpenAPI parser and its dependencies in memory.
      if (kind === 'proto') return await (await import('./import-proto.js')).importProto(args);
      if (kind === 'openapi') return await (await import('./import-openapi.js')).importOpenApi(args);
      throw new UsageError(
        `import: unknown source kind "${kind ?? ''}"; usage: quilt import proto FILE.proto ... or quilt import openapi SPEC ...`,
      );
    }
    const { options, positionals, sources } = parseOptions(rest, env);
    if (command === 'check') return await check(String(positionals[0] ?? options.schemas));
    if (command === 'serve') return await serve(options, sources, env);
    throw new UsageError(`unknown command "${command}" (see --help)`);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`quilt: ${e.message}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      for (const p of e.problems) console.error(formatProblem(p));
      return 1;
    }
    // A key file that cannot be read, a JWKS URL that is not http(s), a TLS certificate that
    // cannot be served: found at start-up.
    if (e instanceof JwtConfigError || e instanceof TlsFilesError) {
      console.error(`quilt: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

async function check(dir: string): Promise<number> {
  const registry = new UpstreamRegistry();
  try {
    const loaded = await loadSchemaFolder(resolve(dir));
    for (const w of loaded.warnings) console.error(`warning: ${formatProblem(w)}`);
    const compiled = await compileSchema(loaded, registry);
    console.log(compiled.sdl);
    console.error(`quilt check: ${compiled.sources.length} source(s) compose without problems`);
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) console.error(formatProblem(p));
    console.error(`quilt check: ${e.problems.length} problem(s)`);
    return 1;
  } finally {
    await registry.close();
  }
}

async function serve(options: Options, sources: OptionSources, env: NodeJS.ProcessEnv): Promise<number> {
  // Checked before anything starts: a bad security setting is a usage error (exit 2).
  const security = securityOptionsFrom(options, sources);
  const tracing = tracingOptionsFrom(options, sources);
  const workers = workerCount(options.workers);
  const tls = tlsFilesFrom(options, sources);
  // Checked here too, so that a bad pair stops the instance once, before any worker starts.
  if (tls) readTlsPair(tls);
  const logLevel = String(options['log-level']);
  if (workers > 1 && !isWorkerProcess())
    return runPrimary(
      workers,
      pino({ level: logLevel, base: { service: 'quilt', role: 'primary', pid: process.pid } }),
    );
  const worker = isWorkerProcess();
  const gateway = await startGateway({
    schemasDir: resolve(String(options.schemas)),
    port: Number(options.port),
    host: String(options.host),
    logLevel,
    // A worker's lines name it: the processes of one instance share stdout.
    logger: worker ? pino({ level: logLevel, base: { service: 'quilt', pid: process.pid } }) : undefined,
    instanceScrape: worker ? instanceMetrics() : undefined,
    workers,
    graphiql: Boolean(options.graphiql),
    watch: Boolean(options.watch),
    compiledExecution: Boolean(options['compiled-execution']),
    websocket: Boolean(options.websocket),
    deferStream: Boolean(options['defer-stream']),
    env,
    security,
    tls,
    caching: {
      memory: { maxEntries: Number(options['cache-max-entries']), maxBytes: Number(options['cache-max-bytes']) },
    },
    protections: {
      requestTimeoutMs: Number(options['request-timeout-ms']) || undefined,
      maxInFlight: Number(options['max-in-flight']) || undefined,
    },
    tracing,
  });
  if (worker) shareMetricsWithPrimary(gateway.metrics.registry);
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      gateway.log.info({ signal }, 'signal received');
      void gateway.close().then(done);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

/** --tls-cert and --tls-key: both or neither (an empty variable counts as not set). */
function tlsFilesFrom(options: Options, sources: OptionSources): TlsFiles | undefined {
  const cert = String(options['tls-cert'] ?? '');
  const key = String(options['tls-key'] ?? '');
  if (!cert && !key) return undefined;
  if (!cert || !key) {
    const given = cert ? (sources['tls-cert'] ?? '--tls-cert') : (sources['tls-key'] ?? '--tls-key');
    throw new UsageError(
      `${given} needs ${cert ? '--tls-key (QUILT_TLS_KEY)' : '--tls-cert (QUILT_TLS_CERT)'}: HTTPS takes a certificate and its key`,
    );
  }
  return { certFile: resolve(cert), keyFile: resolve(key) };
}

/** --workers: a whole number of 1 or more, or auto (the cores this process may use). */
function workerCount(value: unknown): number {
  const text = String(value ?? '1');
  if (text === 'auto') return availableParallelism();
  if (!/^[1-9]\d*$/.test(text))
    throw new UsageError(`--workers: expected a whole number of 1 or more, or auto; received "${text}"`);
  return Number(text);
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${resolve(process.argv[1])}`).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
