// Scalar float64 math used by the cpu kernels: erf/erfc (~1e-16 relative), gelu, softplus,
// sigmoid, and the float→int32 conversion rule. Pure functions, no storage handling.

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2 / sqrt(pi)
const ONE_OVER_SQRT_PI = 0.5641895835477563; // 1 / sqrt(pi)
const SPLIT = 134217729; // 2^27 + 1 (Veltkamp splitter)

/** exp(-x*x) without the rounding error of forming x*x (x*x is split into an exact hi + lo). */
function expNegSquare(x: number): number {
  const hi = x * x;
  // Dekker's exact product: x*x = hi + lo exactly.
  const c = SPLIT * x;
  const xh = c - (c - x);
  const xl = x - xh;
  const lo = xh * xh - hi + 2 * xh * xl + xl * xl;
  const e = Math.exp(-hi);
  return e - e * lo; // exp(-hi - lo) ≈ exp(-hi) (1 - lo), |lo| <= ulp(hi)
}

/**
 * erf for 0 <= x <= 2 from the everywhere-positive series
 *   erf(x) = 2/sqrt(pi) e^{-x^2} sum_n x (2x^2)^n / (1*3*...*(2n+1)),
 * which has no cancellation, so the sum is accurate to a few ulp.
 */
function erfSeries(x: number): number {
  const x2 = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * expNegSquare(x) * sum;
}

/**
 * erfc for x >= 1 from the continued fraction
 *   erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
 * evaluated with the modified Lentz algorithm (under 200 terms for x >= 1).
 */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    D = x + a * D;
    if (D === 0) D = tiny;
    C = x + a / C;
    if (C === 0) C = tiny;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-17) break;
  }
  return (ONE_OVER_SQRT_PI * expNegSquare(x)) / f;
}

/** Error function, accurate to about 1e-16 relative in float64. */
export function erf(x: number): number {
  if (x !== x) return NaN;
  const ax = Math.abs(x);
  let r: number;
  if (ax <= 2) r = erfSeries(ax);
  else if (ax >= 6) r = 1; // 1 - erfc(6) rounds to 1 in float64
  else r = 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

/** Complementary error function 1 - erf(x), accurate in relative terms also in the tails. */
export function erfc(x: number): number {
  if (x !== x) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 1) return 1 - erfSeries(x); // erfc >= 0.157 here: little cancellation
  if (x > 27.3) return 0; // underflows
  return erfcContinuedFraction(x);
}

/** Logistic sigmoid without overflow. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/** 0.5 x (1 + erf(x / sqrt 2)), written as 0.5 x erfc(-x / sqrt 2) to keep precision for x << 0. */
export function geluErf(x: number): number {
  return 0.5 * x * erfc(-x * Math.SQRT1_2);
}

/** PyTorch softplus: beta*x > threshold ? x : log1p(exp(beta x)) / beta. */
export function softplus(x: number, beta: number, threshold: number): number {
  const bx = beta * x;
  if (bx > threshold) return x;
  return Math.log1p(Math.exp(bx)) / beta;
}

/** float → int32: truncate toward zero, NaN → 0, saturate at the int32 range (as WGSL's i32(f)). */
export function toInt32(x: number): number {
  if (x !== x) return 0;
  if (x >= 2147483647) return 2147483647;
  if (x <= -2147483648) return -2147483648;
  return Math.trunc(x) | 0;
}
