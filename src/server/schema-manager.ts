// Holds the schema being served and replaces it on reload. A failed reload is logged with
// every problem's file:line and the last good schema keeps serving; requests already
// executing keep the schema object they started with. The folder is watched so that a
// dropped, edited or deleted file is live within the debounce delay; the files a load read
// besides the schema files (tls: certificates, often in a sub-folder or a mounted Secret) are
// polled, so that a renewed certificate is loaded too.
import { type FSWatcher, watch } from 'node:fs';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { BatchObserver } from '../compose/compile-calls.js';
import { type CompiledSchema, compileSchema } from '../compose/compile-schema.js';
import { loadSchemaFolder } from '../config/load-folder.js';
import { ConfigError, type ConfigProblem, formatProblem } from '../errors.js';
import type { ServingState } from '../observability/use-operations-endpoints.js';
import { type RegistryOptions, UpstreamRegistry } from '../upstream/registry.js';
import type { ClusterObserver, UpstreamSnapshot } from '../upstream/types.js';
import { FilePoller } from './file-poller.js';

export interface SchemaManagerOptions {
  /** Told of every upstream attempt, retry, ejection and health change (metrics). */
  observer?: ClusterObserver;
  /** Told the size of every batched upstream call (metrics). */
  batches?: BatchObserver;
  /** Applied to each compiled schema before it is served (the security layer's @rateLimit). */
  schemaTransforms?: readonly ((schema: GraphQLSchema) => void)[];
  /** Declare @defer and @stream in every compiled schema. */
  deferStream?: boolean;
  /** The store and counters of upstreams with httpCache (src/caching/create-caches.ts). */
  httpCache?: RegistryOptions['httpCache'];
}

export type ReloadResult = { ok: true; version: number } | { ok: false; problems: ConfigProblem[] };

const WATCH_DEBOUNCE_MS = 150;

export class SchemaManager implements ServingState {
  readonly registry: UpstreamRegistry;
  #current?: CompiledSchema;
  #version = 0;
  #lastProblems: ConfigProblem[] = [];
  #watcher?: FSWatcher;
  /** The files the last load read besides the schema files, polled while watching. */
  #files: ReadonlyMap<string, string> = new Map();
  readonly #poller = new FilePoller(() => this.#reloadSoon());
  #timer?: NodeJS.Timeout;
  #running?: Promise<ReloadResult>;
  #again = false;
  readonly #schemaTransforms: readonly ((schema: GraphQLSchema) => void)[];
  readonly #batches?: BatchObserver;
  readonly #deferStream: boolean;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
    private readonly env: NodeJS.ProcessEnv = process.env,
    options: SchemaManagerOptions = {},
  ) {
    this.registry = new UpstreamRegistry({ observer: options.observer, log, httpCache: options.httpCache });
    this.#schemaTransforms = options.schemaTransforms ?? [];
    this.#batches = options.batches;
    this.#deferStream = options.deferStream ?? false;
  }

  get current(): CompiledSchema | undefined {
    return this.#current;
  }

  get version(): number {
    return this.#version;
  }

  get lastProblems(): readonly ConfigProblem[] {
    return this.#lastProblems;
  }

  get servedUpstreams(): readonly string[] | undefined {
    return this.#current?.sources.map((s) => s.upstream.name);
  }

  /** The pools of the schema being served. */
  snapshot(): UpstreamSnapshot[] {
    return this.registry.snapshot();
  }

  /** Loads the folder; concurrent calls are folded into one follow-up load. */
  reload(): Promise<ReloadResult> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#load().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        void this.reload();
      }
    });
    return this.#running;
  }

  async #load(): Promise<ReloadResult> {
    const started = performance.now();
    try {
      const loaded = await loadSchemaFolder(this.dir, this.env);
      this.#follow(loaded.files);
      // Risky settings that load anyway (tls.insecureSkipVerify) are told at every load.
      for (const w of loaded.warnings)
        this.log.warn({ file: w.file, line: w.line, column: w.column }, `schema warning: ${formatProblem(w)}`);
      const compiled = await compileSchema(loaded, this.registry, {
        batches: this.#batches,
        deferStream: this.#deferStream,
      });
      try {
        for (const transform of this.#schemaTransforms) transform(compiled.schema);
      } catch (e) {
        this.registry.discard();
        throw e;
      }
      this.registry.commit(compiled.clusters);
      this.#current = compiled;
      this.#lastProblems = [];
      this.#version++;
      this.log.info(
        {
          version: this.#version,
          sources: compiled.sources.map((s) => s.upstream.name),
          ms: Math.round(performance.now() - started),
        },
        'schema loaded',
      );
      return { ok: true, version: this.#version };
    } catch (thrown) {
      // Whatever went wrong, the last good schema keeps serving and the process lives on.
      const e =
        thrown instanceof ConfigError
          ? thrown
          : new ConfigError([
              {
                file: this.dir,
                line: 1,
                column: 1,
                message: `schema load failed: ${(thrown as Error)?.message ?? thrown}`,
              },
            ]);
      if (!(thrown instanceof ConfigError)) this.log.error({ err: thrown }, 'unexpected error while loading schemas');
      this.#lastProblems = e.problems;
      for (const p of e.problems)
        this.log.error({ file: p.file, line: p.line, column: p.column }, `schema problem: ${formatProblem(p)}`);
      if (this.#current)
        this.log.warn({ version: this.#version }, 'schema reload failed; still serving the last good schema');
      return { ok: false, problems: e.problems };
    }
  }

  watch(): void {
    this.#watcher = watch(this.dir, () => this.#reloadSoon());
    this.#follow(this.#files);
  }

  #reloadSoon(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload(), WATCH_DEBOUNCE_MS);
  }

  /** Polls `files` while the folder is watched. */
  #follow(files: ReadonlyMap<string, string>): void {
    this.#files = files;
    if (this.#watcher) this.#poller.follow(files);
  }

  async close(): Promise<void> {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#poller.close();
    clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
    await this.registry.close();
  }
}
