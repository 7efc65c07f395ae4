// Fused scaled-dot-product attention over q, k, v [B, H, T, D] with causal, local-window and
// key-padding masks. Scores, softmax and the weighted sum of values are computed in float64.
// Per query, the visible keys are listed first (causal / window rules bound the range, keyMask
// filters it); scores and the value sum then run four keys per pass, keeping each sum's order.
// Dropout (spec.dropout > 0): out_i = Σ_j p_ij · keep_ij · v_j with keep_ij = M_ij / (1 − p) from
// the counter hash (attention-dropout.ts); the softmax sum is over the undropped p.

import type { AttentionSpec, Storage, TypedArray } from '../backend.js';
import { attentionDrop, keepRow } from './attention-dropout.js';
import { allocArray, dataOf, requireFloat, requireSameDtype, requireSize } from './storage.js';

export function attention(
  q: Storage,
  k: Storage,
  v: Storage,
  keyMask: Storage | null,
  spec: AttentionSpec,
): TypedArray {
  const Q = dataOf(q, 'attention');
  const Kd = dataOf(k, 'attention');
  const Vd = dataOf(v, 'attention');
  const Mk = keyMask ? dataOf(keyMask, 'attention') : null;
  const { B, H, T, D, scale, causal, window } = spec;
  requireFloat(q, 'attention', 'q');
  requireSameDtype('attention', ['q', q], ['k', k], ['v', v]);
  const size = B * H * T * D;
  requireSize(q, size, 'attention', `q [${B}, ${H}, ${T}, ${D}]`);
  requireSize(k, size, 'attention', `k [${B}, ${H}, ${T}, ${D}]`);
  requireSize(v, size, 'attention', `v [${B}, ${H}, ${T}, ${D}]`);
  if (keyMask) requireSize(keyMask, B * T, 'attention', `keyMask [${B}, ${T}]`);
  if (!(Number.isInteger(window) && window >= 0)) {
    throw new Error(`cpu attention: window must be a non-negative integer, got ${window}`);
  }
  const drop = attentionDrop(spec, q.dtype, 'attention');
  const out = allocArray(q.dtype, size);
  const keep = new Float64Array(T); // dropout keep factor per key of the current query (1: no dropout)
  const w = new Float64Array(T); // keep factor per visible key, in the order of `keys`
  const scores = new Float64Array(T);
  const keys = new Int32Array(T); // storage offsets of the visible key / value rows of one query
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    const mo = b * T;
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * T * D;
      for (let i = 0; i < T; i++) {
        const qo = base + i * D;
        // keys outside [j0, j1) are masked by the causal / window rules; inside, only keyMask masks
        const j0 = window > 0 ? Math.max(0, i - window + 1) : 0;
        const j1 = causal ? i + 1 : T;
        let cnt = 0;
        keepRow(drop, (b * H + h) * T + i, T, keep);
        for (let j = j0; j < j1; j++) {
          if (Mk === null || Mk[mo + j] !== 0) {
            w[cnt] = keep[j]!;
            keys[cnt++] = base + j * D;
          }
        }
        if (cnt === 0) continue; // every key masked: output row stays 0
        // scores, four keys per pass (each dot product still sums over d in order)
        let m = -Infinity;
        let t = 0;
        for (; t + 3 < cnt; t += 4) {
          const k0 = keys[t], k1 = keys[t + 1], k2 = keys[t + 2], k3 = keys[t + 3];
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let d = 0; d < D; d++) {
            const x = Q[qo + d];
            s0 += x * Kd[k0 + d];
            s1 += x * Kd[k1 + d];
            s2 += x * Kd[k2 + d];
            s3 += x * Kd[k3 + d];
          }
          s0 *= scale;
          s1 *= scale;
          s2 *= scale;
          s3 *= scale;
          scores[t] = s0;
          scores[t + 1] = s1;
          scores[t + 2] = s2;
          scores[t + 3] = s3;
          if (s0 > m || s0 !== s0) m = s0;
          if (s1 > m || s1 !== s1) m = s1;
          if (s2 > m || s2 !== s2) m = s2;
          if (s3 > m || s3 !== s3) m = s3;
        }
        for (; t < cnt; t++) {
          const k0 = keys[t];
          let s = 0;
          for (let d = 0; d < D; d++) s += Q[qo + d] * Kd[k0 + d];
          s *= scale;
          scores[t] = s;
          if (s > m || s !== s) m = s;
        }
        // softmax-weighted sum of values, keys in order: acc = (((acc + p0 v0) + p1 v1) + p2 v2) + p3 v3
        acc.fill(0);
        let sum = 0;
        t = 0;
        for (; t + 3 < cnt; t += 4) {
          const p0 = Math.exp(scores[t] - m);
          const p1 = Math.exp(scores[t + 1] - m);
          const p2 = Math.exp(scores[t + 2] - m);
          const p3 = Math.exp(scores[t + 3] - m);
          sum = sum + p0 + p1 + p2 + p3;
          const a0 = p0 * w[t], a1 = p1 * w[t + 1], a2 = p2 * w[t + 2], a3 = p3 * w[t + 3]; // p · keep (= p without dropout)
          const v0 = keys[t], v1 = keys[t + 1], v2 = keys[t + 2], v3 = keys[t + 3];
          for (let d = 0; d < D; d++) acc[d] = acc[d] + a0 * Vd[v0 + d] + a1 * Vd[v1 + d] + a2 * Vd[v2 + d] + a3 * Vd[v3 + d];
        }
        for (; t < cnt; t++) {
          const p = Math.exp(scores[t] - m);
          sum += p;
          const a = p * w[t];
          const vo = keys[t];
          for (let d = 0; d < D; d++) acc[d] += a * Vd[vo + d];
        }
        for (let d = 0; d < D; d++) out[qo + d] = acc[d] / sum;
      }
    }
  }
  return out;
}
