// Checkpoints the WAL on its own connection, off the engine's thread: with automatic checkpoints
// off there, the copy into the database file and its fsync never hold the engine's event loop.
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';

const { path, intervalMs, minWalBytes } = workerData as { path: string; intervalMs: number; minWalBytes: number };
const db = new BetterSqlite3(path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');

function walSize(): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

// PASSIVE never waits for, nor blocks, the engine's readers and writers.
const timer = setInterval(() => {
  try {
    if (walSize() >= minWalBytes) db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort!.postMessage({ warning: (error as Error).message });
  }
}, intervalMs);

parentPort!.on('message', (message: string) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
