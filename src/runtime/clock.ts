// The clock the runtime measures and waits with: injectable, so that backoff, delays and
// leases are tested with a fake clock instead of sleeps.
import { performance } from 'node:perf_hooks';

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  setTimeout(callback: () => void, ms: number): Timer;
}

// Node fires any timeout above 2^31-1 ms after 1 ms, so longer delays are chained.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The real clock. Its timers are unref'd: a pending retry must not keep the process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    let handle: NodeJS.Timeout;
    const arm = (remaining: number): void => {
      const step = Math.min(Math.max(remaining, 0), MAX_TIMER_MS);
      handle = setTimeout(() => (remaining > step ? arm(remaining - step) : callback()), step);
      handle.unref();
    };
    arm(ms);
    return { cancel: () => clearTimeout(handle) };
  },
};
