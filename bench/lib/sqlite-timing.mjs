import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';

/**
 * Observation only: wraps better-sqlite3's Statement#run in this process (the engine in dist/ uses
 * the same module instance) to record every write transaction — from BEGIN to COMMIT, the commit
 * (where synchronous=FULL fsyncs the WAL) on its own — and every autocommitted write. All of it runs
 * on the calling thread, so these are stretches during which the event loop is held.
 */
export function instrumentSqlite() {
  const probe = new Database(':memory:');
  const Statement = Object.getPrototypeOf(probe.prepare('SELECT 1'));
  probe.close();
  const original = Statement.run;
  const originalGet = Statement.get;
  const originalAll = Statement.all;
  const events = [];
  /** Reads (get/all), kept apart: their time on this thread too, should one block. */
  const reads = [];
  const timeRead = (fn) =>
    function read(...args) {
      const start = performance.now();
      try {
        return fn.apply(this, args);
      } finally {
        const end = performance.now();
        if (end - start > 0.5) reads.push({ kind: 'read', start, end, ms: end - start });
      }
    };
  Statement.get = timeRead(originalGet);
  Statement.all = timeRead(originalAll);
  let open; // the transaction in progress: { start }
  Statement.run = function run(...args) {
    const db = this.database;
    const source = this.source;
    const wasInTransaction = db.inTransaction;
    const start = performance.now();
    try {
      return original.apply(this, args);
    } finally {
      const end = performance.now();
      if (source.startsWith('BEGIN')) open = { start };
      else if (source === 'COMMIT' && open) {
        events.push({ kind: 'transaction', start: open.start, end, ms: end - open.start, commitMs: end - start });
        open = undefined;
      } else if (!wasInTransaction && !source.startsWith('ROLLBACK') && !/^\s*(SELECT|PRAGMA)/i.test(source)) {
        events.push({ kind: 'autocommit', start, end, ms: end - start, commitMs: end - start });
      }
    }
  };
  return {
    events,
    reads,
    /** Writes that overlap the interval [from, to] (performance.now() times). */
    within(from, to) {
      return events.filter((e) => e.end >= from && e.start <= to);
    },
    /** Reads over 0.5 ms that overlap the interval. */
    readsWithin(from, to) {
      return reads.filter((e) => e.end >= from && e.start <= to);
    },
    clear() {
      events.length = 0;
      reads.length = 0;
    },
    restore() {
      Statement.run = original;
      Statement.get = originalGet;
      Statement.all = originalAll;
    },
  };
}
