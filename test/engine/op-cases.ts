// The op table shared by the gradient checks (cpu float64) and the webgpu-vs-cpu parity tests:
// each case names an op, its inputs (shapes, value ranges, int indices) and how to call it.

import * as E from '../../engine/index.js';
import type { KernelName, Tensor } from '../../engine/index.js';

export interface InputSpec {
  shape: number[];
  /** 'any': uniform(-2, 2); 'pos': uniform(0.5, 2.5); 'int': fixed int32 values (no gradient). */
  kind?: 'any' | 'pos' | 'int';
  ints?: number[];
}

export interface OpCase {
  name: string;
  inputs: InputSpec[];
  f: (...xs: Tensor[]) => Tensor;
  /** Skip the second-order check (ops whose first derivative is piecewise constant). */
  firstOrderOnly?: boolean;
  /**
   * The op-table kernels (engine/op-table) the row exercises, where the engine/ops call in `f` does
   * not name them already (test/engine/op-table.test.ts matches a row to a kernel by either).
   */
  kernels?: KernelName[];
}

const any = (...shape: number[]): InputSpec => ({ shape, kind: 'any' });
const pos = (...shape: number[]): InputSpec => ({ shape, kind: 'pos' });
const ints = (shape: number[], values: number[]): InputSpec => ({ shape, kind: 'int', ints: values });

export const opCases: OpCase[] = [
  { name: 'neg', inputs: [any(7)], f: (x) => E.neg(x) },
  { name: 'exp', inputs: [any(3, 5)], f: (x) => E.exp(x) },
  { name: 'log', inputs: [pos(33)], f: (x) => E.log(x) },
  { name: 'sqrt', inputs: [pos(2, 7)], f: (x) => E.sqrt(x) },
  { name: 'rsqrt', inputs: [pos(7)], f: (x) => E.rsqrt(x) },
  { name: 'abs', inputs: [any(7)], f: (x) => E.abs(x), firstOrderOnly: true },
  { name: 'tanh', inputs: [any(1, 33)], f: (x) => E.tanh(x) },
  { name: 'sigmoid', inputs: [any(7)], f: (x) => E.sigmoid(x) },
  { name: 'relu', inputs: [any(2, 7)], f: (x) => E.relu(x), firstOrderOnly: true },
  { name: 'erf', inputs: [any(7)], f: (x) => E.erf(x) },
  { name: 'geluTanh', inputs: [any(3, 7)], f: (x) => E.geluTanh(x) },
  { name: 'geluErf', inputs: [any(3, 7)], f: (x) => E.geluErf(x) },
  { name: 'softplus beta 3', inputs: [any(33)], f: (x) => E.softplus(x, 3, 20) },
  { name: 'softplus above threshold', inputs: [any(7)], f: (x) => E.softplus(E.addScalar(x, 10), 3, 20) },
  { name: 'powScalar 2.5', inputs: [pos(7)], f: (x) => E.powScalar(x, 2.5) },
  { name: 'powScalar 3', inputs: [any(7)], f: (x) => E.powScalar(x, 3) },
  { name: 'addScalar/mulScalar', inputs: [any(5)], f: (x) => E.mulScalar(E.addScalar(x, 0.5), -1.5) },
  { name: 'addScaled (a + alpha b, the SGD step)', inputs: [any(3, 7, 5), any(3, 7, 5)], f: (a, b) => E.addScaled(a, b, -0.37) },
  { name: 'add broadcast', inputs: [any(3, 1, 5), any(4, 1)], f: (a, b) => E.add(a, b) },
  { name: 'sub broadcast', inputs: [any(2, 7), any(7)], f: (a, b) => E.sub(a, b) },
  { name: 'mul broadcast', inputs: [any(3, 1, 5), any(4, 1)], f: (a, b) => E.mul(a, b) },
  { name: 'div broadcast', inputs: [any(2, 3, 4), pos(3, 1)], f: (a, b) => E.div(a, b) },
  { name: 'maximum', inputs: [any(33), any(33)], f: (a, b) => E.maximum(a, b), firstOrderOnly: true },
  { name: 'minimum broadcast', inputs: [any(2, 7), any(1)], f: (a, b) => E.minimum(a, b), firstOrderOnly: true },
  { name: 'where', inputs: [any(3, 4), any(3, 4), any(4)], f: (c, a, b) => E.where(E.gt(c, E.zerosLike(c)), a, b) },
  { name: 'sum axes [0,2]', inputs: [any(2, 3, 4)], f: (x) => E.sum(x, [0, 2]) },
  { name: 'sum keepdim', inputs: [any(2, 3, 4)], f: (x) => E.sum(x, 1, true) },
  { name: 'sum all', inputs: [any(257)], f: (x) => E.sum(x) },
  { name: 'mean', inputs: [any(3, 5)], f: (x) => E.mean(x, -1) },
  { name: 'max axis', inputs: [any(4, 7)], f: (x) => E.max(x, 1), firstOrderOnly: true },
  { name: 'min axes', inputs: [any(2, 3, 5)], f: (x) => E.min(x, [0, 2], true), firstOrderOnly: true },
  { name: 'logsumexp', inputs: [any(3, 33)], f: (x) => E.logsumexp(x, -1) },
  { name: 'matmul', inputs: [any(3, 4), any(4, 5)], f: (a, b) => E.matmul(a, b) },
  { name: 'matmul transA', inputs: [any(4, 3), any(4, 5)], f: (a, b) => E.matmul(a, b, { transA: true }) },
  { name: 'matmul transB', inputs: [any(3, 4), any(5, 4)], f: (a, b) => E.matmul(a, b, { transB: true }) },
  { name: 'matmul transA transB', inputs: [any(2, 4, 3), any(5, 4)], f: (a, b) => E.matmul(a, b, { transA: true, transB: true }) },
  { name: 'matmul batch broadcast', inputs: [any(2, 1, 3, 4), any(3, 4, 2)], f: (a, b) => E.matmul(a, b) },
  { name: 'matmul shared weight (batch folded into the rows of dB)', inputs: [any(2, 3, 5, 4), any(4, 6)], f: (a, b) => E.matmul(a, b) },
  { name: 'reshape', inputs: [any(2, 6)], f: (x) => E.reshape(x, [3, -1]) },
  { name: 'permute', inputs: [any(2, 3, 4)], f: (x) => E.permute(x, [2, 0, 1]) },
  { name: 'transpose', inputs: [any(2, 3, 4)], f: (x) => E.transpose(x, 0, 1) },
  { name: 'expand', inputs: [any(3, 1)], f: (x) => E.expand(x, [2, 3, 4]) },
  { name: 'slice', inputs: [any(4, 5)], f: (x) => E.slice(x, [1, 2], [3, 5]) },
  { name: 'pad', inputs: [any(2, 3)], f: (x) => E.pad(x, [1, 0], [0, 2], 0.5) },
  { name: 'pad 3-d, odd sizes', inputs: [any(3, 5, 7)], f: (x) => E.pad(x, [0, 2, 1], [1, 0, 3], -1.5) },
  { name: 'concat', inputs: [any(2, 3), any(2, 1)], f: (a, b) => E.concat([a, b], 1) },
  { name: 'gather', inputs: [any(5, 3), ints([2, 2], [4, 0, 4, 2])], f: (t, i) => E.gather(t, i) },
  {
    name: 'gather at arangeRows positions (made on the device)',
    inputs: [any(9, 3)],
    f: (t) => E.gather(t, E.arangeRows(2, 3, 8, 1, { device: t.device })),
  },
  { name: 'gather at arange with a step', inputs: [any(9, 2)], f: (t) => E.gather(t, E.arange(8, 0, -3, { device: t.device })) },
  {
    name: 'rotaryTables (cos, sin of positions · frequencies)',
    inputs: [any(2, 5, 6), ints([2, 5], [0, 1, 2, 3, 4, 7, 30, 100, 1000, 2047])],
    f: (x, p) => {
      const r = E.rotaryTables(p, 6, { dtype: x.dtype === 'float64' ? 'float64' : 'float32' });
      return E.add(E.mul(x, r.cos), E.mul(E.neg(x), r.sin));
    },
  },
  { name: 'scatterAdd', inputs: [any(4, 3), ints([4], [1, 3, 1, 0])], f: (s, i) => E.scatterAdd(s, i, 5) },
  { name: 'softmax', inputs: [any(3, 7)], f: (x) => E.softmax(x) },
  { name: 'logSoftmax', inputs: [any(2, 3, 7)], f: (x) => E.logSoftmax(x) },
  { name: 'layerNorm', inputs: [any(3, 7), any(7), any(7)], f: (x, w, b) => E.layerNorm(x, w, b, 1e-5) },
  { name: 'crossEntropy ignore', inputs: [any(2, 3, 7), ints([2, 3], [1, -100, 6, 0, 3, -100])], f: (l, y) => E.crossEntropy(l, y) },
  {
    name: 'attention causal',
    inputs: [any(1, 2, 5, 3), any(1, 2, 5, 3), any(1, 2, 5, 3)],
    f: (q, k, v) => E.attention(q, k, v, { causal: true }),
  },
  {
    name: 'attention window + key mask',
    inputs: [any(2, 1, 6, 4), any(2, 1, 6, 4), any(2, 1, 6, 4), { shape: [2, 6], kind: 'int', ints: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0] }],
    f: (q, k, v, m) => E.attention(q, k, v, { causal: true, window: 3, scale: 1, keyMask: E.cast(m, q.dtype) }),
  },
  { name: 'attentionPacked (heads read from one q|k|v projection, written merged)', inputs: [any(2, 5, 12)], f: (x) => E.attentionPacked(x, 2) },
  {
    name: 'attentionPacked window + key mask',
    inputs: [any(2, 6, 9), { shape: [2, 6], kind: 'int', ints: [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1] }],
    f: (x, m) => E.attentionPacked(x, 3, { window: 3, scale: 0.7, keyMask: E.cast(m, x.dtype) }),
  },
  {
    name: 'attentionRows (heads read from [B, T, C] rows, written merged), window + key mask',
    inputs: [any(2, 6, 6), any(2, 6, 6), any(2, 6, 6), { shape: [2, 6], kind: 'int', ints: [1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1] }],
    f: (q, k, v, m) => E.attentionRows(q, k, v, 2, { window: 4, keyMask: E.cast(m, q.dtype) }),
  },
  // attention dropout inside the fused ops (the seed fixed, so the mask is a constant of the function)
  {
    name: 'attention causal, dropout',
    inputs: [any(1, 2, 5, 3), any(1, 2, 5, 3), any(1, 2, 5, 3)],
    f: (q, k, v) => E.attention(q, k, v, { causal: true, dropout: 0.3, seed: 17 }),
  },
  {
    name: 'attention window + key mask, dropout',
    inputs: [any(2, 1, 6, 4), any(2, 1, 6, 4), any(2, 1, 6, 4), { shape: [2, 6], kind: 'int', ints: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0] }],
    f: (q, k, v, m) => E.attention(q, k, v, { causal: true, window: 3, scale: 1, keyMask: E.cast(m, q.dtype), dropout: 0.25, seed: 5 }),
  },
  {
    name: 'attentionPacked window + key mask, dropout',
    inputs: [any(2, 6, 9), { shape: [2, 6], kind: 'int', ints: [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1] }],
    f: (x, m) => E.attentionPacked(x, 3, { window: 3, scale: 0.7, keyMask: E.cast(m, x.dtype), dropout: 0.2, seed: 99 }),
  },
  {
    name: 'attentionRows key mask, dropout',
    inputs: [any(2, 7, 6), any(2, 7, 6), any(2, 7, 6), { shape: [2, 7], kind: 'int', ints: [1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1] }],
    f: (q, k, v, m) => E.attentionRows(q, k, v, 2, { keyMask: E.cast(m, q.dtype), dropout: 0.4, seed: 3 }),
  },
  {
    name: 'maskedSoftmax (attention probabilities from scores), window + key mask',
    inputs: [any(2, 2, 5, 5), { shape: [2, 5], kind: 'int', ints: [1, 1, 1, 0, 0, 1, 1, 1, 1, 1] }],
    f: (s, m) => E.maskedSoftmax(s, { scale: 0.7, window: 3, keyMask: E.cast(m, s.dtype) }),
    kernels: ['maskedSoftmax'],
  },
  { name: 'dropout', inputs: [any(33)], f: (x) => E.dropout(x, 0.3, 1234) },
  { name: 'linear', inputs: [any(2, 3, 4), any(5, 4), any(5)], f: (x, w, b) => E.linear(x, w, b, 'out_in') },
];
