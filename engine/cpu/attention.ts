// Fused scaled-dot-product attention over q, k, v [B, H, T, D] with causal, local-window and
// key-padding masks. Scores, softmax and the weighted sum of values are computed in float64.

import type { AttentionSpec, Storage, TypedArray } from '../backend.js';
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
  const out = allocArray(q.dtype, size);
  const scores = new Float64Array(T);
  const allowed = new Uint8Array(T);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * T * D;
      for (let i = 0; i < T; i++) {
        const qo = base + i * D;
        let m = -Infinity;
        let any = false;
        for (let j = 0; j < T; j++) {
          const ok =
            (!causal || j <= i) && (window === 0 || i - j < window) && (Mk === null || Mk[b * T + j] !== 0);
          allowed[j] = ok ? 1 : 0;
          if (!ok) continue;
          any = true;
          const ko = base + j * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += Q[qo + d] * Kd[ko + d];
          s *= scale;
          scores[j] = s;
          if (s > m || s !== s) m = s;
        }
        if (!any) continue; // every key masked: output row stays 0
        acc.fill(0);
        let sum = 0;
        for (let j = 0; j < T; j++) {
          if (!allowed[j]) continue;
          const p = Math.exp(scores[j] - m);
          sum += p;
          const vo = base + j * D;
          for (let d = 0; d < D; d++) acc[d] += p * Vd[vo + d];
        }
        for (let d = 0; d < D; d++) out[qo + d] = acc[d] / sum;
      }
    }
  }
  return out;
}
