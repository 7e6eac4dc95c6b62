// The clock the pool runs on outside tests: wall time with sub-millisecond precision (latency
// samples of loopback replicas are fractions of a millisecond) and unref'ed timers, so a
// health check never keeps a process alive that has nothing else to do.
import type { Clock, TimerHandle } from './types.js';

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle: TimerHandle | undefined): void {
    clearTimeout(handle as NodeJS.Timeout | undefined);
  },
};
