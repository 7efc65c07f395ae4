// Hessian-vector products against finite differences of gradients, and a miniature CaMeLS
// meta-gradient: d(loss after one differentiable SGD step)/d(per-example loss weights).

import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { HostRng } from '../../engine/random.js';

const f64 = { dtype: 'float64' as const };
const rnd = (n: number, seed: number, scale = 1) => {
  const r = new HostRng(seed);
  return Array.from({ length: n }, () => scale * r.normal());
};

/** A tiny MLP regression loss with per-example weights: Σ_i w_i (mlp(x_i) - y_i)^2 / n. */
function mlpLoss(p: { w1: Tensor; b1: Tensor; w2: Tensor }, x: Tensor, y: Tensor, exWeights: Tensor | null): Tensor {
  const h = E.tanh(E.add(E.matmul(x, p.w1), p.b1)); // [n, 5]
  const out = E.reshape(E.matmul(h, p.w2), [x.shape[0]!]); // [n]
  const err = E.sub(out, y);
  const sq = E.mul(err, err);
  return E.mean(exWeights ? E.mul(sq, exWeights) : sq);
}

const n = 6;
const xs = rnd(n * 3, 1);
const ys = rnd(n, 2);
const p0 = { w1: rnd(15, 3, 0.5), b1: rnd(5, 4, 0.5), w2: rnd(5, 5, 0.5) };
const shapes = { w1: [3, 5], b1: [5], w2: [5, 1] } as const;
type Key = keyof typeof p0;
const keys = Object.keys(p0) as Key[];

function params(vals: Record<Key, number[]>): Record<Key, Tensor> {
  const out = {} as Record<Key, Tensor>;
  for (const k of keys) out[k] = E.tensor(vals[k], shapes[k], { ...f64, requiresGrad: true });
  return out;
}

describe('second order', () => {
  it('Hessian-vector product equals finite differences of gradients', async () => {
    const v = { w1: rnd(15, 10), b1: rnd(5, 11), w2: rnd(5, 12) };
    const gradAt = async (vals: Record<Key, number[]>) =>
      E.tidyAsync(async () => {
        const p = params(vals);
        const gs = E.grad(mlpLoss(p, E.tensor(xs, [n, 3], f64), E.tensor(ys, [n], f64), null), keys.map((k) => p[k]));
        return Promise.all(gs.map(async (g) => Array.from(await g.data())));
      });
    const hvp = await E.tidyAsync(async () => {
      const p = params(p0);
      const gs = E.grad(mlpLoss(p, E.tensor(xs, [n, 3], f64), E.tensor(ys, [n], f64), null), keys.map((k) => p[k]), { createGraph: true });
      let gv: Tensor | null = null;
      keys.forEach((k, i) => {
        const t = E.sum(E.mul(gs[i]!, E.tensor(v[k], shapes[k], f64)));
        gv = gv ? E.add(gv, t) : t;
      });
      const hv = E.grad(gv!, keys.map((k) => p[k]));
      return Promise.all(hv.map(async (g) => Array.from(await g.data())));
    });
    const eps = 1e-5;
    const shifted = (s: number) => {
      const o = {} as Record<Key, number[]>;
      for (const k of keys) o[k] = p0[k].map((x, i) => x + s * eps * v[k][i]!);
      return o;
    };
    const gp = await gradAt(shifted(1));
    const gm = await gradAt(shifted(-1));
    let num2 = 0;
    let err2 = 0;
    keys.forEach((_, i) => {
      gp[i]!.forEach((a, j) => {
        const fd = (a - gm[i]![j]!) / (2 * eps);
        num2 += fd * fd;
        err2 += (fd - hvp[i]![j]!) ** 2;
      });
    });
    expect(num2).toBeGreaterThan(1e-6);
    expect(Math.sqrt(err2 / num2)).toBeLessThan(1e-7);
  });

  it('meta-gradient through one differentiable SGD step matches finite differences', async () => {
    const lr = 0.3;
    const xq = rnd(4 * 3, 20);
    const yq = rnd(4, 21);
    const w0 = rnd(n, 22).map((z) => 1 + 0.5 * z);
    const metaLoss = (wVals: number[], withGrad: boolean) =>
      E.tidyAsync(async () => {
        const p = params(p0);
        const w = E.tensor(wVals, [n], { ...f64, requiresGrad: true });
        const inner = mlpLoss(p, E.tensor(xs, [n, 3], f64), E.tensor(ys, [n], f64), w);
        const gs = E.grad(inner, keys.map((k) => p[k]), { createGraph: true });
        const gRec = {} as Record<Key, Tensor>;
        keys.forEach((k, i) => (gRec[k] = gs[i]!));
        const updated = E.sgdStep(p, gRec, lr);
        const outer = mlpLoss(updated, E.tensor(xq, [4, 3], f64), E.tensor(yq, [4], f64), null);
        const val = await outer.item();
        if (!withGrad) return { val, g: [] as number[] };
        const [gw] = E.grad(outer, [w]);
        return { val, g: Array.from(await gw!.data()) };
      });
    const { g } = await metaLoss(w0, true);
    const eps = 1e-6;
    for (let i = 0; i < n; i++) {
      const plus = await metaLoss(w0.map((x, j) => (j === i ? x + eps : x)), false);
      const minus = await metaLoss(w0.map((x, j) => (j === i ? x - eps : x)), false);
      const fd = (plus.val - minus.val) / (2 * eps);
      expect(Math.abs(fd - g[i]!)).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
    }
    expect(g.some((x) => Math.abs(x) > 1e-6)).toBe(true);
  });
});
