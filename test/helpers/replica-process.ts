// Replicas as separate processes for the pool fault-injection tests: spawn one of the scripts
// of test/fixtures/replicas (`node --import tsx script`), read its port from its first stdout
// line, then signal it by PID (SIGKILL, SIGSTOP, SIGCONT), restart it on the same port, steer
// it through its control endpoint and read its call counters. Every data call the replica
// receives is also announced on its stdout before it is answered, so `received` stays exact
// after the replica is SIGKILLed.
//
// Cleanup: call stop() (or stopReplicas) in an `after` hook; as a last resort every replica
// still running is SIGKILLed by PID when the test process exits, and each replica exits by
// itself when its stdin (a pipe from this process) closes. Nothing is ever killed by name.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EXIT_WITH_PARENT_ENV } from '../../demo/backends/http-service.js';

export type ReplicaKind = 'http' | 'grpc';

const SCRIPTS: Record<ReplicaKind, string> = {
  http: fileURLToPath(new URL('../fixtures/replicas/http-replica.ts', import.meta.url)),
  grpc: fileURLToPath(new URL('../fixtures/replicas/grpc-replica.ts', import.meta.url)),
};
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A data call as the replica announced it: route ("GET /items/:id", "GetOrder") and epoch ms. */
export interface ReceivedCall {
  route: string;
  t: number;
}

/** What GET /__calls answers (both kinds; gRPC routes are method names, statuses code names). */
export interface CallsReport {
  name: string;
  port: number;
  pid: number;
  calls: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  health: number;
  healthByStatus: Record<string, number>;
  orders: { id: string; ref?: string; userId?: string; answered: number | string }[];
  firstCallAt: number | null;
  lastCallAt: number | null;
}

export interface ReplicaOptions {
  name?: string;
  /** 0 or undefined: any free port. */
  port?: number;
  /** gRPC only: the HTTP control port (0 or undefined: any free port). */
  controlPort?: number;
  startTimeoutMs?: number;
}

const live = new Set<ReplicaProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const replica of live) replica.signal('SIGKILL');
  });
}

export class ReplicaProcess {
  readonly kind: ReplicaKind;
  readonly name: string;
  /** The port it listens on; kept by restart(). */
  port = 0;
  controlPort = 0;
  pid = 0;
  /** Set once the current process has exited. */
  exit: ExitInfo | undefined;
  /** Resolves when the current process exits. */
  exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  /** Data calls the current process announced, in order (reset by restart()). */
  readonly received: ReceivedCall[] = [];
  /** When the current process announced it was listening (epoch ms). */
  listeningAt = 0;
  #proc: ChildProcess | undefined;
  #stderr: string[] = [];

  constructor(kind: ReplicaKind, name: string) {
    this.kind = kind;
    this.name = name;
  }

  /** What the gateway's @upstream replica list names: http://127.0.0.1:PORT or 127.0.0.1:PORT. */
  get url(): string {
    return this.kind === 'http' ? `http://127.0.0.1:${this.port}` : `127.0.0.1:${this.port}`;
  }

  get controlUrl(): string {
    return `http://127.0.0.1:${this.kind === 'http' ? this.port : this.controlPort}`;
  }

  get alive(): boolean {
    return this.#proc !== undefined && this.exit === undefined;
  }

  /** The last lines the process wrote on stderr (for failure messages). */
  get stderr(): string {
    return this.#stderr.join('\n');
  }

  /** Start the process (on `port`, or any free port) and wait for its "listening" line. */
  async start(opts: ReplicaOptions = {}): Promise<void> {
    if (this.alive) throw new Error(`${this.name} is already running (PID ${this.pid})`);
    const args = ['--import', 'tsx', SCRIPTS[this.kind], '--name', this.name, '--port', String(opts.port ?? 0)];
    if (this.kind === 'grpc') args.push('--control-port', String(opts.controlPort ?? 0));
    const proc = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, [EXIT_WITH_PARENT_ENV]: '1' },
      // stdin: a pipe never written to; it closes when we die, and the replica follows.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (proc.pid === undefined) throw new Error(`could not start ${this.name}: no PID`);
    this.#proc = proc;
    this.pid = proc.pid;
    this.exit = undefined;
    this.received.length = 0;
    this.#stderr = [];
    live.add(this);
    installExitHook();

    let resolveExit!: (info: ExitInfo) => void;
    this.exited = new Promise((resolve) => (resolveExit = resolve));
    proc.once('exit', (code, signal) => {
      this.exit = { code, signal };
      live.delete(this);
      resolveExit(this.exit);
    });

    createInterface({ input: proc.stderr!, crlfDelay: Infinity }).on('line', (line) => {
      this.#stderr.push(line);
      if (this.#stderr.length > 50) this.#stderr.shift();
    });

    const listening = new Promise<{ port: number; controlPort?: number }>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.name} (PID ${proc.pid}) did not listen within ${opts.startTimeoutMs ?? 20_000} ms\n${this.stderr}`,
            ),
          ),
        opts.startTimeoutMs ?? 20_000,
      );
      void this.exited.then((info) => {
        clearTimeout(timer);
        reject(
          new Error(`${this.name} exited (${info.signal ?? `code ${info.code}`}) before listening\n${this.stderr}`),
        );
      });
      createInterface({ input: proc.stdout!, crlfDelay: Infinity }).on('line', (line) => {
        let message: { event?: string; port?: number; controlPort?: number; route?: string; t?: number };
        try {
          message = JSON.parse(line);
        } catch {
          return; // not one of ours
        }
        if (message.event === 'call') this.received.push({ route: String(message.route), t: Number(message.t) });
        else if (message.event === 'listening') {
          clearTimeout(timer);
          resolve({ port: Number(message.port), controlPort: message.controlPort });
        }
      });
    });
    const { port, controlPort } = await listening;
    this.port = port;
    this.controlPort = controlPort ?? 0;
    this.listeningAt = Date.now();
  }

  /** Send a signal by PID ('SIGKILL', 'SIGSTOP', 'SIGCONT', ...); a process already gone is fine. */
  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /** SIGKILL, and wait until the process is gone. Returns when it died (epoch ms). */
  async kill(): Promise<number> {
    this.signal('SIGKILL');
    await this.exited;
    return Date.now();
  }

  /** A new process on the same port(s), after this one died (killed first if still alive). */
  async restart(): Promise<void> {
    if (this.alive) await this.kill();
    const opts = { port: this.port, controlPort: this.controlPort || undefined };
    // The old listening socket is gone with the process; retry briefly in case the kernel lags.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.start(opts);
      } catch (error) {
        if (attempt >= 5 || !/in use|EADDRINUSE/i.test(String(error))) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Merge settings into the replica's control state; answers the whole state. */
  async control(settings: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.controlUrl}/__control`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(settings),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`${this.name} /__control answered ${res.status}: ${JSON.stringify(body)}`);
    return body;
  }

  /** The replica's counters (GET /__calls); `reset` zeroes them after reading. */
  async calls(reset = false): Promise<CallsReport> {
    const res = await fetch(`${this.controlUrl}/__calls`, {
      method: reset ? 'DELETE' : 'GET',
      signal: AbortSignal.timeout(5000),
    });
    return (await res.json()) as CallsReport;
  }

  /** Received data calls announced at or after `since` (epoch ms). */
  receivedSince(since: number): number {
    return this.received.filter((c) => c.t >= since).length;
  }

  /** Stop for good: SIGKILL by PID (works on a SIGSTOPped process too) and wait for the exit. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    await this.kill();
  }
}

export async function startReplica(kind: ReplicaKind, opts: ReplicaOptions = {}): Promise<ReplicaProcess> {
  const replica = new ReplicaProcess(kind, opts.name ?? `${kind}-replica`);
  await replica.start(opts);
  return replica;
}

/** `count` replicas started in parallel, named `${prefix}-a`, `${prefix}-b`, ... */
export async function startReplicas(kind: ReplicaKind, count: number, prefix: string): Promise<ReplicaProcess[]> {
  const replicas = Array.from(
    { length: count },
    (_, i) => new ReplicaProcess(kind, `${prefix}-${String.fromCharCode(97 + i)}`),
  );
  const started = await Promise.allSettled(replicas.map((r) => r.start()));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stopReplicas(replicas);
    throw failed.reason;
  }
  return replicas;
}

export async function stopReplicas(replicas: readonly (ReplicaProcess | undefined)[] | undefined): Promise<void> {
  await Promise.all((replicas ?? []).map((r) => r?.stop()));
}
