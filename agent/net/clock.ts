// Time as every timed owner sees it (health checks, VRRP, the flow census):
// injected, so unit tests run on a fake clock (test/support/clock.ts).

export interface Clock {
  now(): number;
  /** calls fn after ms; returns a cancel function */
  setTimer(ms: number, fn: () => void): () => void;
}

/** The wall clock; its timers never keep the process alive on their own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};
