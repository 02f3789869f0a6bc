import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;
const HAS_SCHEDSTAT = existsSync(SCHEDSTAT);

const buffer = Buffer.alloc(128);

/** This (main) thread's time on a CPU and waiting for one, in ms (Linux schedstat), or undefined. */
function sched(fd) {
  if (fd === undefined) return undefined;
  // One pread on a descriptor kept open: the probe must cost next to nothing itself.
  const n = readSync(fd, buffer, 0, buffer.length, 0);
  const [run, wait] = buffer.toString('latin1', 0, n).split(' ').map(Number);
  return { run: run / 1e6, wait: wait / 1e6 };
}

/**
 * The gap probe of issue 8: a 1 ms interval timer, and the largest gap between two of its ticks
 * (or since the last tick, at stop) — how long the event loop was held at once. Each gap is kept
 * with the time it ended and, on Linux, how this thread spent it (from its schedstat): `run`, on a
 * CPU (the loop's own work); `wait`, runnable but waiting for a CPU (the machine's other work);
 * the rest asleep or blocked in a system call (e.g. an fsync on this thread).
 */
export function gapProbe() {
  const fd = HAS_SCHEDSTAT ? openSync(SCHEDSTAT, 'r') : undefined;
  let last = performance.now();
  let lastSched = sched(fd);
  const gaps = [];
  const timer = setInterval(() => tick(), 1);
  function tick() {
    const now = performance.now();
    const s = sched(fd);
    const gap = { end: now, ms: now - last };
    if (s && lastSched) {
      gap.run = s.run - lastSched.run;
      gap.wait = s.wait - lastSched.wait;
    }
    gaps.push(gap);
    last = now;
    lastSched = s;
  }
  return {
    stop() {
      clearInterval(timer);
      tick();
      if (fd !== undefined) closeSync(fd);
      const longest = gaps.reduce((a, b) => (b.ms > a.ms ? b : a));
      // The longest stretch the loop spent running (its own work), whatever the machine did.
      const longestRun = gaps.reduce((a, b) => ((b.run ?? 0) > (a.run ?? 0) ? b : a));
      return { longest: longest.ms, longestEnd: longest.end, longestGap: longest, longestRunning: longestRun, gaps };
    },
  };
}
