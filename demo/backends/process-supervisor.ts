// Runs the demo's pieces (backends, gateway, baseline) as child node processes,
// prefixes their output, waits for their health endpoints, and stops them by
// PID. Used by both `npm start` and the benchmark: either must leave no
// process behind, whichever way it ends.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { EXIT_WITH_PARENT_ENV } from './http-service.js';
import { REPO_ROOT } from './topology.js';

export interface ChildSpec {
  name: string; // output prefix, e.g. "users-1"
  script: string; // TypeScript entry, relative to the repository root (or compiled JavaScript: see compiled)
  /** The script is JavaScript: run by plain node, without the tsx loader. */
  compiled?: boolean;
  args?: string[];
  /** Node's own flags, before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
  cpu?: number; // pin to this CPU with taskset (callers check canPinCpus first)
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedChild {
  name: string;
  pid: number;
  exit: ExitInfo | undefined; // set once the process has exited
  exited: Promise<ExitInfo>;
}

export type UnexpectedExitHandler = (child: ManagedChild, info: ExitInfo) => void;

export function describeExit({ code, signal }: ExitInfo): string {
  return signal ? `signal ${signal}` : `code ${String(code)}`;
}

let tasksetChecked: boolean | undefined;
/** taskset is installed and there are at least two CPUs to split load across. */
export function canPinCpus(): boolean {
  tasksetChecked ??= availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;
  return tasksetChecked;
}

/** Pin an existing process, all of its threads included (`-a`), to one CPU. */
export function pinProcess(pid: number, cpu: number): void {
  const result = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`taskset failed to pin PID ${pid}: ${result.stderr.trim()}`);
}

export class ProcessSupervisor {
  private readonly children = new Set<ManagedChild>();
  private stopping = false;

  constructor(private readonly onUnexpectedExit: UnexpectedExitHandler) {
    // Last-resort safety net: if this process dies (uncaught error,
    // process.exit) while children run, kill them rather than orphan them.
    process.on('exit', () => {
      for (const child of this.children) if (!child.exit) safeKill(child.pid, 'SIGKILL');
    });
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  start(spec: ChildSpec): ManagedChild {
    const loader = spec.compiled ? [] : ['--import', 'tsx'];
    const nodeArgs = [...(spec.nodeFlags ?? []), ...loader, spec.script, ...(spec.args ?? [])];
    // taskset execs node in place, so the PID we get is node's own PID.
    const [command, args] =
      spec.cpu === undefined
        ? [process.execPath, nodeArgs]
        : ['taskset', ['-c', String(spec.cpu), process.execPath, ...nodeArgs]];
    const proc = spawn(command, args, {
      cwd: REPO_ROOT,
      // stdin is a pipe we never write to: it closes when we die, however we
      // die, and children that opt in (EXIT_WITH_PARENT_ENV) exit with us.
      env: { ...process.env, ...spec.env, [EXIT_WITH_PARENT_ENV]: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (proc.pid === undefined) {
      throw new Error(`could not start ${spec.name} (${command}): no PID assigned`);
    }

    let resolveExited!: (info: ExitInfo) => void;
    const child: ManagedChild = {
      name: spec.name,
      pid: proc.pid,
      exit: undefined,
      exited: new Promise((resolve) => (resolveExited = resolve)),
    };
    this.children.add(child);
    prefixLines(proc, spec.name);

    const onExit = (info: ExitInfo): void => {
      if (child.exit) return;
      child.exit = info;
      resolveExited(info);
      if (!this.stopping) this.onUnexpectedExit(child, info);
    };
    proc.once('exit', (code, signal) => onExit({ code, signal }));
    proc.once('error', (error) => {
      console.error(`[${spec.name}] ${error.message}`);
      onExit({ code: 1, signal: null });
    });
    return child;
  }

  /**
   * Stop every live child by PID, newest first: the gateway goes before the
   * backends it calls, so it never logs upstream errors while shutting down.
   * Each gets SIGTERM, then SIGKILL if still alive after `graceMs`.
   */
  async stopAll(graceMs = 5000): Promise<void> {
    this.stopping = true;
    for (const child of [...this.children].reverse()) await stopChild(child, graceMs);
  }
}

async function stopChild(child: ManagedChild, graceMs: number): Promise<void> {
  if (child.exit) return;
  safeKill(child.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const outcome = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    console.error(`[${child.name}] did not exit within ${graceMs / 1000} s of SIGTERM; sending SIGKILL`);
    safeKill(child.pid, 'SIGKILL');
    await child.exited;
  }
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    // ESRCH: already gone between our check and the kill, which is fine.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function prefixLines(proc: ChildProcess, name: string): void {
  const pipe = (stream: NodeJS.ReadableStream | null, target: NodeJS.WriteStream): void => {
    if (!stream) return;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      target.write(`[${name}] ${line}\n`);
    });
  };
  pipe(proc.stdout, process.stdout);
  pipe(proc.stderr, process.stderr);
}

/**
 * Poll `url` until it answers 200. Fails fast if the child exits first and
 * with a clear message after `timeoutMs`, so callers never hang.
 */
export async function waitForHealthy(child: ManagedChild, url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exit) {
      throw new Error(`${child.name} exited (${describeExit(child.exit)}) before ${url} answered`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() >= deadline) {
      throw new Error(`${child.name} (PID ${child.pid}) did not answer 200 on ${url} within ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Fail with one clear message listing every port that something else already holds. */
export async function assertPortsFree(ports: readonly number[], host: string, hint: string): Promise<void> {
  const taken: number[] = [];
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, host, () => probe.close(() => resolve(true)));
    });
    if (!free) taken.push(port);
  }
  if (taken.length > 0) {
    throw new Error(`port${taken.length > 1 ? 's' : ''} ${taken.join(', ')} on ${host} already in use; ${hint}`);
  }
}
