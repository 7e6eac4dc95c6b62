// Prism (`@stoplight/prism-cli`, a devDependency) as a mock of a REST API an OpenAPI document
// describes: `prism mock -d` answers every operation with data generated from its response
// schema, and validates each request against the document first (a missing or malformed
// parameter or credential gets 401/422 and a `sl-violations` header). It runs as a child
// process on a free port of 127.0.0.1; its stdout log is kept, one entry per request it
// received, so a test can tell which calls reached it and what it objected to.
//
// Cleanup: call stop() in an `after` hook; as a last resort every Prism still running is
// SIGKILLed by PID when the test process exits. Nothing is ever killed by name.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { eventually } from './wait.js';

/** The `bin` of @stoplight/prism-cli's package.json. */
const PRISM_CLI = fileURLToPath(new URL('../../node_modules/@stoplight/prism-cli/dist/index.js', import.meta.url));

/** A request as Prism logged it: method and path (with the query), then every line about it. */
export interface PrismRequest {
  method: string;
  path: string;
  lines: string[];
}

export interface PrismOptions {
  /** Default: a free port. */
  port?: number;
  /** Passed as --seed: the same seed and requests give the same generated answers. */
  seed?: string;
  startTimeoutMs?: number;
}

const live = new Set<PrismMock>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const prism of live) prism.kill();
  });
}

/** A port nothing listens on right now (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// "[5:15:26 AM] › [HTTP SERVER] get /albums/abc ℹ  info      Request received"
const RECEIVED = /\[HTTP SERVER\] ([a-z]+) (\S+) .*Request received/;

export class PrismMock {
  readonly port: number;
  readonly pid: number;
  /** Requests received since start() returned (the readiness probes are not counted). */
  readonly requests: PrismRequest[] = [];
  /** Resolves when the process exits. */
  readonly exited: Promise<void>;
  #proc: ChildProcess;
  #alive = true;
  #recording = false;
  #tail: string[] = [];

  private constructor(proc: ChildProcess, port: number) {
    this.#proc = proc;
    this.pid = proc.pid!;
    this.port = port;
    this.exited = new Promise((resolve) =>
      proc.once('exit', () => {
        this.#alive = false;
        live.delete(this);
        resolve();
      }),
    );
    const onLine = (line: string) => {
      this.#tail.push(line);
      if (this.#tail.length > 40) this.#tail.shift();
      if (!this.#recording) return;
      const received = RECEIVED.exec(line);
      if (received) this.requests.push({ method: received[1]!.toUpperCase(), path: received[2]!, lines: [] });
      else this.requests.at(-1)?.lines.push(line.replace(/^\[[^\]]*\] › +/, ''));
    };
    createInterface({ input: proc.stdout!, crlfDelay: Infinity }).on('line', onLine);
    createInterface({ input: proc.stderr!, crlfDelay: Infinity }).on('line', onLine);
  }

  /** `prism mock -d SPEC` on a free port; resolves once it answers HTTP. */
  static async start(spec: string, options: PrismOptions = {}): Promise<PrismMock> {
    const port = options.port ?? (await freePort());
    const args = [PRISM_CLI, 'mock', '-d', '-h', '127.0.0.1', '-p', String(port)];
    if (options.seed !== undefined) args.push('--seed', options.seed);
    const proc = spawn(process.execPath, [...args, spec], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (proc.pid === undefined) throw new Error(`could not start Prism on ${spec}: no PID`);
    const prism = new PrismMock(proc, port);
    live.add(prism);
    installExitHook();
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    try {
      await eventually(
        async () => {
          if (!prism.#alive) throw new Error(`Prism (PID ${prism.pid}) exited before listening\n${prism.tail}`);
          // Any HTTP answer (404 for "/", which no document routes) means it is serving.
          return fetch(`${prism.url}/`, { signal: AbortSignal.timeout(1_000) }).then(
            () => true,
            () => false,
          );
        },
        { timeoutMs, everyMs: 100, what: `Prism on ${spec} (PID ${prism.pid}) answering` },
      );
    } catch (e) {
      await prism.stop();
      throw new Error(`${(e as Error).message}\n${prism.tail}`);
    }
    prism.#recording = true;
    return prism;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The last lines Prism wrote (for failure messages). */
  get tail(): string {
    return this.#tail.join('\n');
  }

  /** SIGKILL by PID; a process already gone is fine. */
  kill(): void {
    if (!this.#alive) return;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /** SIGTERM by PID, SIGKILL if it is still there after 2 s; resolves when it is gone. */
  async stop(): Promise<void> {
    if (!this.#alive) return;
    this.#proc.kill('SIGTERM');
    const timer = setTimeout(() => this.kill(), 2_000);
    await this.exited;
    clearTimeout(timer);
  }
}
