import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The nice value of background worker threads: they take the CPU the event loop leaves. */
const BACKGROUND_NICE = 10;

/**
 * Lowers the OS priority of the calling worker thread, and of it only, so that when every core is
 * busy the engine's event loop gets one first. Linux only: there each thread has its own nice
 * value, and /proc/thread-self names the thread (`PID/task/TID`). Elsewhere setpriority would
 * apply to the whole process, so this does nothing.
 */
export function lowerThisThreadPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    // Never the main thread: that would lower the event loop itself.
    if (Number.isInteger(tid) && tid !== process.pid) setPriority(tid, BACKGROUND_NICE);
  } catch {
    // No /proc, or not allowed: the thread keeps the process's priority.
  }
}
