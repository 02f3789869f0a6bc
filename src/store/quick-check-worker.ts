// Runs PRAGMA quick_check on its own read-only connection, off the opening thread.
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { lowerThisThreadPriority } from '../background-thread.js';

const { path, background } = workerData as { path: string; background: boolean };
// Nobody waits for a background check: it must not take a core from the engine's event loop.
if (background) lowerThisThreadPriority();
let result: { problems: string[] } | { error: string; code: string | undefined };
try {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('quick_check(1)') as Array<{ quick_check: string }>;
    result = { problems: rows.map((row) => row.quick_check) };
  } finally {
    // Closed before answering: the opener must never race this connection for the file.
    db.close();
  }
} catch (error) {
  result = { error: (error as Error).message, code: (error as { code?: string }).code };
}
parentPort!.postMessage(result);
