// Fast float32 attention over q, k, v [B, H, T, D]: the scores Q·Kᵀ of every head as one batched
// WebAssembly matmul, scale and masks (causal, local window, key padding: masked scores become
// -inf) in one pass here, the row softmax with SIMD exponentials (rows.ts), and P·V as a second
// batched matmul. A query with every key masked gets a zero output row, as in the reference
// (engine/cpu/attention.ts, which computes in float64; this path is float32 throughout).

import type { AttentionSpec, Storage } from '../backend.js';
import { allocArray, CpuStorage, dataOf, requireSameDtype, requireSize } from '../cpu/storage.js';
import { fastMatmul } from './matmul.js';
import { fastSoftmax } from './rows.js';
import { finishOut, kernelOut, resetScratch, stageIn, type WasmHeap } from './wasm-heap.js';

/** A storage for an intermediate (not counted among the backend's live storages). */
function scratchStorage(data: Float32Array): CpuStorage {
  return new CpuStorage('float32', data, { live: 0 });
}

export function fastAttention(h: WasmHeap, q: Storage, k: Storage, v: Storage, keyMask: Storage | null, spec: AttentionSpec): Float32Array {
  const { B, H, T, D, scale, causal, window } = spec;
  requireSameDtype('attention', ['q', q], ['k', k], ['v', v]);
  const size = B * H * T * D;
  requireSize(q, size, 'attention', `q [${B}, ${H}, ${T}, ${D}]`);
  requireSize(k, size, 'attention', `k [${B}, ${H}, ${T}, ${D}]`);
  requireSize(v, size, 'attention', `v [${B}, ${H}, ${T}, ${D}]`);
  if (keyMask) requireSize(keyMask, B * T, 'attention', `keyMask [${B}, ${T}]`);
  if (!(Number.isInteger(window) && window >= 0)) throw new Error(`cpu attention: window must be a non-negative integer, got ${window}`);
  const Mk = keyMask ? dataOf(keyMask, 'attention') : null;
  const BH = B * H;
  if (size === 0) return allocArray('float32', size) as Float32Array;
  // scores [BH, T, T] = q · kᵀ per head
  const S = fastMatmul(h, q, k, { batch: [BH], aBatchStrides: [T * D], bBatchStrides: [T * D], M: T, K: D, N: T, transA: false, transB: true });
  if (T % 4 === 0 && (Mk === null || scale > 0)) {
    // masks, scale and softmax in one WebAssembly pass (key padding first: those scores become -inf)
    if (Mk !== null) {
      for (let bh = 0; bh < BH; bh++) {
        const mo = ((bh / H) | 0) * T;
        for (let j = 0; j < T; j++) {
          if (Mk[mo + j] !== 0) continue;
          for (let i = 0, o = bh * T * T + j; i < T; i++, o += T) S[o] = -Infinity;
        }
      }
    }
    resetScratch();
    const sAddr = stageIn(h, S);
    const o = kernelOut(h, BH * T * T);
    h.rows.attnSoftmax(sAddr, o.addr, BH * T, T, scale, causal ? 1 : 0, window);
    const P = finishOut(h, o);
    scratchStorage(S).free();
    const sP = scratchStorage(P);
    const out = fastMatmul(h, sP, v, { batch: [BH], aBatchStrides: [T * T], bBatchStrides: [T * D], M: T, K: T, N: D, transA: false, transB: false });
    sP.free();
    return out;
  }
  const empty: number[] = [];
  for (let bh = 0; bh < BH; bh++) {
    const mo = ((bh / H) | 0) * T;
    for (let i = 0; i < T; i++) {
      const o = (bh * T + i) * T;
      const j0 = window > 0 ? Math.max(0, i - window + 1) : 0;
      const j1 = causal ? i + 1 : T;
      let visible = 0;
      for (let j = 0; j < T; j++) {
        if (j < j0 || j >= j1 || (Mk !== null && Mk[mo + j] === 0)) S[o + j] = -Infinity;
        else {
          S[o + j] *= scale;
          visible++;
        }
      }
      if (visible === 0) empty.push(bh * T + i);
    }
  }
  const sS = scratchStorage(S);
  const P = fastSoftmax(h, sS, BH * T, T) as Float32Array;
  sS.free();
  for (const row of empty) P.fill(0, row * T, row * T + T);
  const sP = scratchStorage(P);
  const out = fastMatmul(h, sP, v, { batch: [BH], aBatchStrides: [T * T], bBatchStrides: [T * D], M: T, K: T, N: D, transA: false, transB: false });
  sP.free();
  return out;
}
