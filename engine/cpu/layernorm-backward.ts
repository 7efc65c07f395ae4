// Layer-norm backward (reference loop): for x [R, C], w [C], g [R, C] →
// dx = rstd · (ĝ − mean ĝ − x̂ · mean(ĝ x̂)) with ĝ = g w, dw = Σ_rows g x̂, db = Σ_rows g.
// Rows in float64; results rounded once on write.

import type { Storage, TypedArray } from '../backend.js';
import { allocArray, dataOf } from './storage.js';

/** Mean and 1/√(biased variance + eps) of row x[o .. o+C), in float64. */
function rowStats(X: ArrayLike<number>, o: number, C: number, eps: number): { mean: number; rstd: number } {
  let mean = 0;
  for (let c = 0; c < C; c++) mean += X[o + c]!;
  mean /= C;
  let v = 0;
  for (let c = 0; c < C; c++) {
    const d = X[o + c]! - mean;
    v += d * d;
  }
  return { mean, rstd: 1 / Math.sqrt(v / C + eps) };
}

export function layerNormBackward(x: Storage, w: Storage, g: Storage, R: number, C: number, eps: number): [TypedArray, TypedArray, TypedArray] {
  const op = 'layerNormBackward';
  const X = dataOf(x, op);
  const W = dataOf(w, op);
  const G = dataOf(g, op);
  const dx = allocArray(x.dtype, R * C);
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  const xhat = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    const { mean, rstd } = rowStats(X, o, C, eps);
    let m1 = 0;
    let m2 = 0;
    for (let c = 0; c < C; c++) {
      xhat[c] = (X[o + c]! - mean) * rstd;
      const gh = G[o + c]! * W[c]!;
      m1 += gh;
      m2 += gh * xhat[c]!;
      dw[c] += G[o + c]! * xhat[c]!;
      db[c] += G[o + c]!;
    }
    m1 /= C;
    m2 /= C;
    for (let c = 0; c < C; c++) dx[o + c] = rstd * (G[o + c]! * W[c]! - m1 - xhat[c]! * m2);
  }
  const out = (a: Float64Array) => {
    const t = allocArray(x.dtype, C);
    for (let c = 0; c < C; c++) t[c] = a[c]!;
    return t;
  };
  return [dx, out(dw), out(db)];
}

/**
 * First-order vjp of layerNormBackward's dx at cotangent u (values only): with x̂, r as above,
 * ĝ = g w, LNdx(v) = r (v − mean v − x̂ mean(v x̂)) and t = LNdx(u):
 *   x̄ = −LNdx(r (mean(ĝ x̂) u + mean(u x̂) ĝ)) − r mean(u dx) x̂,  ḡ = w t,  w̄ = Σ_rows g t.
 */
export function layerNormGradBackward(x: Storage, w: Storage, g: Storage, dx: Storage, u: Storage, R: number, C: number, eps: number): [TypedArray, TypedArray, TypedArray] {
  const op = 'layerNormGradBackward';
  const X = dataOf(x, op);
  const W = dataOf(w, op);
  const G = dataOf(g, op);
  const DX = dataOf(dx, op);
  const U = dataOf(u, op);
  const xBar = allocArray(x.dtype, R * C);
  const gBar = allocArray(x.dtype, R * C);
  const wBar = new Float64Array(C);
  const xhat = new Float64Array(C);
  const v = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    const { mean, rstd } = rowStats(X, o, C, eps);
    let m2 = 0;
    let mu = 0;
    let k = 0;
    let s = 0;
    for (let c = 0; c < C; c++) {
      xhat[c] = (X[o + c]! - mean) * rstd;
      m2 += G[o + c]! * W[c]! * xhat[c]!;
      mu += U[o + c]!;
      k += U[o + c]! * xhat[c]!;
      s += U[o + c]! * DX[o + c]!;
    }
    m2 /= C;
    mu /= C;
    k /= C;
    s /= C;
    let mv = 0;
    let kv = 0;
    for (let c = 0; c < C; c++) {
      const t = rstd * (U[o + c]! - mu - xhat[c]! * k);
      gBar[o + c] = W[c]! * t;
      wBar[c] += G[o + c]! * t;
      v[c] = rstd * (m2 * U[o + c]! + k * G[o + c]! * W[c]!);
      mv += v[c]!;
      kv += v[c]! * xhat[c]!;
    }
    mv /= C;
    kv /= C;
    for (let c = 0; c < C; c++) xBar[o + c] = -rstd * (v[c]! - mv - xhat[c]! * kv) - rstd * s * xhat[c]!;
  }
  const wb = allocArray(x.dtype, C);
  for (let c = 0; c < C; c++) wb[c] = wBar[c]!;
  return [xBar, gBar, wb];
}

/** First-order vjp of layer norm's dw at cotangent a [C]: x̄ = LNdx(a g), ḡ = a x̂. */
export function layerNormWeightGradBackward(x: Storage, g: Storage, a: Storage, R: number, C: number, eps: number): [TypedArray, TypedArray] {
  const op = 'layerNormWeightGradBackward';
  const X = dataOf(x, op);
  const G = dataOf(g, op);
  const A = dataOf(a, op);
  const xBar = allocArray(x.dtype, R * C);
  const gBar = allocArray(x.dtype, R * C);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    const { mean, rstd } = rowStats(X, o, C, eps);
    let mv = 0;
    let kv = 0;
    for (let c = 0; c < C; c++) {
      const xh = (X[o + c]! - mean) * rstd;
      const v = A[c]! * G[o + c]!;
      mv += v;
      kv += v * xh;
    }
    mv /= C;
    kv /= C;
    for (let c = 0; c < C; c++) {
      const xh = (X[o + c]! - mean) * rstd;
      xBar[o + c] = rstd * (A[c]! * G[o + c]! - mv - xh * kv);
      gBar[o + c] = A[c]! * xh;
    }
  }
  return [xBar, gBar];
}
