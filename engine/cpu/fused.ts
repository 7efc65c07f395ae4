// Fused row kernels over x [R, C]: softmax, logSoftmax, layerNorm and per-row cross-entropy.
// Rows are processed in float64 with max subtraction; results are rounded once on write.

import type { Storage, TypedArray } from '../backend.js';
import { allocArray, dataOf } from './storage.js';

function rowMax(X: TypedArray, o: number, C: number): number {
  let m = -Infinity;
  for (let c = 0; c < C; c++) {
    const v = X[o + c];
    if (v > m || v !== v) m = v;
    if (m !== m) break;
  }
  return m;
}

/** log(sum(exp(row))) computed as max + log(sum(exp(row - max))). */
function rowLogSumExp(X: TypedArray, o: number, C: number): number {
  const m = rowMax(X, o, C);
  if (m === Infinity || m === -Infinity) return m; // all -inf (empty) or an +inf entry
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.exp(X[o + c] - m);
  return m + Math.log(s);
}

function rowInputs(x: Storage, R: number, C: number, op: string): TypedArray {
  const X = dataOf(x, op);
  return X;
}

export function softmax(x: Storage, R: number, C: number): TypedArray {
  const X = rowInputs(x, R, C, 'softmax');
  const out = allocArray(x.dtype, R * C);
  const e = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    const m = rowMax(X, o, C);
    let s = 0;
    for (let c = 0; c < C; c++) {
      e[c] = Math.exp(X[o + c] - m);
      s += e[c];
    }
    for (let c = 0; c < C; c++) out[o + c] = e[c] / s;
  }
  return out;
}

export function logSoftmax(x: Storage, R: number, C: number): TypedArray {
  const X = rowInputs(x, R, C, 'logSoftmax');
  const out = allocArray(x.dtype, R * C);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    const m = rowMax(X, o, C);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(X[o + c] - m);
    const lse = Math.log(s);
    for (let c = 0; c < C; c++) out[o + c] = X[o + c] - m - lse;
  }
  return out;
}

export function layerNorm(x: Storage, w: Storage, b: Storage, R: number, C: number, eps: number): TypedArray {
  const X = rowInputs(x, R, C, 'layerNorm');
  const W = dataOf(w, 'layerNorm');
  const Bv = dataOf(b, 'layerNorm');
  const out = allocArray(x.dtype, R * C);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let mean = 0;
    for (let c = 0; c < C; c++) mean += X[o + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = X[o + c] - mean;
      v += d * d;
    }
    const inv = 1 / Math.sqrt(v / C + eps); // biased variance
    for (let c = 0; c < C; c++) out[o + c] = (X[o + c] - mean) * inv * W[c] + Bv[c];
  }
  return out;
}

export function crossEntropy(logits: Storage, labels: Storage, R: number, V: number, ignoreIndex: number): TypedArray {
  const X = rowInputs(logits, R, V, 'crossEntropy');
  const L = dataOf(labels, 'crossEntropy');
  const out = allocArray(logits.dtype, R);
  for (let r = 0; r < R; r++) {
    const label = L[r];
    if (label === ignoreIndex) continue; // loss 0
    if (!(label >= 0 && label < V)) {
      throw new Error(
        `cpu crossEntropy: label ${label} at row ${r} is outside [0, ${V}) and is not the ignore index ${ignoreIndex}`,
      );
    }
    out[r] = rowLogSumExp(X, r * V, V) - X[r * V + label];
  }
  return out;
}

/** dlogits = (softmax(logits) − onehot(labels)) · g[r]; ignored rows are 0 (first order only). */
export function crossEntropyBackward(logits: Storage, labels: Storage, g: Storage, R: number, V: number, ignoreIndex: number): TypedArray {
  const X = rowInputs(logits, R, V, 'crossEntropyBackward');
  const L = dataOf(labels, 'crossEntropyBackward');
  const G = dataOf(g, 'crossEntropyBackward');
  const out = allocArray(logits.dtype, R * V);
  for (let r = 0; r < R; r++) {
    const label = L[r];
    if (label === ignoreIndex) continue;
    if (!(label >= 0 && label < V)) {
      throw new Error(`cpu crossEntropyBackward: label ${label} at row ${r} is outside [0, ${V}) and is not the ignore index ${ignoreIndex}`);
    }
    const o = r * V;
    let m = -Infinity;
    for (let c = 0; c < V; c++) if (X[o + c] > m) m = X[o + c];
    let s = 0;
    for (let c = 0; c < V; c++) s += Math.exp(X[o + c] - m);
    const gr = G[r] / s;
    for (let c = 0; c < V; c++) out[o + c] = Math.exp(X[o + c] - m) * gr;
    out[o + label] -= G[r];
  }
  return out;
}

/** dx = y · (g − Σ g·y) per row (first order only). */
export function softmaxBackward(y: Storage, g: Storage, R: number, C: number): TypedArray {
  const Y = rowInputs(y, R, C, 'softmaxBackward');
  const G = dataOf(g, 'softmaxBackward');
  const out = allocArray(y.dtype, R * C);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let dot = 0;
    for (let c = 0; c < C; c++) dot += G[o + c] * Y[o + c];
    for (let c = 0; c < C; c++) out[o + c] = Y[o + c] * (G[o + c] - dot);
  }
  return out;
}
