// GPT-J rotary position embeddings: the first rotary_dim dims of each head rotated in interleaved
// pairs (x[2i], x[2i+1]) by angle pos / 10000^(2i / rotary_dim), as Hugging Face's GPT-J does.

import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

/** cos and sin tables [B, T, 1, rd], each frequency repeated for its pair, from host positions. */
export function rotaryTables(positions: number[][], rotaryDim: number, like: Tensor): { cos: Tensor; sin: Tensor } {
  const B = positions.length;
  const T = positions[0]!.length;
  const cos = new Float64Array(B * T * rotaryDim);
  const sin = new Float64Array(B * T * rotaryDim);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const pos = positions[b]![t]!;
      for (let i = 0; i < rotaryDim / 2; i++) {
        const invFreq = 1 / Math.pow(10000, (2 * i) / rotaryDim);
        const ang = pos * invFreq;
        const at = (b * T + t) * rotaryDim + 2 * i;
        cos[at] = cos[at + 1] = Math.cos(ang);
        sin[at] = sin[at + 1] = Math.sin(ang);
      }
    }
  }
  const opts = { dtype: like.dtype, device: like.device };
  return { cos: E.tensor(cos, [B, T, 1, rotaryDim], opts), sin: E.tensor(sin, [B, T, 1, rotaryDim], opts) };
}

/** (x[2i], x[2i+1]) → (−x[2i+1], x[2i]) over the last dim of x [..., rd]. */
function rotateEveryTwo(x: Tensor): Tensor {
  const rd = x.shape[x.rank - 1]!;
  const lead = x.shape.slice(0, -1);
  const pairs = E.reshape(x, [...lead, rd / 2, 2]);
  const starts = new Array<number>(pairs.rank).fill(0);
  const even = E.slice(pairs, starts, [...lead, rd / 2, 1]);
  const odd = E.slice(pairs, [...starts.slice(0, -1), 1], [...lead, rd / 2, 2]);
  return E.reshape(E.concat([E.neg(odd), even], -1), x.shape);
}

/** Apply rotary embeddings to x [B, T, H, Dh] on its first rotaryDim dims. */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor, rotaryDim: number): Tensor {
  const Dh = x.shape[3]!;
  const [B, T, H] = x.shape as [number, number, number, number];
  const rot = rotaryDim === Dh ? x : E.slice(x, [0, 0, 0, 0], [B, T, H, rotaryDim]);
  const rotated = E.add(E.mul(rot, cos), E.mul(rotateEveryTwo(rot), sin));
  if (rotaryDim === Dh) return rotated;
  return E.concat([rotated, E.slice(x, [0, 0, 0, rotaryDim], [B, T, H, Dh])], 3);
}
