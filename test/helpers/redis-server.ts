// A real redis-server for the shared-limit tests (scripts/test.sh installs it when missing).
// Redis has no `--port 0`, so a free port is found by listening on 0 and closing, then the
// server is started there (retried on another port if it was taken in between) without
// persistence, and is ready once it answers PING. Tests stop it, kill it (SIGKILL), pause it
// (SIGSTOP) and restart it on the same port, always by its PID; any server still running
// when the test process exits is SIGKILLed by PID. Nothing is ever killed by name.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RedisServer {
  port: number;
  url: string;
  readonly pid: number | undefined;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Starts it again on the same port (after kill or stop). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running)
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += String(d);
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function launch(port: number, dir: string): Promise<ChildProcess | undefined> {
  const child = spawn(
    REDIS_SERVER,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--loglevel',
      'warning',
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return undefined; // e.g. port taken
    if (await ping(port)) return child;
    await new Promise((r) => setTimeout(r, 20));
  }
  if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer PING within 5 s`);
}

export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'quilt-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    child = await launch(port, dir);
  }
  if (!child) throw new Error(`could not start ${REDIS_SERVER}`);
  let current: ChildProcess = child;
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (current.pid !== undefined && current.exitCode === null && current.signalCode === null) {
      current.kill(sig);
      await exited(current);
    }
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return current.pid;
    },
    kill: () => signal('SIGKILL'),
    pause: () => void current.kill('SIGSTOP'),
    resume: () => void current.kill('SIGCONT'),
    async restart() {
      await signal('SIGKILL');
      const next = await launch(port, dir);
      if (!next) throw new Error(`redis-server could not start again on port ${port}`);
      current = next;
    },
    async stop() {
      current.kill('SIGCONT');
      await signal('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
