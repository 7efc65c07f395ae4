// WebGPU storages larger than one binding (engine/webgpu/windows.ts): with the binding limit
// lowered to a few KiB, every backend method runs its windowed path on tensors several windows
// long, and must agree with the cpu backend (bit-exact where the arithmetic is, else within float32
// rounding). Also covers the row-staging fallback (rows too long for aligned windows) and the
// windowed matmul on every kernel path.

import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend, DType, MatmulSpec, Storage, TypedArray, View } from '../../engine/backend.js';
import { CpuBackend, cpuData } from '../../engine/cpu/index.js';
import { HostRng } from '../../engine/random.js';
import { createWebGPUBackend, type WebGPUBackend } from '../../engine/webgpu/index.js';
import { largeMatmulTiles } from '../../engine/webgpu/matmul-large.js';
import { setMatmulPath } from '../../engine/webgpu/matmul.js';
import { alignedRowStep, windowElems } from '../../engine/webgpu/windows.js';

const required = process.env.CAMELS_REQUIRE_WEBGPU === '1';
let gpu: WebGPUBackend | null = null;
try {
  gpu = await createWebGPUBackend();
} catch (e) {
  if (required) throw e;
}
if (!gpu && required) throw new Error('CAMELS_REQUIRE_WEBGPU=1 but no WebGPU adapter was found');
const cpu = new CpuBackend();

afterAll(() => gpu?.destroy());

const rng = new HostRng(77);
const randn = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
const randint = (n: number, lo: number, hi: number): Int32Array => Int32Array.from({ length: n }, () => lo + Math.floor((hi - lo) * rng.uniform()));

function contiguous(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i]!;
  }
  return st;
}
const view = (shape: readonly number[], offset = 0): View => ({ offset, strides: contiguous(shape) });

function relErr(got: TypedArray, want: TypedArray): number {
  expect(got.length).toBe(want.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]!) !== Number.isNaN(got[i]!)) return Infinity;
    if (Number.isNaN(want[i]!)) continue;
    if (!Number.isFinite(want[i]!) || !Number.isFinite(got[i]!)) {
      if (want[i] !== got[i]) return Infinity;
      continue;
    }
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

function both(data: Float32Array | Int32Array): [Storage, Storage] {
  const dtype: DType = data instanceof Int32Array ? 'int32' : 'float32';
  return [gpu!.fromArray(data, dtype), cpu.fromArray(data, dtype)];
}

/** Run `fn` on both backends and compare (tol 0 = bit-exact). */
async function parity(what: string, fn: (b: Backend, s: Storage[]) => Storage, inputs: Array<[Storage, Storage]>, tol = 1e-6): Promise<void> {
  const g = fn(gpu!, inputs.map((p) => p[0]));
  const c = fn(cpu, inputs.map((p) => p[1]));
  const got = await gpu!.read(g);
  const want = cpuData(c);
  if (tol === 0) expect(Array.from(got), what).toEqual(Array.from(want));
  else {
    const err = relErr(got, want);
    expect(err, `${what}: relative error ${err}`).toBeLessThanOrEqual(tol);
  }
  gpu!.free(g);
  cpu.free(c);
}

const LIMIT = 16 * 1024; // bytes per binding: 4096 elements
let saved = 0;

describe.runIf(gpu)('webgpu storages larger than one binding', () => {
  beforeEach(() => {
    saved = gpu!.rt.maxBindingBytes;
    gpu!.rt.maxBindingBytes = LIMIT;
  });
  afterEach(() => {
    gpu!.rt.maxBindingBytes = saved;
    setMatmulPath(null);
  });

  it('plans windows of the lowered size', () => {
    expect(windowElems(gpu!.rt)).toBe(4096);
    expect(alignedRowStep(50257)).toBe(64);
    expect(alignedRowStep(768)).toBe(1);
    expect(alignedRowStep(40)).toBe(8);
    const t = largeMatmulTiles(2048, 50257, 768, 32 * 1024 * 1024 - 16384);
    expect(t.tk).toBe(768);
    expect(t.tm * t.tk).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect(t.tn * t.tk).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect(t.tm * t.tn).toBeLessThanOrEqual(32 * 1024 * 1024);
  });

  it('elementwise: unary, cast, full, dropout mask, sgd and adam in windows', async () => {
    const n = 4096 * 3 + 37;
    const x = both(randn(n));
    await parity('exp', (b, [s]) => b.unary('exp', s!), [x], 1e-6);
    await parity('cast', (b, [s]) => b.cast(s!, 'int32'), [both(Float32Array.from(randn(n), (v) => v * 50))], 0);
    await parity('full', (b) => b.full(n, 'float32', 2.5), [], 0);
    await parity('dropoutMask', (b) => b.dropoutMask(n, 0.3, 1234, 'float32'), [], 0);
    const p = both(randn(n));
    const g = both(randn(n));
    const m = both(new Float32Array(n));
    const v = both(new Float32Array(n));
    const spec = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 };
    for (let step = 1; step <= 2; step++) {
      gpu!.adamStep(p[0], g[0], m[0], v[0], null, { ...spec, step });
      cpu.adamStep(p[1], g[1], m[1], v[1], null, { ...spec, step });
    }
    gpu!.sgdStepInPlace(p[0], g[0], 0.1, null);
    cpu.sgdStepInPlace(p[1], g[1], 0.1, null);
    await parity('adam + sgd param', (_b, [s]) => s!, [p], 1e-6);
    await parity('adam m', (_b, [s]) => s!, [m], 1e-6);
  });

  it('strided: broadcast binary, transposed copy, where, copyInto a strided view', async () => {
    const a = both(randn(300 * 170));
    const r = both(randn(170));
    await parity('add row', (b, [s, t]) => b.binary('add', s!, view([300, 170]), t!, { offset: 0, strides: [0, 1] }, [300, 170]), [a, r], 0);
    const t: View = { offset: 0, strides: [1, 170] };
    await parity('mul transposed', (b, [s]) => b.binary('mul', s!, t, s!, t, [170, 300]), [a], 0);
    await parity('copy transposed', (b, [s]) => b.copy(s!, { offset: 3, strides: [1, 170] }, [160, 290]), [a], 0);
    const c = both(Float32Array.from(randn(300 * 170), (v) => (v > 0 ? 1 : 0)));
    const z = both(randn(300 * 170));
    await parity('where', (b, [cc, s, t]) => b.where(cc!, view([300, 170]), s!, view([300, 170]), t!, view([300, 170]), [300, 170]), [c, a, z], 0);
    await parity(
      'copyInto every other row',
      (b, [d, s]) => {
        const out = b.copy(d!, view([300, 170]), [300, 170]);
        b.copyInto(out, { offset: 170, strides: [340, 1] }, s!, { offset: 5, strides: [1, 150] }, [140, 150]);
        return out;
      },
      [z, a],
      0,
    );
    // One 1-D run longer than a window, and a fully transposed view with 13 dims (none mergeable).
    await parity('copy 1-d', (b, [s]) => b.copy(s!, { offset: 7, strides: [1] }, [300 * 170 - 7]), [a], 0);
    const dims = new Array<number>(13).fill(2);
    await parity('copy 13 dims', (b, [s]) => b.copy(s!, { offset: 11, strides: dims.map((_, i) => 2 ** i) }, dims), [a], 0);
  });

  it('gather, scatterAdd and oneHot over split tables', async () => {
    const N = 700;
    // D = 40: aligned row windows; D = 97: 64 rows exceed a window, so rows are staged through copies.
    for (const D of [40, 97]) {
      const table = both(randn(N * D));
      const idx = both(randint(500, 0, N));
      await parity(`gather D=${D}`, (b, [t, i]) => b.gather(t!, N, D, i!), [table, idx], 0);
      const src = both(randn(500 * D));
      await parity(`scatterAdd D=${D}`, (b, [s, i]) => b.scatterAdd(s!, 500, D, i!, N), [src, idx], 1e-6);
    }
    await parity('oneHot', (b, [i]) => b.oneHot(i!, 500, 97, 'float32'), [both(randint(500, 0, 97))], 0);
  });

  it('reductions of large inputs over every axis pattern', async () => {
    const shape = [40, 30, 50];
    const x = both(randn(40 * 30 * 50));
    for (const axes of [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2]]) {
      for (const op of ['sum', 'max', 'min'] as const) {
        await parity(`${op} [${axes}]`, (b, [s]) => b.reduce(op, s!, shape, axes), [x], op === 'sum' ? 1e-6 : 0);
      }
    }
    const long = both(randn(3 * 20001));
    await parity('sum of long rows', (b, [s]) => b.reduce('sum', s!, [3, 20001], [1]), [long], 1e-6);
    await parity('sum of a long column', (b, [s]) => b.reduce('sum', s!, [20001, 3], [0]), [long], 1e-6);
  });

  for (const path of ['naive', 'rows', 'tiled'] as const) {
    it(`matmul (${path} kernel) with operands split into tiles`, async () => {
      setMatmulPath(path);
      const M = 150;
      const K = 90;
      const N = 130;
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = both(randn(2 * M * K));
          const bm = both(randn(N * K));
          const spec: MatmulSpec = { batch: [2], aBatchStrides: [M * K], bBatchStrides: [0], M, K, N, transA, transB };
          await parity(`matmul tA=${transA} tB=${transB}`, (b, [x, y]) => b.matmul(x!, y!, spec), [a, bm], 1e-5);
        }
      }
      // A long contraction (k split into slices, partial products summed).
      const a = both(randn(20 * 9000));
      const bm = both(randn(9000 * 3));
      await parity('matmul long K', (b, [x, y]) => b.matmul(x!, y!, { batch: [], aBatchStrides: [], bBatchStrides: [], M: 20, K: 9000, N: 3, transA: false, transB: false }), [a, bm], 1e-5);
    });
  }

  it('row kernels in aligned windows and staged long rows', async () => {
    for (const C of [50, 97, 700]) {
      // C = 700: 64 rows exceed a window, so unaligned pieces are staged through copies.
      const R = 130;
      const x = both(randn(R * C));
      const labels = both(randint(R, -1, C));
      const g = both(randn(R));
      await parity(`softmax C=${C}`, (b, [s]) => b.softmax(s!, R, C), [x], 1e-6);
      await parity(`logSoftmax C=${C}`, (b, [s]) => b.logSoftmax(s!, R, C), [x], 1e-6);
      await parity(`crossEntropy C=${C}`, (b, [s, l]) => b.crossEntropy(s!, l!, R, C, -1), [x, labels], 1e-6);
      await parity(`crossEntropyBackward C=${C}`, (b, [s, l, gg]) => b.crossEntropyBackward(s!, l!, gg!, R, C, -1), [x, labels, g], 1e-6);
      const gy = both(randn(R * C));
      await parity(`softmaxBackward C=${C}`, (b, [s, gg]) => b.softmaxBackward(b.softmax(s!, R, C), gg!, R, C), [x, gy], 1e-5);
      const w = both(randn(C));
      const bias = both(randn(C));
      await parity(`layerNorm C=${C}`, (b, [s, ww, bb]) => b.layerNorm(s!, ww!, bb!, R, C, 1e-5), [x, w, bias], 1e-5);
    }
  });

  it('attention a block of sequences at a time', async () => {
    const spec = { B: 20, H: 2, T: 64, D: 16, scale: 0.25, causal: true, window: 0 };
    const n = spec.B * spec.H * spec.T * spec.D;
    const [q, k, v] = [both(randn(n)), both(randn(n)), both(randn(n))];
    const mask = both(Float32Array.from({ length: spec.B * spec.T }, (_, i) => (i % spec.T < 60 ? 1 : 0)));
    await parity('attention', (b, [a, bb, c, m]) => b.attention(a!, bb!, c!, m!, spec), [q, k, v, mask], 1e-5);
  });
});
