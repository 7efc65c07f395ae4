// The webgpu pad kernel (strided.wgsl `pad`, one dispatch; the slice backward): every element equals
// the reference placement on odd 1- to 6-dim shapes, float32 and int32, and the fill + copy fallback
// for operands larger than one binding gives the same result.

import { describe, expect, it } from 'vitest';
import { HostRng } from '../../engine/random.js';
import type { WebGPUBackend } from '../../engine/webgpu/index.js';
import { deviceUnderTest } from './webgpu-required.js';

const gpu = (await deviceUnderTest('webgpu')) as WebGPUBackend | null;

/** The padded array computed on the host. */
function reference(src: ArrayLike<number>, shape: number[], before: number[], after: number[], value: number): number[] {
  const out = shape.map((d, i) => d + before[i]! + after[i]!);
  const n = out.reduce((a, b) => a * b, 1);
  const res: number[] = [];
  for (let i = 0; i < n; i++) {
    let rem = i;
    let o = 0;
    let stride = 1;
    let inside = true;
    for (let d = out.length - 1; d >= 0; d--) {
      const k = (rem % out[d]!) - before[d]!;
      rem = Math.floor(rem / out[d]!);
      if (k < 0 || k >= shape[d]!) inside = false;
      o += k * stride;
      stride *= shape[d]!;
    }
    res.push(inside ? src[o]! : value);
  }
  return res;
}

describe.skipIf(!gpu)('webgpu pad', () => {
  const cases: Array<[number[], number[], number[]]> = [
    [[1], [0], [0]],
    [[7], [3], [1]],
    [[3, 5], [1, 0], [0, 2]],
    [[2, 3, 4], [0, 1, 2], [1, 0, 3]],
    [[2, 1, 3, 2, 2, 3], [1, 0, 1, 0, 2, 0], [0, 1, 0, 1, 0, 1]],
    [[8, 33, 65], [0, 0, 65], [0, 0, 130]], // the shape of a GPT-2 qkv slice backward
  ];
  it('places the source and fills the rest, float32 and int32, one dispatch', async () => {
    const rng = new HostRng(3);
    for (const [shape, before, after] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      for (const dtype of ['float32', 'int32'] as const) {
        const data = dtype === 'float32' ? Float32Array.from({ length: n }, () => rng.normal()) : Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * 1000) - 500);
        const value = dtype === 'float32' ? -2.5 : 7;
        const src = gpu!.fromArray(data, dtype);
        const before0 = gpu!.rt.stats.dispatches;
        const y = gpu!.pad(src, shape, before, after, value);
        expect(gpu!.rt.stats.dispatches - before0, `[${shape}] dispatches`).toBe(1);
        const got = Array.from(await gpu!.read(y));
        expect(got, `[${shape}] ${dtype}`).toEqual(reference(data, shape, before, after, value));
        gpu!.free(src);
        gpu!.free(y);
      }
    }
  });

  it('falls back to fill + copy for operands larger than one binding, with the same result', async () => {
    const rt = gpu!.rt;
    const saved = rt.maxBindingBytes;
    const shape = [70, 64];
    const data = Float32Array.from({ length: 70 * 64 }, (_, i) => i * 0.25 - 3);
    const src = gpu!.fromArray(data, 'float32');
    try {
      rt.maxBindingBytes = 4096;
      const y = gpu!.pad(src, shape, [2, 1], [3, 5], 0.5);
      rt.maxBindingBytes = saved;
      expect(Array.from(await gpu!.read(y))).toEqual(reference(data, shape, [2, 1], [3, 5], 0.5));
      gpu!.free(y);
    } finally {
      rt.maxBindingBytes = saved;
      gpu!.free(src);
    }
  });
});
