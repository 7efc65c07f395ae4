// Every fused kernel in the op table (engine/op-table) equals what defines it, in values and in
// first- and second-order gradients: a fused forward kernel against the engine/ops composite its row
// names, a fused backward kernel against its op with the kernel disabled (withoutKernels: the vjp
// written in ops runs instead). On the cpu reference in float64 (tight tolerance) and on webgpu in
// float32 (CAMELS_REQUIRE_WEBGPU=1 makes a missing adapter an error). Where a backend has the
// kernel, the fused run must actually call it.

import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { KERNEL_NAMES, OP_TABLE, withoutKernels, type Backend, type DType, type KernelName, type OptionalKernel, type Tensor } from '../../engine/index.js';
import { HostRng } from '../../engine/random.js';
import { makeInputs, makeValues } from './gradcheck.js';
import type { InputSpec } from './op-cases.js';
import { deviceUnderTest } from './webgpu-required.js';

type OpFn = (...args: never[]) => Tensor;
/** Inputs for one engine/ops function and how to call it (or its composite, same signature). */
interface Probe {
  inputs: InputSpec[];
  run: (op: (...args: unknown[]) => Tensor, ...xs: Tensor[]) => Tensor;
}

const any = (...shape: number[]): InputSpec => ({ shape, kind: 'any' });
const ints = (shape: number[], values: number[]): InputSpec => ({ shape, kind: 'int', ints: values });
const mask = (x: Tensor, m: Tensor) => E.cast(m, x.dtype);

/** Keyed by the engine/ops function a table row lists in `ops`. */
const PROBES: Record<string, Probe> = {
  addScaled: { inputs: [any(3, 5), any(3, 5)], run: (op, a, b) => op(a, b, -0.37) },
  softmax: { inputs: [any(3, 9)], run: (op, x) => op(x) },
  logSoftmax: { inputs: [any(3, 9)], run: (op, x) => op(x) },
  layerNorm: { inputs: [any(4, 6), any(6), any(6)], run: (op, x, w, b) => op(x, w, b, 1e-5) },
  crossEntropy: { inputs: [any(5, 7), ints([5], [3, -100, 0, 6, 2])], run: (op, l, y) => op(l, y) },
  geluTanh: { inputs: [any(3, 7)], run: (op, x) => op(x) },
  geluErf: { inputs: [any(3, 7)], run: (op, x) => op(x) },
  maskedSoftmax: {
    inputs: [any(2, 2, 5, 5), ints([2, 5], [1, 1, 1, 0, 0, 1, 1, 1, 1, 1])],
    run: (op, s, m) => op(s, { scale: 0.7, window: 3, keyMask: mask(s, m) }),
  },
  attention: {
    inputs: [any(2, 2, 7, 3), any(2, 2, 7, 3), any(2, 2, 7, 3), ints([2, 7], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0])],
    run: (op, q, k, v, m) => op(q, k, v, { window: 4, keyMask: mask(q, m) }),
  },
  attentionPacked: {
    inputs: [any(2, 5, 12), ints([2, 5], [1, 1, 1, 1, 0, 1, 1, 1, 1, 1])],
    run: (op, qkv, m) => op(qkv, 2, { window: 3, keyMask: mask(qkv, m) }),
  },
  attentionRows: {
    inputs: [any(2, 5, 4), any(2, 5, 4), any(2, 5, 4), ints([2, 5], [1, 1, 1, 1, 1, 1, 1, 1, 0, 0])],
    run: (op, q, k, v, m) => op(q, k, v, 2, { keyMask: mask(q, m) }),
  },
};

const ops = E as unknown as Record<string, OpFn | undefined>;
function opNamed(name: string): (...args: unknown[]) => Tensor {
  const f = ops[name];
  if (typeof f !== 'function') throw new Error(`engine/ops has no export '${name}'`);
  return f as unknown as (...args: unknown[]) => Tensor;
}

function hostValues(n: number, seed: number): number[] {
  const r = new HostRng(seed);
  return Array.from({ length: n }, () => r.normal());
}

/** y, the first-order gradients (not recorded: fused backward kernels), the recorded ones, and the second-order gradients. */
async function evaluate(f: (...xs: Tensor[]) => Tensor, specs: InputSpec[], values: number[][], dtype: DType, device: 'cpu' | 'webgpu'): Promise<Float64Array[]> {
  return E.tidyAsync(async () => {
    const xs = makeInputs(specs, values, dtype, device);
    const diff = xs.filter((x) => x.requiresGrad);
    const y = f(...xs);
    const u = E.tensor(hostValues(y.size, 5), y.shape, { dtype, device });
    const loss = (out: Tensor) => E.sum(E.mul(E.mul(out, out), u));
    const first = E.grad(loss(y), diff);
    const recorded = E.grad(loss(f(...xs)), diff, { createGraph: true });
    let h: Tensor | null = null;
    recorded.forEach((g, i) => {
      const t = E.sum(E.mul(g, E.tensor(hostValues(g.size, 50 + i), g.shape, { dtype, device })));
      h = h ? E.add(h, t) : t;
    });
    const second = E.grad(h!, diff);
    const all = [y, ...first, ...recorded, ...second];
    return (await Promise.all(all.map((t) => t.data()))).map((a) => Float64Array.from(a));
  });
}

/** Calls of backend method `name` while `fn` runs. */
async function countCalls<T>(b: Backend, name: KernelName, fn: () => Promise<T>): Promise<[T, number]> {
  const target = b as unknown as Record<string, (...a: unknown[]) => unknown>;
  const original = target[name];
  if (typeof original !== 'function') return [await fn(), -1];
  const own = Object.prototype.hasOwnProperty.call(target, name);
  let calls = 0;
  target[name] = (...a: unknown[]) => {
    calls++;
    return original.apply(b, a);
  };
  try {
    return [await fn(), calls];
  } finally {
    if (own) target[name] = original;
    else delete target[name];
  }
}

function relNorm(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

interface FusedCase {
  kernel: KernelName;
  op: string;
  probe: Probe;
  /** What defines the kernel: its composite export, or the op with the kernel disabled. */
  reference: { composite: string } | { disable: OptionalKernel };
}

const fusedCases: FusedCase[] = [];
const missing: string[] = [];
for (const kernel of KERNEL_NAMES) {
  const row = OP_TABLE[kernel];
  if (row.kind !== 'fused' && row.kind !== 'backward') continue;
  for (const op of row.ops) {
    const probe = PROBES[op];
    if (!probe) {
      missing.push(`${kernel} (op ${op})`);
      continue;
    }
    let reference: FusedCase['reference'];
    if (row.kind === 'fused') reference = { composite: row.composite ?? '' };
    else if (row.optional) reference = { disable: kernel as OptionalKernel };
    else reference = { composite: OP_TABLE[op as KernelName]?.composite ?? '' };
    fusedCases.push({ kernel, op, probe, reference });
  }
}

describe('op table: every fused kernel has a probe here and a definition', () => {
  it('each fused and fused-backward row is exercised through an op with a probe', () => {
    expect(missing).toEqual([]);
    expect(fusedCases.length).toBeGreaterThanOrEqual(20);
  });
  it('each fused row names a composite exported by engine/ops', () => {
    for (const c of fusedCases) if ('composite' in c.reference) expect(typeof ops[c.reference.composite], `${c.kernel}: composite '${c.reference.composite}'`).toBe('function');
  });
});

const devices: { device: 'cpu' | 'webgpu'; dtype: DType; tol: [number, number, number] }[] = [
  { device: 'cpu', dtype: 'float64', tol: [1e-10, 1e-9, 1e-8] },
  { device: 'webgpu', dtype: 'float32', tol: [2e-5, 2e-4, 2e-3] },
];

for (const { device, dtype, tol } of devices) {
  const backend = await deviceUnderTest(device);
  describe.skipIf(!backend)(`op table: fused == its definition on ${device} (${dtype})`, () => {
    for (const c of fusedCases) {
      const how = 'composite' in c.reference ? c.reference.composite : `${c.op} without ${c.reference.disable}`;
      it(`${c.kernel} through ${c.op} equals ${how}: values, first and second order`, async () => {
        const b = backend!;
        const values = c.probe.inputs.map((s, i) => makeValues(s, 11 + i));
        const fused = (...xs: Tensor[]) => c.probe.run(opNamed(c.op), ...xs);
        const [got, calls] = await countCalls(b, c.kernel, () => evaluate(fused, c.probe.inputs, values, dtype, device));
        const ref = c.reference;
        const want =
          'composite' in ref
            ? await evaluate((...xs) => c.probe.run(opNamed(ref.composite), ...xs), c.probe.inputs, values, dtype, device)
            : await withoutKernels([ref.disable], () => evaluate(fused, c.probe.inputs, values, dtype, device));
        // The backend that lists the kernel in the table runs it (cpu: the reference loops, float64),
        // unless the kernel may decline a call (then its forward may have declined too).
        const row = OP_TABLE[c.kernel];
        if (row.backends.includes(device === 'cpu' ? 'cpu' : 'webgpu') && !row.declines) expect(calls, `${c.kernel} was never called`).toBeGreaterThan(0);
        expect(got.length).toBe(want.length);
        const nGrad = (got.length - 1) / 3;
        got.forEach((arr, i) => {
          const order = i === 0 ? 0 : i <= 2 * nGrad ? 1 : 2;
          expect(relNorm(arr, want[i]!), `output ${i} (order ${order})`).toBeLessThan(tol[order]!);
        });
      });
    }
  });
}
