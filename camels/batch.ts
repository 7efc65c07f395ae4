// Token batches on the host and on the device: ids [B, T] (right-padded), attention mask, and
// QA labels (−100 on question and pad tokens), as the CaMeLS reference builds them.

import * as E from '../engine/index.js';
import type { DType, DeviceName, Tensor } from '../engine/index.js';

export interface HostBatch {
  B: number;
  T: number;
  /** [B*T] token ids, right-padded with the pad id. */
  ids: number[];
  /** [B*T] 1 = real token, 0 = pad. */
  mask: number[];
  /** [B*T] target ids or −100 (QA batches; LM batches use ids where mask = 1). */
  labels?: number[];
}

/** Right-pad token lists to T (truncating longer ones) with padId. */
export function padBatch(seqs: number[][], T: number, padId: number): HostBatch {
  const B = seqs.length;
  const ids: number[] = [];
  const mask: number[] = [];
  for (const s of seqs) {
    const row = s.slice(0, T);
    for (let t = 0; t < T; t++) {
      ids.push(t < row.length ? row[t]! : padId);
      mask.push(t < row.length ? 1 : 0);
    }
  }
  return { B, T, ids, mask };
}

/**
 * QA sequences as the reference tokenises them: question tokens then ' ' + answer + EOS tokens,
 * padded to T; labels cover the answer tokens and EOS only.
 */
export function qaBatch(pairs: { question: number[]; answer: number[] }[], T: number, padId: number): HostBatch {
  const seqs = pairs.map((p) => [...p.question, ...p.answer]);
  const b = padBatch(seqs, T, padId);
  const labels: number[] = [];
  pairs.forEach((p, i) => {
    for (let t = 0; t < T; t++) {
      const inAnswer = t >= p.question.length && t < p.question.length + p.answer.length && b.mask[i * T + t] === 1;
      labels.push(inAnswer ? b.ids[i * T + t]! : -100);
    }
  });
  return { ...b, labels };
}

/** Rows [start, end) of a host batch. */
export function sliceBatch(b: HostBatch, start: number, end: number): HostBatch {
  const s = start * b.T;
  const e = end * b.T;
  return { B: end - start, T: b.T, ids: b.ids.slice(s, e), mask: b.mask.slice(s, e), labels: b.labels?.slice(s, e) };
}

/** Labels for predicting token t+1 from position t: [B*(T−1)], −100 where no target. */
export function shiftedTargets(b: HostBatch): number[] {
  const src = b.labels ?? b.ids.map((id, i) => (b.mask[i] ? id : -100));
  const out: number[] = [];
  for (let r = 0; r < b.B; r++) for (let t = 1; t < b.T; t++) out.push(src[r * b.T + t]!);
  return out;
}

export interface DeviceBatch {
  ids: Tensor; // [B, T] int32
  mask: Tensor; // [B, T] float
  targets: Tensor; // [B, T-1] int32
  host: HostBatch;
}

export function batchToDevice(b: HostBatch, dtype: DType, device: DeviceName): DeviceBatch {
  return {
    ids: E.tensor(b.ids, [b.B, b.T], { dtype: 'int32', device }),
    mask: E.tensor(b.mask, [b.B, b.T], { dtype, device }),
    targets: E.tensor(shiftedTargets(b), [b.B, b.T - 1], { dtype: 'int32', device }),
    host: b,
  };
}
