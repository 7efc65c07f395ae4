// Gradient checking by central differences (JAX check_grads style): a random direction v in input
// space and a random cotangent u on the output. Order 1 compares <∇<u,f>, v> with the directional
// derivative of <u,f>; order 2 does the same for the function x ↦ <∇<u,f>(x), w>, whose analytic
// gradient needs grad(..., { createGraph: true }).

import * as E from '../../engine/index.js';
import type { DType, DeviceName, Tensor } from '../../engine/index.js';
import { HostRng } from '../../engine/random.js';
import type { InputSpec } from './op-cases.js';

export function makeValues(spec: InputSpec, seed: number): number[] {
  if (spec.kind === 'int') return spec.ints!;
  const rng = new HostRng(seed);
  const n = spec.shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => (spec.kind === 'pos' ? 0.5 + 2 * rng.uniform() : -2 + 4 * rng.uniform()));
}

export function makeInputs(specs: InputSpec[], values: number[][], dtype: DType, device: DeviceName, requiresGrad = true): Tensor[] {
  return specs.map((s, i) =>
    s.kind === 'int'
      ? E.tensor(values[i]!, s.shape, { dtype: 'int32', device })
      : E.tensor(values[i]!, s.shape, { dtype, device, requiresGrad }),
  );
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function randVec(n: number, seed: number): number[] {
  const r = new HostRng(seed);
  return Array.from({ length: n }, () => r.normal());
}

export interface CheckResult {
  analytic: number;
  numeric: number;
}

/** Scalar <u, f(x)> on float64 cpu inputs. */
async function innerProduct(f: (...xs: Tensor[]) => Tensor, specs: InputSpec[], values: number[][], u: number[] | null): Promise<{ val: number; uOut: number[] }> {
  return E.tidyAsync(async () => {
    const xs = makeInputs(specs, values, 'float64', 'cpu', false);
    const y = f(...xs);
    const data = await y.data();
    const uu = u ?? randVec(data.length, 99);
    return { val: dot(data, uu), uOut: uu };
  });
}

function shift(specs: InputSpec[], values: number[][], dirs: number[][], eps: number): number[][] {
  return values.map((v, i) => (specs[i]!.kind === 'int' ? v : v.map((x, j) => x + eps * dirs[i]![j]!)));
}

/** First-order check: returns analytic and numeric directional derivatives. */
export async function checkOrder1(f: (...xs: Tensor[]) => Tensor, specs: InputSpec[], seed = 1, eps = 1e-6): Promise<CheckResult> {
  const values = specs.map((s, i) => makeValues(s, seed + i));
  const dirs = values.map((v, i) => randVec(v.length, 1000 + seed + i));
  const { uOut } = await innerProduct(f, specs, values, null);
  const analytic = await E.tidyAsync(async () => {
    const xs = makeInputs(specs, values, 'float64', 'cpu');
    const y = f(...xs);
    const u = E.tensor(uOut, y.shape, { dtype: 'float64' });
    const diffIdx = specs.map((s, i) => (s.kind === 'int' ? -1 : i)).filter((i) => i >= 0);
    const gs = E.grad(E.sum(E.mul(y, u)), diffIdx.map((i) => xs[i]!));
    let s = 0;
    for (let k = 0; k < diffIdx.length; k++) s += dot(await gs[k]!.data(), dirs[diffIdx[k]!]!);
    return s;
  });
  const plus = await innerProduct(f, specs, shift(specs, values, dirs, eps), uOut);
  const minus = await innerProduct(f, specs, shift(specs, values, dirs, -eps), uOut);
  return { analytic, numeric: (plus.val - minus.val) / (2 * eps) };
}

/** Second-order check on h(x) = <∇_x <u, f(x)>, w>. */
export async function checkOrder2(f: (...xs: Tensor[]) => Tensor, specs: InputSpec[], seed = 1, eps = 1e-5): Promise<CheckResult> {
  const values = specs.map((s, i) => makeValues(s, seed + i));
  const dirs = values.map((v, i) => randVec(v.length, 2000 + seed + i));
  const ws = values.map((v, i) => randVec(v.length, 3000 + seed + i));
  const { uOut } = await innerProduct(f, specs, values, null);
  const diffIdx = specs.map((s, i) => (s.kind === 'int' ? -1 : i)).filter((i) => i >= 0);

  // h(x) as a taped scalar, and optionally its gradient along dirs.
  const h = async (vals: number[][], withGrad: boolean): Promise<{ h: number; hv: number }> =>
    E.tidyAsync(async () => {
      const xs = makeInputs(specs, vals, 'float64', 'cpu');
      const y = f(...xs);
      const u = E.tensor(uOut, y.shape, { dtype: 'float64' });
      const gs = E.grad(E.sum(E.mul(y, u)), diffIdx.map((i) => xs[i]!), { createGraph: true });
      let hval: Tensor | null = null;
      gs.forEach((g, k) => {
        const w = E.tensor(ws[diffIdx[k]!]!, g.shape, { dtype: 'float64' });
        const term = E.sum(E.mul(g, w));
        hval = hval ? E.add(hval, term) : term;
      });
      const hv = (await hval!.data())[0]!;
      if (!withGrad || !hval!.requiresGrad) return { h: hv, hv: 0 };
      const hg = E.grad(hval!, diffIdx.map((i) => xs[i]!));
      let s = 0;
      for (let k = 0; k < diffIdx.length; k++) s += dot(await hg[k]!.data(), dirs[diffIdx[k]!]!);
      return { h: hv, hv: s };
    });
  const analytic = (await h(values, true)).hv;
  const plus = (await h(shift(specs, values, dirs, eps), false)).h;
  const minus = (await h(shift(specs, values, dirs, -eps), false)).h;
  return { analytic, numeric: (plus - minus) / (2 * eps) };
}

export function relErr(r: CheckResult): number {
  return Math.abs(r.analytic - r.numeric) / Math.max(1e-3, Math.abs(r.numeric));
}
