// Reference loop for the first-order vjp of crossEntropyBackward (the backward of a recorded
// cross-entropy backward, e.g. the outer gradient of a CaMeLS meta step). For logits x [R, V],
// labels [R], the backward's row scale g [R] and the cotangent u [R, V] of its output
// dx = (p − onehot) · g with p = softmax(x):
//   x̄[r, c] = g[r] · p[r, c] · (u[r, c] − s[r]),   s[r] = Σ_c u[r, c] · p[r, c]
//   ḡ[r]    = s[r] − u[r, label[r]]   (= Σ_c u · (p − onehot))
// Rows whose label is the ignore index give 0 in both. Float64 arithmetic, rounded once on write.

import type { Storage, TypedArray } from '../backend.js';
import { allocArray, dataOf } from './storage.js';

export function crossEntropyGradBackward(logits: Storage, labels: Storage, g: Storage, u: Storage, R: number, V: number, ignoreIndex: number): [TypedArray, TypedArray] {
  const op = 'crossEntropyGradBackward'; // arguments checked by the op table (CHECK.crossEntropyGradBackward)
  const X = dataOf(logits, op);
  const L = dataOf(labels, op);
  const G = dataOf(g, op);
  const U = dataOf(u, op);
  const xBar = allocArray(logits.dtype, R * V);
  const gBar = allocArray(logits.dtype, R);
  const p = new Float64Array(V);
  for (let r = 0; r < R; r++) {
    const label = L[r]!;
    if (label === ignoreIndex) continue;
    if (!(label >= 0 && label < V)) throw new Error(`cpu ${op}: label ${label} at row ${r} is outside [0, ${V}) and is not the ignore index ${ignoreIndex}`);
    const o = r * V;
    let m = -Infinity;
    for (let c = 0; c < V; c++) if (X[o + c]! > m) m = X[o + c]!;
    let z = 0;
    for (let c = 0; c < V; c++) {
      p[c] = Math.exp(X[o + c]! - m);
      z += p[c]!;
    }
    let s = 0;
    for (let c = 0; c < V; c++) {
      p[c] = p[c]! / z;
      s += U[o + c]! * p[c]!;
    }
    const gr = G[r]!;
    for (let c = 0; c < V; c++) xBar[o + c] = gr * p[c]! * (U[o + c]! - s);
    gBar[r] = s - U[o + label]!;
  }
  return [xBar, gBar];
}
