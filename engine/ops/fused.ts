// Fused ops: one fast kernel forward; the gradient is a vjp made of engine ops (so double backward
// works). Each has a composite fallback built from primitives, tested to agree in values and gradients;
// an optional kernel runs only where hasKernel (engine/op-table) says so, else the composite.

import type { Storage } from '../backend.js';
import { hasKernel } from '../op-table/fallback.js';
import { isGradEnabled, noGrad } from '../scope.js';
import { Tensor, shapeStr } from '../tensor.js';
import { add, addScalar, cast, exp, mul, mulScalar, ne, neg, rsqrt, sub } from './elementwise.js';
import { oneHot } from './indexing.js';
import { matmul } from './matmul.js';
import { concat, expand, permute, reshape, slice } from './movement.js';
import { assertFloat, assertInt, record, storages } from './record.js';
import { logsumexp, mean, sum } from './reduce.js';
import { full, fullLike, tensor } from './creation.js';
import { dropout as dropoutOp } from './nn.js';
import { dropThreshold } from '../random.js';

function rowsOf(op: string, x: Tensor): [number, number] {
  if (x.rank < 1) throw new Error(`${op}: needs at least 1 dim, got a scalar`);
  const C = x.shape[x.rank - 1]!;
  return [x.size / Math.max(C, 1), C];
}

/** softmax over the last dim. */
export function softmax(x: Tensor): Tensor {
  const [xs] = storages('softmax', x);
  assertFloat('softmax', x);
  const [R, C] = rowsOf('softmax', x);
  return record('softmax', x.backend.softmax(xs!, R, C), x.shape, [x], (g, y) => [softmaxVjp(g, y)]);
}

/** y·(g − Σ g·y) over the last dim: one fused kernel when the backward is not being recorded. */
function softmaxVjp(g: Tensor, y: Tensor): Tensor {
  if (!isGradEnabled()) {
    const [ys, gs] = storages('softmaxBackward', y, g);
    const C = y.shape[y.rank - 1]!;
    return record('softmaxBackward', y.backend.softmaxBackward(ys!, gs!, y.size / Math.max(C, 1), C), y.shape, [y, g], null);
  }
  return mul(y, sub(g, sum(mul(g, y), -1, true)));
}

/** log softmax over the last dim. */
export function logSoftmax(x: Tensor): Tensor {
  const [xs] = storages('logSoftmax', x);
  assertFloat('logSoftmax', x);
  const [R, C] = rowsOf('logSoftmax', x);
  return record('logSoftmax', x.backend.logSoftmax(xs!, R, C), x.shape, [x], (g, y) => [sub(g, mul(exp(y), sum(g, -1, true)))]);
}

export function softmaxComposite(x: Tensor): Tensor {
  return exp(sub(x, logsumexp(x, -1, true)));
}
export function logSoftmaxComposite(x: Tensor): Tensor {
  return sub(x, logsumexp(x, -1, true));
}

/** Layer norm over the last dim with weight and bias [C] (biased variance, as PyTorch). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const [xs, ws, bs] = storages('layerNorm', x, weight, bias);
  assertFloat('layerNorm', x);
  const [R, C] = rowsOf('layerNorm', x);
  if (weight.rank !== 1 || weight.shape[0] !== C || bias.rank !== 1 || bias.shape[0] !== C) {
    throw new Error(`layerNorm: weight ${shapeStr(weight.shape)} and bias ${shapeStr(bias.shape)} must be [${C}] for input ${shapeStr(x.shape)}`);
  }
  const out = x.backend.layerNorm(xs!, ws!, bs!, R, C, eps);
  return record('layerNorm', out, x.shape, [x, weight, bias], (g) => {
    // One fused kernel for dx, dw and db; recorded (createGraph), the three results are
    // differentiable ops whose vjps are written in ops (layerNormGrad), so second order stays exact.
    if (layerNormKernel(x, weight, g)) return layerNormGrad(x, weight, g, eps);
    const xc = sub(x, mean(x, -1, true));
    const rstd = rsqrt(addScalar(mean(mul(xc, xc), -1, true), eps));
    const xhat = mul(xc, rstd);
    const dxhat = mul(g, weight);
    const dx = mul(rstd, sub(sub(dxhat, mean(dxhat, -1, true)), mul(xhat, mean(mul(dxhat, xhat), -1, true))));
    const lead = Array.from({ length: x.rank - 1 }, (_, i) => i);
    return [dx, sum(mul(g, xhat), lead), sum(g, lead)];
  });
}

/** The backend's layerNormBackward applies (float32, or float64 where the backend has it). */
function layerNormKernel(x: Tensor, w: Tensor, g: Tensor): boolean {
  if (!hasKernel(x.backend, 'layerNormBackward') || g.dtype !== x.dtype || w.dtype !== x.dtype) return false;
  return x.dtype === 'float32' || (x.dtype === 'float64' && x.backend.supportsDType('float64'));
}

/**
 * The layer-norm gradients [dx, dw, db] for cotangent g, from one kernel. Not recorded: plain
 * values. Recorded: each result is a differentiable op. With x̂ = (x − μ)·r, r = (σ² + ε)^−½,
 * ĝ = g·w, P v = v − mean v − x̂·mean(v x̂) (rows), and LNdx(v) = r·P v (the dx of unit weight):
 *   dx = LNdx(ĝ),  dw = Σ_rows g x̂,  db = Σ_rows g;
 * vjp of dx at u: ḡ = w·LNdx(u), w̄ = Σ_rows g·LNdx(u),
 *   x̄ = −LNdx(r·(mean(ĝ x̂)·u + mean(u x̂)·ĝ)) − r·mean(u·dx)·x̂;
 * vjp of dw at a: ḡ = a·x̂, x̄ = LNdx(a·g);  vjp of db at c: ḡ = c.
 */
function layerNormGrad(x: Tensor, w: Tensor, g: Tensor, eps: number): Tensor[] {
  const [xs, ws, gs] = storages('layerNormBackward', x, w, g);
  const [R, C] = rowsOf('layerNormBackward', x);
  const [dxs, dws, dbs] = x.backend.layerNormBackward!(xs!, ws!, gs!, R, C, eps);
  if (!isGradEnabled()) {
    return [
      record('layerNormBackward', dxs, x.shape, [x, w, g], null),
      record('layerNormBackward', dws, w.shape, [x, w, g], null),
      record('layerNormBackward', dbs, w.shape, [x, w, g], null),
    ];
  }
  const lead = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const stats = () => {
    const xc = sub(x, mean(x, -1, true));
    const rstd = rsqrt(addScalar(mean(mul(xc, xc), -1, true), eps));
    return { xhat: mul(xc, rstd), rstd };
  };
  const project = (v: Tensor) => layerNormGrad(x, fullLike(w, 1), v, eps)[0]!; // LNdx(v), differentiable
  const dx = record('layerNormBackward', dxs, x.shape, [x, w, g], (u, dxOut) => {
    if (!isGradEnabled() && hasKernel(x.backend, 'layerNormGradBackward') && u.dtype === x.dtype) {
      // Not recorded: one fused kernel (values only).
      const [xs2, ws2, gs2, dxs2, us] = storages('layerNormGradBackward', x, w, g, dxOut, u);
      const [xb, gb, wb] = x.backend.layerNormGradBackward!(xs2!, ws2!, gs2!, dxs2!, us!, R, C, eps);
      return [
        record('layerNormGradBackward', xb, x.shape, [x, w, g, u], null),
        record('layerNormGradBackward', wb, w.shape, [x, w, g, u], null),
        record('layerNormGradBackward', gb, g.shape, [x, w, g, u], null),
      ];
    }
    const { xhat, rstd } = stats();
    const gh = mul(g, w);
    const t = project(u);
    const m2 = mean(mul(gh, xhat), -1, true);
    const k = mean(mul(u, xhat), -1, true);
    const s = mean(mul(u, dxOut), -1, true);
    const xBar = neg(add(project(mul(add(mul(u, m2), mul(gh, k)), rstd)), mul(xhat, mul(rstd, s))));
    return [xBar, sum(mul(g, t), lead), mul(t, w)];
  });
  // x̂ for dw's vjp: the layer-norm kernel with unit weight and zero bias (differentiable in x).
  const xhatOf = () => layerNorm(x, fullLike(w, 1), fullLike(w, 0), eps);
  const dw = record('layerNormBackward', dws, w.shape, [x, w, g], (a) => {
    if (!isGradEnabled() && hasKernel(x.backend, 'layerNormWeightGradBackward') && a.dtype === x.dtype) {
      // Not recorded: one fused kernel (values only).
      const [xs2, gs2, as] = storages('layerNormWeightGradBackward', x, g, a);
      const [xb, gb] = x.backend.layerNormWeightGradBackward!(xs2!, gs2!, as!, R, C, eps);
      return [record('layerNormWeightGradBackward', xb, x.shape, [x, g, a], null), null, record('layerNormWeightGradBackward', gb, g.shape, [x, g, a], null)];
    }
    return [project(mul(g, a)), null, mul(xhatOf(), a)];
  });
  const db = record('layerNormBackward', dbs, w.shape, [x, w, g], (c) => [null, null, expand(c, g.shape)]);
  return [dx, dw, db];
}

export function layerNormComposite(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const xc = sub(x, mean(x, -1, true));
  const v = mean(mul(xc, xc), -1, true);
  return add(mul(mul(xc, rsqrt(addScalar(v, eps))), weight), bias);
}

/**
 * Per-token cross entropy: logits [..., V], int32 labels [...] → losses [...]
 * (logsumexp - logit[label]); positions whose label is ignoreIndex give 0 and no gradient.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor {
  const [ls, ys] = storages('crossEntropy', logits, labels);
  assertFloat('crossEntropy', logits);
  assertInt('crossEntropy', labels);
  const [R, V] = rowsOf('crossEntropy', logits);
  const lead = logits.shape.slice(0, -1);
  if (labels.rank !== lead.length || labels.shape.some((d, i) => d !== lead[i])) {
    throw new Error(`crossEntropy: labels ${shapeStr(labels.shape)} must match logits ${shapeStr(logits.shape)} without the last dim`);
  }
  if (labels.hostInt) {
    labels.hostInt.forEach((v, i) => {
      if (v !== ignoreIndex && (v < 0 || v >= V)) throw new Error(`crossEntropy: label ${v} at position ${i} is out of range [0, ${V}) (ignore index ${ignoreIndex})`);
    });
  }
  const out = logits.backend.crossEntropy(ls!, ys!, R, V, ignoreIndex);
  return record('crossEntropy', out, lead, [logits, labels], (g) => [crossEntropyGrad(logits, labels, g, ignoreIndex), null]);
}

/**
 * The gradient of crossEntropy as one differentiable op: (softmax(logits) − onehot(labels)) · g per
 * row, 0 on rows whose label is the ignore index. One fused kernel forward, so a recorded (create-
 * graph) backward keeps one [.., V] tensor instead of five; its own vjp recomputes the softmax:
 *   d/dlogits = g · valid · softmaxVjp(u, p),   d/dg = Σ_c u · (p − onehot) · valid.
 */
function crossEntropyGrad(logits: Tensor, labels: Tensor, g: Tensor, ignoreIndex: number): Tensor {
  const [ls, ys, gs] = storages('crossEntropyBackward', logits, labels, g);
  const [R, V] = rowsOf('crossEntropyBackward', logits);
  const lead = logits.shape.slice(0, -1);
  const out = logits.backend.crossEntropyBackward(ls!, ys!, gs!, R, V, ignoreIndex);
  return record('crossEntropyBackward', out, logits.shape, [logits, labels, g], (u) => {
    if (!isGradEnabled() && hasKernel(logits.backend, 'crossEntropyGradBackward') && u.dtype === logits.dtype && g.dtype === logits.dtype) {
      // Not recorded: one fused kernel (the softmax recomputed inside; no [.., V] temporaries).
      const [ls2, ys2, gs2, us] = storages('crossEntropyGradBackward', logits, labels, g, u);
      const [xb, gb] = logits.backend.crossEntropyGradBackward!(ls2!, ys2!, gs2!, us!, R, V, ignoreIndex);
      return [record('crossEntropyGradBackward', xb, logits.shape, [logits, g, u], null), null, record('crossEntropyGradBackward', gb, lead, [logits, g, u], null)];
    }
    const dtype = logits.dtype === 'float64' ? 'float64' : 'float32';
    const valid = cast(ne(labels, full([], ignoreIndex, { dtype: 'int32', device: labels.device })), dtype); // [...lead]
    const p = softmax(logits);
    const dLogits = mul(softmaxVjp(u, p), reshape(mul(g, valid), [...lead, 1]));
    const dg = sum(mul(u, crossEntropyGrad(logits, labels, fullLike(g, 1), ignoreIndex)), -1);
    return [dLogits, null, dg];
  });
}

export function crossEntropyComposite(logits: Tensor, labels: Tensor, _ignoreIndex = -100): Tensor {
  const V = logits.shape[logits.rank - 1]!;
  const hot = oneHot(labels, V, logits.dtype === 'float64' ? 'float64' : 'float32');
  const valid = sum(hot, -1);
  return sub(mul(logsumexp(logits, -1), valid), sum(mul(logits, hot), -1));
}

export interface AttentionOptions {
  /** Score scale; default 1/sqrt(D). */
  scale?: number;
  causal?: boolean;
  /** Local attention window (query i sees keys j with i - j < window); 0 = unlimited. */
  window?: number;
  /** Key padding mask [B, T]: 1 = real token, 0 = pad. */
  keyMask?: Tensor | null;
  /**
   * Dropout rate on the probabilities (0 = none; pass it only in training): the [B, H, T, T]
   * probabilities get E.dropout(p, dropout, seed)'s mask — element ((b·H + h)·T + i)·T + j — so
   * the fused kernels and the composite drop the same entries.
   */
  dropout?: number;
  /** Seed of the dropout mask (u32). */
  seed?: number;
}

/** The spec's dropout fields from the options, checked (rate in [0, 1), an integer seed). */
function dropoutSpec(op: string, opts: AttentionOptions): { dropout: number; seed: number } {
  const p = opts.dropout ?? 0;
  try {
    dropThreshold(p);
  } catch (e) {
    throw new Error(`${op}: ${(e as Error).message}`);
  }
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`${op}: dropout seed must be an integer, got ${seed}`);
  return { dropout: p, seed: seed >>> 0 };
}

/** E.dropout of [B, H, T, T] probabilities (or their gradient) with the options' rate and seed. */
function dropProbs(x: Tensor, opts: AttentionOptions): Tensor {
  const { dropout, seed } = dropoutSpec('attention', opts);
  return dropout > 0 ? dropoutOp(x, dropout, seed) : x;
}

/** Visibility mask [B, 1, T, T] (1 = key visible), built from causal/window (host) and the key mask. */
export function attentionAllowed(q: Tensor, opts: AttentionOptions): Tensor {
  const [B, , T] = q.shape as [number, number, number, number];
  const causal = opts.causal ?? true;
  const window = opts.window ?? 0;
  const vis = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) vis[i * T + j] = (!causal || j <= i) && (window === 0 || i - j < window) ? 1 : 0;
  }
  const dtype = q.dtype === 'float64' ? 'float64' : 'float32';
  const base = tensor(vis, [1, 1, T, T], { dtype, device: q.device });
  if (!opts.keyMask) return expand(base, [B, 1, T, T]);
  return mul(base, reshape(opts.keyMask, [B, 1, 1, T]));
}

function attentionParts(q: Tensor, k: Tensor, opts: AttentionOptions): { p: Tensor; scale: number } {
  const D = q.shape[3]!;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const allowed = noGrad(() => attentionAllowed(q, opts));
  const s = mulScalar(matmul(q, k, { transB: true }), scale); // [B, H, T, T]
  const neg = noGrad(() => mulScalar(addScalar(allowed, -1), 1e30)); // 0 where visible, -1e30 where not
  const masked = add(s, neg);
  // Rows with no visible key become all-zero (matching the fused kernel).
  const p = dropProbs(mul(softmax(masked), allowed), opts); // [B, H, T, T], dropped when opts.dropout > 0
  return { p, scale };
}

/**
 * Attention probabilities p [B, H, T, T] from scores s = q kᵀ: softmax over keys of scale · s with
 * the causal / window / key-padding masks, masked keys and rows with no visible key 0. One kernel
 * with the masks computed from indices where the backend has it (no mask tensors, nothing from the
 * host); else the composite with a visibility tensor. Differentiable to any order in s.
 */
export function maskedSoftmax(s: Tensor, opts: AttentionOptions & { scale: number }): Tensor {
  const [B, H, T, T2] = s.shape as [number, number, number, number];
  if (s.rank !== 4 || T !== T2) throw new Error(`maskedSoftmax: scores must be [B, H, T, T], got ${shapeStr(s.shape)}`);
  const km = opts.keyMask ?? null;
  const b = s.backend;
  if (!hasKernel(b, 'maskedSoftmax') || s.dtype !== 'float32' || (km && km.dtype === 'float64')) return maskedSoftmaxComposite(s, opts);
  const ss = storages('maskedSoftmax', s, ...(km ? [km] : []));
  const spec = { B, H, T, D: 0, scale: opts.scale, causal: opts.causal ?? true, window: opts.window ?? 0 };
  const p = b.maskedSoftmax(ss[0]!, km ? ss[1]! : null, spec);
  return record('maskedSoftmax', p, s.shape, [s], (g, y) => [mulScalar(softmaxVjp(g, y), opts.scale)]);
}

/** maskedSoftmax from primitives: a visibility tensor, the masked scores' softmax, masked keys zeroed. */
export function maskedSoftmaxComposite(s: Tensor, opts: AttentionOptions & { scale: number }): Tensor {
  const allowed = noGrad(() => attentionAllowed(s, opts));
  const neg = noGrad(() => mulScalar(addScalar(allowed, -1), 1e30)); // 0 where visible, -1e30 where not
  return mul(softmax(add(mulScalar(s, opts.scale), neg)), allowed);
}

function checkAttention(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor | null | undefined): void {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4 || q.shape.some((d, i) => d !== k.shape[i] || d !== v.shape[i])) {
    throw new Error(`attention: q, k, v must all be [B, H, T, D], got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`);
  }
  if (keyMask && (keyMask.rank !== 2 || keyMask.shape[0] !== q.shape[0] || keyMask.shape[1] !== q.shape[2])) {
    throw new Error(`attention: keyMask ${shapeStr(keyMask.shape)} must be [B, T] = [${q.shape[0]}, ${q.shape[2]}]`);
  }
}

/** Composite causal self-attention: dropout(softmax(q kᵀ · scale + mask)) v, all from primitives. */
export function attentionComposite(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  checkAttention(q, k, v, opts.keyMask);
  const { p } = attentionParts(q, k, opts);
  return matmul(p, v);
}

/**
 * Fused scaled dot-product attention over q, k, v [B, H, T, D] with causal/window/key-padding masks
 * and optional dropout on the probabilities (the counter-hash mask, replayed from the seed by the
 * backward). Gradient: one fused kernel when not recorded; recorded, the probabilities recomputed
 * with ops (maskedSoftmax, E.dropout), so it is differentiable to any order.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  checkAttention(q, k, v, opts.keyMask);
  const km = opts.keyMask ?? null;
  const ss = storages('attention', q, k, v, ...(km ? [km] : []));
  assertFloat('attention', q);
  const [B, H, T, D] = q.shape as [number, number, number, number];
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const spec = { B, H, T, D, scale, causal: opts.causal ?? true, window: opts.window ?? 0, ...dropoutSpec('attention', opts) };
  const out = q.backend.attention(ss[0]!, ss[1]!, ss[2]!, (km ? ss[3] : null) as Storage | null, spec);
  return record('attention', out, q.shape, [q, k, v], (g, o) => {
    if (!isGradEnabled() && hasKernel(q.backend, 'attentionBackward') && g.dtype === q.dtype) {
      // Not recorded: one fused backward (probabilities and the dropout mask recomputed inside, never stored).
      const [qs, ks, vs, os, gs, ...ms] = storages('attentionBackward', q, k, v, o, g, ...(km ? [km] : []));
      const grads = q.backend.attentionBackward!(qs!, ks!, vs!, os!, gs!, km ? ms[0]! : null, spec);
      if (grads) return grads.map((s) => record('attentionBackward', s, q.shape, [q, k, v, g], null));
    }
    return attentionVjp(q, k, v, g, opts, scale);
  });
}

/**
 * The attention vjp in ops (differentiable to any order): [dq, dk, dv] for g = d out. With dropout
 * (w = the mask E.dropout applies, M/(1 − r)): out = (p·w) v, so dv = (p·w)ᵀ g and the gradient of
 * the undropped p is w·(g vᵀ) — both E.dropout with the forward's seed (the mask is made on the
 * device from the seed; no host tensor).
 */
function attentionVjp(q: Tensor, k: Tensor, v: Tensor, g: Tensor, opts: AttentionOptions, scale: number): Tensor[] {
  const p = maskedSoftmax(matmul(q, k, { transB: true }), { ...opts, scale }); // [B, H, T, T] undropped
  const dv = matmul(dropProbs(p, opts), g, { transA: true });
  const dp = dropProbs(matmul(g, v, { transB: true }), opts);
  const ds = mulScalar(softmaxVjp(dp, p), scale);
  return [matmul(ds, k), matmul(ds, q, { transA: true }), dv];
}

/** [B, T, H·D] → [B, H, T, D] */
function splitHeadsOf(x: Tensor, H: number): Tensor {
  const [B, T, C] = x.shape as [number, number, number];
  return permute(reshape(x, [B, T, H, C / H]), [0, 2, 1, 3]);
}
/** [B, H, T, D] → [B, T, H·D] */
function mergeHeadsOf(x: Tensor): Tensor {
  const [B, H, T, D] = x.shape as [number, number, number, number];
  return reshape(permute(x, [0, 2, 1, 3]), [B, T, H * D]);
}

function packedShape(qkv: Tensor, H: number): [number, number, number] {
  const [B, T, C3] = qkv.shape as [number, number, number];
  if (qkv.rank !== 3 || C3 % 3 !== 0 || !Number.isInteger(H) || H < 1 || (C3 / 3) % H !== 0) {
    throw new Error(`attentionPacked: qkv must be [B, T, 3 C] with C a multiple of ${H} heads, got ${shapeStr(qkv.shape)}`);
  }
  return [B, T, C3 / 3];
}

/** The packed projection's q, k, v heads [B, H, T, D]: one permute to [3, B, H, T, D], three leading slices. */
function unpackHeads(qkv: Tensor, H: number): [Tensor, Tensor, Tensor] {
  const [B, T, C] = packedShape(qkv, H);
  const D = C / H;
  const all = permute(reshape(qkv, [B, T, 3, H, D]), [2, 0, 3, 1, 4]);
  const part = (i: number) => reshape(slice(all, [i, 0, 0, 0, 0], [i + 1, B, H, T, D]), [B, H, T, D]);
  return [part(0), part(1), part(2)];
}

/** dq, dk, dv [B, H, T, D] → the packed gradient [B, T, 3 H D] (stacked, one permute). */
function packHeads(dq: Tensor, dk: Tensor, dv: Tensor): Tensor {
  const [B, H, T, D] = dq.shape as [number, number, number, number];
  const st = concat([dq, dk, dv].map((t) => reshape(t, [1, B, H, T, D])), 0); // [3, B, H, T, D]
  return reshape(permute(st, [1, 3, 0, 2, 4]), [B, T, 3 * H * D]);
}

/** attentionPacked from primitives: slice q | k | v, split the heads, attention, merge the heads. */
export function attentionPackedComposite(qkv: Tensor, H: number, opts: AttentionOptions = {}): Tensor {
  const [q, k, v] = unpackHeads(qkv, H);
  return mergeHeadsOf(attention(q, k, v, opts));
}

function rowsShape(q: Tensor, k: Tensor, v: Tensor, H: number): [number, number, number] {
  const [B, T, C] = q.shape as [number, number, number];
  if (q.rank !== 3 || [k, v].some((t) => t.rank !== 3 || t.shape.some((d, i) => d !== q.shape[i])) || !Number.isInteger(H) || H < 1 || C % H !== 0) {
    throw new Error(`attentionRows: q, k, v must all be [B, T, C] with C a multiple of ${H} heads, got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`);
  }
  return [B, T, C];
}

/** attentionRows from primitives: split the heads, attention, merge the heads. */
export function attentionRowsComposite(q: Tensor, k: Tensor, v: Tensor, H: number, opts: AttentionOptions = {}): Tensor {
  rowsShape(q, k, v, H);
  return mergeHeadsOf(attention(splitHeadsOf(q, H), splitHeadsOf(k, H), splitHeadsOf(v, H), opts));
}

/**
 * Causal self-attention over H heads of q, k, v [B, T, C] (head h at columns h·C/H, as a linear
 * projection makes them), output [B, T, C] with the heads merged: the kernels read and write the
 * heads in place where the backend has them (no permutes), else (and for a recorded backward) the
 * composite. Equal to attentionRowsComposite.
 */
export function attentionRows(q: Tensor, k: Tensor, v: Tensor, H: number, opts: AttentionOptions = {}): Tensor {
  const [B, T, C] = rowsShape(q, k, v, H);
  const km = opts.keyMask ?? null;
  if (km && (km.rank !== 2 || km.shape[0] !== B || km.shape[1] !== T)) {
    throw new Error(`attentionRows: keyMask ${shapeStr(km.shape)} must be [B, T] = [${B}, ${T}]`);
  }
  assertFloat('attentionRows', q);
  const D = C / H;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const spec = { B, H, T, D, scale, causal: opts.causal ?? true, window: opts.window ?? 0, ...dropoutSpec('attentionRows', opts) };
  const b = q.backend;
  if (!hasKernel(b, 'attentionRows') || q.dtype !== 'float32' || km?.dtype === 'float64') return attentionRowsComposite(q, k, v, H, opts);
  const ss = storages('attentionRows', q, k, v, ...(km ? [km] : []));
  const made = b.attentionRows(ss[0]!, ss[1]!, ss[2]!, km ? ss[3]! : null, spec);
  if (!made) return attentionRowsComposite(q, k, v, H, opts);
  // The row logsumexp: an intermediate of the forward (same scope and lifetime); recomputed if gone.
  const lse = new Tensor(made[1], [B * H * T], b);
  if (!isGradEnabled() || ![q, k, v].some((t) => t.requiresGrad)) lse.dispose(); // no backward will read it
  return record('attentionRows', made[0], [B, T, C], [q, k, v], (g, o) => {
    if (!isGradEnabled() && hasKernel(b, 'attentionRowsBackward') && g.dtype === 'float32') {
      const gs = storages('attentionRowsBackward', q, k, v, o, g, ...(km ? [km] : []));
      const d = b.attentionRowsBackward!(gs[0]!, gs[1]!, gs[2]!, gs[3]!, gs[4]!, lse.isDisposed ? null : lse.storageFor('attentionRowsBackward'), km ? gs[5]! : null, spec);
      if (d) return d.map((s) => record('attentionRowsBackward', s, q.shape, [q, k, v, g], null));
    }
    const grads = attentionVjp(splitHeadsOf(q, H), splitHeadsOf(k, H), splitHeadsOf(v, H), splitHeadsOf(g, H), opts, scale);
    return grads.map((t) => mergeHeadsOf(t));
  });
}

/**
 * Causal self-attention over H heads packed in one projection qkv [B, T, 3C] (q | k | v columns,
 * GPT-2's c_attn output), output [B, T, C] with the heads merged. One kernel reads the heads in
 * place and writes them merged where the backend has it (no slices or permutes), and the
 * first-order backward is one kernel writing the packed gradient; otherwise (and for a recorded
 * backward) the composite: slices, permutes, attention. Equal to attentionPackedComposite.
 */
export function attentionPacked(qkv: Tensor, H: number, opts: AttentionOptions = {}): Tensor {
  const [B, T, C] = packedShape(qkv, H);
  const km = opts.keyMask ?? null;
  if (km && (km.rank !== 2 || km.shape[0] !== B || km.shape[1] !== T)) {
    throw new Error(`attentionPacked: keyMask ${shapeStr(km.shape)} must be [B, T] = [${B}, ${T}]`);
  }
  assertFloat('attentionPacked', qkv);
  const D = C / H;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const spec = { B, H, T, D, scale, causal: opts.causal ?? true, window: opts.window ?? 0, ...dropoutSpec('attentionPacked', opts) };
  const b = qkv.backend;
  if (!hasKernel(b, 'attentionPacked') || qkv.dtype !== 'float32' || km?.dtype === 'float64') return attentionPackedComposite(qkv, H, opts);
  const ss = storages('attentionPacked', qkv, ...(km ? [km] : []));
  const made = b.attentionPacked(ss[0]!, km ? ss[1]! : null, spec);
  if (!made) return attentionPackedComposite(qkv, H, opts);
  // The row logsumexp: an intermediate of the forward (same scope and lifetime); recomputed if gone.
  const lse = new Tensor(made[1], [B * H * T], b);
  if (!isGradEnabled() || !qkv.requiresGrad) lse.dispose(); // no backward will read it
  return record('attentionPacked', made[0], [B, T, C], [qkv], (g, o) => {
    if (!isGradEnabled() && hasKernel(b, 'attentionPackedBackward') && g.dtype === 'float32') {
      const gs = storages('attentionPackedBackward', qkv, o, g, ...(km ? [km] : []));
      const d = b.attentionPackedBackward!(gs[0]!, gs[1]!, gs[2]!, lse.isDisposed ? null : lse.storageFor('attentionPackedBackward'), km ? gs[3]! : null, spec);
      if (d) return [record('attentionPackedBackward', d, qkv.shape, [qkv, g], null)];
    }
    const [q, k, v] = unpackHeads(qkv, H);
    const [dq, dk, dv] = attentionVjp(q, k, v, splitHeadsOf(g, H), opts, scale);
    return [packHeads(dq!, dk!, dv!)];
  });
}
