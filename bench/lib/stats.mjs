// Small statistics helpers: the machine is shared and noisy, so every figure is a median (or a
// quantile) over many samples, usually taken in interleaved rounds.

/** The q-quantile (0 ≤ q ≤ 1) of numbers, linearly interpolated; NaN for an empty list. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

export const median = (values) => quantile(values, 0.5);

/** n, p25, p50, p75, min and max, rounded for reports. */
export function summary(values, digits = 2) {
  const r = (x) => round(x, digits);
  return {
    n: values.length,
    p25: r(quantile(values, 0.25)),
    p50: r(quantile(values, 0.5)),
    p75: r(quantile(values, 0.75)),
    min: r(Math.min(...values)),
    max: r(Math.max(...values)),
  };
}

export function round(x, digits = 2) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Milliseconds since `start` (a performance.now() reading). */
export function since(start) {
  return performance.now() - start;
}

/** Times an async function: resolves to milliseconds. */
export async function timeAsync(fn) {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * A 95% percentile-bootstrap interval of `statistic(indices)` over `n` paired samples: how far a
 * figure could move from sampling noise alone.
 */
export function bootstrapInterval(n, statistic, iterations = 2000) {
  const values = [];
  for (let b = 0; b < iterations; b++) {
    const indices = Array.from({ length: n }, () => Math.floor(Math.random() * n));
    values.push(statistic(indices));
  }
  return [quantile(values, 0.025), quantile(values, 0.975)];
}
