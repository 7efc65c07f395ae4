// Fast float32 attention over q, k, v [B, H, T, D]: the scores Q·Kᵀ of every head as one batched
// WebAssembly matmul, the masked softmax (causal, local window, key padding; scale) and P·V as a
// second batched matmul. The masked softmax is also the backend's maskedSoftmax (the attention
// backward's probabilities). With T a multiple of 4 it is one WebAssembly pass (rows-wasm.ts
// attnSoftmax: masked spans skipped); else the masks are applied here and the rows go through the
// SIMD softmax (rows.ts). A query with every key masked gets a zero row, as in the reference
// (engine/cpu/attention.ts, which computes in float64; this path is float32 throughout).
// Dropout (spec.dropout > 0): P is multiplied by the counter-hash keep factors before P·V — the
// mask E.dropout gives P under the same seed (engine/cpu/attention-dropout.ts).

import type { AttentionSpec, Storage, TypedArray } from '../backend.js';
import { attentionDrop, keepRow } from '../cpu/attention-dropout.js';
import { mix32 } from '../random.js';
import { allocArray, CpuStorage, dataOf } from '../cpu/storage.js';
import { fastMatmul } from './matmul.js';
import { fastSoftmax } from './rows.js';
import { allocScratch, f32View, finishOut, kernelOut, resetScratch, stageIn, type WasmHeap } from './wasm-heap.js';

/** A storage for an intermediate (not counted among the backend's live storages). */
function scratchStorage(data: Float32Array): CpuStorage {
  return new CpuStorage('float32', data, { live: 0 });
}

function checkWindow(window: number): void {
  if (!(Number.isInteger(window) && window >= 0)) throw new Error(`cpu attention: window must be a non-negative integer, got ${window}`);
}

/** Probabilities [B·H·T, T] of the scores S (not modified) with the masks of spec and the key mask Mk [B, T]. */
function maskedProbs(h: WasmHeap, S: Float32Array, Mk: TypedArray | null, spec: AttentionSpec): Float32Array {
  const { B, H, T, scale, causal, window } = spec;
  const BH = B * H;
  if (T % 4 === 0) {
    resetScratch();
    const sAddr = stageIn(h, S);
    const km = allocScratch(h, 4 * (Mk ? B * T : T));
    const o = kernelOut(h, BH * T * T);
    const mem = f32View(h);
    if (Mk) mem.set(Mk, km >> 2);
    else mem.fill(1, km >> 2, (km >> 2) + T);
    h.rows.attnSoftmax(sAddr, o.addr, BH * T, T, scale, causal ? 1 : 0, window, km, Mk ? 4 * T : 0, H);
    return finishOut(h, o);
  }
  const M = allocArray('float32', BH * T * T) as Float32Array;
  const empty: number[] = [];
  for (let bh = 0; bh < BH; bh++) {
    const mo = ((bh / H) | 0) * T;
    for (let i = 0; i < T; i++) {
      const o = (bh * T + i) * T;
      const j0 = window > 0 ? Math.max(0, i - window + 1) : 0;
      const j1 = causal ? i + 1 : T;
      let visible = 0;
      for (let j = 0; j < T; j++) {
        if (j < j0 || j >= j1 || (Mk !== null && Mk[mo + j] === 0)) M[o + j] = -Infinity;
        else {
          M[o + j] = S[o + j]! * scale;
          visible++;
        }
      }
      if (visible === 0) empty.push(bh * T + i);
    }
  }
  const sM = scratchStorage(M);
  const P = fastSoftmax(h, sM, BH * T, T) as Float32Array;
  sM.free();
  for (const row of empty) P.fill(0, row * T, row * T + T);
  return P;
}

/** maskedSoftmax of the backend interface (float32 scores [B, H, T, T]). */
export function fastMaskedSoftmax(h: WasmHeap, scores: Storage, keyMask: Storage | null, spec: AttentionSpec): Float32Array {
  const S = dataOf(scores, 'maskedSoftmax') as Float32Array;
  checkWindow(spec.window);
  if (S.length === 0) return allocArray('float32', 0) as Float32Array;
  return maskedProbs(h, S, keyMask ? dataOf(keyMask, 'maskedSoftmax') : null, spec);
}

export function fastAttention(h: WasmHeap, q: Storage, k: Storage, v: Storage, keyMask: Storage | null, spec: AttentionSpec): Float32Array {
  const { B, H, T, D } = spec;
  const size = B * H * T * D;
  checkWindow(spec.window);
  const Mk = keyMask ? dataOf(keyMask, 'attention') : null;
  const BH = B * H;
  if (size === 0) return allocArray('float32', size) as Float32Array;
  // scores [BH, T, T] = q · kᵀ per head
  const S = fastMatmul(h, q, k, { batch: [BH], aBatchStrides: [T * D], bBatchStrides: [T * D], M: T, K: D, N: T, transA: false, transB: true });
  const P = maskedProbs(h, S, Mk, spec);
  scratchStorage(S).free();
  const drop = attentionDrop(spec, 'float32', 'attention');
  if (drop && BH * T * T < 2 ** 31) {
    // the keep factors of all [B·H·T, T] probabilities from the SIMD dropout-mask kernel (the hash of
    // element i is E.dropout's), then one multiply per probability
    resetScratch();
    const mo = kernelOut(h, BH * T * T);
    h.unary.dropoutMask(mo.addr, BH * T * T, mix32(drop.seed) | 0, drop.threshold, drop.scale);
    const M = finishOut(h, mo);
    for (let i = 0; i < M.length; i++) P[i] = P[i]! * M[i]!; // [B·H·T, T] probabilities, dropped
    scratchStorage(M).free();
  } else if (drop) {
    const keep = new Float64Array(T);
    for (let row = 0; row < BH * T; row++) {
      keepRow(drop, row, T, keep);
      const o = row * T;
      for (let j = 0; j < T; j++) P[o + j] = P[o + j]! * keep[j]!; // [B·H·T, T] probabilities, dropped
    }
  }
  const sP = scratchStorage(P);
  const out = fastMatmul(h, sP, v, { batch: [BH], aBatchStrides: [T * T], bBatchStrides: [T * D], M: T, K: T, N: D, transA: false, transB: false });
  sP.free();
  return out;
}
