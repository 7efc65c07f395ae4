// Fused ops equal their composite fallbacks in values, gradients and second-order gradients.

import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { makeInputs, makeValues } from './gradcheck.js';
import type { InputSpec } from './op-cases.js';

const cases: { name: string; inputs: InputSpec[]; fused: (...x: Tensor[]) => Tensor; composite: (...x: Tensor[]) => Tensor }[] = [
  { name: 'softmax', inputs: [{ shape: [3, 9] }], fused: (x) => E.softmax(x), composite: (x) => E.softmaxComposite(x) },
  { name: 'logSoftmax', inputs: [{ shape: [3, 9] }], fused: (x) => E.logSoftmax(x), composite: (x) => E.logSoftmaxComposite(x) },
  {
    name: 'layerNorm',
    inputs: [{ shape: [4, 6] }, { shape: [6] }, { shape: [6] }],
    fused: (x, w, b) => E.layerNorm(x, w, b, 1e-5),
    composite: (x, w, b) => E.layerNormComposite(x, w, b, 1e-5),
  },
  {
    name: 'crossEntropy',
    inputs: [{ shape: [5, 7] }, { shape: [5], kind: 'int', ints: [3, -100, 0, 6, 2] }],
    fused: (l, y) => E.crossEntropy(l, y),
    composite: (l, y) => E.crossEntropyComposite(l, y),
  },
  {
    name: 'matmulBias (batched x @ W + b)',
    inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }, { shape: [5] }],
    fused: (x, w, b) => E.matmulBias(x, w, b),
    composite: (x, w, b) => E.add(E.matmul(x, w), b),
  },
  {
    name: 'matmulBias (transposed weight, as linear out_in)',
    inputs: [{ shape: [3, 4] }, { shape: [6, 4] }, { shape: [6] }],
    fused: (x, w, b) => E.matmulBias(x, w, b, { transB: true }),
    composite: (x, w, b) => E.add(E.matmul(x, w, { transB: true }), b),
  },
  {
    name: 'attention (causal, window, key mask)',
    inputs: [{ shape: [2, 2, 7, 3] }, { shape: [2, 2, 7, 3] }, { shape: [2, 2, 7, 3] }, { shape: [2, 7], kind: 'int', ints: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0] }],
    fused: (q, k, v, m) => E.attention(q, k, v, { window: 4, keyMask: E.cast(m, q.dtype) }),
    composite: (q, k, v, m) => E.attentionComposite(q, k, v, { window: 4, keyMask: E.cast(m, q.dtype) }),
  },
  {
    name: 'attention with dropout (causal, window, key mask; the same seed)',
    inputs: [{ shape: [2, 2, 7, 3] }, { shape: [2, 2, 7, 3] }, { shape: [2, 2, 7, 3] }, { shape: [2, 7], kind: 'int', ints: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0] }],
    fused: (q, k, v, m) => E.attention(q, k, v, { window: 4, keyMask: E.cast(m, q.dtype), dropout: 0.3, seed: 31 }),
    composite: (q, k, v, m) => E.attentionComposite(q, k, v, { window: 4, keyMask: E.cast(m, q.dtype), dropout: 0.3, seed: 31 }),
  },
];

async function evalBoth(f: (...x: Tensor[]) => Tensor, specs: InputSpec[], values: number[][], recordSecond = false) {
  return E.tidyAsync(async () => {
    const xs = makeInputs(specs, values, 'float64', 'cpu');
    const y = f(...xs);
    const diff = xs.filter((x) => x.requiresGrad);
    const u = E.randNormal(y.shape, 0, 1, { seed: 5, dtype: 'float64' });
    const gs = E.grad(E.sum(E.mul(E.mul(y, y), u)), diff, { createGraph: true });
    let h: Tensor | null = null;
    gs.forEach((g, i) => {
      const t = E.sum(E.mul(g, E.randNormal(g.shape, 0, 1, { seed: 50 + i, dtype: 'float64' })));
      h = h ? E.add(h, t) : t;
    });
    const hg = E.grad(h!, diff, { createGraph: recordSecond });
    return [await y.data(), ...(await Promise.all(gs.map((g) => g.data()))), ...(await Promise.all(hg.map((g) => g.data())))];
  });
}

describe('fused ops equal their composite fallbacks', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const values = c.inputs.map((s, i) => makeValues({ kind: 'any', ...s }, 3 + i));
      const a = await evalBoth(c.fused, c.inputs, values);
      const b = await evalBoth(c.composite, c.inputs, values);
      expect(a.length).toBe(b.length);
      a.forEach((arr, i) => {
        arr.forEach((v, j) => expect(Math.abs(v - b[i]![j]!), `array ${i} element ${j}`).toBeLessThan(1e-10 * Math.max(1, Math.abs(b[i]![j]!))));
      });
    });
  }
});

describe('layer norm: the recorded second backward (the fused op\'s vjps in ops) equals the composite', () => {
  it('layerNorm [3, 2, 5], second backward recorded', async () => {
    const specs: InputSpec[] = [{ shape: [3, 2, 5] }, { shape: [5] }, { shape: [5] }];
    const values = specs.map((s, i) => makeValues({ kind: 'any', ...s }, 11 + i));
    const a = await evalBoth((x, w, b) => E.layerNorm(x, w, b, 1e-5), specs, values, true);
    const b = await evalBoth((x, w, b) => E.layerNormComposite(x, w, b, 1e-5), specs, values);
    a.forEach((arr, i) => {
      arr.forEach((v, j) => expect(Math.abs(v - b[i]![j]!), `array ${i} element ${j}`).toBeLessThan(1e-10 * Math.max(1, Math.abs(b[i]![j]!))));
    });
  });
});

describe('gelu: the recorded second backward (the fused op\'s vjp in ops) equals the fused one', () => {
  for (const [name, f] of [['geluTanh', E.geluTanh], ['geluErf', E.geluErf]] as const) {
    it(name, async () => {
      const specs: InputSpec[] = [{ shape: [4, 9] }];
      const values = [makeValues({ kind: 'any', ...specs[0]! }, 21).map((v) => 2 * v)];
      const a = await evalBoth((x) => f(x), specs, values, true);
      const b = await evalBoth((x) => f(x), specs, values, false);
      a.forEach((arr, i) => {
        arr.forEach((v, j) => expect(Math.abs(v - b[i]![j]!), `array ${i} element ${j}`).toBeLessThan(1e-10 * Math.max(1, Math.abs(b[i]![j]!))));
      });
    });
  }
});
