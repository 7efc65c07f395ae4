// Attention forward (shaders/attention.wgsl). GPUs: the fused kernel, tile sizes from the head dim
// and the device's workgroup memory, one workgroup per (query block, batch * head). Software
// adapters (llvmpipe), where the fused kernel's workgroup-memory reads are per-invocation loops:
// scores = q k^T and out = p v through the matmul kernels with a masked row softmax between them
// (measured 1x12x256x64 causal: fused 540 ms), when the [B*H*T, T] scores fit one binding.
// Operands larger than one binding are processed a block of sequences at a time.
// Dropout (spec.dropout > 0): every kernel here recomputes the keep mask of probability
// ((b·H + h)·T + i)·T + j from the counter hash (E.dropout's mask of the [B, H, T, T]
// probabilities under the same seed, shaders/random.wgsl's hash); a block of sequences carries
// its first element's index (dropBase) so the mask does not depend on how the work is split.

import type { AttentionSpec } from '../backend.js';
import { dropThreshold, mix32 } from '../random.js';
import { valueBits } from './elementwise.js';
import { runMatmul } from './matmul.js';
import { rowWorkgroup } from './rows.js';
import type { Binding, Runtime, UniformWriter } from './runtime.js';
import { alignedRowStep, fitsWhole, floorTo, windowElems, windowOf } from './windows.js';

const LANES = 8;

/** An attention call as the kernels see it: the spec and, for a block of sequences, its first probability's index. */
type AttentionRun = AttentionSpec & { dropBase?: number };

/** Whether spec drops probabilities (rate checked). */
function dropping(spec: AttentionSpec): boolean {
  const p = spec.dropout ?? 0;
  try {
    dropThreshold(p);
  } catch (e) {
    throw new Error(`webgpu attention: ${(e as Error).message}`);
  }
  return p > 0;
}

/** Tiles of the fused forward for head dim D; with dropout a BQ × BKV tile of keep factors more. */
export function attentionTiles(D: number, sharedLimit: number, dropout = false): { BQ: number; BKV: number; DPT: number } {
  const DPT = Math.max(1, Math.ceil(D / LANES));
  if (DPT > 32) throw new Error(`webgpu attention: head dim ${D} is larger than ${LANES * 32}`);
  const DP = DPT * LANES;
  for (const BQ of [16, 8]) {
    for (const BKV of [32, 16, 8]) {
      const bytes = 4 * (BQ * DP + BKV * (DP + 1) + BKV * DP + BQ * BKV * (dropout ? 2 : 1));
      if (bytes <= sharedLimit) return { BQ, BKV, DPT };
    }
  }
  throw new Error(`webgpu attention: head dim ${D} does not fit in ${sharedLimit} bytes of workgroup memory`);
}

export function runAttention(
  rt: Runtime,
  q: Binding,
  k: Binding,
  v: Binding,
  keyMask: Binding | null,
  maskFloat: boolean,
  spec: AttentionRun,
  out: Binding,
): void {
  const { B, H, T, D } = spec;
  const drop = dropping(spec);
  if (B * H * T * D === 0) return;
  if (![q, k, v, out].every((b) => fitsWhole(rt, b)) || (keyMask && !fitsWhole(rt, keyMask))) {
    // Larger than one binding: whole sequences at a time, window starts aligned for q/k/v/out and the mask.
    const per = H * T * D;
    const step = alignedRowStep(T);
    const nb = floorTo(Math.floor(windowElems(rt) / per), step);
    if (nb === 0) {
      throw new Error(`webgpu attention: ${step} sequence(s) of [${H}, ${T}, ${D}] do not fit one ${rt.maxBindingBytes}-byte binding`);
    }
    for (let b0 = 0; b0 < B; b0 += nb) {
      const n = Math.min(nb, B - b0);
      const win = (x: Binding): Binding => windowOf(x, b0 * per, n * per);
      const dropBase = (spec.dropBase ?? 0) + b0 * H * T * T;
      runAttention(rt, win(q), win(k), win(v), keyMask ? windowOf(keyMask, b0 * T, n * T) : null, maskFloat, { ...spec, B: n, dropBase }, win(out));
    }
    return;
  }
  const scoreBytes = B * H * T * T * 4;
  if (rt.softwareAdapter && scoreBytes <= Math.min(rt.maxBindingBytes, 1 << 26)) {
    runAttentionUnfused(rt, q, k, v, keyMask, maskFloat, spec, out);
    return;
  }
  const t = attentionTiles(D, rt.limits.maxComputeWorkgroupStorageSize, drop);
  const kern = rt.kernel({
    file: 'attention.wgsl',
    entry: 'attention',
    bindings: 'rrrrww',
    constants: { BQ: t.BQ, LANES, BKV: t.BKV, DPT: t.DPT, MS: drop ? t.BQ * t.BKV : 1 },
  });
  const gx = Math.ceil(T / t.BQ);
  const gy = B * H;
  if (gx > rt.maxGroupsPerDim || gy > rt.maxGroupsPerDim) throw new Error(`webgpu attention: B*H=${gy} or T=${T} too large`);
  const c = contiguousHeads(spec);
  const scratch = rt.alloc(16); // the lse binding (not written)
  rt.dispatch(kern, [q, k, v, keyMask ?? q, out, scratch], (w) => writeParams(w, spec, keyMask !== null, maskFloat, [c, c, c, c]), gx, gy);
  rt.release(scratch);
}

/** Where row t of head h of sequence b starts: off + b·sb + h·sh + t·st (head dims contiguous). */
export interface HeadLayout {
  off: number;
  sb: number;
  sh: number;
  st: number;
}

/** [B, H, T, D] contiguous. */
export function contiguousHeads(spec: AttentionSpec): HeadLayout {
  return { off: 0, sb: spec.H * spec.T * spec.D, sh: spec.T * spec.D, st: spec.D };
}

/** Heads of width D at column `col` of rows [B, T, W] (a packed q|k|v projection, or merged heads). */
export function rowHeads(spec: AttentionSpec, W: number, col: number): HeadLayout {
  return { off: col, sb: spec.T * W, sh: spec.D, st: W };
}

/**
 * flag0: the forward writes lse / the backward writes dk and dv through one binding; flag1: the
 * backward is given lse. Then the dropout: threshold (0 = none), mix32(seed), the f32 keep scale
 * 1/(1 − p) and the index of the call's first probability.
 */
function writeParams(w: UniformWriter, spec: AttentionRun, hasMask: boolean, maskFloat: boolean, layouts: readonly HeadLayout[] = [], flag0 = false, flag1 = false): void {
  w.u(spec.B).u(spec.H).u(spec.T).u(spec.D).f(spec.scale);
  w.u(spec.causal ? 1 : 0).u(spec.window).u(hasMask ? 1 : 0).u(maskFloat ? 1 : 0).u(flag0 ? 1 : 0).u(flag1 ? 1 : 0).u(0);
  const p = dropping(spec) ? spec.dropout! : 0;
  w.u(p > 0 ? dropThreshold(p) : 0).u(mix32((spec.seed ?? 0) >>> 0)).u(valueBits(p > 0 ? 1 / (1 - p) : 1, 'float32')).u((spec.dropBase ?? 0) >>> 0);
  for (const l of layouts) w.u(l.off).u(l.sb).u(l.sh).u(l.st);
}

/**
 * The fused forward kernel with explicit layouts [q, k, v, out] (heads read from a packed
 * projection, output written with heads merged). Returns false where it does not apply (the
 * software kernel family, operands larger than one binding, a head dim too wide).
 */
export function runAttentionLayouts(
  rt: Runtime,
  q: Binding,
  k: Binding,
  v: Binding,
  keyMask: Binding | null,
  maskFloat: boolean,
  spec: AttentionSpec,
  out: Binding,
  layouts: readonly [HeadLayout, HeadLayout, HeadLayout, HeadLayout],
  lse: Binding | null = null,
): boolean {
  const { B, H, T, D } = spec;
  if (rt.softwareAdapter) return false;
  if (![q, k, v, out, ...(lse ? [lse] : [])].every((b) => fitsWhole(rt, b)) || (keyMask && !fitsWhole(rt, keyMask))) return false;
  if (Math.ceil(D / LANES) > 32) return false;
  const drop = dropping(spec);
  const t = attentionTiles(D, rt.limits.maxComputeWorkgroupStorageSize, drop);
  const gx = Math.ceil(T / t.BQ);
  const gy = B * H;
  if (gx > rt.maxGroupsPerDim || gy > rt.maxGroupsPerDim) return false;
  if (B * H * T * D === 0) return true;
  const kern = rt.kernel({ file: 'attention.wgsl', entry: 'attention', bindings: 'rrrrww', constants: { BQ: t.BQ, LANES, BKV: t.BKV, DPT: t.DPT, MS: drop ? t.BQ * t.BKV : 1 } });
  const scratch = lse ? null : rt.alloc(16);
  rt.dispatch(kern, [q, k, v, keyMask ?? q, out, lse ?? scratch!], (w) => writeParams(w, spec, keyMask !== null, maskFloat, layouts, lse !== null), gx, gy);
  if (scratch) rt.release(scratch);
  return true;
}

/** scores = q k^T (batched over B*H), p = masked softmax(scale * scores) (dropped), out = p v. */
function runAttentionUnfused(
  rt: Runtime,
  q: Binding,
  k: Binding,
  v: Binding,
  keyMask: Binding | null,
  maskFloat: boolean,
  spec: AttentionRun,
  out: Binding,
): void {
  const { B, H, T, D } = spec;
  const BH = B * H;
  const scores = rt.alloc(BH * T * T * 4);
  runMatmul(rt, q, k, { batch: [BH], aBatchStrides: [T * D], bBatchStrides: [T * D], M: T, K: D, N: T, transA: false, transB: true }, scores);
  const probs = rt.alloc(BH * T * T * 4);
  runMaskedSoftmax(rt, scores, keyMask, maskFloat, spec, probs);
  rt.release(scores);
  runMatmul(rt, probs, v, { batch: [BH], aBatchStrides: [T * T], bBatchStrides: [T * D], M: T, K: T, N: D, transA: false, transB: false }, out);
  rt.release(probs);
}

/**
 * p [B, H, T, T] = softmax over keys of scale * scores with the causal / window / key-padding masks
 * computed in the kernel from indices (masked keys and rows with no visible key are 0), times the
 * dropout keep factors when spec.dropout > 0. Scores larger than one binding are processed a block
 * of sequences at a time. `spec.D` is not used.
 */
export function runMaskedSoftmax(
  rt: Runtime,
  scores: Binding,
  keyMask: Binding | null,
  maskFloat: boolean,
  spec: AttentionRun,
  probs: Binding,
): void {
  const { B, H, T } = spec;
  if (B * H * T === 0) return;
  if (!fitsWhole(rt, scores) || !fitsWhole(rt, probs) || (keyMask && !fitsWhole(rt, keyMask))) {
    const per = H * T * T;
    const a = alignedRowStep(per);
    const m = alignedRowStep(T);
    const step = (a * m) / gcd(a, m);
    const nb = floorTo(Math.floor(windowElems(rt) / per), step);
    if (nb === 0) {
      throw new Error(`webgpu maskedSoftmax: ${step} sequence(s) of [${H}, ${T}, ${T}] scores do not fit one ${rt.maxBindingBytes}-byte binding`);
    }
    for (let b0 = 0; b0 < B; b0 += nb) {
      const n = Math.min(nb, B - b0);
      const dropBase = (spec.dropBase ?? 0) + b0 * per;
      runMaskedSoftmax(rt, windowOf(scores, b0 * per, n * per), keyMask ? windowOf(keyMask, b0 * T, n * T) : null, maskFloat, { ...spec, B: n, dropBase }, windowOf(probs, b0 * per, n * per));
    }
    return;
  }
  const WG_SM = rowWorkgroup(T, rt.softwareAdapter);
  const sm = rt.kernel({ file: 'attention.wgsl', entry: 'masked_softmax', bindings: 'r--rw', constants: { WG_SM } });
  const [gx, gy] = rt.grid(B * H * T);
  rt.dispatch(sm, [scores, keyMask ?? scores, probs], (w) => writeParams(w, spec, keyMask !== null, maskFloat), gx, gy);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Tiles of the fused backward (shaders/attention_backward.wgsl) for head dim D, or null when none fits. */
export function attentionBackwardTiles(D: number, sharedLimit: number): { BQ: number; BKV: number; DPT: number } | null {
  const DPT = Math.max(1, Math.ceil(D / LANES));
  if (DPT > 32) return null;
  const DP = DPT * LANES;
  for (const BQ of [16, 8]) {
    for (const BKV of [32, 16, 8]) {
      const floats = 2 * BQ * DP + 2 * BKV * (DP + 1) + 2 * BQ * BKV + 2 * BKV + BQ * LANES;
      if (4 * floats <= sharedLimit) return { BQ, BKV, DPT };
    }
  }
  return null;
}

/**
 * Fused first-order attention backward: dq, dk, dv [B, H, T, D] from q, k, v, the forward output
 * and its gradient g, in two dispatches (dq with the row logsumexp and g·out, then dk / dv over key
 * blocks), the dropout mask recomputed in both. Returns false (nothing recorded) where it does not apply: the software kernel family,
 * operands larger than one binding, or a head dim whose tiles do not fit workgroup memory.
 */
export function runAttentionBackward(
  rt: Runtime,
  q: Binding,
  k: Binding,
  v: Binding,
  o: Binding,
  g: Binding,
  keyMask: Binding | null,
  maskFloat: boolean,
  spec: AttentionSpec,
  dq: Binding,
  dk: Binding,
  dv: Binding | null,
  layouts?: readonly HeadLayout[],
  lse: Binding | null = null,
): boolean {
  const { B, H, T, D } = spec;
  if (rt.softwareAdapter) return false;
  if (![q, k, v, o, g, dq, dk, ...(dv ? [dv] : [])].every((b) => fitsWhole(rt, b)) || (keyMask && !fitsWhole(rt, keyMask))) return false;
  const t = attentionBackwardTiles(D, rt.limits.maxComputeWorkgroupStorageSize);
  if (!t) return false;
  const gx = Math.ceil(T / t.BQ);
  const gy = B * H;
  if (gx > rt.maxGroupsPerDim || gy > rt.maxGroupsPerDim) return false;
  if (B * H * T * D === 0) return true;
  const constants = { BQ: t.BQ, LANES, BKV: t.BKV, DPT: t.DPT };
  const c = contiguousHeads(spec);
  const ls = layouts ?? [c, c, c, c, c, c, c, c];
  // dv null: dk and dv are written into the one dk binding (a packed gradient); a scratch buffer fills the dv slot.
  const kvSame = dv === null;
  const stats = rt.alloc(2 * B * H * T * 4);
  const scratch = kvSame ? rt.alloc(16) : null;
  const kdq = rt.kernel({ file: 'attention_backward.wgsl', entry: 'attention_bwd_dq', bindings: 'rrrrrrww---r', constants });
  // without the forward's lse, q fills its (read-only, unread) slot
  rt.dispatch(kdq, [q, k, v, keyMask ?? q, o, g, dq, stats, lse ?? q], (w) => writeParams(w, spec, keyMask !== null, maskFloat, ls, kvSame, lse !== null), gx, gy);
  const kdkv = rt.kernel({ file: 'attention_backward.wgsl', entry: 'attention_bwd_dkv', bindings: 'rrrr-r--rww', constants });
  rt.dispatch(kdkv, [q, k, v, keyMask ?? q, g, stats, dk, dv ?? scratch!], (w) => writeParams(w, spec, keyMask !== null, maskFloat, ls, kvSame), gx, gy);
  rt.release(stats);
  if (scratch) rt.release(scratch);
  return true;
}
