// The float32 array pool of the fast cpu path: freed arrays come back zero-filled for the same
// length, small and partial arrays are never kept, and storages never share an array.

import { describe, expect, it } from 'vitest';
import { cpuData } from '../../engine/cpu/index.js';
import { Float32ArrayPool } from '../../engine/cpu-fast/array-pool.js';
import { FastCpuBackend, float32Pool } from '../../engine/cpu-fast/index.js';

describe('cpu-fast float32 array pool', () => {
  it('hands a freed array back zero-filled, only for the same length', () => {
    const pool = new Float32ArrayPool();
    const a = new Float32Array(2048).fill(3);
    pool.give(a);
    expect(pool.take(4096)).toBeNull();
    const b = pool.take(2048);
    expect(b).toBe(a);
    expect(b!.every((v) => v === 0)).toBe(true);
    expect(pool.take(2048)).toBeNull();
  });

  it('keeps neither small arrays nor views into a larger buffer', () => {
    const pool = new Float32ArrayPool();
    pool.give(new Float32Array(16));
    pool.give(new Float32Array(4096).subarray(0, 2048));
    expect(pool.take(16)).toBeNull();
    expect(pool.take(2048)).toBeNull();
    expect(pool.pooledBytes()).toBe(0);
  });

  it('recycles storages of the fast backend without sharing a live array', () => {
    const be = new FastCpuBackend();
    float32Pool.clear();
    const s1 = be.full(5000, 'float32', 7);
    const arr = cpuData(s1);
    be.free(s1);
    const s2 = be.full(5000, 'float32', 1); // takes the recycled array
    const s3 = be.full(5000, 'float32', 2); // must get another one
    expect(cpuData(s2)).toBe(arr);
    expect(cpuData(s3)).not.toBe(arr);
    expect(cpuData(s2)[4999]).toBe(1);
    expect(cpuData(s3)[0]).toBe(2);
    const x = be.unary('neg', s3);
    expect(cpuData(x)[10]).toBe(-2);
    for (const s of [s2, s3, x]) be.free(s);
  });
});
