// The fast float32 matmul (engine/cpu-fast: WebAssembly SIMD, packed panels, worker threads) against
// the reference loops (engine/cpu) at odd sizes — non-multiples of the 4 × 8 micro-tile and of the
// 256-deep k block, 1-element dims, K = 0 — with transposes and broadcast batches; and the threaded
// run bit-identical to the single-threaded one.

import { afterEach, describe, expect, it } from 'vitest';
import type { DType, MatmulSpec, Storage } from '../../engine/backend.js';
import { CpuBackend, cpuData } from '../../engine/cpu/index.js';
import { FastCpuBackend } from '../../engine/cpu-fast/index.js';
import { fastMatmulTuning } from '../../engine/cpu-fast/matmul.js';
import { parseThreadCount, setThreadCount, threadCount, workerUnitsDone } from '../../engine/cpu-fast/pool.js';
import { wasmHeap } from '../../engine/cpu-fast/wasm-heap.js';

const ref = new CpuBackend();
const fast = new FastCpuBackend();
const savedThreads = threadCount();
const savedMin = fastMatmulTuning.minThreadFlops;
afterEach(() => {
  setThreadCount(savedThreads);
  fastMatmulTuning.minThreadFlops = savedMin;
});

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

interface Case {
  batch: number[];
  aVar: boolean[];
  bVar: boolean[];
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
}

function specOf(c: Case): { spec: MatmulSpec; aSize: number; bSize: number } {
  const strides = (vary: boolean[], elem: number): [number[], number] => {
    const s = new Array<number>(c.batch.length).fill(0);
    let size = elem;
    for (let j = c.batch.length - 1; j >= 0; j--) {
      if (vary[j]) {
        s[j] = size;
        size *= c.batch[j]!;
      }
    }
    return [s, size];
  };
  const [aBatchStrides, aSize] = strides(c.aVar, c.M * c.K);
  const [bBatchStrides, bSize] = strides(c.bVar, c.K * c.N);
  return { spec: { batch: c.batch, aBatchStrides, bBatchStrides, M: c.M, K: c.K, N: c.N, transA: c.transA, transB: c.transB }, aSize, bSize };
}

function randomArray(n: number, r: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() - 0.5) * 2 ** Math.floor(r() * 6 - 3);
  return a;
}

/**
 * fast(a, b) must match the float64 reference within float32 rounding: |err| ≤ 2·K·2⁻²⁴·Σ|a||b|
 * (+ a tiny absolute floor), element by element.
 */
function expectMatchesReference(c: Case, seed: number): void {
  const r = rng(seed);
  const { spec, aSize, bSize } = specOf(c);
  const A = randomArray(aSize, r);
  const B = randomArray(bSize, r);
  const got = cpuData(fast.matmul(fast.fromArray(A, 'float32'), fast.fromArray(B, 'float32'), spec));
  const want = cpuData(ref.matmul(ref.fromArray(A, 'float64'), ref.fromArray(B, 'float64'), spec));
  const abs = cpuData(ref.matmul(ref.fromArray(A.map(Math.abs), 'float64'), ref.fromArray(B.map(Math.abs), 'float64'), spec));
  expect(got).toBeInstanceOf(Float32Array);
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const tol = 2 * (c.K + 1) * 2 ** -24 * abs[i]! + 1e-30;
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) {
      throw new Error(`${JSON.stringify(spec)}: element ${i} is ${got[i]}, reference ${want[i]} (tolerance ${tol})`);
    }
  }
}

const fixedCases: Case[] = [
  { batch: [], aVar: [], bVar: [], M: 1, K: 1, N: 1, transA: false, transB: false },
  { batch: [], aVar: [], bVar: [], M: 1, K: 7, N: 1, transA: true, transB: true },
  { batch: [], aVar: [], bVar: [], M: 5, K: 3, N: 9, transA: false, transB: false },
  { batch: [], aVar: [], bVar: [], M: 4, K: 8, N: 8, transA: false, transB: false },
  { batch: [], aVar: [], bVar: [], M: 37, K: 257, N: 19, transA: false, transB: false }, // two k blocks
  { batch: [], aVar: [], bVar: [], M: 9, K: 600, N: 33, transA: true, transB: true }, // three k blocks
  { batch: [], aVar: [], bVar: [], M: 130, K: 64, N: 257, transA: false, transB: true },
  { batch: [], aVar: [], bVar: [], M: 3, K: 5, N: 700, transA: true, transB: false },
  { batch: [], aVar: [], bVar: [], M: 13, K: 0, N: 7, transA: false, transB: false },
  { batch: [], aVar: [], bVar: [], M: 0, K: 4, N: 7, transA: false, transB: false },
  { batch: [8, 4], aVar: [true, true], bVar: [true, true], M: 32, K: 16, N: 32, transA: false, transB: true },
  { batch: [4, 3], aVar: [true, true], bVar: [false, false], M: 17, K: 23, N: 45, transA: false, transB: false }, // folds
  { batch: [4, 3], aVar: [true, true], bVar: [false, false], M: 17, K: 23, N: 45, transA: true, transB: true },
  { batch: [5, 2], aVar: [false, true], bVar: [true, false], M: 9, K: 130, N: 11, transA: false, transB: true },
  { batch: [2, 1, 3], aVar: [true, true, true], bVar: [true, false, true], M: 1, K: 3, N: 1, transA: false, transB: false },
];

function randomCase(r: () => number): Case {
  const pick = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const batch = Array.from({ length: pick(0, 2) }, () => pick(1, 4));
  return {
    batch,
    aVar: batch.map(() => r() < 0.7),
    bVar: batch.map(() => r() < 0.5),
    M: r() < 0.3 ? pick(1, 5) : pick(1, 70),
    K: r() < 0.2 ? pick(1, 3) : pick(1, 300),
    N: r() < 0.3 ? pick(1, 9) : pick(1, 90),
    transA: r() < 0.5,
    transB: r() < 0.5,
  };
}

describe('cpu-fast matmul', () => {
  it('runs on WebAssembly SIMD in this runtime', () => {
    expect(fast.accelerated).toBe(true);
    expect(fast.adapterName).toMatch(/wasm simd/);
  });

  it('matches the reference at odd sizes, transposes and broadcast batches (one thread)', () => {
    setThreadCount(1);
    fixedCases.forEach((c, i) => expectMatchesReference(c, 10 + i));
    const r = rng(99);
    for (let n = 0; n < 40; n++) expectMatchesReference(randomCase(r), 1000 + n);
  });

  it('matches the reference with the work split over worker threads', () => {
    setThreadCount(2);
    fastMatmulTuning.minThreadFlops = 0;
    const before = workerUnitsDone(wasmHeap()!);
    const big: Case = { batch: [], aVar: [], bVar: [], M: 301, K: 270, N: 150, transA: false, transB: false };
    // the worker may still be starting on the first call: repeat until it has taken units
    for (let n = 0; n < 50 && workerUnitsDone(wasmHeap()!) === before; n++) expectMatchesReference(big, 7);
    expect(workerUnitsDone(wasmHeap()!)).toBeGreaterThan(before);
    fixedCases.forEach((c, i) => expectMatchesReference(c, 10 + i));
  });

  it('gives bit-identical results whatever the thread count', () => {
    const r = rng(5);
    const { spec, aSize, bSize } = specOf({ batch: [3], aVar: [true], bVar: [true], M: 61, K: 300, N: 47, transA: true, transB: false });
    const a = fast.fromArray(randomArray(aSize, r), 'float32');
    const b = fast.fromArray(randomArray(bSize, r), 'float32');
    fastMatmulTuning.minThreadFlops = 0;
    const results: Float32Array[] = [];
    for (const t of [1, 2, 3]) {
      setThreadCount(t);
      results.push(cpuData(fast.matmul(a, b, spec)) as Float32Array);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('reads CAMELS_CPU_THREADS (default: available parallelism, at most 4)', () => {
    expect(parseThreadCount(undefined, 2)).toBe(2);
    expect(parseThreadCount('', 16)).toBe(4);
    expect(parseThreadCount('1', 8)).toBe(1);
    expect(parseThreadCount('3', 2)).toBe(3);
    expect(() => parseThreadCount('two', 2)).toThrow(/CAMELS_CPU_THREADS must be a positive integer/);
    expect(() => parseThreadCount('0', 2)).toThrow(/CAMELS_CPU_THREADS/);
  });

  it('leaves float64 to the reference loops', () => {
    const r = rng(3);
    const spec = specOf({ batch: [], aVar: [], bVar: [], M: 6, K: 9, N: 10, transA: false, transB: true }).spec;
    const A = Float64Array.from(randomArray(54, r));
    const B = Float64Array.from(randomArray(90, r));
    const got = cpuData(fast.matmul(fast.fromArray(A, 'float64'), fast.fromArray(B, 'float64'), spec));
    expect(got).toBeInstanceOf(Float64Array);
    expect(got).toEqual(cpuData(ref.matmul(ref.fromArray(A, 'float64'), ref.fromArray(B, 'float64'), spec)));
  });

  it('rejects specs that reach past the operands, as the reference does', () => {
    const a: Storage = fast.fromArray(new Float32Array(6), 'float32' as DType);
    const b = fast.fromArray(new Float32Array(6), 'float32');
    const spec = specOf({ batch: [], aVar: [], bVar: [], M: 3, K: 3, N: 2, transA: false, transB: false }).spec;
    expect(() => fast.matmul(a, b, spec)).toThrow(/a needs 9 elements/);
  });
});
