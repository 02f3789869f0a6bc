import { performance } from 'node:perf_hooks';

/**
 * The gap probe of issue 8: a 1 ms interval timer, and the largest gap between two of its ticks
 * (or since the last tick, at stop) — how long the event loop was held at once. Each gap is kept
 * with the time it ended, so long gaps can be matched with what ran then.
 */
export function gapProbe() {
  let last = performance.now();
  const gaps = [];
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push({ end: now, ms: now - last });
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      const now = performance.now();
      gaps.push({ end: now, ms: now - last });
      const longest = gaps.reduce((a, b) => (b.ms > a.ms ? b : a));
      return { longest: longest.ms, longestEnd: longest.end, gaps };
    },
  };
}
