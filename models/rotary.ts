// GPT-J rotary position embeddings: the first rotary_dim dims of each head rotated in interleaved
// pairs (x[2i], x[2i+1]) by angle pos / 10000^(2i / rotary_dim), as Hugging Face's GPT-J does.

import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

/** cos and sin tables [B, T, 1, rd], each frequency repeated for its pair, from positions [B, T] (int32). */
export function rotaryTables(positions: Tensor, rotaryDim: number, like: Tensor): { cos: Tensor; sin: Tensor } {
  const [B, T] = positions.shape as [number, number];
  const dtype = like.dtype === 'float64' ? 'float64' : 'float32';
  const { cos, sin } = E.rotaryTables(positions, rotaryDim, { dtype });
  return { cos: E.reshape(cos, [B, T, 1, rotaryDim]), sin: E.reshape(sin, [B, T, 1, rotaryDim]) };
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
