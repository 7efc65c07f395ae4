// Kernel-level tests of the cpu reference backend. Expected values are hand-computed, taken from
// mpmath (erf / gelu / softplus constants), or computed by small independent loops in this file
// (index arithmetic by division instead of the backend's odometer, naive triple-loop matmul, ...).

import { describe, expect, it } from 'vitest';
import type { DType, Storage, View } from '../../engine/backend.js';
import { CpuBackend, CpuStorage, cpuData } from '../../engine/cpu/index.js';
import { dropThreshold, hashU24 } from '../../engine/random.js';

const cpu = new CpuBackend();

const f32 = (xs: number[]): Storage => cpu.fromArray(Float32Array.from(xs), 'float32');
const f64 = (xs: number[]): Storage => cpu.fromArray(Float64Array.from(xs), 'float64');
const i32 = (xs: number[]): Storage => cpu.fromArray(Int32Array.from(xs), 'int32');
const arr = (s: Storage): number[] => Array.from(cpuData(s));
const contiguous = (shape: number[]): View => {
  const strides = shape.map(() => 0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return { offset: 0, strides };
};
const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
/** Deterministic pseudo-random values in [-2, 2) (not the backend's hash). */
const seq = (n: number, seed = 1): number[] => {
  let x = seed * 2654435761;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push((x / 2147483648) * 4 - 2);
  }
  return out;
};
/** Multi-index of flat position i in `shape`, by repeated division. */
const unravel = (i: number, shape: number[]): number[] => {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
};
const at = (data: ArrayLike<number>, view: View, idx: number[]): number =>
  data[view.offset + idx.reduce((acc, v, j) => acc + v * view.strides[j], 0)];

const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w)) {
      expect(g, `element ${i}`).toBeNaN();
      continue;
    }
    if (!Number.isFinite(w)) {
      expect(g, `element ${i}`).toBe(w);
      continue;
    }
    const err = Math.abs(g - w);
    if (err > tol * Math.max(1, Math.abs(w))) {
      throw new Error(`element ${i}: got ${g}, want ${w} (|err| ${err} > tol ${tol})`);
    }
  }
};

describe('cpu backend: memory', () => {
  it('identifies itself and supports all dtypes', () => {
    expect(cpu.name).toBe('cpu');
    expect(cpu.adapterName).toBe('cpu');
    for (const d of ['float32', 'float64', 'int32'] as DType[]) expect(cpu.supportsDType(d)).toBe(true);
  });

  it('fromArray copies and converts; storages carry size, dtype, refs', () => {
    const src = Float64Array.from([1.5, -2.7, 0.1, 3e9, -3e9, NaN]);
    const a = cpu.fromArray(src, 'int32');
    expect(a).toBeInstanceOf(CpuStorage);
    expect(a.backend).toBe('cpu');
    expect(a.size).toBe(6);
    expect(a.dtype).toBe('int32');
    expect(a.refs).toBe(1);
    expect(cpuData(a)).toBeInstanceOf(Int32Array);
    // truncate toward zero; out-of-range saturates; NaN -> 0
    expect(arr(a)).toEqual([1, -2, 0, 2147483647, -2147483648, 0]);
    const b = cpu.fromArray(src, 'float32');
    expect(cpuData(b)).toBeInstanceOf(Float32Array);
    expect(arr(b)[2]).toBe(Math.fround(0.1));
    src[0] = 99;
    const c = cpu.fromArray(src, 'float64');
    src[0] = 7;
    expect(arr(c)[0]).toBe(99); // copied, not aliased
    for (const s of [a, b, c]) cpu.free(s);
  });

  it('full fills; read returns a fresh copy; sync resolves', async () => {
    const s = cpu.full(5, 'float32', 0.1);
    expect(arr(s)).toEqual(new Array(5).fill(Math.fround(0.1)));
    const r1 = await cpu.read(s);
    r1[0] = 42;
    const r2 = await cpu.read(s);
    expect(r2[0]).toBe(Math.fround(0.1));
    expect(r2).not.toBe(cpuData(s));
    expect(r2).toBeInstanceOf(Float32Array);
    await expect(cpu.sync()).resolves.toBeUndefined();
    expect(arr(cpu.full(3, 'int32', -2.9))).toEqual([-2, -2, -2]);
    expect(arr(cpu.full(0, 'float64', 1))).toEqual([]);
  });

  it('liveCount goes up on allocation and down on free; double free and use-after-free throw', async () => {
    const be = new CpuBackend();
    expect(be.liveCount()).toBe(0);
    const a = be.full(4, 'float64', 1);
    const b = be.fromArray(Float64Array.from([1, 2, 3, 4]), 'float64');
    expect(be.liveCount()).toBe(2);
    const c = be.unary('exp', a);
    const d = be.binary('add', a, contiguous([4]), b, contiguous([4]), [4]);
    expect(be.liveCount()).toBe(4);
    be.copyInto(a, contiguous([4]), b, contiguous([4]), [4]); // in place: no new storage
    be.adamStep(a, b, c, d, null, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 });
    expect(be.liveCount()).toBe(4);
    be.free(c);
    be.free(d);
    expect(be.liveCount()).toBe(2);
    expect(() => be.free(c)).toThrow(/cpu free: .*already freed/);
    expect(be.liveCount()).toBe(2);
    expect(() => be.unary('neg', c)).toThrow(/cpu unary 'neg': .*after free/);
    await expect(be.read(c)).rejects.toThrow(/cpu read/);
    be.free(a);
    be.free(b);
    expect(be.liveCount()).toBe(0);
  });
});

describe('cpu backend: unary', () => {
  const xs = [-3.2, -1, -0.5, 0, 0.25, 1, 2.5];
  const run = (op: Parameters<CpuBackend['unary']>[0], vals: number[], p0?: number, p1?: number): number[] =>
    arr(cpu.unary(op, f64(vals), p0, p1));

  it('elementary ops in float64 match the formulas', () => {
    expect(run('neg', xs)).toEqual(xs.map((x) => -x));
    expect(run('exp', xs)).toEqual(xs.map(Math.exp));
    expect(run('log', [0.5, 1, 10, 0])).toEqual([Math.log(0.5), 0, Math.log(10), -Infinity]);
    expect(run('sqrt', [0, 4, 2])).toEqual([0, 2, Math.SQRT2]);
    expect(run('rsqrt', [4, 0.25])).toEqual([0.5, 2]);
    expect(run('abs', xs)).toEqual(xs.map(Math.abs));
    expect(run('sign', [-2, 0, 3, -0])).toEqual([-1, 0, 1, 0]);
    expect(run('tanh', xs)).toEqual(xs.map(Math.tanh));
    expectClose(run('sigmoid', [-800, -1, 0, 1, 800]), [0, 1 / (1 + Math.E), 0.5, 1 / (1 + Math.exp(-1)), 1], 1e-16);
    expect(run('relu', xs)).toEqual([0, 0, 0, 0, 0.25, 1, 2.5]);
    expect(run('step', xs)).toEqual([0, 0, 0, 0, 1, 1, 1]);
    expect(run('pow_scalar', [2, 3, 4], 2)).toEqual([4, 9, 16]);
    expect(run('pow_scalar', [4, 0, NaN], 0)).toEqual([1, 1, 1]); // x^0 = 1
    expect(run('pow_scalar', [4, 9], -0.5)).toEqual([0.5, 1 / 3]);
    expect(run('add_scalar', [1, 2], 0.5)).toEqual([1.5, 2.5]);
    expect(run('mul_scalar', [1, -2], 3)).toEqual([3, -6]);
  });

  it('erf and gelu_erf are accurate to ~1e-15 (mpmath references)', () => {
    const erfRef: [number, number][] = [
      [-3.2, -0.99999397423884823791],
      [-0.1, -0.1124629160182848922],
      [0.5, 0.52049987781304653768],
      [1, 0.84270079294971486934],
      [2, 0.99532226501895273416],
      [3.5, 0.99999925690162765859],
      [5, 0.99999999999846254021],
    ];
    const got = run('erf', erfRef.map((r) => r[0]));
    erfRef.forEach(([, w], i) => expect(Math.abs(got[i] - w) / Math.abs(w)).toBeLessThan(2e-15));
    const geluRef: [number, number][] = [
      [-6, -5.9195258702261888442e-9],
      [-3, -0.00404969409489028358],
      [-0.5, -0.15426876936299344818],
      [0.7, 0.53062544344384888968],
      [2, 1.9544997361036415856],
    ];
    const g = run('gelu_erf', geluRef.map((r) => r[0]));
    // relative accuracy holds even in the far negative tail (no 1 + erf cancellation)
    geluRef.forEach(([, w], i) => expect(Math.abs(g[i] - w) / Math.abs(w)).toBeLessThan(2e-14));
  });

  it('gelu_tanh and softplus follow the PyTorch formulas', () => {
    const k = Math.sqrt(2 / Math.PI);
    expectClose(
      run('gelu_tanh', xs),
      xs.map((x) => 0.5 * x * (1 + Math.tanh(k * (x + 0.044715 * x * x * x)))),
      1e-15,
    );
    // beta = 2, threshold = 5: beta*x > 5 returns x itself
    expect(run('softplus', [3, 2.5, 2, -1], 2, 5)).toEqual([
      3,
      Math.log1p(Math.exp(5)) / 2, // beta*x == threshold is not above it
      Math.log1p(Math.exp(4)) / 2,
      Math.log1p(Math.exp(-2)) / 2,
    ]);
    // log1p keeps the tiny tail value exact (log(1 + e^-40) would round to 0)
    const tail = run('softplus', [-40], 1, 20)[0];
    expect(Math.abs(tail - 4.2483542552915889863e-18) / 4.2483542552915889863e-18).toBeLessThan(1e-15);
    expect(run('softplus', [25], 1, 20)).toEqual([25]);
  });

  it('float32 results are the float64 result rounded to float32', () => {
    const vals = [0.1, -1.3, 2.7];
    const x = f32(vals);
    const xv = arr(x);
    expect(arr(cpu.unary('exp', x))).toEqual(xv.map((v) => Math.fround(Math.exp(v))));
    expect(arr(cpu.unary('mul_scalar', x, 0.1))).toEqual(xv.map((v) => Math.fround(v * 0.1)));
    expect(cpuData(cpu.unary('tanh', x))).toBeInstanceOf(Float32Array);
  });

  it('int32 supports neg, abs, sign, add_scalar, mul_scalar (wrapping) and rejects the rest', () => {
    const x = i32([-5, 0, 7, 2147483647]);
    expect(arr(cpu.unary('neg', x))).toEqual([5, 0, -7, -2147483647]);
    expect(arr(cpu.unary('abs', x))).toEqual([5, 0, 7, 2147483647]);
    expect(arr(cpu.unary('sign', x))).toEqual([-1, 0, 1, 1]);
    expect(arr(cpu.unary('add_scalar', x, 1))).toEqual([-4, 1, 8, -2147483648]);
    expect(arr(cpu.unary('mul_scalar', x, 2))).toEqual([-10, 0, 14, -2]);
    expect(cpuData(cpu.unary('neg', x))).toBeInstanceOf(Int32Array);
    expect(() => cpu.unary('exp', x)).toThrow("cpu unary 'exp' does not support int32");
    expect(() => cpu.unary('relu', x)).toThrow(/cpu unary 'relu' does not support int32/);
  });
});

/** Independent reference for strided binary ops. */
function refBinary(
  f: (a: number, b: number) => number,
  A: ArrayLike<number>,
  av: View,
  B: ArrayLike<number>,
  bv: View,
  shape: number[],
): number[] {
  const out: number[] = [];
  for (let i = 0; i < numel(shape); i++) {
    const idx = unravel(i, shape);
    out.push(f(at(A, av, idx), at(B, bv, idx)));
  }
  return out;
}

describe('cpu backend: binary / where / cast', () => {
  const ops: [Parameters<CpuBackend['binary']>[0], (a: number, b: number) => number][] = [
    ['add', (a, b) => a + b],
    ['sub', (a, b) => a - b],
    ['mul', (a, b) => a * b],
    ['div', (a, b) => a / b],
    ['maximum', (a, b) => (a > b ? a : b)],
    ['minimum', (a, b) => (a < b ? a : b)],
    ['pow', (a, b) => Math.pow(Math.abs(a), b)],
    ['eq', (a, b) => +(a === b)],
    ['ne', (a, b) => +(a !== b)],
    ['lt', (a, b) => +(a < b)],
    ['le', (a, b) => +(a <= b)],
    ['gt', (a, b) => +(a > b)],
    ['ge', (a, b) => +(a >= b)],
  ];

  it('broadcasts through zero strides over odd shapes, every op, float64', () => {
    // a: [3, 1, 5] stored contiguously, broadcast along dim 1; b: [4] broadcast to [3, 4, 5] along dims 0 and 2
    const shape = [3, 4, 5];
    const aVals = seq(15, 3).map((v) => Math.round(v * 4) / 4);
    const bVals = [0.5, -1.25, 1, 0.75];
    const av: View = { offset: 0, strides: [5, 0, 1] };
    const bv: View = { offset: 0, strides: [0, 1, 0] };
    for (const [op, f] of ops) {
      const A = op === 'pow' ? aVals.map(Math.abs) : aVals;
      const a = f64(A);
      const b = f64(bVals);
      const out = cpu.binary(op, a, av, b, bv, shape);
      expect(out.dtype).toBe('float64');
      expect(arr(out), op).toEqual(refBinary(f, A, av, bVals, bv, shape));
    }
  });

  it('handles transposed views, offsets, scalar shapes and float32 rounding', () => {
    // a is a [4, 3] storage read transposed as [3, 4]; b is a column [3, 1] broadcast along dim 1 at offset 2
    const A = seq(12, 5);
    const B = seq(6, 7);
    const av: View = { offset: 0, strides: [1, 3] };
    const bv: View = { offset: 2, strides: [1, 0] };
    const out = cpu.binary('mul', f32(A), av, f32(B), bv, [3, 4]);
    const Af = A.map(Math.fround);
    const Bf = B.map(Math.fround);
    expect(arr(out)).toEqual(refBinary((x, y) => Math.fround(x * y), Af, av, Bf, bv, [3, 4]));
    expect(cpuData(out)).toBeInstanceOf(Float32Array);
    // rank-0
    expect(arr(cpu.binary('sub', f64([5, 7]), { offset: 1, strides: [] }, f64([2]), { offset: 0, strides: [] }, []))).toEqual([5]);
    // empty
    expect(arr(cpu.binary('add', f64([1]), { offset: 0, strides: [0, 0] }, f64([1]), { offset: 0, strides: [0, 0] }, [0, 3]))).toEqual([]);
  });

  it('int32: truncating division, wrapping arithmetic, comparisons; pow rejected', () => {
    const a = i32([-7, 7, 2147483647, -5, 6, 3]);
    const b = i32([2, -2, 1, 3, 6, 0]);
    const v = contiguous([6]);
    expect(arr(cpu.binary('div', a, v, b, v, [6]))).toEqual([-3, -3, 2147483647, -1, 1, 3]);
    expect(arr(cpu.binary('add', a, v, b, v, [6]))).toEqual([-5, 5, -2147483648, -2, 12, 3]);
    expect(arr(cpu.binary('sub', a, v, b, v, [6]))).toEqual([-9, 9, 2147483646, -8, 0, 3]);
    expect(arr(cpu.binary('mul', a, v, b, v, [6]))).toEqual([-14, -14, 2147483647, -15, 36, 0]);
    expect(arr(cpu.binary('maximum', a, v, b, v, [6]))).toEqual([2, 7, 2147483647, 3, 6, 3]);
    expect(arr(cpu.binary('minimum', a, v, b, v, [6]))).toEqual([-7, -2, 1, -5, 6, 0]);
    expect(arr(cpu.binary('ge', a, v, b, v, [6]))).toEqual([0, 1, 1, 0, 1, 1]);
    expect(arr(cpu.binary('eq', a, v, b, v, [6]))).toEqual([0, 0, 0, 0, 1, 0]);
    expect(cpuData(cpu.binary('lt', a, v, b, v, [6]))).toBeInstanceOf(Int32Array);
    expect(() => cpu.binary('pow', a, v, b, v, [6])).toThrow(/cpu binary 'pow'.*int32/);
  });

  it('rejects mismatched dtypes and out-of-bounds views, naming the op', () => {
    expect(() => cpu.binary('add', f32([1]), contiguous([1]), f64([1]), contiguous([1]), [1])).toThrow(/cpu binary 'add'/);
    expect(() => cpu.binary('add', f32([1, 2]), contiguous([3]), f32([1, 2, 3]), contiguous([3]), [3])).toThrow(
      /cpu binary 'add'.*a view/,
    );
  });

  it('where: any-dtype cond, all three operands strided', () => {
    const shape = [2, 3];
    const cond = i32([1, 0, 5]); // broadcast over rows
    const cv: View = { offset: 0, strides: [0, 1] };
    const a = f32([10, 20]); // column, broadcast over columns
    const av: View = { offset: 0, strides: [1, 0] };
    const b = f32([1, 2, 3, 4, 5, 6]);
    const bv = contiguous(shape);
    const out = cpu.where(cond, cv, a, av, b, bv, shape);
    expect(out.dtype).toBe('float32');
    expect(arr(out)).toEqual([10, 2, 10, 20, 5, 20]);
    const fcond = f64([0, -0.5, NaN, 0, 0, 1]); // NaN counts as nonzero
    expect(arr(cpu.where(fcond, bv, b, bv, f32([0]), { offset: 0, strides: [0, 0] }, shape))).toEqual([0, 2, 3, 0, 0, 6]);
  });

  it('cast between all dtypes', () => {
    const x = f64([0.1, -2.7, 2.7, 1e10, -0.5]);
    expect(arr(cpu.cast(x, 'float32'))).toEqual([0.1, -2.7, 2.7, 1e10, -0.5].map(Math.fround));
    expect(arr(cpu.cast(x, 'int32'))).toEqual([0, -2, 2, 2147483647, 0]);
    expect(arr(cpu.cast(f32([-3.9, 3.9]), 'int32'))).toEqual([-3, 3]);
    const n = cpu.cast(i32([-3, 16777217]), 'float32');
    expect(arr(n)).toEqual([-3, 16777216]);
    expect(cpu.cast(i32([1]), 'float64').dtype).toBe('float64');
    expect(cpuData(cpu.cast(f32([1]), 'float64'))).toBeInstanceOf(Float64Array);
  });
});

describe('cpu backend: data movement', () => {
  it('copy materialises a transposed, offset view', () => {
    const src = f64(seq(20, 2));
    const sv: View = { offset: 2, strides: [1, 6] }; // [2, 3] view read down columns of a [.., 6] layout
    const shape = [2, 3];
    const out = cpu.copy(src, sv, shape);
    const want = Array.from({ length: 6 }, (_, i) => at(cpuData(src), sv, unravel(i, shape)));
    expect(arr(out)).toEqual(want);
  });

  it('copyInto writes a strided window of dst in place (including broadcast src)', () => {
    const dst = f32(new Array(12).fill(0));
    // dst viewed as [4, 3]; write rows 1..2, columns 0 and 2
    const dv: View = { offset: 3, strides: [3, 2] };
    const src = f32([1, 2]);
    const sv: View = { offset: 0, strides: [0, 1] }; // the same row twice
    cpu.copyInto(dst, dv, src, sv, [2, 2]);
    expect(arr(dst)).toEqual([0, 0, 0, 1, 0, 2, 1, 0, 2, 0, 0, 0]);
  });

  it('copyInto with overlapping source and destination in one storage reads before writing', () => {
    const s = f64([1, 2, 3, 4, 5]);
    cpu.copyInto(s, { offset: 1, strides: [1] }, s, { offset: 0, strides: [1] }, [4]);
    expect(arr(s)).toEqual([1, 1, 2, 3, 4]);
  });

  it('gather picks rows and names bad indices', () => {
    const table = f32([0, 1, 10, 11, 20, 21]); // [3, 2]
    expect(arr(cpu.gather(table, 3, 2, i32([2, 0, 2])))).toEqual([20, 21, 0, 1, 20, 21]);
    expect(arr(cpu.gather(table, 3, 2, i32([])))).toEqual([]);
    expect(() => cpu.gather(table, 3, 2, i32([1, 3]))).toThrow('cpu gather: index 3 at position 1 is out of range [0, 3)');
    expect(() => cpu.gather(table, 3, 2, i32([-1]))).toThrow(/index -1 at position 0/);
    expect(() => cpu.gather(table, 3, 2, f32([0]))).toThrow(/cpu gather: idx must be int32/);
  });

  it('scatterAdd accumulates duplicates', () => {
    const src = f64([1, 2, 3, 4, 5, 6, 7, 8]); // [4, 2]
    const out = cpu.scatterAdd(src, 4, 2, i32([2, 0, 2, 2]), 3);
    expect(arr(out)).toEqual([3, 4, 0, 0, 1 + 5 + 7, 2 + 6 + 8]);
    // float32 accumulates in float64 then rounds once
    const big = cpu.scatterAdd(f32([16777216, 1, 1]), 3, 1, i32([0, 0, 0]), 1);
    expect(arr(big)).toEqual([16777218]);
    expect(() => cpu.scatterAdd(src, 4, 2, i32([0, 1, 2, 3]), 3)).toThrow(/cpu scatterAdd: index 3 at position 3/);
  });

  it('oneHot gives zero rows for ignore index -100 and other out-of-range labels', () => {
    const out = cpu.oneHot(i32([1, -100, 0, 3]), 4, 3, 'float32');
    expect(out.dtype).toBe('float32');
    expect(arr(out)).toEqual([0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(cpuData(cpu.oneHot(i32([0]), 1, 2, 'int32'))).toBeInstanceOf(Int32Array);
  });
});

/** Independent reduce: for each output multi-index, loop over all input elements that map to it. */
function refReduce(op: 'sum' | 'max' | 'min', X: ArrayLike<number>, shape: number[], axes: number[]): number[] {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out: number[] = [];
  for (let o = 0; o < numel(outShape); o++) {
    const oi = unravel(o, outShape);
    const vals: number[] = [];
    for (let i = 0; i < numel(shape); i++) {
      const ii = unravel(i, shape);
      if (ii.every((v, d) => axes.includes(d) || v === oi[d])) vals.push(X[i]);
    }
    out.push(op === 'sum' ? vals.reduce((a, b) => a + b, 0) : op === 'max' ? Math.max(...vals) : Math.min(...vals));
  }
  return out;
}

describe('cpu backend: reduce', () => {
  const shape = [2, 3, 4, 5];
  const X = seq(numel(shape), 11);
  const x = f64(X);

  it('sum / max / min over non-adjacent and single axes, keepdim', () => {
    for (const axes of [[0, 2], [1, 3], [0, 1, 2, 3], [3], [1]]) {
      for (const op of ['sum', 'max', 'min'] as const) {
        const out = cpu.reduce(op, x, shape, axes);
        expect(out.size).toBe(numel(shape.map((d, i) => (axes.includes(i) ? 1 : d))));
        expectClose(arr(out), refReduce(op, X, shape, axes), 1e-14);
      }
    }
  });

  it('axes = [] is a copy', () => {
    const out = cpu.reduce('sum', x, shape, []);
    expect(arr(out)).toEqual(X);
    expect(out).not.toBe(x);
  });

  it('float32 sums accumulate in float64', () => {
    // float32 accumulation would stall at 2^24
    const out = cpu.reduce('sum', f32([16777216, 1, 1, 1, 1]), [5], [0]);
    expect(arr(out)).toEqual([16777220]);
    expect(cpuData(out)).toBeInstanceOf(Float32Array);
  });

  it('int32 reductions', () => {
    const xi = i32([3, -1, 4, 1, -5, 9]);
    expect(arr(cpu.reduce('sum', xi, [2, 3], [1]))).toEqual([6, 5]);
    expect(arr(cpu.reduce('max', xi, [2, 3], [0]))).toEqual([3, -1, 9]);
    expect(arr(cpu.reduce('min', xi, [2, 3], [0, 1]))).toEqual([-5]);
  });

  it('max propagates NaN; bad axes are rejected', () => {
    expect(arr(cpu.reduce('max', f64([1, NaN, 3]), [3], [0]))[0]).toBeNaN();
    expect(() => cpu.reduce('sum', x, shape, [2, 0])).toThrow(/cpu reduce 'sum': axes/);
    expect(() => cpu.reduce('sum', x, shape, [4])).toThrow(/cpu reduce 'sum': axes/);
    expect(() => cpu.reduce('sum', x, [2, 3], [0])).toThrow(/cpu reduce 'sum'/);
  });
});

/** Naive reference: A[b][i][k] read through explicit transposition and batch strides. */
function refMatmul(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  batch: number[],
  as: number[],
  bs: number[],
  M: number,
  K: number,
  N: number,
  tA: boolean,
  tB: boolean,
): number[] {
  const out: number[] = [];
  for (let t = 0; t < numel(batch); t++) {
    const bi = unravel(t, batch);
    const ao = bi.reduce((acc, v, j) => acc + v * as[j], 0);
    const bo = bi.reduce((acc, v, j) => acc + v * bs[j], 0);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const a = tA ? A[ao + k * M + i] : A[ao + i * K + k];
          const b = tB ? B[bo + j * K + k] : B[bo + k * N + j];
          s += a * b;
        }
        out.push(s);
      }
    }
  }
  return out;
}

describe('cpu backend: matmul', () => {
  it('plain 2-D with odd sizes, all transpose combinations, float64', () => {
    const [M, K, N] = [3, 5, 7];
    const A = seq(M * K, 1);
    const B = seq(K * N, 2);
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const out = cpu.matmul(f64(A), f64(B), { batch: [], aBatchStrides: [], bBatchStrides: [], M, K, N, transA, transB });
        expect(out.size).toBe(M * N);
        expectClose(arr(out), refMatmul(A, B, [], [], [], M, K, N, transA, transB), 1e-14);
      }
    }
  });

  it('batched with broadcast batch strides and transposes', () => {
    // batch [2, 3]: a varies only along batch dim 0 (broadcast over dim 1), b only along dim 1
    const [M, K, N] = [4, 3, 2];
    const batch = [2, 3];
    const as = [M * K, 0];
    const bs = [0, K * N];
    const A = seq(2 * M * K, 4);
    const B = seq(3 * K * N, 5);
    for (const [transA, transB] of [
      [false, false],
      [true, true],
      [true, false],
      [false, true],
    ]) {
      const out = cpu.matmul(f64(A), f64(B), { batch, aBatchStrides: as, bBatchStrides: bs, M, K, N, transA, transB });
      expect(out.size).toBe(6 * M * N);
      expectClose(arr(out), refMatmul(A, B, batch, as, bs, M, K, N, transA, transB), 1e-14);
    }
  });

  it('float32: accumulates in float64 and rounds once', () => {
    const [M, K, N] = [2, 6, 3];
    const A = seq(M * K, 8).map(Math.fround);
    const B = seq(K * N, 9).map(Math.fround);
    const out = cpu.matmul(f32(A), f32(B), { batch: [], aBatchStrides: [], bBatchStrides: [], M, K, N, transA: false, transB: false });
    expect(cpuData(out)).toBeInstanceOf(Float32Array);
    expect(arr(out)).toEqual(refMatmul(A, B, [], [], [], M, K, N, false, false).map(Math.fround));
  });

  it('K = 0 gives zeros; bad specs are rejected', () => {
    const out = cpu.matmul(f64([]), f64([]), { batch: [], aBatchStrides: [], bBatchStrides: [], M: 2, K: 0, N: 2, transA: false, transB: false });
    expect(arr(out)).toEqual([0, 0, 0, 0]);
    expect(() =>
      cpu.matmul(f64([1, 2]), f64([1, 2]), { batch: [2], aBatchStrides: [2], bBatchStrides: [2], M: 1, K: 2, N: 1, transA: false, transB: false }),
    ).toThrow(/cpu matmul: a needs 4 elements/);
    expect(() =>
      cpu.matmul(i32([1]), i32([1]), { batch: [], aBatchStrides: [], bBatchStrides: [], M: 1, K: 1, N: 1, transA: false, transB: false }),
    ).toThrow(/cpu matmul/);
  });

  it('is fast enough for small models (float32 256x256x256 well under a second)', () => {
    const n = 256;
    const a = f32(seq(n * n, 1));
    const b = f32(seq(n * n, 2));
    const t0 = performance.now();
    const out = cpu.matmul(a, b, { batch: [], aBatchStrides: [], bBatchStrides: [], M: n, K: n, N: n, transA: false, transB: true });
    expect(performance.now() - t0).toBeLessThan(2000);
    // spot-check one element
    const A = cpuData(a);
    const B = cpuData(b);
    let s = 0;
    for (let k = 0; k < n; k++) s += A[5 * n + k] * B[7 * n + k];
    expect(Math.abs(cpuData(out)[5 * n + 7] - s)).toBeLessThan(1e-5 * Math.max(1, Math.abs(s)));
  });
});

describe('cpu backend: fused row kernels', () => {
  const R = 3;
  const C = 5;
  const X = seq(R * C, 21).map((v) => v * 3);
  X[5] = 1000; // would overflow exp without max subtraction

  const naiveSoftmaxRow = (row: number[]): number[] => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  const rows = (xs: number[], c: number): number[][] => Array.from({ length: xs.length / c }, (_, r) => xs.slice(r * c, r * c + c));

  it('softmax and logSoftmax', () => {
    const sm = arr(cpu.softmax(f64(X), R, C));
    expectClose(sm, rows(X, C).flatMap(naiveSoftmaxRow), 1e-15);
    for (let r = 0; r < R; r++) expect(Math.abs(sm.slice(r * C, r * C + C).reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-15);
    const lsm = arr(cpu.logSoftmax(f64(X), R, C));
    const want = rows(X, C).flatMap((row) => {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      return row.map((v) => v - lse);
    });
    expectClose(lsm, want, 1e-14);
    expect(lsm.every(Number.isFinite)).toBe(true);
    expect(cpuData(cpu.softmax(f32(X), R, C))).toBeInstanceOf(Float32Array);
  });

  it('layerNorm with biased variance', () => {
    const w = seq(C, 22);
    const b = seq(C, 23);
    const eps = 1e-5;
    const out = arr(cpu.layerNorm(f64(X), f64(w), f64(b), R, C, eps));
    const want = rows(X, C).flatMap((row) => {
      const mean = row.reduce((a, v) => a + v, 0) / C;
      const vr = row.reduce((a, v) => a + (v - mean) ** 2, 0) / C;
      return row.map((v, c) => ((v - mean) / Math.sqrt(vr + eps)) * w[c] + b[c]);
    });
    expectClose(out, want, 1e-13);
  });

  it('crossEntropy with ignore index -100 and label validation', () => {
    const labels = i32([2, -100, 4]);
    const out = cpu.crossEntropy(f64(X), labels, R, C, -100);
    expect(out.size).toBe(R);
    expect(out.dtype).toBe('float64');
    const got = arr(out);
    const rs = rows(X, C);
    const lse = (row: number[]): number => {
      const m = Math.max(...row);
      return m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    };
    expectClose(got, [lse(rs[0]) - rs[0][2], 0, lse(rs[2]) - rs[2][4]], 1e-14);
    expect(got[1]).toBe(0);
    expect(() => cpu.crossEntropy(f64(X), i32([0, 5, 0]), R, C, -100)).toThrow(
      'cpu crossEntropy: label 5 at row 1 is outside [0, 5) and is not the ignore index -100',
    );
    expect(() => cpu.crossEntropy(f64(X), i32([0, -1, 0]), R, C, -100)).toThrow(/label -1 at row 1/);
  });
});

/** Naive attention: full score matrix with -Infinity for masked keys, softmax, weighted sum. */
function refAttention(
  Q: number[],
  K: number[],
  V: number[],
  mask: number[] | null,
  B: number,
  H: number,
  T: number,
  D: number,
  scale: number,
  causal: boolean,
  window: number,
): number[] {
  const out = new Array<number>(B * H * T * D).fill(0);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) {
        const base = (b * H + h) * T * D;
        const s: number[] = [];
        for (let j = 0; j < T; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += Q[base + i * D + d] * K[base + j * D + d];
          const masked = (causal && j > i) || (window > 0 && i - j >= window) || (mask !== null && mask[b * T + j] === 0);
          s.push(masked ? -Infinity : dot * scale);
        }
        const m = Math.max(...s);
        if (m === -Infinity) continue;
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((a, v) => a + v, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += (e[j] / z) * V[base + j * D + d];
          out[base + i * D + d] = acc;
        }
      }
  return out;
}

describe('cpu backend: attention', () => {
  const [B, H, T, D] = [2, 2, 6, 3];
  const n = B * H * T * D;
  const Q = seq(n, 31);
  const K = seq(n, 32);
  const V = seq(n, 33);
  // batch 0: left padding on the first two keys; batch 1: right padding on the last key
  const mask = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0];

  it('causal + window + key padding mask, fully-masked queries give zeros', () => {
    const spec = { B, H, T, D, scale: 1 / Math.sqrt(D), causal: true, window: 3 };
    const out = arr(cpu.attention(f64(Q), f64(K), f64(V), f64(mask), spec));
    const want = refAttention(Q, K, V, mask, B, H, T, D, spec.scale, true, 3);
    expectClose(out, want, 1e-14);
    // batch 0, queries 0 and 1 see only padded keys: zero rows
    for (let h = 0; h < H; h++) for (let i = 0; i < 2; i++) for (let d = 0; d < D; d++) expect(out[(h * T + i) * D + d]).toBe(0);
    // batch 0, query 5 with window 3 sees keys 3..5 only: differs from unlimited window
    const unlimited = arr(cpu.attention(f64(Q), f64(K), f64(V), f64(mask), { ...spec, window: 0 }));
    expectClose(unlimited, refAttention(Q, K, V, mask, B, H, T, D, spec.scale, true, 0), 1e-14);
    expect(unlimited[5 * D]).not.toBe(out[5 * D]);
  });

  it('non-causal without mask, and non-causal with window (future keys stay visible)', () => {
    const spec = { B, H, T, D, scale: 1, causal: false, window: 0 };
    expectClose(arr(cpu.attention(f64(Q), f64(K), f64(V), null, spec)), refAttention(Q, K, V, null, B, H, T, D, 1, false, 0), 1e-14);
    const w = { ...spec, window: 2 };
    expectClose(arr(cpu.attention(f64(Q), f64(K), f64(V), null, w)), refAttention(Q, K, V, null, B, H, T, D, 1, false, 2), 1e-14);
  });

  it('float32 output is the rounded float64 result', () => {
    const spec = { B, H, T, D, scale: 0.5, causal: true, window: 0 };
    const Qf = Q.map(Math.fround);
    const Kf = K.map(Math.fround);
    const Vf = V.map(Math.fround);
    const out = cpu.attention(f32(Q), f32(K), f32(V), f32(mask), spec);
    expect(cpuData(out)).toBeInstanceOf(Float32Array);
    expectClose(arr(out), refAttention(Qf, Kf, Vf, mask, B, H, T, D, 0.5, true, 0), 1e-6);
  });
});

describe('cpu backend: dropoutMask', () => {
  it('matches the shared counter hash, is reproducible, and scales by 1/(1-p)', () => {
    const p = 0.3;
    const size = 4000;
    const a = arr(cpu.dropoutMask(size, p, 1234, 'float32'));
    const b = arr(cpu.dropoutMask(size, p, 1234, 'float32'));
    const c = arr(cpu.dropoutMask(size, p, 1235, 'float32'));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const scale = Math.fround(1 / (1 - p));
    const thr = dropThreshold(p);
    expect(a).toEqual(Array.from({ length: size }, (_, i) => (hashU24(1234, i) >= thr ? scale : 0)));
    const kept = a.filter((v) => v !== 0).length / size;
    expect(Math.abs(kept - 0.7)).toBeLessThan(0.05);
    const d = arr(cpu.dropoutMask(10, p, 1234, 'float64'));
    expect(d).toEqual(a.slice(0, 10).map((v) => (v === 0 ? 0 : 1 / (1 - p))));
    expect(arr(cpu.dropoutMask(5, 0, 9, 'float64'))).toEqual([1, 1, 1, 1, 1]);
  });

  it('rejects bad p and int32', () => {
    expect(() => cpu.dropoutMask(3, 1, 0, 'float32')).toThrow(/cpu dropoutMask/);
    expect(() => cpu.dropoutMask(3, 0.5, 0, 'int32')).toThrow(/cpu dropoutMask/);
  });
});

/** Hand-written PyTorch Adam / AdamW single-tensor update (torch/optim/adam.py, non-capturable branch). */
function torchAdam(
  p: number[],
  grads: number[][],
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  wd: number,
): { p: number[]; m: number[]; v: number[] } {
  p = p.slice();
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, t) => {
    const step = t + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * wd; // AdamW: param.mul_(1 - lr * weight_decay)
      m[i] += (g[i] - m[i]) * (1 - beta1); // exp_avg.lerp_(grad, 1 - beta1)
      v[i] = v[i] * beta2 + (1 - beta2) * g[i] * g[i];
      const bc1 = 1 - beta1 ** step;
      const bc2 = 1 - beta2 ** step;
      const stepSize = lr / bc1;
      const denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + eps;
      p[i] -= stepSize * (m[i] / denom);
    }
  });
  return { p, m, v };
}

describe('cpu backend: optimizers', () => {
  const P0 = [0.5, -1.2, 3.0, 0.0];
  const G = [
    [0.1, -0.2, 0.3, 0.0],
    [-0.05, 0.4, 0.1, 1e-3],
    [0.2, 0.2, -0.3, -2.0],
  ];

  for (const wd of [0, 0.01]) {
    it(`adamStep matches the PyTorch formula over 3 steps (weightDecay ${wd})`, () => {
      const lr = 0.01;
      const [b1, b2, eps] = [0.9, 0.999, 1e-8];
      const p = f64(P0);
      const m = f64([0, 0, 0, 0]);
      const v = f64([0, 0, 0, 0]);
      G.forEach((g, t) => cpu.adamStep(p, f64(g), m, v, null, { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, step: t + 1 }));
      const want = torchAdam(P0, G, lr, b1, b2, eps, wd);
      expectClose(arr(p), want.p, 1e-14);
      expectClose(arr(m), want.m, 1e-15);
      expectClose(arr(v), want.v, 1e-15);
    });
  }

  it('adamStep applies gradScale[0] before the moments', () => {
    const scale = 0.25;
    const p = f64(P0);
    const m = f64([0, 0, 0, 0]);
    const v = f64([0, 0, 0, 0]);
    const gs = f64([scale]);
    G.forEach((g, t) => cpu.adamStep(p, f64(g), m, v, gs, { lr: 0.1, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0, step: t + 1 }));
    const want = torchAdam(P0, G.map((g) => g.map((x) => x * scale)), 0.1, 0.8, 0.99, 1e-6, 0);
    expectClose(arr(p), want.p, 1e-14);
    expectClose(arr(m), want.m, 1e-15);
  });

  it('adamStep on float32 stays float32 and close to the float64 result', () => {
    const p = f32(P0);
    const m = f32([0, 0, 0, 0]);
    const v = f32([0, 0, 0, 0]);
    cpu.adamStep(p, f32(G[0]), m, v, null, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 });
    const want = torchAdam(P0.map(Math.fround), [G[0].map(Math.fround)], 0.01, 0.9, 0.999, 1e-8, 0);
    expect(cpuData(p)).toBeInstanceOf(Float32Array);
    expectClose(arr(p), want.p, 1e-6);
    expect(() => cpu.adamStep(p, f32(G[0]), m, v, null, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 0 })).toThrow(
      /cpu adamStep: step/,
    );
  });

  it('sgdStepInPlace: p -= lr * g * scale', () => {
    const p = f64([1, 2, 3]);
    cpu.sgdStepInPlace(p, f64([0.5, -1, 2]), 0.1, null);
    expectClose(arr(p), [0.95, 2.1, 2.8], 1e-15);
    cpu.sgdStepInPlace(p, f64([1, 1, 1]), 0.1, f64([0.5]));
    expectClose(arr(p), [0.9, 2.05, 2.75], 1e-15);
    expect(() => cpu.sgdStepInPlace(p, f64([1, 1]), 0.1, null)).toThrow(/cpu sgdStepInPlace: grad/);
  });
});

describe('cpu backend: errors name the op', () => {
  it('size / dtype mismatches', () => {
    expect(() => cpu.softmax(f64([1, 2, 3]), 2, 2)).toThrow(/^cpu softmax:/);
    expect(() => cpu.layerNorm(f64([1, 2]), f64([1]), f64([0, 0]), 1, 2, 1e-5)).toThrow(/^cpu layerNorm:/);
    expect(() => cpu.softmax(i32([1, 2]), 1, 2)).toThrow(/^cpu softmax: x must be float/);
    expect(() =>
      cpu.attention(f64([1]), f64([1]), f64([1]), null, { B: 1, H: 1, T: 2, D: 1, scale: 1, causal: false, window: 0 }),
    ).toThrow(/^cpu attention:/);
    expect(() => cpu.copy(f64([1]), { offset: 0, strides: [1] }, [2])).toThrow(/^cpu copy:/);
    expect(() => cpu.oneHot(i32([1, 2]), 3, 4, 'float32')).toThrow(/^cpu oneHot:/);
  });
});


// ---- fast paths (coalesced strided loops, reduce / matmul / attention blocking) ----
// The kernels promise bit-identical results whichever path runs, so these compare with Object.is
// against independent loops that fix the documented evaluation order.

/** Exact equality, element by element (NaN equals NaN, -0 differs from +0). */
const expectExact = (got: ArrayLike<number>, want: ArrayLike<number>, what: string): void => {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) throw new Error(`${what}: element ${i}: got ${got[i]}, want ${want[i]}`);
  }
};
const store = (xs: number[], dtype: DType): Storage => (dtype === 'float32' ? f32(xs) : f64(xs));
const roundTo = (dtype: DType) => (dtype === 'float32' ? Math.fround : (v: number) => v);

describe('cpu backend: elementwise fast paths', () => {
  // Views over the output shape [4, 3, 1, 70] (a size-1 dim, and rows longer than 64).
  const shape = [4, 3, 1, 70];
  const layouts: [string, View, number][] = [
    ['contiguous', { offset: 0, strides: [210, 70, 70, 1] }, 840],
    ['row broadcast [70]', { offset: 0, strides: [0, 0, 0, 1] }, 70],
    ['column broadcast [4, 3, 1, 1]', { offset: 0, strides: [3, 1, 1, 0] }, 12],
    ['scalar at offset 2', { offset: 2, strides: [0, 0, 0, 0] }, 3],
    ['transposed [70, 3, 4]', { offset: 0, strides: [1, 4, 99, 12] }, 840],
    ['window of [6, 4, 80] at offset 85', { offset: 85, strides: [320, 80, 7, 1] }, 1920],
    ['reversed last dim', { offset: 69, strides: [210, 70, 0, -1] }, 840],
    ['broadcast middle dim', { offset: 0, strides: [70, 0, 0, 1] }, 280],
  ];
  const ops: [Parameters<CpuBackend['binary']>[0], (a: number, b: number) => number][] = [
    ['add', (a, b) => a + b],
    ['sub', (a, b) => a - b],
    ['mul', (a, b) => a * b],
    ['div', (a, b) => a / b],
    ['maximum', (a, b) => Math.max(a, b)],
    ['minimum', (a, b) => Math.min(a, b)],
    ['lt', (a, b) => +(a < b)],
    ['ge', (a, b) => +(a >= b)],
  ];

  it('binary: every layout pair, float32 and float64, equals the per-element formula exactly', () => {
    for (const dtype of ['float32', 'float64'] as DType[]) {
      const round = roundTo(dtype);
      for (const [an, av, asz] of layouts) {
        for (const [bn, bv, bsz] of layouts) {
          const A = seq(asz, asz + 1).map(round);
          const B = seq(bsz, bsz + 2).map(round);
          const a = store(A, dtype);
          const b = store(B, dtype);
          // all ops on a few pairs, add and mul on every pair
          const pairOps = an === bn || an === 'contiguous' ? ops : ops.filter(([op]) => op === 'add' || op === 'mul');
          for (const [op, f] of pairOps) {
            const want = refBinary((x, y) => round(f(x, y)), A, av, B, bv, shape);
            expectExact(cpuData(cpu.binary(op, a, av, b, bv, shape)), want, `${op} ${dtype}: a ${an}, b ${bn}`);
          }
        }
      }
    }
  });

  it('int32 binary ops take the same paths', () => {
    const v: View = { offset: 0, strides: [210, 70, 70, 1] };
    const row: View = { offset: 0, strides: [0, 0, 0, 1] };
    const A = seq(840, 3).map((x) => Math.round(x * 1e9));
    const B = seq(70, 4).map((x) => Math.round(x * 100));
    const want = refBinary((x, y) => (x + y) | 0, A, v, B, row, shape);
    expectExact(cpuData(cpu.binary('add', i32(A), v, i32(B), row, shape)), want, 'int32 add, row broadcast');
    const wantMul = refBinary((x, y) => Math.imul(x, y), A, v, B, row, shape);
    expectExact(cpuData(cpu.binary('mul', i32(A), v, i32(B), row, shape)), wantMul, 'int32 mul, row broadcast');
  });

  it('where, copy and copyInto over every layout', () => {
    const bv: View = { offset: 0, strides: [0, 0, 0, 1] };
    const B = seq(70, 6);
    for (const [cn, cv, csz] of layouts) {
      const C = seq(csz, 9).map((x) => (x > 0 ? 1 : 0));
      for (const [an, av, asz] of layouts) {
        const A = seq(asz, asz + 5);
        const want: number[] = [];
        for (let i = 0; i < 840; i++) {
          const idx = unravel(i, shape);
          want.push(at(C, cv, idx) !== 0 ? at(A, av, idx) : at(B, bv, idx));
        }
        expectExact(cpuData(cpu.where(f64(C), cv, f64(A), av, f64(B), bv, shape)), want, `where: cond ${cn}, a ${an}`);
      }
    }
    for (const [sn, sv, ssz] of layouts) {
      const S = seq(ssz, ssz + 7).map(Math.fround);
      const wantCopy = refBinary((x) => x, S, sv, [0], { offset: 0, strides: [0, 0, 0, 0] }, shape);
      expectExact(cpuData(cpu.copy(f32(S), sv, shape)), wantCopy, `copy from ${sn}`);
      // destinations must not broadcast (a broadcast dst just keeps its last write)
      for (const [dn, dv, dsz] of layouts.filter(([n]) => !/broadcast|scalar/.test(n))) {
        const D0 = seq(dsz, 40);
        const dst = f64(D0);
        cpu.copyInto(dst, dv, f64(S), sv, shape);
        const want = D0.slice();
        for (let i = 0; i < 840; i++) {
          const idx = unravel(i, shape);
          want[dv.offset + idx.reduce((acc, x, j) => acc + x * dv.strides[j], 0)] = at(S, sv, idx);
        }
        expectExact(cpuData(dst), want, `copyInto ${dn} from ${sn}`);
      }
    }
  });

  it('unary ops on float32 round the float64 formula once', () => {
    const X = seq(1000, 12).map(Math.fround);
    const x = f32(X);
    const cases: [Parameters<CpuBackend['unary']>[0], number | undefined, (v: number) => number][] = [
      ['mul_scalar', 0.3, (v) => v * 0.3],
      ['add_scalar', -1.7, (v) => v - 1.7],
      ['exp', undefined, Math.exp],
      ['tanh', undefined, Math.tanh],
      ['neg', undefined, (v) => -v],
      ['rsqrt', undefined, (v) => 1 / Math.sqrt(v)],
    ];
    for (const [op, p, f] of cases) expectExact(cpuData(cpu.unary(op, x, p)), X.map((v) => Math.fround(f(v))), op);
  });
});

describe('cpu backend: reduce fast paths', () => {
  const cases: [number[], number[]][] = [
    [[64, 33], [1]], // rows
    [[64, 33], [0]], // columns (bias gradient)
    [[5, 1, 6, 7], [2, 3]], // rows after merging the reduced dims
    [[3, 4, 1, 5], [1, 2]], // [outer, rows, cols] reducing rows
    [[8, 16, 24], [0, 1]], // leading axes merged: column sums
    [[2, 3, 4], [0, 2]], // general pattern
    [[4, 5], [0, 1]], // everything
    [[4, 1, 3], [1]], // only a size-1 axis: 0 + x
    [[1, 1, 1], [0, 2]],
  ];
  it('sum / max / min equal row-major folds exactly, float32 and float64', () => {
    for (const dtype of ['float32', 'float64'] as DType[]) {
      const round = roundTo(dtype);
      for (const [shape, axes] of cases) {
        const X = seq(numel(shape), numel(shape)).map(round);
        X[0] = -0; // 0 + -0 is +0 in a sum
        const x = store(X, dtype);
        for (const op of ['sum', 'max', 'min'] as const) {
          const want = refReduce(op, X, shape, axes).map(round);
          expectExact(cpuData(cpu.reduce(op, x, shape, axes)), want, `${op} ${dtype} [${shape}] over [${axes}]`);
        }
      }
    }
  });

  it('column max / min keep NaN; int32 sums wrap', () => {
    const X = [1, 2, NaN, 4, 5, 6, 7, 8, 9];
    expectExact(cpuData(cpu.reduce('max', f64(X), [3, 3], [0])), [7, 8, NaN], 'column max');
    expectExact(cpuData(cpu.reduce('min', f64(X), [3, 3], [1])), [NaN, 4, 7], 'row min');
    const big = i32([2147483647, 1, 2147483647, 2]);
    expectExact(cpuData(cpu.reduce('sum', big, [2, 2], [0])), [-2, 3], 'int32 column sum');
    expectExact(cpuData(cpu.reduce('sum', big, [2, 2], [1])), [-2147483648, -2147483647], 'int32 row sum');
  });
});

/** Matmul in the documented order: per element 0 + a(i,0)·b(0,j) + a(i,1)·b(1,j) + ... in float64. */
function refMatmulOrdered(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  batch: number[],
  as: number[],
  bs: number[],
  M: number,
  K: number,
  N: number,
  tA: boolean,
  tB: boolean,
): number[] {
  const out: number[] = [];
  for (let t = 0; t < numel(batch); t++) {
    const bi = unravel(t, batch);
    const ao = bi.reduce((acc, v, j) => acc + v * as[j], 0);
    const bo = bi.reduce((acc, v, j) => acc + v * bs[j], 0);
    const a = (i: number, k: number) => (tA ? A[ao + k * M + i] : A[ao + i * K + k]);
    const b = (k: number, j: number) => (tB ? B[bo + j * K + k] : B[bo + k * N + j]);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a(i, k) * b(k, j);
        out.push(s);
      }
    }
  }
  return out;
}

describe('cpu backend: matmul summation order', () => {
  it('sums over k in order in float64 and rounds once, at odd sizes and all transposes', () => {
    const shapes: [number, number, number][] = [
      [1, 13, 3],
      [5, 21, 130],
      [9, 12, 257],
      [4, 7, 1],
      [7, 8, 5],
      [6, 3, 9],
      [3, 0, 4],
    ];
    for (const dtype of ['float32', 'float64'] as DType[]) {
      const round = roundTo(dtype);
      for (const [M, K, N] of shapes) {
        const A = seq(M * K, M + K).map(round);
        const B = seq(K * N, K + N).map(round);
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const spec = { batch: [], aBatchStrides: [], bBatchStrides: [], M, K, N, transA, transB };
            const want = refMatmulOrdered(A, B, [], [], [], M, K, N, transA, transB).map(round);
            expectExact(cpuData(cpu.matmul(store(A, dtype), store(B, dtype), spec)), want, `${dtype} ${M}x${K}x${N} ${transA} ${transB}`);
          }
        }
      }
    }
  });

  it('batches with broadcast and out-of-order batch strides give the per-element products', () => {
    const [M, K, N] = [3, 10, 6];
    const A = seq(2 * 3 * M * K, 50).map(Math.fround);
    const B = seq(2 * K * N, 51).map(Math.fround);
    const specs = [
      { batch: [2, 3], aBatchStrides: [3 * M * K, M * K], bBatchStrides: [0, 0] }, // folds
      { batch: [2, 1, 3], aBatchStrides: [3 * M * K, 7, M * K], bBatchStrides: [0, 0, 0] }, // folds (size-1 dim)
      { batch: [2, 3], aBatchStrides: [M * K, 2 * M * K], bBatchStrides: [0, 0] }, // a batch not in order
      { batch: [2, 3], aBatchStrides: [3 * M * K, M * K], bBatchStrides: [K * N, 0] }, // b not broadcast
      { batch: [3], aBatchStrides: [0], bBatchStrides: [0] }, // both broadcast
    ];
    for (const s of specs) {
      for (const transB of [false, true]) {
        for (const transA of [false, true]) {
          const spec = { ...s, M, K, N, transA, transB };
          const want = refMatmulOrdered(A, B, s.batch, s.aBatchStrides, s.bBatchStrides, M, K, N, transA, transB).map(Math.fround);
          expectExact(cpuData(cpu.matmul(f32(A), f32(B), spec)), want, JSON.stringify(spec));
        }
      }
    }
  });
});

describe('cpu backend: attention key passes', () => {
  /** Scores, max, exp-sum and the value sum each in key order, as documented in attention.ts. */
  function refOrdered(Q: number[], K: number[], V: number[], mask: number[] | null, spec: { B: number; H: number; T: number; D: number; scale: number; causal: boolean; window: number }): number[] {
    const { B, H, T, D, scale, causal, window } = spec;
    const out = new Array<number>(B * H * T * D).fill(0);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < T; i++) {
          const base = (b * H + h) * T * D;
          const vis: number[] = [];
          for (let j = 0; j < T; j++) {
            if ((causal && j > i) || (window > 0 && i - j >= window) || (mask !== null && mask[b * T + j] === 0)) continue;
            vis.push(j);
          }
          if (vis.length === 0) continue;
          const s = vis.map((j) => {
            let dot = 0;
            for (let d = 0; d < D; d++) dot += Q[base + i * D + d] * K[base + j * D + d];
            return dot * scale;
          });
          let m = -Infinity;
          for (const v of s) if (v > m || v !== v) m = v;
          let z = 0;
          const acc = new Array<number>(D).fill(0);
          vis.forEach((j, t) => {
            const p = Math.exp(s[t] - m);
            z += p;
            for (let d = 0; d < D; d++) acc[d] += p * V[base + j * D + d];
          });
          for (let d = 0; d < D; d++) out[base + i * D + d] = acc[d] / z;
        }
    return out;
  }

  it('four-key passes give the key-order result exactly (masks, causal, window; float32 and float64)', () => {
    const [B, H, T, D] = [2, 2, 11, 5];
    const n = B * H * T * D;
    const mask = [1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    for (const dtype of ['float32', 'float64'] as DType[]) {
      const round = roundTo(dtype);
      const Q = seq(n, 61).map(round);
      const K = seq(n, 62).map(round);
      const V = seq(n, 63).map(round);
      for (const causal of [true, false]) {
        for (const window of [0, 3, 6]) {
          for (const m of [null, mask]) {
            const spec = { B, H, T, D, scale: 0.37, causal, window };
            const got = cpu.attention(store(Q, dtype), store(K, dtype), store(V, dtype), m && store(m, dtype), spec);
            expectExact(cpuData(got), refOrdered(Q, K, V, m, spec).map(round), `${dtype} ${JSON.stringify(spec)} mask ${m !== null}`);
          }
        }
      }
    }
  });
});
