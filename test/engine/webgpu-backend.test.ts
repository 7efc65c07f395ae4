// WebGPU backend parity: every Backend method on webgpu (float32 / int32) against CpuBackend, at
// sizes that are not tile multiples. Fails (never skips) when CAMELS_REQUIRE_WEBGPU=1 and no
// adapter exists; otherwise skips without an adapter.

import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, DType, MatmulSpec, Storage, TypedArray, UnaryOp, View } from '../../engine/backend.js';
import { CpuBackend, cpuData } from '../../engine/cpu/index.js';
import { HostRng } from '../../engine/random.js';
import { createWebGPUBackend, type WebGPUBackend } from '../../engine/webgpu/index.js';
import { setMatmulPath } from '../../engine/webgpu/matmul.js';

const required = process.env.CAMELS_REQUIRE_WEBGPU === '1';
let gpu: WebGPUBackend | null = null;
let probeError: unknown = null;
try {
  gpu = await createWebGPUBackend();
} catch (e) {
  probeError = e;
}
const cpu = new CpuBackend();

afterAll(() => {
  gpu?.destroy();
});

if (required) {
  it('finds a WebGPU adapter (CAMELS_REQUIRE_WEBGPU=1)', () => {
    if (probeError) throw probeError;
    expect(gpu, 'no WebGPU adapter found').not.toBeNull();
  });
}

// ------------------------------------------------------------------ helpers

const rng = new HostRng(20261126);

function randn(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

function randu(n: number, lo: number, hi: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.uniform();
  return a;
}

function randint(n: number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor((hi - lo) * rng.uniform());
  return a;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function contiguous(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i]!;
  }
  return st;
}

function view(shape: readonly number[], offset = 0): View {
  return { offset, strides: contiguous(shape) };
}

/** Broadcast view of a contiguous `shape` into `outShape` (right-aligned, size-1 dims get stride 0). */
function bview(shape: readonly number[], outShape: readonly number[]): View {
  const st = contiguous(shape);
  const strides = outShape.map((_, d) => {
    const k = d - (outShape.length - shape.length);
    return k < 0 || shape[k] === 1 ? 0 : st[k]!;
  });
  return { offset: 0, strides };
}

/** Norm-relative error ||got - want|| / max(||want||, tiny); also checks NaN positions agree. */
function relErr(got: TypedArray, want: TypedArray): number {
  expect(got.length).toBe(want.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g)) return Infinity;
      continue;
    }
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (w !== g) return Infinity;
      continue;
    }
    num += (g - w) * (g - w);
    den += w * w;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

async function expectClose(g: Storage, c: Storage, tol = 1e-5, what = ''): Promise<void> {
  const got = await gpu!.read(g);
  const want = cpuData(c);
  const err = relErr(got, want);
  expect(err, `${what}: relative error ${err}`).toBeLessThanOrEqual(tol);
}

async function expectEqual(g: Storage, c: Storage, what = ''): Promise<void> {
  const got = await gpu!.read(g);
  const want = cpuData(c);
  expect(Array.from(got), what).toEqual(Array.from(want));
}

/** The same data on both backends. */
function both(data: Float32Array | Int32Array, dtype: DType = data instanceof Int32Array ? 'int32' : 'float32'): [Storage, Storage] {
  return [gpu!.fromArray(data, dtype), cpu.fromArray(data, dtype)];
}

function freeAll(...pairs: Array<Storage | Storage[] | [Storage, Storage]>): void {
  for (const p of pairs) {
    const list = Array.isArray(p) ? p : [p];
    for (const s of list) (s.backend === 'webgpu' ? gpu! : cpu).free(s);
  }
}

/** Run `fn` on both backends and compare. */
async function parity(
  fn: (b: Backend, inputs: Storage[]) => Storage,
  inputs: Array<[Storage, Storage]>,
  tol = 1e-5,
  what = '',
): Promise<void> {
  const g = fn(gpu!, inputs.map((p) => p[0]));
  const c = fn(cpu, inputs.map((p) => p[1]));
  if (tol === 0) await expectEqual(g, c, what);
  else await expectClose(g, c, tol, what);
  freeAll(g, c);
}

// ------------------------------------------------------------------ tests

describe.skipIf(!gpu)('webgpu backend vs cpu (float32)', () => {
  let startLive = 0;

  it('records the starting live count', () => {
    startLive = gpu!.liveCount();
    expect(gpu!.name).toBe('webgpu');
    expect(gpu!.adapterName.length).toBeGreaterThan(0);
    const d = gpu!.describe();
    expect(d.name).toBe(gpu!.adapterName);
    expect(d.backend.length).toBeGreaterThan(0);
    expect(d.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(Array.isArray(d.features)).toBe(true);
  });

  it('fromArray / read / full round trips', async () => {
    for (const n of [1, 7, 33, 257, 0]) {
      const f = randn(n);
      const s = gpu!.fromArray(f, 'float32');
      expect(Array.from(await gpu!.read(s))).toEqual(Array.from(f));
      const i = randint(n, -1000, 1000);
      const t = gpu!.fromArray(i, 'int32');
      const back = await gpu!.read(t);
      expect(back).toBeInstanceOf(Int32Array);
      expect(Array.from(back)).toEqual(Array.from(i));
      freeAll(s, t);
    }
    const a = gpu!.full(257, 'float32', -2.5);
    expect(Array.from(await gpu!.read(a))).toEqual(new Array(257).fill(-2.5));
    const b = gpu!.full(33, 'int32', -7);
    expect(Array.from(await gpu!.read(b))).toEqual(new Array(33).fill(-7));
    freeAll(a, b);
  });

  it('float64 is refused with a clear error', () => {
    expect(gpu!.supportsDType('float64')).toBe(false);
    expect(gpu!.supportsDType('float32')).toBe(true);
    expect(gpu!.supportsDType('int32')).toBe(true);
    const msg = /webgpu: float64 is not supported; use the cpu device for float64/;
    expect(() => gpu!.fromArray(new Float64Array(3), 'float64')).toThrow(msg);
    expect(() => gpu!.full(3, 'float64', 0)).toThrow(msg);
    expect(() => gpu!.dropoutMask(3, 0.1, 1, 'float64')).toThrow(msg);
    const x = gpu!.fromArray(new Float32Array(4), 'float32');
    expect(() => gpu!.cast(x, 'float64')).toThrow(msg);
    gpu!.free(x);
  });

  it('unary ops (float32)', async () => {
    const n = 257;
    const general = randn(n, 2);
    general[0] = 0;
    general[1] = -0.3;
    general[2] = 40;
    general[3] = -40;
    const positive = randu(n, 0.01, 5);
    const cases: Array<[UnaryOp, Float32Array, number?, number?]> = [
      ['neg', general], ['exp', general], ['log', positive], ['sqrt', positive], ['rsqrt', positive],
      ['abs', general], ['sign', general], ['tanh', general], ['sigmoid', general], ['relu', general],
      ['step', general], ['erf', general], ['gelu_tanh', general], ['gelu_erf', general],
      ['softplus', general, 1, 20], ['softplus', general, 2, 3],
      ['pow_scalar', positive, 2.5], ['pow_scalar', general, 3], ['pow_scalar', general, 2], ['pow_scalar', general, 0],
      ['add_scalar', general, 1.5], ['mul_scalar', general, -0.25],
    ];
    const [g, c] = both(general);
    const [gp, cp] = both(positive);
    for (const [op, data, p0, p1] of cases) {
      const pair: [Storage, Storage] = data === general ? [g, c] : [gp, cp];
      await parity((b, [x]) => b.unary(op, x!, p0, p1), [pair], 2e-6, `unary ${op}(${p0 ?? ''})`);
    }
    // Small arguments, where relative accuracy matters.
    const small = randn(n, 1e-3);
    const [gs, cs] = both(small);
    for (const op of ['tanh', 'erf', 'gelu_erf', 'gelu_tanh', 'sigmoid'] as UnaryOp[]) {
      await parity((b, [x]) => b.unary(op, x!), [[gs, cs]], 2e-6, `unary ${op} small`);
    }
    freeAll(g, c, gp, cp, gs, cs);
  });

  it('unary ops (int32) and casts', async () => {
    const data = randint(257, -1000, 1000);
    data[0] = 0;
    const [g, c] = both(data);
    for (const [op, p0] of [['neg'], ['abs'], ['sign'], ['add_scalar', 7], ['mul_scalar', -3]] as Array<[UnaryOp, number?]>) {
      await parity((b, [x]) => b.unary(op, x!, p0), [[g, c]], 0, `int32 ${op}`);
    }
    expect(() => gpu!.unary('exp', g)).toThrow(/not defined for int32/);
    await parity((b, [x]) => b.cast(x!, 'float32'), [[g, c]], 0, 'cast int32->float32');
    const f = randn(257, 100);
    const [gf, cf] = both(f);
    await parity((b, [x]) => b.cast(x!, 'int32'), [[gf, cf]], 0, 'cast float32->int32');
    await parity((b, [x]) => b.cast(x!, 'float32'), [[gf, cf]], 0, 'cast float32->float32');
    freeAll(g, c, gf, cf);
  });

  it('binary ops with broadcasting and strided views', async () => {
    const out = [7, 33];
    const aData = randn(7);
    const bData = randn(33);
    // A few exact ties so comparisons see equality.
    aData[0] = bData[0]!;
    const [ga, ca] = both(aData);
    const [gb, cb] = both(bData);
    const av = bview([7, 1], out);
    const bv = bview([33], out);
    const ops = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
    for (const op of ops) {
      await parity((b, [x, y]) => b.binary(op, x!, av, y!, bv, out), [[ga, ca], [gb, cb]], 1e-6, `binary ${op}`);
    }
    // pow: positive base with real exponents, negative base with integer exponents.
    const base = randu(7 * 33, 0.1, 3);
    const expo = randu(7 * 33, -2, 2);
    const [gx, cx] = both(base);
    const [ge, ce] = both(expo);
    await parity((b, [x, y]) => b.binary('pow', x!, view(out), y!, view(out), out), [[gx, cx], [ge, ce]], 2e-6, 'pow');
    const nb = randn(7 * 33);
    const ie = new Float32Array(7 * 33).map(() => Math.floor(rng.uniform() * 5) - 2);
    const [gn, cn] = both(nb);
    const [gi, ci] = both(ie);
    await parity((b, [x, y]) => b.binary('pow', x!, view(out), y!, view(out), out), [[gn, cn], [gi, ci]], 2e-6, 'pow negative base');
    // Transposed (non-contiguous) views with an offset: a is [33, 7] read as its transpose.
    const tData = randn(1 + 33 * 7);
    const [gt, ct] = both(tData);
    const tv: View = { offset: 1, strides: [1, 7] };
    await parity((b, [x, y]) => b.binary('mul', x!, tv, y!, bv, out), [[gt, ct], [gb, cb]], 1e-6, 'binary transposed view');
    // 4-d broadcast against a scalar.
    const shape4 = [2, 3, 5, 7];
    const [g4, c4] = both(randn(numel(shape4)));
    const [g1, c1] = both(randn(1));
    await parity((b, [x, y]) => b.binary('sub', x!, view(shape4), y!, bview([1], shape4), shape4), [[g4, c4], [g1, c1]], 1e-6, 'binary scalar');
    freeAll(ga, ca, gb, cb, gx, cx, ge, ce, gn, cn, gi, ci, gt, ct, g4, c4, g1, c1);
  });

  it('binary ops on int32', async () => {
    const out = [7, 33];
    const [ga, ca] = both(randint(7 * 33, -50, 50));
    const bData = randint(33, -9, 10);
    for (let i = 0; i < bData.length; i++) if (bData[i] === 0) bData[i] = 3;
    const [gb, cb] = both(bData);
    const bv = bview([33], out);
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
      await parity((b, [x, y]) => b.binary(op, x!, view(out), y!, bv, out), [[ga, ca], [gb, cb]], 0, `int32 ${op}`);
    }
    freeAll(ga, ca, gb, cb);
  });

  it('where with float and int conditions', async () => {
    const out = [33, 7];
    const cond = new Float32Array(33).map((_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : -0));
    cond[2] = 0.5;
    const [gc, cc] = both(cond);
    const [ga, ca] = both(randn(33 * 7));
    const [gb, cb] = both(randn(7));
    const cv = bview([33, 1], out);
    await parity((b, [c, x, y]) => b.where(c!, cv, x!, view(out), y!, bview([7], out), out), [[gc, cc], [ga, ca], [gb, cb]], 0, 'where f32 cond');
    const icond = randint(33 * 7, 0, 2);
    const [gi, ci] = both(icond);
    await parity((b, [c, x, y]) => b.where(c!, view(out), x!, view(out), y!, bview([7], out), out), [[gi, ci], [ga, ca], [gb, cb]], 0, 'where i32 cond');
    freeAll(gc, cc, ga, ca, gb, cb, gi, ci);
  });

  it('copy and copyInto through strided views (up to 8 dims)', async () => {
    const shape = [2, 3, 4, 5];
    const [g, c] = both(randn(numel(shape)));
    // Permute to [5, 3, 2, 4].
    const st = contiguous(shape);
    const perm = [3, 1, 0, 2];
    const pv: View = { offset: 0, strides: perm.map((p) => st[p]!) };
    const pshape = perm.map((p) => shape[p]!);
    await parity((b, [x]) => b.copy(x!, pv, pshape), [[g, c]], 0, 'copy permuted');
    // Slice with offset and step: rows 1..2 of dim 1, every other column.
    await parity((b, [x]) => b.copy(x!, { offset: 5, strides: [60, 20, 10, 1] }, [2, 2, 2, 5]), [[g, c]], 0, 'copy sliced');
    // Broadcast copy (expand) and negative strides (flip).
    await parity((b, [x]) => b.copy(x!, { offset: 0, strides: [0, 1] }, [33, 7]), [[g, c]], 0, 'copy expand');
    await parity((b, [x]) => b.copy(x!, { offset: 119, strides: [-1] }, [120]), [[g, c]], 0, 'copy flip');
    // 8-d transposed copy (more than 6 non-mergeable dims).
    const s8 = [2, 1, 3, 2, 2, 3, 2, 2];
    const [g8, c8] = both(randn(numel(s8)));
    const st8 = contiguous(s8);
    const rev = st8.slice().reverse();
    const sh8 = s8.slice().reverse();
    await parity((b, [x]) => b.copy(x!, { offset: 0, strides: rev }, sh8), [[g8, c8]], 0, 'copy 8-d');
    // copyInto a strided window of a bigger destination.
    const dData = randn(7 * 33);
    const [gd, cd] = both(dData);
    const [gs, cs] = both(randn(3 * 5));
    const dv: View = { offset: 34, strides: [66, 2] }; // rows 1,3,5 (of 33 wide rows), cols 1,3,..9
    gpu!.copyInto(gd, dv, gs, view([3, 5]), [3, 5]);
    cpu.copyInto(cd, dv, cs, view([3, 5]), [3, 5]);
    await expectEqual(gd, cd, 'copyInto window');
    // copyInto within one storage (overlapping shift).
    gpu!.copyInto(gd, { offset: 1, strides: [1] }, gd, { offset: 0, strides: [1] }, [200]);
    cpu.copyInto(cd, { offset: 1, strides: [1] }, cd, { offset: 0, strides: [1] }, [200]);
    await expectEqual(gd, cd, 'copyInto overlapping');
    freeAll(g, c, g8, c8, gd, cd, gs, cs);
  });

  it('gather, scatterAdd and oneHot', async () => {
    const N = 33;
    const D = 7;
    const M = 257;
    const [gt, ct] = both(randn(N * D));
    const idx = randint(M, 0, N);
    const [gi, ci] = both(idx);
    await parity((b, [t, i]) => b.gather(t!, N, D, i!), [[gt, ct], [gi, ci]], 0, 'gather');
    const [gs, cs] = both(randn(M * D));
    await parity((b, [s, i]) => b.scatterAdd(s!, M, D, i!, N), [[gs, cs], [gi, ci]], 1e-6, 'scatterAdd');
    // int32 scatterAdd and a larger width.
    const [gsi, csi] = both(randint(M * D, -100, 100));
    await parity((b, [s, i]) => b.scatterAdd(s!, M, D, i!, N), [[gsi, csi], [gi, ci]], 0, 'scatterAdd int32');
    // Deterministic: the same result twice.
    const r1 = gpu!.scatterAdd(gs, M, D, gi, N);
    const r2 = gpu!.scatterAdd(gs, M, D, gi, N);
    expect(Array.from(await gpu!.read(r1))).toEqual(Array.from(await gpu!.read(r2)));
    freeAll(r1, r2);
    // oneHot with out-of-range rows.
    const oh = randint(M, -2, 9);
    const [go, co] = both(oh);
    await parity((b, [i]) => b.oneHot(i!, M, 7, 'float32'), [[go, co]], 0, 'oneHot f32');
    await parity((b, [i]) => b.oneHot(i!, M, 7, 'int32'), [[go, co]], 0, 'oneHot i32');
    // gather with out-of-range indices stays in bounds and writes zero rows.
    const bad = gpu!.fromArray(new Int32Array([0, -1, N, 1 << 30]), 'int32');
    const gb = gpu!.gather(gt, N, D, bad);
    const got = await gpu!.read(gb);
    const table = cpuData(ct);
    expect(Array.from(got.subarray(0, D))).toEqual(Array.from(table.subarray(0, D)));
    expect(Array.from(got.subarray(D))).toEqual(new Array(3 * D).fill(0));
    freeAll(gt, ct, gi, ci, gs, cs, gsi, csi, go, co, bad, gb);
  });

  for (const software of [false, true]) {
  it(`reduce sum / max / min over axes (${software ? 'software-adapter' : 'gpu'} kernels)`, async () => {
    const saved = gpu!.rt.softwareAdapter;
    gpu!.rt.softwareAdapter = software;
    const cases: Array<[number[], number[]]> = [
      [[257], [0]],
      [[7, 33, 5], [1]],
      [[7, 33, 5], [2]],
      [[7, 33, 5], [0]],
      [[7, 33, 5], [0, 2]],
      [[7, 33, 5], [0, 1, 2]],
      [[2, 3, 4, 5], [1, 3]],
      [[1, 7, 1], [0, 2]],
      [[3, 5000], [1]],
      [[5000, 3], [0]],
      [[1, 70000], [1]],
      [[33, 7], []],
    ];
    for (const [shape, axes] of cases) {
      const data = randn(numel(shape));
      const [g, c] = both(data);
      for (const op of ['sum', 'max', 'min'] as const) {
        await parity((b, [x]) => b.reduce(op, x!, shape, axes), [[g, c]], op === 'sum' ? 1e-5 : 0, `reduce ${op} [${shape}] over [${axes}]`);
      }
      freeAll(g, c);
    }
    const [gi, ci] = both(randint(7 * 33, -100, 100));
    for (const op of ['sum', 'max', 'min'] as const) {
      await parity((b, [x]) => b.reduce(op, x!, [7, 33], [0]), [[gi, ci]], 0, `reduce int32 ${op}`);
    }
    freeAll(gi, ci);
    gpu!.rt.softwareAdapter = saved;
  });
  }

  for (const path of ['tiled', 'rows', 'naive'] as const) {
  it(`matmul (${path} kernel): plain, transposed, batched with broadcast batch dims`, async () => {
    setMatmulPath(path);
    const plain: Array<[number, number, number]> = [[1, 1, 1], [7, 7, 7], [33, 257, 1], [1, 33, 257], [65, 129, 33], [130, 70, 257], [70, 600, 129]];
    for (const [M, K, N] of plain) {
      const [ga, ca] = both(randn(M * K));
      const [gb, cb] = both(randn(K * N));
      const spec: MatmulSpec = { batch: [], aBatchStrides: [], bBatchStrides: [], M, K, N, transA: false, transB: false };
      await parity((b, [x, y]) => b.matmul(x!, y!, spec), [[ga, ca], [gb, cb]], 1e-5, `matmul ${path} ${M}x${K}x${N}`);
      freeAll(ga, ca, gb, cb);
    }
    // Batch [2, 3]: a is [2, 1, ., .] (broadcast over dim 1), b is [1, 3, ., .] (broadcast over dim 0).
    const [M, K, N] = [65, 129, 33];
    const [ga, ca] = both(randn(2 * M * K));
    const [gb, cb] = both(randn(3 * K * N));
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const spec: MatmulSpec = {
          batch: [2, 3],
          aBatchStrides: [M * K, 0],
          bBatchStrides: [0, K * N],
          M,
          K,
          N,
          transA,
          transB,
        };
        await parity((b, [x, y]) => b.matmul(x!, y!, spec), [[ga, ca], [gb, cb]], 1e-5, `matmul ${path} batched transA=${transA} transB=${transB}`);
      }
    }
    freeAll(ga, ca, gb, cb);
    setMatmulPath(null);
  });
  }

  for (const software of [false, true]) {
  it(`softmax, logSoftmax, layerNorm, crossEntropy (${software ? 'software-adapter' : 'gpu'} kernels)`, async () => {
    const saved = gpu!.rt.softwareAdapter;
    gpu!.rt.softwareAdapter = software;
    for (const [R, C] of [[1, 1], [7, 33], [33, 257], [3, 5000]] as Array<[number, number]>) {
      const [g, c] = both(randn(R * C, 3));
      await parity((b, [x]) => b.softmax(x!, R, C), [[g, c]], 1e-5, `softmax ${R}x${C}`);
      await parity((b, [x]) => b.logSoftmax(x!, R, C), [[g, c]], 1e-5, `logSoftmax ${R}x${C}`);
      const [gw, cw] = both(randn(C));
      const [gb, cb] = both(randn(C));
      await parity((b, [x, w, bb]) => b.layerNorm(x!, w!, bb!, R, C, 1e-5), [[g, c], [gw, cw], [gb, cb]], 1e-5, `layerNorm ${R}x${C}`);
      const labels = randint(R, 0, C);
      if (R > 2) labels[1] = -100;
      const [gl, cl] = both(labels);
      await parity((b, [x, l]) => b.crossEntropy(x!, l!, R, C, -100), [[g, c], [gl, cl]], 1e-5, `crossEntropy ${R}x${C}`);
      freeAll(g, c, gw, cw, gb, cb, gl, cl);
    }
    gpu!.rt.softwareAdapter = saved;
  });
  }

  for (const software of [false, true]) {
  it(`attention with causal, window and key masks (${software ? 'software-adapter' : 'gpu'} kernels)`, async () => {
    const saved = gpu!.rt.softwareAdapter;
    gpu!.rt.softwareAdapter = software;
    const configs: Array<{ B: number; H: number; T: number; D: number; causal: boolean; window: number; mask: boolean }> = [
      { B: 1, H: 1, T: 1, D: 1, causal: false, window: 0, mask: false },
      { B: 2, H: 3, T: 33, D: 16, causal: false, window: 0, mask: false },
      { B: 2, H: 3, T: 33, D: 16, causal: true, window: 0, mask: false },
      { B: 2, H: 2, T: 70, D: 64, causal: true, window: 0, mask: true },
      { B: 2, H: 2, T: 70, D: 7, causal: true, window: 5, mask: true },
      { B: 1, H: 2, T: 40, D: 80, causal: false, window: 9, mask: true },
      { B: 1, H: 1, T: 9, D: 256, causal: true, window: 0, mask: false },
    ];
    for (const cfg of configs) {
      const { B, H, T, D } = cfg;
      const n = B * H * T * D;
      const [gq, cq] = both(randn(n));
      const [gk, ck] = both(randn(n));
      const [gv, cv] = both(randn(n));
      const inputs: Array<[Storage, Storage]> = [[gq, cq], [gk, ck], [gv, cv]];
      if (cfg.mask) {
        const m = new Float32Array(B * T).map(() => (rng.uniform() < 0.3 ? 0 : 1));
        m[0] = 0; // the first query of batch 0 then has no allowed key under a causal mask
        inputs.push(both(m));
      }
      const spec = { B, H, T, D, scale: 1 / Math.sqrt(D), causal: cfg.causal, window: cfg.window };
      await parity((b, [q, k, v, m]) => b.attention(q!, k!, v!, m ?? null, spec), inputs, 1e-5, `attention ${JSON.stringify(cfg)}`);
      freeAll(...inputs.flat());
    }
    // int32 key mask, every key of batch 1 masked: those rows are zeros.
    const [B, H, T, D] = [2, 1, 5, 4];
    const [gq, cq] = both(randn(B * H * T * D));
    const mask = new Int32Array([1, 1, 0, 1, 1, 0, 0, 0, 0, 0]);
    const [gm, cm] = both(mask);
    const spec = { B, H, T, D, scale: 0.5, causal: false, window: 0 };
    await parity((b, [q, m]) => b.attention(q!, q!, q!, m!, spec), [[gq, cq], [gm, cm]], 1e-5, 'attention int mask');
    freeAll(gq, cq, gm, cm);
    gpu!.rt.softwareAdapter = saved;
  });
  }

  it('dropoutMask is bit-identical to the cpu backend', async () => {
    for (const [size, p, seed] of [[10007, 0.1, 1234], [257, 0.5, 0], [33, 0, 7], [4099, 0.9, 0xffffffff]] as Array<[number, number, number]>) {
      const g = gpu!.dropoutMask(size, p, seed, 'float32');
      const c = cpu.dropoutMask(size, p, seed, 'float32');
      await expectEqual(g, c, `dropout p=${p} seed=${seed}`);
      freeAll(g, c);
    }
    expect(() => gpu!.dropoutMask(3, 1, 0, 'float32')).toThrow(/p must be in \[0, 1\)/);
  });

  it('adamStep and sgdStepInPlace update in place', async () => {
    const n = 257;
    for (const [weightDecay, withScale] of [[0, false], [0.01, true]] as Array<[number, boolean]>) {
      const p = randn(n);
      const [gp, cp] = both(p);
      const [gm, cm] = both(randn(n, 0.1));
      const [gv, cv] = both(randu(n, 0, 0.1));
      const [gs, cs] = both(new Float32Array([0.5]));
      for (let step = 1; step <= 3; step++) {
        const [gg, cg] = both(randn(n));
        const spec = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, step };
        gpu!.adamStep(gp, gg, gm, gv, withScale ? gs : null, spec);
        cpu.adamStep(cp, cg, cm, cv, withScale ? cs : null, spec);
        freeAll(gg, cg);
      }
      await expectClose(gp, cp, 1e-6, `adam param wd=${weightDecay}`);
      await expectClose(gm, cm, 1e-6, 'adam m');
      await expectClose(gv, cv, 1e-6, 'adam v');
      const [gg, cg] = both(randn(n));
      gpu!.sgdStepInPlace(gp, gg, 0.1, withScale ? gs : null);
      cpu.sgdStepInPlace(cp, cg, 0.1, withScale ? cs : null);
      await expectClose(gp, cp, 1e-6, 'sgd');
      freeAll(gp, cp, gm, cm, gv, cv, gs, cs, gg, cg);
    }
  });

  it('many queued ops without a readback (batch limits, uniform ring)', async () => {
    const [g, c] = both(randn(33));
    let gx = g;
    let cx = c;
    for (let i = 0; i < 5000; i++) {
      const gy = gpu!.unary('add_scalar', gx, 1e-3);
      const cy = cpu.unary('add_scalar', cx, 1e-3);
      if (gx !== g) gpu!.free(gx);
      if (cx !== c) cpu.free(cx);
      gx = gy;
      cx = cy;
    }
    await expectClose(gx, cx, 1e-5, 'chain');
    freeAll(g, c, gx, cx);
  });

  it('grids beyond the per-dimension workgroup limit', async () => {
    // A real one: 70000 rows, one workgroup each, needs a 2-D grid.
    const [R, C] = [70000, 3];
    const [g, c] = both(randn(R * C));
    await parity((b, [x]) => b.softmax(x!, R, C), [[g, c]], 1e-5, 'softmax 70000 rows');
    freeAll(g, c);
    // Then the same splitting logic at small sizes, with the limit lowered to 6 workgroups.
    const rt = gpu!.rt;
    const savedMax = rt.maxGroupsPerDim;
    const savedSw = rt.softwareAdapter;
    rt.maxGroupsPerDim = 6;
    rt.softwareAdapter = false;
    try {
      const [gx, cx] = both(randn(8 * 1000));
      await parity((b, [x]) => b.unary('exp', x!), [[gx, cx]], 2e-6, 'unary, 2-D grid');
      await parity((b, [x]) => b.binary('add', x!, view([8, 1000]), x!, view([8, 1000]), [8, 1000]), [[gx, cx]], 1e-6, 'binary, 2-D grid');
      await parity((b, [x]) => b.softmax(x!, 8, 1000), [[gx, cx]], 1e-5, 'softmax, 2-D grid');
      await parity((b, [x]) => b.reduce('sum', x!, [8, 1000], [1]), [[gx, cx]], 1e-5, 'reduce rows, 2-D grid');
      const spec: MatmulSpec = { batch: [8], aBatchStrides: [100], bBatchStrides: [100], M: 10, K: 10, N: 10, transA: false, transB: false };
      setMatmulPath('tiled');
      await parity((b, [x, y]) => b.matmul(x!, y!, spec), [[gx, cx], [gx, cx]], 1e-5, 'matmul, batch split over dispatches');
      setMatmulPath(null);
      const d = gpu!.dropoutMask(4 * 256 * 8, 0.3, 5, 'float32');
      const dc = cpu.dropoutMask(4 * 256 * 8, 0.3, 5, 'float32');
      await expectEqual(d, dc, 'dropout, 2-D grid');
      freeAll(gx, cx, d, dc);
    } finally {
      rt.maxGroupsPerDim = savedMax;
      rt.softwareAdapter = savedSw;
      setMatmulPath(null);
    }
  });

  it('liveCount returns to its start after freeing', async () => {
    await gpu!.sync();
    expect(gpu!.liveCount()).toBe(startLive);
  });
});
