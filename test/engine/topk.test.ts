// Row top-k (Backend.topk, E.topk): the float64 reference against models/generate/topk.ts's host
// TopK (the selection decoding used before it moved to the device), the fast cpu path, and the
// webgpu kernel (either kernel family, per CAMELS_KERNELS) bit for bit: ties to the lower index,
// -Infinity, NaN ranked last, k = C, k > 64 (several kernel passes), very wide rows and rows
// processed in binding windows. Also the op's errors.

import { afterAll, describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { Backend, Storage } from '../../engine/backend.js';
import { CpuBackend, cpuData } from '../../engine/cpu/index.js';
import { FastCpuBackend } from '../../engine/cpu-fast/index.js';
import { createWebGPUBackend, type WebGPUBackend } from '../../engine/webgpu/index.js';
import { TopK } from '../../models/generate/topk.js';

const required = process.env.CAMELS_REQUIRE_WEBGPU === '1';
let gpu: WebGPUBackend | null = null;
try {
  gpu = await createWebGPUBackend();
} catch (e) {
  if (required) throw e;
}
if (!gpu && required) throw new Error('CAMELS_REQUIRE_WEBGPU=1 but no WebGPU adapter was found');
afterAll(() => gpu?.destroy());

const ref = new CpuBackend();
const fast = new FastCpuBackend();

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** Values on a coarse grid (many exact ties), with some -Infinity and (optionally) NaN. */
function rows(R: number, C: number, seed: number, opts: { ties?: boolean; nan?: number; negInf?: number } = {}): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: R * C }, () => {
    const u = r();
    if (opts.nan && u < opts.nan) return NaN;
    if (opts.negInf && u > 1 - opts.negInf) return -Infinity;
    const v = (r() - 0.5) * 16;
    return opts.ties ? Math.round(v * 2) / 2 : v;
  });
}

/** The host TopK of each row, NaNs appended by index where the row has fewer than k numbers. */
function hostTopk(x: Float32Array, R: number, C: number, k: number): { values: number[]; indices: number[] } {
  const values: number[] = [];
  const indices: number[] = [];
  for (let r = 0; r < R; r++) {
    const t = new TopK(k);
    for (let c = 0; c < C; c++) t.push(x[r * C + c]!, c);
    values.push(...t.values);
    indices.push(...t.indices);
    for (let c = 0; c < C && indices.length < (r + 1) * k; c++) {
      if (Number.isNaN(x[r * C + c]!)) {
        values.push(NaN);
        indices.push(c);
      }
    }
  }
  return { values, indices };
}

async function run(be: Backend, x: Float32Array, R: number, C: number, k: number): Promise<{ values: number[]; indices: number[] }> {
  const xs: Storage = be.fromArray(x, 'float32');
  const [v, i] = be.topk(xs, R, C, k);
  const out = { values: Array.from(await be.read(v)), indices: Array.from(await be.read(i)) };
  for (const s of [xs, v, i]) be.free(s);
  return out;
}

/** Same values (NaN matching NaN, -0 as 0) and the same indices. */
function expectSame(got: { values: number[]; indices: number[] }, want: { values: number[]; indices: number[] }, what: string): void {
  expect(got.indices, `${what}: indices`).toEqual(want.indices);
  expect(got.values.map((v) => (Number.isNaN(v) ? 'NaN' : v)), `${what}: values`).toEqual(want.values.map((v) => (Number.isNaN(v) ? 'NaN' : v)));
}

const CASES: Array<[string, number, number, number, Parameters<typeof rows>[3]]> = [
  ['random', 5, 97, 7, {}],
  ['ties', 6, 200, 16, { ties: true }],
  ['-Infinity', 4, 50, 12, { negInf: 0.5 }],
  ['all -Infinity rows fill k', 3, 9, 9, { negInf: 1.01 }],
  ['NaN ranked last', 5, 40, 30, { nan: 0.4, ties: true }],
  ['k = C', 3, 33, 33, { ties: true, negInf: 0.1, nan: 0.1 }],
  ['k = 1', 7, 301, 1, { ties: true }],
  ['k > 64 (two kernel passes)', 3, 500, 100, { ties: true, negInf: 0.05 }],
  ['k = C > 64', 2, 130, 130, { ties: true, nan: 0.05 }],
];

describe('topk: reference loop equals the host TopK', () => {
  for (const [name, R, C, k, o] of CASES) {
    it(name, async () => {
      const x = rows(R, C, R * 1000 + C, o);
      expectSame(await run(ref, x, R, C, k), hostTopk(x, R, C, k), name);
    });
  }

  it('float64 rows keep their values exactly', async () => {
    const x = Float64Array.from([0.1, 1 / 3, 1 / 3, -1e-300, Math.PI]);
    const xs = ref.fromArray(x, 'float64');
    const [v, i] = ref.topk(xs, 1, 5, 3);
    expect(Array.from(cpuData(v))).toEqual([Math.PI, 1 / 3, 1 / 3]);
    expect(Array.from(cpuData(i))).toEqual([4, 1, 2]);
  });
});

describe('topk: fast cpu path equals the reference', () => {
  for (const [name, R, C, k, o] of CASES) {
    it(name, async () => {
      const x = rows(R, C, R * 7 + C, o);
      expectSame(await run(fast, x, R, C, k), await run(ref, x, R, C, k), name);
    });
  }
});

describe.skipIf(!gpu)('topk: webgpu kernel equals the reference', () => {
  for (const [name, R, C, k, o] of CASES) {
    it(name, async () => {
      const x = rows(R, C, R * 13 + C, o);
      expectSame(await run(gpu!, x, R, C, k), await run(ref, x, R, C, k), name);
    });
  }

  it('rows of 4 × 50257 columns, k = 64', async () => {
    const R = 2;
    const C = 4 * 50257;
    const x = rows(R, C, 5, { ties: true });
    expectSame(await run(gpu!, x, R, C, 64), await run(ref, x, R, C, 64), 'wide rows');
  });

  it('rows in binding windows (staged, unaligned row starts)', async () => {
    const saved = gpu!.rt.maxBindingBytes;
    gpu!.rt.maxBindingBytes = 4096;
    try {
      const R = 37;
      const C = 101; // rows start unaligned: pieces are staged
      const x = rows(R, C, 9, { ties: true, nan: 0.02 });
      expectSame(await run(gpu!, x, R, C, 70), await run(ref, x, R, C, 70), 'windows');
    } finally {
      gpu!.rt.maxBindingBytes = saved;
    }
  });
});

describe('E.topk', () => {
  it('returns values and int32 indices [R, k], outside the tape', async () => {
    const x = E.tensor([1, 3, 3, 2, -1, 0], [2, 3], { requiresGrad: true });
    const { values, indices } = E.topk(x, 2);
    expect(values.shape).toEqual([2, 2]);
    expect(indices.dtype).toBe('int32');
    expect(values.requiresGrad).toBe(false);
    expect(await values.toArray()).toEqual([[3, 3], [2, 0]]);
    expect(await indices.toArray()).toEqual([[1, 2], [0, 2]]);
  });

  it('names the op, shape and argument on bad input', () => {
    const x = E.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(() => E.topk(x, 4)).toThrow(/topk: k must be an integer in \[1, 3\] for x \[2, 3\], got 4/);
    expect(() => E.topk(x, 0)).toThrow(/topk: k must be an integer in \[1, 3\].*got 0/);
    expect(() => E.topk(x, 1.5)).toThrow(/topk: k/);
    expect(() => E.topk(E.tensor([1, 2, 3], [3]), 1)).toThrow(/topk: x must be 2-D \[rows, columns\], got \[3\]/);
    expect(() => E.topk(E.tensor([1, 2], [2, 1], { dtype: 'int32' }), 1)).toThrow(/topk: expected a float tensor, got int32/);
  });
});
