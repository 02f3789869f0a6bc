// Runs PRAGMA quick_check on its own read-only connection, off the opening thread.
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';

const { path } = workerData as { path: string };
try {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('quick_check(1)') as Array<{ quick_check: string }>;
    parentPort!.postMessage({ problems: rows.map((row) => row.quick_check) });
  } finally {
    db.close();
  }
} catch (error) {
  parentPort!.postMessage({ error: (error as Error).message, code: (error as { code?: string }).code });
}
