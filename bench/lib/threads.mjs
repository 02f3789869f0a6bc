import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/** This process's threads (Linux): id, name and CPU time so far (clock ticks). */
export function threads() {
  try {
    return readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { tid: Number(tid), cpu: Number(fields[11]) + Number(fields[12]) };
    });
  } catch {
    return [];
  }
}

/**
 * Diagnostic only: runs `work`, then gives the `count` threads (other than this one) that used the
 * most CPU during it — the hash workers, when work is sign-ins — the nice value `nice` (Linux
 * setpriority applies to one thread). Returns how many it reniced; throws if it may not (a lower
 * nice value than a thread has needs CAP_SYS_NICE).
 */
export async function reniceBusiestThreads(work, count, nice) {
  const before = new Map(threads().map((t) => [t.tid, t.cpu]));
  await work();
  const busiest = threads()
    .filter((t) => t.tid !== process.pid)
    .map((t) => ({ tid: t.tid, used: t.cpu - (before.get(t.tid) ?? 0) }))
    .sort((a, b) => b.used - a.used)
    .slice(0, count);
  for (const t of busiest) setPriority(t.tid, nice);
  return busiest.length;
}
