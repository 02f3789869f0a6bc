// Checkpoints the WAL on its own connection, off the engine's thread: with automatic checkpoints
// off there, the copy into the database file and its fsync never hold the engine's event loop.
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { connect } from './sqlite-binding.js';

const { path, binding, intervalMs, minWalBytes, restartWalBytes } = workerData as {
  path: string;
  binding: string | undefined;
  intervalMs: number;
  minWalBytes: number;
  restartWalBytes: number;
};
const db = connect(path, { fileMustExist: true }, binding);
db.pragma('busy_timeout = 1000');

function walSize(): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

// PASSIVE never waits for, nor blocks, the engine's readers and writers. Under writes without pause
// it never lets the WAL start over, though: past a larger size, RESTART does (writers wait for it
// briefly), and the engine's journal_size_limit then truncates the file.
const timer = setInterval(() => {
  try {
    const size = walSize();
    if (size >= restartWalBytes) db.pragma('wal_checkpoint(RESTART)');
    else if (size >= minWalBytes) db.pragma('wal_checkpoint(PASSIVE)');
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
