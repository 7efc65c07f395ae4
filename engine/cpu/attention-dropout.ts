// Attention dropout on the cpu backends: the keep factors of one query row of the [B, H, T, T]
// probabilities, from the counter hash of engine/random.ts with E.dropout's element indexing
// (element ((b·H + h)·T + i)·T + j, wrapped to u32 as the hash does), so the fused loops drop
// exactly the probabilities the composite (maskedSoftmax, then E.dropout) drops.

import type { AttentionSpec, DType } from '../backend.js';
import { dropThreshold, hashU24 } from '../random.js';

export interface AttentionDrop {
  seed: number;
  /** Kept when hashU24(seed, element) >= threshold. */
  threshold: number;
  /** 1/(1 − p), rounded to the dtype (as E.dropout's mask is). */
  scale: number;
}

/** The dropout of spec (null when off), checked: p in [0, 1), errors naming the op. */
export function attentionDrop(spec: AttentionSpec, dtype: DType, op: string): AttentionDrop | null {
  const p = spec.dropout ?? 0;
  let threshold: number;
  try {
    threshold = dropThreshold(p);
  } catch (e) {
    throw new Error(`cpu ${op}: ${(e as Error).message}`);
  }
  if (p === 0) return null;
  const scale = dtype === 'float32' ? Math.fround(1 / (1 - p)) : 1 / (1 - p);
  return { seed: (spec.seed ?? 0) >>> 0, threshold, scale };
}

/** keep[j] (j < T) = drop.scale or 0 for query row `row` = (b·H + h)·T + i; all 1 without dropout. */
export function keepRow(drop: AttentionDrop | null, row: number, T: number, keep: Float64Array): void {
  if (!drop) {
    keep.fill(1, 0, T);
    return;
  }
  const first = Math.imul(row, T) >>> 0; // element index of (row, 0), mod 2^32
  for (let j = 0; j < T; j++) keep[j] = hashU24(drop.seed, (first + j) >>> 0) >= drop.threshold ? drop.scale : 0;
}
