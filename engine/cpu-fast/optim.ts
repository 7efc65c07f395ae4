// The Adam / AdamW update of the fast float32 path: rows-wasm.ts `adam`, in place on resident
// parameter and moment arrays, with the reference's float64 arithmetic in the same order
// (engine/cpu/optim.ts), so results are identical. Null when an array is not resident (the caller
// runs the reference).

import type { AdamSpec, Storage } from '../backend.js';
import { dataOf } from '../cpu/storage.js';
import { heapAddr, resetScratch, stageIn, type WasmHeap } from './wasm-heap.js';

export function fastAdamStep(h: WasmHeap, param: Storage, grad: Storage, m: Storage, v: Storage, gradScale: Storage | null, spec: AdamSpec): boolean {
  const P = dataOf(param, 'adamStep') as Float32Array;
  const M = dataOf(m, 'adamStep') as Float32Array;
  const V = dataOf(v, 'adamStep') as Float32Array;
  const G = dataOf(grad, 'adamStep') as Float32Array;
  const [pa, ma, va] = [heapAddr(P), heapAddr(M), heapAddr(V)];
  if (pa < 0 || ma < 0 || va < 0) return false;
  const { lr, beta1, beta2, eps, weightDecay, step } = spec;
  if (!(Number.isInteger(step) && step >= 1)) return false; // the reference reports it
  let scale = 1;
  if (gradScale) {
    const S = dataOf(gradScale, 'adamStep');
    if (S.length < 1) return false;
    scale = S[0]!;
  }
  resetScratch();
  const ga = stageIn(h, G);
  h.rows.adam(pa, ga, ma, va, P.length, scale, lr, beta1, beta2, eps, 1 - Math.pow(beta1, step), 1 - Math.pow(beta2, step), weightDecay > 0 ? lr * weightDecay : 0);
  return true;
}
