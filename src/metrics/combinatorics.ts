// Binomial coefficients for the unbiased estimators, as logs or ratios so that C(64, 32) ≈ 1.8e18 and
// much larger n stay exact to ~1e-13 relative. All functions return 0 (or -Infinity for logs) when the
// coefficient is zero (b < 0 or b > a), which the estimators rely on.

const logFactTable: number[] = [0];

/** ln(a!) for integer a ≥ 0, from a growing table of cumulative sums. */
export function logFactorial(a: number): number {
  for (let i = logFactTable.length; i <= a; i++) logFactTable.push(logFactTable[i - 1] + Math.log(i));
  return logFactTable[a];
}

/** ln C(a, b); -Infinity when C(a, b) = 0. */
export function logChoose(a: number, b: number): number {
  if (b < 0 || b > a || a < 0) return -Infinity;
  return logFactorial(a) - logFactorial(b) - logFactorial(a - b);
}

/**
 * C(a, k) / C(n, k) for 0 ≤ a ≤ n, as the product Π_{i<k} (a−i)/(n−i): no overflow, no cancellation.
 * Example: chooseRatio(3, 5, 2) = C(3,2)/C(5,2) = 3/10.
 */
export function chooseRatio(a: number, n: number, k: number): number {
  if (k > a) return 0;
  let r = 1;
  for (let i = 0; i < k; i++) r *= (a - i) / (n - i);
  return r;
}
