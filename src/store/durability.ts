import { open, type FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { outsideAsar } from '../outside-asar.js';

/** How often the checkpoint worker looks at the WAL, and the sizes that call for a checkpoint. */
const CHECKPOINT_INTERVAL_MS = 250;
const CHECKPOINT_MIN_WAL_BYTES = 1024 * 1024;
const CHECKPOINT_RESTART_WAL_BYTES = 16 * 1024 * 1024;
/** A WAL that starts over is truncated to this, so the file does not keep its high-water mark. */
const WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * Durable commits without fsync on the engine's thread. SQLite's synchronous=FULL would fsync the
 * WAL inside every COMMIT, holding the event loop for milliseconds each time (tens on a busy disk).
 * Instead the connection commits with synchronous=NORMAL (the WAL is written, not yet flushed),
 * and every operation that wrote waits for `flush()` before it answers: an fdatasync of the WAL on
 * libuv's thread pool, shared by every commit made before it began (group commit). A caller is
 * told "done" only once its change is on disk, as with FULL; a change nobody was told of may be
 * lost to a power cut, never half-applied. Automatic checkpoints move to a worker thread with its
 * own connection for the same reason.
 */
export class Durability {
  private readonly totalChanges;
  private wal: Promise<FileHandle | undefined> | undefined;
  private current: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private readonly checkpointer: Worker;
  /** Resolves when the checkpoint worker has ended, however (asked to stop, or failed on its own). */
  private readonly checkpointerExited: Promise<unknown>;

  constructor(
    private readonly db: Database,
    readonly path: string,
    warn: (message: string) => void,
    /** The native module the checkpoint worker's connection loads (see checkSqliteBinding). */
    binding?: string | undefined,
  ) {
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 0');
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    this.totalChanges = db.prepare('SELECT total_changes()').pluck();
    this.checkpointer = new Worker(outsideAsar(new URL('./wal-checkpoint-worker.js', import.meta.url)), {
      workerData: {
        path,
        binding,
        intervalMs: CHECKPOINT_INTERVAL_MS,
        minWalBytes: CHECKPOINT_MIN_WAL_BYTES,
        restartWalBytes: CHECKPOINT_RESTART_WAL_BYTES,
      },
    });
    this.checkpointer.on('message', (message: { warning?: string }) => {
      if (message.warning) warn(`WAL checkpoint: ${message.warning}`);
    });
    this.checkpointer.on('error', (error) => warn(`WAL checkpoint worker failed: ${error.message}`));
    this.checkpointerExited = new Promise((resolve) => this.checkpointer.once('exit', resolve));
    this.checkpointer.unref();
  }

  /** Runs `commit` with synchronous=FULL: its commit (and all before it) is on disk when it returns. */
  fullySynced<T>(commit: () => T): T {
    this.db.pragma('synchronous = FULL');
    try {
      return commit();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /** Rows changed by this connection so far: compare before and after an operation. */
  changes(): number {
    return this.totalChanges.get() as number;
  }

  /** Resolves once every commit made before the call is on disk. */
  flush(): Promise<void> {
    if (!this.current) {
      this.current = this.syncWal().finally(() => {
        this.current = undefined;
      });
      return this.current;
    }
    // A flush is running, perhaps begun before our commit: the next one covers it.
    this.next ??= this.current
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.flush();
      });
    return this.next;
  }

  /** After the last flush: stops the checkpoint worker (closing the connection checkpoints and syncs). */
  async close(): Promise<void> {
    await this.next?.catch(() => undefined);
    await this.current?.catch(() => undefined);
    this.checkpointer.ref(); // keeps the process alive until the worker has closed its connection
    this.checkpointer.postMessage('stop');
    await this.checkpointerExited;
    await (await this.wal?.catch(() => undefined))?.close();
  }

  private async syncWal(): Promise<void> {
    // Opened on first use: the WAL exists once anything was written in WAL mode.
    this.wal ??= open(`${this.path}-wal`, 'r+').catch((error: NodeJS.ErrnoException) => {
      this.wal = undefined;
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    // No WAL file means nothing was written since it was last checkpointed away.
    await (await this.wal)?.datasync();
  }
}
