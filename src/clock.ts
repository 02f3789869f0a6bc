/**
 * The one source of time in src/. Everything that needs "now" takes a Clock, so tests can inject a
 * fake one; Date.now() and new Date() appear nowhere else.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** RFC 3339 (UTC, second precision) as PASETO's registered time claims require. */
export function toRfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Parses an RFC 3339 timestamp to epoch milliseconds; NaN when it is not one. */
export function fromRfc3339(value: string): number {
  return Date.parse(value);
}

/** A Date for APIs that take one (paseto's `now` option). */
export function toDate(ms: number): Date {
  return new Date(ms);
}

/** Milliseconds from a monotonic source, unaffected by changes to the system clock. */
export function monotonicMs(): number {
  return performance.now();
}
