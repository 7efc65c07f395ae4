// Attention backward (reference loop, float64 math): dq, dk, dv [B, H, T, D] from q, k, v, the
// forward output and its gradient g, with the forward's causal / window / key-padding masks:
// p = softmax_j(scale q_i·k_j) over visible keys, D_i = g_i·out_i, ds_ij = p_ij (g_i·v_j − D_i),
// dq_i = scale Σ_j ds_ij k_j, dk_j = scale Σ_i ds_ij q_i, dv_j = Σ_i p_ij g_i.
// (What the webgpu gpu family's two fused kernels compute; the cpu backend uses it for float64.)
//
// With dropout (spec.dropout = r > 0) the forward is out_i = Σ_j p_ij w_ij v_j, w_ij = M_ij / (1 − r)
// (M the counter-hash keep mask, attention-dropout.ts). The gradient of the undropped
// probabilities is dp_ij = w_ij g_i·v_j, and the softmax vjp needs Σ_j p_ij dp_ij =
// Σ_j p_ij w_ij g_i·v_j = g_i·out_i — still D_i, from the (dropped) output. So
//   ds_ij = p_ij (w_ij g_i·v_j − D_i),  dv_j = Σ_i p_ij w_ij g_i,  dq, dk as above.

import type { AttentionSpec, Storage, TypedArray } from '../backend.js';
import { attentionDrop, keepRow } from './attention-dropout.js';
import { allocArray, dataOf, requireFloat, requireSameDtype, requireSize } from './storage.js';

export function attentionBackward(q: Storage, k: Storage, v: Storage, out: Storage, g: Storage, keyMask: Storage | null, spec: AttentionSpec): [TypedArray, TypedArray, TypedArray] {
  const op = 'attentionBackward';
  const { B, H, T, D, scale, causal, window } = spec;
  const size = B * H * T * D;
  for (const [s, what] of [[q, 'q'], [k, 'k'], [v, 'v'], [out, 'out'], [g, 'g']] as const) {
    requireFloat(s, op, what);
    requireSize(s, size, op, `${what} [${B}, ${H}, ${T}, ${D}]`);
  }
  requireSameDtype(op, ['q', q], ['k', k], ['v', v], ['out', out], ['g', g]);
  if (keyMask) requireSize(keyMask, B * T, op, `keyMask [${B}, ${T}]`);
  const Q = dataOf(q, op);
  const K = dataOf(k, op);
  const V = dataOf(v, op);
  const O = dataOf(out, op);
  const G = dataOf(g, op);
  const M = keyMask ? dataOf(keyMask, op) : null;
  const dq = new Float64Array(size);
  const dk = new Float64Array(size);
  const dv = new Float64Array(size);
  const p = new Float64Array(T);
  const drop = attentionDrop(spec, q.dtype, op);
  const keep = new Float64Array(T); // the row's dropout keep factors (1 without dropout)
  const visible = (b: number, i: number, j: number) =>
    (!causal || j <= i) && (window === 0 || i - j < window) && (M === null || M[b * T + j] !== 0);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * T * D;
      for (let i = 0; i < T; i++) {
        const qi = base + i * D;
        let m = -Infinity;
        for (let j = 0; j < T; j++) {
          if (!visible(b, i, j)) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += Q[qi + d]! * K[base + j * D + d]!;
          p[j] = s * scale;
          if (p[j]! > m) m = p[j]!;
        }
        if (m === -Infinity) continue; // no visible key: the output row was 0, so are its gradients
        let l = 0;
        for (let j = 0; j < T; j++) if (visible(b, i, j)) l += Math.exp(p[j]! - m);
        keepRow(drop, (b * H + h) * T + i, T, keep);
        let Di = 0;
        for (let d = 0; d < D; d++) Di += G[qi + d]! * O[qi + d]!;
        for (let j = 0; j < T; j++) {
          if (!visible(b, i, j)) continue;
          const pij = Math.exp(p[j]! - m) / l;
          const kj = base + j * D;
          let dp = 0;
          for (let d = 0; d < D; d++) dp += G[qi + d]! * V[kj + d]!;
          const wij = keep[j]!;
          const ds = pij * (wij * dp - Di);
          const pw = pij * wij;
          for (let d = 0; d < D; d++) {
            dq[qi + d] += scale * ds * K[kj + d]!;
            dk[kj + d] += scale * ds * Q[qi + d]!;
            dv[kj + d] += pw * G[qi + d]!;
          }
        }
      }
    }
  }
  const cast = (a: Float64Array) => {
    const t = allocArray(q.dtype, size);
    for (let i = 0; i < size; i++) t[i] = a[i]!;
    return t;
  };
  return [cast(dq), cast(dk), cast(dv)];
}
