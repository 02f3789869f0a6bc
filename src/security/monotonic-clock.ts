import { monotonicMs, type Clock } from '../clock.js';

/**
 * Time that never runs backwards, even when the system clock is set back: a delay, a lock or a
 * token's expiry is judged by the latest time seen, carried forward by a monotonic timer. The mark
 * is kept in the database (see TimeMarkRepository), so a restart after the clock was set back
 * resumes from it too. A clock moved forward is simply believed.
 */
export class MonotonicClock implements Clock {
  private markTime: number;
  private markTakenAt: number;
  private carrying = false;

  constructor(
    private readonly inner: Clock,
    storedMark: number,
    private readonly elapsed: () => number = monotonicMs,
  ) {
    this.markTime = storedMark;
    this.markTakenAt = elapsed();
  }

  now(): number {
    const wall = this.inner.now();
    const taken = this.elapsed();
    if (this.carrying || wall < this.markTime) {
      // The clock was set back: carry the mark forward by the monotonic timer until the clock
      // catches up with it again.
      const carried = Math.floor(this.markTime + (taken - this.markTakenAt));
      if (wall < carried) {
        this.carrying = true;
        return carried;
      }
      this.carrying = false;
    }
    this.markTime = wall;
    this.markTakenAt = taken;
    return wall;
  }

  /** The latest time handed out, to be persisted. */
  get mark(): number {
    return this.now();
  }
}
