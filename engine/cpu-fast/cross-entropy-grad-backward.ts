// The fast float32 crossEntropyGradBackward (the vjp of a recorded cross-entropy backward; formulas
// in engine/cpu/cross-entropy-grad-backward.ts): the row softmax p with the SIMD exp
// (fastSoftmax), then one pass per row for s = Σ u·p (float64 sum) and x̄ = g·p·(u − s),
// ḡ = s − u[label]. The reference loop's Math.exp per element was 4% of a default meta batch.

import type { Storage } from '../backend.js';
import { allocArray, dataOf } from '../cpu/storage.js';
import { fastSoftmax } from './rows.js';
import type { WasmHeap } from './wasm-heap.js';

export function fastCrossEntropyGradBackward(
  h: WasmHeap,
  logits: Storage,
  labels: Storage,
  g: Storage,
  u: Storage,
  R: number,
  V: number,
  ignoreIndex: number,
  release: (a: Float32Array) => void,
): [Float32Array, Float32Array] {
  const op = 'crossEntropyGradBackward';
  const L = dataOf(labels, op);
  const G = dataOf(g, op);
  const U = dataOf(u, op);
  const P = fastSoftmax(h, logits, R, V) as Float32Array; // [R, V]
  const xBar = allocArray('float32', R * V) as Float32Array;
  const gBar = allocArray('float32', R) as Float32Array;
  try {
    for (let r = 0; r < R; r++) {
      const label = L[r]!;
      if (label === ignoreIndex) continue; // xBar, gBar start at 0
      if (!(label >= 0 && label < V)) throw new Error(`cpu ${op}: label ${label} at row ${r} is outside [0, ${V}) and is not the ignore index ${ignoreIndex}`);
      const o = r * V;
      let s = 0;
      for (let c = 0; c < V; c++) s += U[o + c]! * P[o + c]!;
      const gr = G[r]!;
      for (let c = 0; c < V; c++) xBar[o + c] = gr * P[o + c]! * (U[o + c]! - s);
      gBar[r] = s - U[o + label]!;
    }
  } finally {
    release(P);
  }
  return [xBar, gBar];
}
