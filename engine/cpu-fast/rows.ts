// Fast float32 row kernels over x [R, C]: softmax, per-row cross-entropy and its backward, with the
// exponentials in WebAssembly SIMD (rows-wasm.ts). Rows are copied into the shared memory padded to
// a multiple of 4 with -Infinity, exponentiated there (with each row's max and sum of exps), and the
// per-row arithmetic (1/sum, log, label terms) is done here in float64. A row whose max is not finite
// (NaN, +inf, or all -inf) is recomputed with the reference formula, so special values behave as
// in engine/cpu/fused.ts. Results match the reference to float32 rounding (exp within ~1 ulp, sums
// in float32).

import type { Storage, TypedArray } from '../backend.js';
import { allocArray, dataOf, requireInt32, requireSize } from '../cpu/storage.js';
import { allocScratch, f32View, finishOut, heapAddr, kernelOut, resetScratch, stageIn, type KernelOut, type WasmHeap } from './wasm-heap.js';

interface ExpRows {
  mem: Float32Array;
  /** float index of row 0 of exp(x − max) (rows Cp apart) */
  e: number;
  /** float index of the stats: [max, sum] per row, then one factor per row (scaleRows) */
  st: number;
  Cp: number;
  /** the output, when the exponentials are written straight into it (C a multiple of 4) */
  o: KernelOut | null;
}

/**
 * Run expRows over x [R, C]: in place when C is a multiple of 4 (a resident x is read where it is;
 * with keepExp the exponentials go into a new output array), else over a copy padded with -inf.
 */
function expRows(h: WasmHeap, X: Float32Array, R: number, C: number, keepExp: boolean): ExpRows {
  const Cp = (C + 3) & ~3;
  resetScratch();
  let xAddr: number, eAddr: number;
  let o: KernelOut | null = null;
  if (Cp === C) {
    xAddr = stageIn(h, X);
    if (keepExp) {
      o = kernelOut(h, R * C);
      eAddr = o.addr;
    } else eAddr = heapAddr(X) === xAddr ? allocScratch(h, 4 * R * C) : xAddr; // never write into x
  } else {
    xAddr = allocScratch(h, 4 * R * Cp);
    eAddr = keepExp ? allocScratch(h, 4 * R * Cp) : xAddr;
  }
  const sAddr = allocScratch(h, 12 * R); // [max, sum] per row, then the factors (scaleRows)
  const mem = f32View(h);
  if (Cp !== C) {
    const x0 = xAddr >> 2;
    for (let r = 0; r < R; r++) {
      mem.set(X.subarray(r * C, r * C + C), x0 + r * Cp);
      mem.fill(-Infinity, x0 + r * Cp + C, x0 + (r + 1) * Cp);
    }
  }
  h.rows.expRows(xAddr, eAddr, R, Cp, sAddr);
  return { mem, e: eAddr >> 2, st: sAddr >> 2, Cp, o };
}

/** The exponentials (scaled) as an [R, C] output array. */
function expOut(h: WasmHeap, er: ExpRows, R: number, C: number): Float32Array {
  if (er.o) return finishOut(h, er.o);
  const out = allocArray('float32', R * C) as Float32Array;
  const { mem, e, Cp } = er;
  for (let r = 0; r < R; r++) out.set(mem.subarray(e + r * Cp, e + r * Cp + C), r * C);
  return out;
}

function rowMax(X: TypedArray, o: number, C: number): number {
  let m = -Infinity;
  for (let c = 0; c < C; c++) {
    const v = X[o + c]!;
    if (v > m || v !== v) m = v;
    if (m !== m) break;
  }
  return m;
}

export function fastSoftmax(h: WasmHeap, x: Storage, R: number, C: number): TypedArray {
  const X = dataOf(x, 'softmax') as Float32Array;
  requireSize(x, R * C, 'softmax', `x [${R}, ${C}]`);
  if (R * C === 0) return allocArray('float32', R * C);
  const er = expRows(h, X, R, C, true);
  const { mem, st, Cp } = er;
  const fac = st + 2 * R;
  for (let r = 0; r < R; r++) mem[fac + r] = 1 / mem[st + 2 * r + 1]!;
  h.rows.scaleRows(er.e << 2, R, Cp, fac << 2);
  const out = expOut(h, er, R, C);
  for (let r = 0; r < R; r++) {
    if (Number.isFinite(mem[st + 2 * r]!)) continue;
    // reference formula for rows with NaN / ±inf
    const o = r * C;
    const m = rowMax(X, o, C);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(X[o + c]! - m);
    for (let c = 0; c < C; c++) out[o + c] = Math.exp(X[o + c]! - m) / s;
  }
  return out;
}

function checkLabels(op: string, labels: Storage, R: number): Int32Array {
  const L = dataOf(labels, op) as Int32Array;
  requireInt32(labels, op, 'labels');
  requireSize(labels, R, op, 'labels');
  return L;
}

function badLabel(op: string, label: number, r: number, V: number, ignoreIndex: number): Error {
  return new Error(`cpu ${op}: label ${label} at row ${r} is outside [0, ${V}) and is not the ignore index ${ignoreIndex}`);
}

export function fastCrossEntropy(h: WasmHeap, logits: Storage, labels: Storage, R: number, V: number, ignoreIndex: number): TypedArray {
  const X = dataOf(logits, 'crossEntropy') as Float32Array;
  requireSize(logits, R * V, 'crossEntropy', `x [${R}, ${V}]`);
  const L = checkLabels('crossEntropy', labels, R);
  const out = allocArray('float32', R);
  for (let r = 0; r < R; r++) if (L[r] !== ignoreIndex && !(L[r]! >= 0 && L[r]! < V)) throw badLabel('crossEntropy', L[r]!, r, V, ignoreIndex);
  if (R * V === 0) return out;
  const { mem, st } = expRows(h, X, R, V, false);
  for (let r = 0; r < R; r++) {
    const label = L[r]!;
    if (label === ignoreIndex) continue;
    let m = mem[st + 2 * r]!;
    let lse: number;
    if (Number.isFinite(m)) lse = m + Math.log(mem[st + 2 * r + 1]!);
    else {
      m = rowMax(X, r * V, V);
      if (m === Infinity || m === -Infinity) lse = m;
      else {
        let s = 0;
        for (let c = 0; c < V; c++) s += Math.exp(X[r * V + c]! - m);
        lse = m + Math.log(s);
      }
    }
    out[r] = lse - X[r * V + label]!;
  }
  return out;
}

export function fastCrossEntropyBackward(h: WasmHeap, logits: Storage, labels: Storage, g: Storage, R: number, V: number, ignoreIndex: number): TypedArray {
  const X = dataOf(logits, 'crossEntropyBackward') as Float32Array;
  requireSize(logits, R * V, 'crossEntropyBackward', `x [${R}, ${V}]`);
  const L = checkLabels('crossEntropyBackward', labels, R);
  const G = dataOf(g, 'crossEntropyBackward');
  requireSize(g, R, 'crossEntropyBackward', 'g');
  for (let r = 0; r < R; r++) if (L[r] !== ignoreIndex && !(L[r]! >= 0 && L[r]! < V)) throw badLabel('crossEntropyBackward', L[r]!, r, V, ignoreIndex);
  if (R * V === 0) return allocArray('float32', R * V);
  const er = expRows(h, X, R, V, true);
  const { mem, st, Cp } = er;
  const fac = st + 2 * R;
  for (let r = 0; r < R; r++) mem[fac + r] = L[r] === ignoreIndex ? 0 : G[r]! / mem[st + 2 * r + 1]!;
  h.rows.scaleRows(er.e << 2, R, Cp, fac << 2);
  const out = expOut(h, er, R, V);
  for (let r = 0; r < R; r++) {
    const label = L[r]!;
    const o = r * V;
    if (label === ignoreIndex) {
      out.fill(0, o, o + V); // exactly 0, also where exp overflowed to inf or NaN
      continue;
    }
    if (!Number.isFinite(mem[st + 2 * r]!)) {
      const m = rowMax(X, o, V);
      let s = 0;
      for (let c = 0; c < V; c++) s += Math.exp(X[o + c]! - m);
      const gr = G[r]! / s;
      for (let c = 0; c < V; c++) out[o + c] = Math.exp(X[o + c]! - m) * gr;
    }
    out[o + label] -= G[r]!;
  }
  return out;
}

/** gelu_tanh of every element (WebAssembly SIMD; see rows-wasm.ts emitGeluTanh). */
export function fastGeluTanh(h: WasmHeap, x: Storage): TypedArray {
  const X = dataOf(x, "unary 'gelu_tanh'") as Float32Array;
  const n = X.length;
  if (n === 0) return allocArray('float32', 0);
  resetScratch();
  // whole vectors: the lanes past n read and write within the 64-byte blocks of x and out
  const xAddr = stageIn(h, X);
  const o = kernelOut(h, n);
  h.rows.geluTanh(xAddr, o.addr, (n + 3) & ~3);
  return finishOut(h, o);
}

/** g · gelu'(x) for the tanh GELU (WebAssembly SIMD; see rows-wasm.ts emitGeluTanhBackward); x, g of one size. */
export function fastGeluTanhBackwardSimd(h: WasmHeap, x: Storage, g: Storage): TypedArray {
  const X = dataOf(x, 'geluBackward') as Float32Array;
  const G = dataOf(g, 'geluBackward') as Float32Array;
  const n = X.length;
  if (n === 0) return allocArray('float32', 0);
  resetScratch();
  // whole vectors: the lanes past n read and write within the 64-byte blocks of x, g and out
  const xAddr = stageIn(h, X);
  const gAddr = stageIn(h, G);
  const o = kernelOut(h, n);
  h.rows.geluTanhBackward(xAddr, gAddr, o.addr, (n + 3) & ~3);
  return finishOut(h, o);
}

/** tanh or exp of every element (WebAssembly SIMD; see rows-wasm.ts emitTanh, emitExpMap). */
export function fastMap(h: WasmHeap, op: 'tanh' | 'exp', x: Storage): TypedArray {
  const X = dataOf(x, `unary '${op}'`) as Float32Array;
  const n = X.length;
  if (n === 0) return allocArray('float32', 0);
  resetScratch();
  const xAddr = stageIn(h, X);
  const o = kernelOut(h, n);
  h.rows[op](xAddr, o.addr, n);
  return finishOut(h, o);
}

/** log-softmax over rows (C a multiple of 4): x − (max + log Σ exp(x − max)) with the SIMD exponentials. */
export function fastLogSoftmax(h: WasmHeap, x: Storage, R: number, C: number): TypedArray {
  const X = dataOf(x, 'logSoftmax') as Float32Array;
  requireSize(x, R * C, 'logSoftmax', `x [${R}, ${C}]`);
  if (R * C === 0) return allocArray('float32', 0);
  const er = expRows(h, X, R, C, false);
  const { mem, st } = er;
  const lse = st + 2 * R; // one float32 per row
  for (let r = 0; r < R; r++) mem[lse + r] = mem[st + 2 * r]! + Math.log(mem[st + 2 * r + 1]!);
  const o = kernelOut(h, R * C);
  h.binary.sub_fc!(stageIn(h, X), lse << 2, o.addr, R, C);
  const out = finishOut(h, o);
  for (let r = 0; r < R; r++) {
    if (Number.isFinite(f32View(h)[st + 2 * r]!)) continue;
    // reference formula for rows with NaN / ±inf
    const b = r * C;
    const m = rowMax(X, b, C);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(X[b + c]! - m);
    const l = Math.log(s);
    for (let c = 0; c < C; c++) out[b + c] = X[b + c]! - m - l;
  }
  return out;
}

/** softmax backward over rows: out = y·(g − Σ g·y), float64 arithmetic as the reference. */
export function fastSoftmaxBackward(h: WasmHeap, y: Storage, g: Storage, R: number, C: number): TypedArray {
  const Y = dataOf(y, 'softmaxBackward') as Float32Array;
  const G = dataOf(g, 'softmaxBackward') as Float32Array;
  requireSize(y, R * C, 'softmaxBackward', `y [${R}, ${C}]`);
  requireSize(g, R * C, 'softmaxBackward', 'g');
  if (R * C === 0) return allocArray('float32', 0);
  resetScratch();
  const yAddr = stageIn(h, Y);
  const gAddr = stageIn(h, G);
  const o = kernelOut(h, R * C);
  h.rows.softmaxBackward(yAddr, gAddr, o.addr, R, C);
  return finishOut(h, o);
}

/** layerNorm over rows of x [R, C] with weight and bias [C], float64 arithmetic as the reference. */
export function fastLayerNorm(h: WasmHeap, x: Storage, w: Storage, b: Storage, R: number, C: number, eps: number): TypedArray {
  const X = dataOf(x, 'layerNorm') as Float32Array;
  const W = dataOf(w, 'layerNorm') as Float32Array;
  const B = dataOf(b, 'layerNorm') as Float32Array;
  requireSize(x, R * C, 'layerNorm', `x [${R}, ${C}]`);
  requireSize(w, C, 'layerNorm', 'w');
  requireSize(b, C, 'layerNorm', 'b');
  if (R * C === 0) return allocArray('float32', 0);
  resetScratch();
  const xAddr = stageIn(h, X);
  const wAddr = stageIn(h, W);
  const bAddr = stageIn(h, B);
  const o = kernelOut(h, R * C);
  h.rows.layerNorm(xAddr, wAddr, bAddr, o.addr, R, C, eps);
  return finishOut(h, o);
}

/**
 * Sum of float32 x of `shape` over sorted, unique `axes`, when the coalesced pattern is [rows, C]
 * reducing C, or [outer, R, C] reducing R (float64 accumulation, as the reference); null for other
 * patterns (the caller runs the reference).
 */
export function fastSum(h: WasmHeap, x: Storage, shape: number[], axes: number[]): TypedArray | null {
  const X = dataOf(x, "reduce 'sum'") as Float32Array;
  const sizes: number[] = [];
  const reduced: boolean[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const red = axes.includes(d);
    if (sizes.length > 0 && reduced[reduced.length - 1] === red) sizes[sizes.length - 1]! *= shape[d]!;
    else {
      sizes.push(shape[d]!);
      reduced.push(red);
    }
  }
  const r = sizes.length;
  let run: ((xAddr: number, outAddr: number) => void) | null = null;
  let outSize = 0;
  if (r >= 1 && reduced[r - 1] && (r === 1 || (r === 2 && !reduced[0]))) {
    const C = sizes[r - 1]!;
    outSize = r === 2 ? sizes[0]! : 1;
    run = (xa, oa) => h.rows.sumRows(xa, oa, outSize, C);
  } else if (r >= 2 && !reduced[r - 1] && (r === 2 || (r === 3 && !reduced[0]))) {
    const C = sizes[r - 1]!;
    const R = sizes[r - 2]!;
    const P = r === 3 ? sizes[0]! : 1;
    outSize = P * C;
    run = (xa, oa) => h.rows.sumCols(xa, oa, P, R, C);
  }
  if (!run) return null;
  resetScratch();
  const xAddr = stageIn(h, X);
  const o = kernelOut(h, outSize);
  run(xAddr, o.addr);
  return finishOut(h, o);
}
