import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { expect } from 'vitest';

// Separate OS processes released at one moment: each runs a fixture script that prints
// {"ready":true,"pid":…} once set up, waits for a line on stdin (the shared start signal), does its
// one thing, prints one JSON line with the outcome and exits 0.

interface Racer {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  outcome: Promise<unknown>;
  exited: Promise<number | null>;
  stderr: string[];
}

function startRacer(args: readonly string[]): Racer {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout });
  const messages: unknown[] = [];
  const waiters: Array<() => void> = [];
  lines.on('line', (line) => {
    messages.push(JSON.parse(line));
    for (const wake of waiters.splice(0)) wake();
  });
  const nth = async (index: number): Promise<unknown> => {
    for (;;) {
      if (messages.length > index) return messages[index];
      const code = await Promise.race([exited, new Promise<'line'>((resolve) => waiters.push(() => resolve('line')))]);
      if (code !== 'line' && messages.length <= index) {
        throw new Error(`racer ${child.pid} exited with ${code} before line ${index + 1}: ${stderr.join('')}`);
      }
    }
  };
  const ready = nth(0).then((message) => {
    expect(message).toEqual({ ready: true, pid: child.pid });
  });
  const outcome = nth(1);
  // Keep rejections observed until the test awaits them.
  ready.catch(() => {});
  outcome.catch(() => {});
  return { child, ready, outcome, exited, stderr };
}

/**
 * Starts one process per argument list (`node ARGS…`), releases them all at once when every one is
 * ready, and returns their outcomes in the same order; each must exit 0. None outlives the call.
 */
export async function race<T>(argLists: ReadonlyArray<readonly string[]>): Promise<T[]> {
  const racers = argLists.map(startRacer);
  try {
    await Promise.all(racers.map((r) => r.ready));
    // The start signal: every racer is set up and blocked reading stdin.
    for (const { child } of racers) child.stdin.write('go\n');
    const outcomes = await Promise.all(racers.map((r) => r.outcome));
    const codes = await Promise.all(racers.map((r) => r.exited));
    expect(codes, racers.map((r) => r.stderr.join('')).join('\n')).toEqual(racers.map(() => 0));
    return outcomes as T[];
  } finally {
    for (const { child } of racers) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await Promise.all(racers.map((r) => r.exited));
  }
}
