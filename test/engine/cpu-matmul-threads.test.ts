// The cpu matmul split over worker threads (engine/cpu/matmul-pool.ts) must give bit-identical
// results to the single-threaded path, whichever thread computes which block, and must turn worker
// failures into errors instead of hangs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DType, MatmulSpec, Storage } from '../../engine/backend.js';
import { CpuBackend, cpuData } from '../../engine/cpu/index.js';
import {
  configureMatmulThreads,
  matmulThreadConfig,
  matmulThreadStats,
  parseThreadCount,
  type MatmulThreadConfig,
} from '../../engine/cpu/matmul-pool.js';
import { startMatmulThreads } from '../../engine/cpu/matmul.js';

const cpu = new CpuBackend();

/** Deterministic generator (not the backend's hash): values spread over several binades, both signs. */
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

function values(n: number, dtype: DType, r: () => number): Storage {
  const a = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() - 0.5) * 2 ** Math.floor(r() * 12 - 6);
  return cpu.fromArray(a, dtype);
}

interface Case {
  batch: number[];
  /** per batch dim: does a / b vary along it (else broadcast, stride 0) */
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
        size *= c.batch[j];
      }
    }
    return [s, size];
  };
  const [aBatchStrides, aSize] = strides(c.aVar, c.M * c.K);
  const [bBatchStrides, bSize] = strides(c.bVar, c.K * c.N);
  return { spec: { batch: c.batch, aBatchStrides, bBatchStrides, M: c.M, K: c.K, N: c.N, transA: c.transA, transB: c.transB }, aSize, bSize };
}

function randomCase(r: () => number): Case {
  const pick = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const nDims = pick(0, 2);
  const batch = Array.from({ length: nDims }, () => pick(1, 4));
  return {
    batch,
    aVar: batch.map(() => r() < 0.7),
    bVar: batch.map(() => r() < 0.5),
    M: r() < 0.2 ? pick(1, 5) : pick(1, 97),
    K: r() < 0.1 ? pick(0, 3) : pick(1, 70),
    N: r() < 0.3 ? pick(129, 300) : pick(1, 140),
    transA: r() < 0.5,
    transB: r() < 0.5,
  };
}

/** Run `c` with the current settings and with threads off; every element must be the same number. */
function expectSameAsSingleThread(c: Case, dtype: DType, seed: number): void {
  const r = rng(seed);
  const { spec, aSize, bSize } = specOf(c);
  const a = values(aSize, dtype, r);
  const b = values(bSize, dtype, r);
  const threaded = cpu.matmul(a, b, spec);
  const prev = configureMatmulThreads({ threads: 1 });
  let single: Storage;
  try {
    single = cpu.matmul(a, b, spec);
  } finally {
    configureMatmulThreads(prev);
  }
  const got = cpuData(threaded);
  const want = cpuData(single);
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      throw new Error(`${dtype} ${JSON.stringify(spec)}: element ${i} is ${got[i]} threaded, ${want[i]} single-threaded`);
    }
  }
  for (const s of [a, b, threaded, single]) cpu.free(s);
}

let saved: MatmulThreadConfig;
beforeAll(() => {
  saved = { ...matmulThreadConfig() };
});
afterAll(() => {
  configureMatmulThreads(saved);
});

describe('cpu matmul threads', () => {
  it('reads CAMELS_CPU_THREADS (default: available parallelism, at most 4)', () => {
    expect(parseThreadCount(undefined, 2)).toBe(2);
    expect(parseThreadCount('', 16)).toBe(4);
    expect(parseThreadCount(undefined, 1)).toBe(1);
    expect(parseThreadCount('1', 8)).toBe(1);
    expect(parseThreadCount('3', 2)).toBe(3);
    expect(() => parseThreadCount('two', 2)).toThrow(/CAMELS_CPU_THREADS must be a positive integer/);
    expect(() => parseThreadCount('0', 2)).toThrow(/CAMELS_CPU_THREADS/);
  });

  for (const threads of [2, 3]) {
    it(`is bit-identical to one thread on random shapes (${threads} threads, workers only and shared)`, () => {
      configureMatmulThreads({ ...saved, threads, minFlops: 0 });
      expect(startMatmulThreads()).toBe(threads - 1);
      const before = matmulThreadStats();
      const r = rng(1234 + threads);
      for (let n = 0; n < 60; n++) {
        const c = randomCase(r);
        for (const dtype of ['float32', 'float64'] as DType[]) {
          configureMatmulThreads({ mainComputes: n % 2 === 0 });
          expectSameAsSingleThread(c, dtype, n * 7 + threads);
        }
      }
      const after = matmulThreadStats();
      expect(after.workerUnits).toBeGreaterThan(before.workerUnits);
      expect(after.jobs).toBeGreaterThan(before.jobs);
    });
  }

  it('is bit-identical on the shapes of a transformer step, transposes, broadcast batches and odd sizes', () => {
    configureMatmulThreads({ ...saved, threads: 2, minFlops: 0 });
    startMatmulThreads();
    const cases: Case[] = [
      { batch: [], aVar: [], bVar: [], M: 256, K: 64, N: 192, transA: false, transB: false },
      { batch: [], aVar: [], bVar: [], M: 256, K: 192, N: 64, transA: false, transB: true },
      { batch: [], aVar: [], bVar: [], M: 192, K: 256, N: 64, transA: true, transB: false },
      { batch: [], aVar: [], bVar: [], M: 131, K: 77, N: 259, transA: true, transB: true },
      { batch: [], aVar: [], bVar: [], M: 1, K: 33, N: 1000, transA: false, transB: true }, // column blocks
      { batch: [], aVar: [], bVar: [], M: 3, K: 5, N: 700, transA: true, transB: false },
      { batch: [8, 4], aVar: [true, true], bVar: [true, true], M: 32, K: 16, N: 32, transA: false, transB: true },
      { batch: [8, 4], aVar: [true, true], bVar: [true, true], M: 32, K: 32, N: 16, transA: false, transB: false },
      { batch: [4, 3], aVar: [true, true], bVar: [false, false], M: 17, K: 23, N: 45, transA: false, transB: false }, // folds
      { batch: [4, 3], aVar: [true, true], bVar: [false, false], M: 17, K: 23, N: 45, transA: true, transB: true },
      { batch: [5, 2], aVar: [false, true], bVar: [true, false], M: 9, K: 130, N: 11, transA: false, transB: true },
      { batch: [3], aVar: [false], bVar: [false], M: 40, K: 9, N: 40, transA: false, transB: false },
      { batch: [2, 1, 3], aVar: [true, true, true], bVar: [true, false, true], M: 13, K: 0, N: 7, transA: false, transB: false },
    ];
    for (const [i, c] of cases.entries()) {
      for (const dtype of ['float32', 'float64'] as DType[]) {
        for (const mainComputes of [true, false]) {
          configureMatmulThreads({ mainComputes });
          expectSameAsSingleThread(c, dtype, 100 + i);
        }
      }
    }
  });

  it('splits into several jobs (and one-off arenas) when the operands exceed the kept arena', () => {
    configureMatmulThreads({ ...saved, threads: 2, minFlops: 0, keepArena: 6000 });
    startMatmulThreads();
    const cases: Case[] = [
      { batch: [6, 2], aVar: [true, true], bVar: [true, false], M: 20, K: 30, N: 25, transA: false, transB: false }, // chunks
      { batch: [3], aVar: [true], bVar: [true], M: 70, K: 60, N: 90, transA: true, transB: false }, // one-off per element
      { batch: [], aVar: [], bVar: [], M: 100, K: 100, N: 150, transA: false, transB: true }, // one-off
    ];
    for (const [i, c] of cases.entries()) {
      for (const dtype of ['float32', 'float64'] as DType[]) {
        for (const mainComputes of [true, false]) {
          configureMatmulThreads({ mainComputes });
          expectSameAsSingleThread(c, dtype, 200 + i);
        }
      }
    }
  });

  it('uses the workers only above the flop threshold', () => {
    configureMatmulThreads({ ...saved, threads: 2, minFlops: 4e6 });
    startMatmulThreads();
    const r = rng(7);
    const small = specOf({ batch: [], aVar: [], bVar: [], M: 64, K: 64, N: 64, transA: false, transB: false });
    const a = values(small.aSize, 'float32', r);
    const b = values(small.bSize, 'float32', r);
    const before = matmulThreadStats().jobs;
    cpu.free(cpu.matmul(a, b, small.spec));
    expect(matmulThreadStats().jobs).toBe(before);
    const big = specOf({ batch: [], aVar: [], bVar: [], M: 128, K: 128, N: 128, transA: false, transB: false });
    const a2 = values(big.aSize, 'float32', r);
    const b2 = values(big.bSize, 'float32', r);
    cpu.free(cpu.matmul(a2, b2, big.spec));
    expect(matmulThreadStats().jobs).toBe(before + 1);
    for (const s of [a, b, a2, b2]) cpu.free(s);
  });

  it('turns an exception in a worker into an Error from matmul, then recovers', () => {
    configureMatmulThreads({ ...saved, threads: 2, minFlops: 0, mainComputes: false, testFault: 'throw' });
    startMatmulThreads();
    const r = rng(9);
    const { spec, aSize, bSize } = specOf({ batch: [], aVar: [], bVar: [], M: 64, K: 8, N: 8, transA: false, transB: false });
    const a = values(aSize, 'float64', r);
    const b = values(bSize, 'float64', r);
    expect(() => cpu.matmul(a, b, spec)).toThrow(/cpu matmul: .*failed in a worker thread.*injected worker fault/s);
    configureMatmulThreads({ testFault: 'none' });
    expect(startMatmulThreads()).toBe(1); // a fresh pool
    expectSameAsSingleThread({ batch: [], aVar: [], bVar: [], M: 64, K: 8, N: 8, transA: false, transB: false }, 'float64', 9);
    cpu.free(a);
    cpu.free(b);
  });

  it('turns a hung worker into an Error after the stall timeout, then recovers', () => {
    configureMatmulThreads({ ...saved, threads: 2, minFlops: 0, mainComputes: false, testFault: 'hang', stallMs: 300 });
    startMatmulThreads();
    const r = rng(11);
    const { spec, aSize, bSize } = specOf({ batch: [], aVar: [], bVar: [], M: 64, K: 8, N: 8, transA: false, transB: false });
    const a = values(aSize, 'float32', r);
    const b = values(bSize, 'float32', r);
    const t0 = Date.now();
    expect(() => cpu.matmul(a, b, spec)).toThrow(/cpu matmul: no worker unit finished for \d+ ms/);
    expect(Date.now() - t0).toBeLessThan(5000);
    configureMatmulThreads({ testFault: 'none', stallMs: saved.stallMs });
    expect(startMatmulThreads()).toBe(1);
    expectSameAsSingleThread({ batch: [], aVar: [], bVar: [], M: 64, K: 8, N: 8, transA: false, transB: false }, 'float32', 11);
    cpu.free(a);
    cpu.free(b);
  });
});
