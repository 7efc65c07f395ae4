// The vjp of the tanh GELU's first-order backward on the fast float32 path,
// [x̄ = u · g · gelu''(x), ḡ = u · gelu'(x)] — the reference's formulas
// (engine/cpu/gelu-backward.ts) with the one transcendental, E = exp(−2|v|) for v = C·(x + A·x³),
// computed by the WebAssembly SIMD exp (Math.tanh per element made the reference loop ~15% of a
// default pre-training step; the first-order backward itself is all WebAssembly, rows-wasm.ts
// emitGeluTanhBackward). From E, tanh v, 1 + tanh v and 1 − tanh² v are each formed without
// cancellation, so every term keeps float32 relative accuracy even where tanh v is near ±1.

import type { Storage, TypedArray } from '../backend.js';
import { GELU_TANH_A as A, GELU_TANH_C as C } from '../cpu/gelu-backward.js';
import { allocArray, dataOf } from '../cpu/storage.js';

/** A SIMD exp over float32 arrays (it consumes its input) and the release of its result. */
export interface SimdExp {
  exp(v: Float32Array): TypedArray;
  release(a: TypedArray): void;
}

/** exp(−2|C·(x + A·x³)|) of every element. */
function expArg(X: Float32Array, simd: SimdExp): TypedArray {
  const v = allocArray('float32', X.length) as Float32Array;
  for (let i = 0; i < X.length; i++) {
    const x = X[i]!;
    v[i] = -2 * Math.abs(C * (x + A * x * x * x));
  }
  return simd.exp(v);
}

export function fastGeluTanhGradBackward(x: Storage, g: Storage, u: Storage, simd: SimdExp): [TypedArray, TypedArray] {
  const X = dataOf(x, 'geluGradBackward') as Float32Array;
  const G = dataOf(g, 'geluGradBackward');
  const U = dataOf(u, 'geluGradBackward');
  const Ex = expArg(X, simd);
  const xBar = allocArray('float32', X.length);
  const gBar = allocArray('float32', X.length);
  for (let i = 0; i < X.length; i++) {
    const xi = X[i]!;
    const e = Ex[i]!;
    const onePlusE = 1 + e;
    const tAbs = (1 - e) / onePlusE;
    const t = xi < 0 ? -tAbs : tAbs;
    const sech2 = (4 * e) / (onePlusE * onePlusE);
    const onePlusT = xi < 0 ? (2 * e) / onePlusE : 1 + tAbs;
    const sp = C * (1 + 3 * A * xi * xi);
    xBar[i] = U[i]! * G[i]! * sech2 * (sp + 3 * A * C * xi * xi - xi * t * sp * sp);
    gBar[i] = U[i]! * (0.5 * onePlusT + 0.5 * xi * sech2 * sp);
  }
  simd.release(Ex);
  return [xBar, gBar];
}
