// Runs PRAGMA quick_check on its own read-only connection, off the opening thread.
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThreadPriority } from '../background-thread.js';
import { connect } from './sqlite-binding.js';

const { path, background, binding } = workerData as { path: string; background: boolean; binding: string | undefined };
// Nobody waits for a background check: it must not take a core from the engine's event loop.
if (background) lowerThisThreadPriority();
let result: { problems: string[] } | { error: string; code: string | undefined };
try {
  const db = connect(path, { readonly: true, fileMustExist: true }, binding);
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
