import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

/**
 * Observation only: wraps FileHandle#datasync in this process — the engine's group commit
 * fdatasyncs the WAL through it on libuv's pool — and adds up the time spent in it since the last
 * `clear()`. The wait is outside the engine's thread, but inside a caller's latency.
 */
export async function instrumentDatasync() {
  const handle = await open(process.execPath, 'r');
  const FileHandle = Object.getPrototypeOf(handle);
  await handle.close();
  const original = FileHandle.datasync;
  let ms = 0;
  FileHandle.datasync = async function datasync(...args) {
    const start = performance.now();
    try {
      return await original.apply(this, args);
    } finally {
      ms += performance.now() - start;
    }
  };
  return {
    get ms() {
      return ms;
    },
    clear() {
      ms = 0;
    },
    restore() {
      FileHandle.datasync = original;
    },
  };
}
