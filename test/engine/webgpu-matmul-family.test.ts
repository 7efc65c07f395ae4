// The webgpu matmul kernels of the 'gpu' family (the 128 x 128 vec4 fast path of
// shaders/matmul_tiled128.wgsl, the general kernel of shaders/matmul.wgsl, split-K) against the
// float64 CPU reference: odd and aligned shapes, every transpose combination, broadcast batch
// dims, the bias epilogue, which variant the table chose, and the 'software' family still on its
// own kernels.
// Shapes stay ≤ ~256³: llvmpipe runs the workgroup-memory kernels at a fraction of a GFLOP/s.
// Fails (never skips) when CAMELS_REQUIRE_WEBGPU=1 and no adapter exists.

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { MatmulSpec } from '../../engine/backend.js';
import { CpuBackend, cpuData } from '../../engine/cpu/index.js';
import { HostRng } from '../../engine/random.js';
import { createWebGPUBackend, type WebGPUBackend } from '../../engine/webgpu/index.js';
import { lastMatmulPlan, setMatmulPath, setMatmulPlan, type MatmulPlanOverride } from '../../engine/webgpu/matmul.js';
import type { MatmulVariant } from '../../engine/webgpu/matmul-table.js';
import type { Kernel } from '../../engine/webgpu/runtime.js';

const required = process.env.CAMELS_REQUIRE_WEBGPU === '1';
let gpu: WebGPUBackend | null = null;
let probeError: unknown = null;
try {
  gpu = await createWebGPUBackend();
} catch (e) {
  probeError = e;
}
const cpu = new CpuBackend();
const family = gpu?.kernelFamily;

afterAll(() => {
  gpu?.destroy();
});
afterEach(() => {
  setMatmulPlan(null);
  setMatmulPath(null);
  if (gpu && family) gpu.kernelFamily = family;
});

if (required) {
  it('finds a WebGPU adapter (CAMELS_REQUIRE_WEBGPU=1)', () => {
    if (probeError) throw probeError;
    expect(gpu, 'no WebGPU adapter found').not.toBeNull();
  });
}

const rng = new HostRng(20261201);

/** Uniform [-1, 1) entries: every product term is at most 1 in size. */
function randu(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}

/** Names of the kernels dispatched while `fn` runs. */
async function kernelsOf(g: WebGPUBackend, fn: () => Promise<void>): Promise<string[]> {
  const names: string[] = [];
  const rt = g.rt;
  const dispatch = rt.dispatch.bind(rt);
  rt.dispatch = (k: Kernel, ...rest) => {
    names.push(k.name);
    dispatch(k, ...rest);
  };
  try {
    await fn();
  } finally {
    rt.dispatch = dispatch;
  }
  return names;
}

interface Case {
  M: number;
  K: number;
  N: number;
  transA?: boolean;
  transB?: boolean;
  /** Batch shape and each operand's batch strides (elements); stored sizes follow from them. */
  batch?: number[];
  aStrides?: number[];
  bStrides?: number[];
  /** Add a bias [N] (the matmul epilogue); the reference adds it after its product. */
  bias?: boolean;
}

/** Run one product on webgpu and the float64 reference; max |error| ≤ 2e-7·K (entries in [-1, 1)). */
async function check(g: WebGPUBackend, c: Case, label: string): Promise<void> {
  const { M, K, N } = c;
  const transA = c.transA ?? false;
  const transB = c.transB ?? false;
  const batch = c.batch ?? [];
  const aStrides = c.aStrides ?? batch.map(() => 0);
  const bStrides = c.bStrides ?? batch.map(() => 0);
  const extent = (strides: number[], item: number): number => batch.reduce((s, n, d) => s + (n - 1) * strides[d]!, 0) + item;
  const a = randu(extent(aStrides, M * K)); // [.., M, K] or [.., K, M]
  const b = randu(extent(bStrides, K * N)); // [.., K, N] or [.., N, K]
  const spec: MatmulSpec = { batch, aBatchStrides: aStrides, bBatchStrides: bStrides, M, K, N, transA, transB };
  const bias = c.bias ? randu(N) : null;
  const ga = g.fromArray(a, 'float32');
  const gb = g.fromArray(b, 'float32');
  const gbias = bias ? g.fromArray(bias, 'float32') : undefined;
  const gy = g.matmul(ga, gb, spec, gbias);
  const y = await g.read(gy);
  const ca = cpu.fromArray(Float64Array.from(a), 'float64');
  const cb = cpu.fromArray(Float64Array.from(b), 'float64');
  const ref = cpuData(cpu.matmul(ca, cb, spec));
  if (bias) for (let i = 0; i < ref.length; i++) ref[i]! += bias[i % N]!;
  expect(y.length, label).toBe(ref.length);
  let err = 0;
  for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(ref[i]! - y[i]!));
  expect(err, `${label}: max |error| ${err}`).toBeLessThanOrEqual(2e-7 * K + 1e-6);
  for (const s of [ga, gb, gy, ...(gbias ? [gbias] : [])]) g.free(s);
}

const TRANS: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];

/** Check `c` under the gpu family and assert the variant and split that ran. */
async function checkPlan(c: Case, variant: MatmulVariant, split: number, override: MatmulPlanOverride | null = null): Promise<void> {
  const g = gpu!;
  g.kernelFamily = 'gpu';
  setMatmulPlan(override);
  const label = `${c.M}x${c.K}x${c.N} tA=${c.transA ?? false} tB=${c.transB ?? false} batch=[${c.batch ?? []}]${c.bias ? ' +bias' : ''}`;
  const names = await kernelsOf(g, () => check(g, c, label));
  const plan = lastMatmulPlan();
  expect(plan?.variant, label).toBe(variant);
  expect(plan?.split, label).toBe(split);
  const main = variant === 'tiled128' ? 'matmul_tiled128.wgsl:matmul_tiled128' : 'matmul.wgsl:matmul';
  // Exactly these dispatches: a bias is added in the epilogue, not by a separate add.
  expect(names, label).toEqual(split > 1 ? [main, 'matmul.wgsl:splitk_reduce'] : [main]);
}

describe.skipIf(!gpu)('webgpu matmul, gpu kernel family', () => {
  it('fast path (tiled128): aligned shapes, every transpose, partial tiles and k-tiles', async () => {
    for (const [transA, transB] of TRANS) {
      await checkPlan({ M: 128, K: 136, N: 192, transA, transB }, 'tiled128', 1); // K = 17 k-tiles of 8
      await checkPlan({ M: 196, K: 68, N: 132, transA, transB }, 'tiled128', 1); // partial M and N tiles
    }
    // Odd dims where no load runs along them: M with A untransposed, N with B transposed.
    await checkPlan({ M: 129, K: 132, N: 200 }, 'tiled128', 1);
    await checkPlan({ M: 130, K: 256, N: 67, transB: true }, 'tiled128', 1);
    await checkPlan({ M: 132, K: 100, N: 127, transA: true, transB: true }, 'tiled128', 1);
    await checkPlan({ M: 65, K: 4, N: 64 }, 'tiled128', 1); // one k-tile, half empty
  });

  it('general path (tiled): odd shapes, every transpose, tiny products', async () => {
    for (const [transA, transB] of TRANS) {
      await checkPlan({ M: 127, K: 129, N: 130, transA, transB }, 'tiled', 1);
      await checkPlan({ M: 5, K: 3, N: 1, transA, transB }, 'tiled', 1);
    }
    await checkPlan({ M: 1, K: 1, N: 1 }, 'tiled', 1);
    await checkPlan({ M: 1, K: 33, N: 257 }, 'tiled', 1);
    await checkPlan({ M: 32, K: 64, N: 256 }, 'tiled', 1); // aligned but M < 64
    await checkPlan({ M: 128, K: 136, N: 192, transA: true }, 'tiled', 1, { variant: 'tiled' }); // forced on an aligned shape
  });

  it('broadcast batch dims on both paths', async () => {
    // Batch [2, 3]: A broadcast over dim 1, B over dim 0.
    for (const [transA, transB] of TRANS) {
      const [M, K, N] = [64, 68, 72];
      await checkPlan({ M, K, N, transA, transB, batch: [2, 3], aStrides: [M * K, 0], bStrides: [0, K * N] }, 'tiled128', 1);
      const [m, k, n] = [65, 33, 70];
      await checkPlan({ M: m, K: k, N: n, transA, transB, batch: [2, 3], aStrides: [m * k, 0], bStrides: [0, k * n] }, 'tiled', 1);
    }
    // Aligned dims but a batch stride that is not a multiple of 4: the general kernel.
    await checkPlan({ M: 64, K: 64, N: 64, batch: [3], aStrides: [64 * 64 + 2], bStrides: [64 * 64] }, 'tiled', 1);
  });

  it('split-K on both paths, chosen by the table and forced', async () => {
    await checkPlan({ M: 128, K: 1024, N: 128 }, 'tiled128', 2); // 1 tile, K / 512 = 2
    await checkPlan({ M: 130, K: 1037, N: 129 }, 'tiled', 2);
    for (const [transA, transB] of TRANS) {
      await checkPlan({ M: 96, K: 260, N: 132, transA, transB }, 'tiled128', 3, { split: 3 }); // uneven last chunk
      await checkPlan({ M: 67, K: 301, N: 5, transA, transB }, 'tiled', 5, { split: 5 });
    }
  });

  it('bias epilogue on both kernels, with and without split-K, batched', async () => {
    await checkPlan({ M: 130, K: 72, N: 67, transB: true, bias: true }, 'tiled128', 1);
    await checkPlan({ M: 64, K: 68, N: 72, batch: [3], aStrides: [64 * 68], bStrides: [0], bias: true }, 'tiled128', 1);
    await checkPlan({ M: 128, K: 1024, N: 128, transA: true, bias: true }, 'tiled128', 2);
    await checkPlan({ M: 127, K: 129, N: 130, transA: true, bias: true }, 'tiled', 1);
    await checkPlan({ M: 130, K: 1037, N: 129, bias: true }, 'tiled', 2);
    // Operands over one binding (windowed tiles): the bias is a separate broadcast add.
    const g = gpu!;
    const saved = g.rt.maxBindingBytes;
    g.rt.maxBindingBytes = 16 * 1024;
    try {
      g.kernelFamily = 'gpu';
      const names = await kernelsOf(g, () => check(g, { M: 150, K: 90, N: 70, bias: true }, 'windowed +bias'));
      expect(names.at(-1)).toContain('binary');
    } finally {
      g.rt.maxBindingBytes = saved;
    }
  });

  it('refuses the fast variant on unaligned operands, and split-K on a batch', async () => {
    const g = gpu!;
    g.kernelFamily = 'gpu';
    setMatmulPlan({ variant: 'tiled128' });
    await expect(check(g, { M: 64, K: 66, N: 64 }, 'forced tiled128')).rejects.toThrow(/tiled128 variant needs vec4-aligned operands \(M=64 N=64 K=66/);
    setMatmulPlan({ split: 2 });
    await expect(check(g, { M: 8, K: 64, N: 8, batch: [2], aStrides: [512], bStrides: [0] }, 'forced split')).rejects.toThrow(/split-K needs batch 1, got batch 2/);
  });
});

describe.skipIf(!gpu)('webgpu matmul, software kernel family', () => {
  it('keeps its own kernels (uniform-window rows, one invocation per output)', async () => {
    const g = gpu!;
    g.kernelFamily = 'software';
    const rows = await kernelsOf(g, () => check(g, { M: 128, K: 128, N: 128 }, 'software rows'));
    expect(rows).toEqual(['matmul.wgsl:pack_a', 'matmul.wgsl:pack_b', 'matmul.wgsl:matmul_rows']);
    const naive = await kernelsOf(g, () => check(g, { M: 5, K: 7, N: 3, transA: true }, 'software naive'));
    expect(naive).toEqual(['matmul.wgsl:matmul_naive']);
    // A bias: the same kernels, then one broadcast add.
    const biased = await kernelsOf(g, () => check(g, { M: 128, K: 128, N: 128, bias: true }, 'software rows +bias'));
    expect(biased.slice(0, 3)).toEqual(['matmul.wgsl:pack_a', 'matmul.wgsl:pack_b', 'matmul.wgsl:matmul_rows']);
    expect(biased.length).toBe(4);
  });
});
