// --workers N: N processes serving one port through node:cluster. The primary serves nothing
// itself: it forks the workers, starts another when one dies (and logs it), hands SIGTERM and
// SIGINT on to every worker for a graceful shutdown, and aggregates the workers' metrics
// (prom-client's AggregatorRegistry) for whichever worker answers a GET /metrics. Each worker
// is a whole gateway: its own watch of the schemas folder (so a reload reaches every worker),
// pools, health checks and in-memory limits.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';

const METRICS_REQUEST = 'quilt:metrics-request';
const METRICS_ANSWER = 'quilt:metrics-answer';
/** How long a worker waits for the aggregated metrics (prom-client's own limit is 5 s). */
const METRICS_WAIT_MS = 6_000;

interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}

interface MetricsAnswer {
  type: typeof METRICS_ANSWER;
  id: number;
  text?: string;
  error?: string;
}

export const isWorkerProcess = (): boolean => cluster.isWorker;

/** The primary's life: resolves with the exit code once every worker is gone. */
export function runPrimary(count: number, log: Logger): Promise<number> {
  const aggregator = new AggregatorRegistry();
  const live = new Set<Worker>();
  const served = new WeakSet<Worker>();
  let stopping = false;
  let exitCode = 0;
  return new Promise((resolve) => {
    const fork = () => live.add(cluster.fork());
    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      exitCode = code;
      for (const w of live) w.process.kill('SIGTERM');
      if (live.size === 0) resolve(exitCode);
    };
    cluster.on('listening', (worker) => {
      served.add(worker);
      log.info({ workerPid: worker.process.pid }, 'worker listening');
    });
    cluster.on('message', (worker, message: MetricsRequest) => {
      if (message?.type !== METRICS_REQUEST) return;
      const answer = (a: Omit<MetricsAnswer, 'type' | 'id'>) =>
        worker.isConnected() && worker.send({ type: METRICS_ANSWER, id: message.id, ...a });
      aggregator.clusterMetrics().then(
        (text) => answer({ text }),
        (e: Error) => answer({ error: e.message }),
      );
    });
    cluster.on('exit', (worker, code, signal) => {
      live.delete(worker);
      const pid = worker.process.pid;
      if (stopping) {
        if (live.size === 0) resolve(exitCode);
        return;
      }
      if (!served.has(worker)) {
        // It never listened: a bad schema folder or setting, which every new worker would hit too.
        log.fatal({ workerPid: pid, code, signal }, 'a worker exited before it served; stopping');
        stop(code || 1);
        return;
      }
      log.error({ workerPid: pid, code, signal }, 'worker died; starting another');
      fork();
    });
    for (const name of ['SIGTERM', 'SIGINT'] as const) {
      process.once(name, () => {
        log.info({ signal: name, workers: live.size }, 'signal received: stopping every worker');
        stop(0);
      });
    }
    log.info({ workers: count }, 'starting workers');
    for (let i = 0; i < count; i++) fork();
  });
}

/** In a worker: lets the primary read `registry` when it aggregates the workers' metrics. */
export function shareMetricsWithPrimary(registry: Registry): void {
  new AggregatorRegistry(); // in a worker, this installs prom-client's answer to the primary
  AggregatorRegistry.setRegistries([registry]);
}

/** In a worker: what GET /metrics answers there, every worker's metrics as the primary aggregates them. */
export function instanceMetrics(): () => Promise<string> {
  const pending = new Map<number, { resolve: (text: string) => void; reject: (e: Error) => void }>();
  let next = 0;
  process.on('message', (m: MetricsAnswer) => {
    if (m?.type !== METRICS_ANSWER) return;
    const waiting = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) waiting?.reject(new Error(`the workers' metrics could not be gathered: ${m.error}`));
    else waiting?.resolve(m.text ?? '');
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`the primary did not send the workers' metrics within ${METRICS_WAIT_MS} ms`));
      }, METRICS_WAIT_MS);
      pending.set(id, {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      process.send?.({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
    });
}
