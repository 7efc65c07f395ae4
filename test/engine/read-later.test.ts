// E.readLater starts one readback of several scalars without waiting (on webgpu the copy is
// submitted and the map requested before it returns, and later work can be recorded before the
// values are awaited); camels/tasks/late-reads.ts hands each step's values over one step late, in
// order, and flush() hands over the last.

import { afterAll, describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { createWebGPUBackend, type WebGPUBackend } from '../../engine/webgpu/index.js';
import { LateReads } from '../../camels/tasks/late-reads.js';

const required = process.env.CAMELS_REQUIRE_WEBGPU === '1';
let gpu: WebGPUBackend | null = null;
try {
  gpu = await createWebGPUBackend();
} catch (e) {
  if (required) throw e;
}
if (!gpu && required) throw new Error('CAMELS_REQUIRE_WEBGPU=1 but no WebGPU adapter was found');
afterAll(() => gpu?.destroy());

describe('E.readLater', () => {
  it('reads several scalars in one readback; the tensors may be disposed at once (cpu)', async () => {
    const a = E.tensor([2.5], [1]);
    const b = E.sum(E.tensor([1, 2, 3], [3]));
    const p = E.readLater([a, b]);
    a.dispose();
    b.dispose();
    expect(await p).toEqual([2.5, 6]);
    expect(await E.readLater([])).toEqual([]);
    expect(() => E.readLater([E.tensor([1, 2], [2])])).toThrow(/readLater: expected one-element tensors, got shape \[2\]/);
  });

  it.skipIf(!gpu)('webgpu: the readback is submitted before it returns; later work is recorded before the await', async () => {
    await E.initDevice('webgpu');
    const x = E.tensor([1, 2, 3, 4], [4], { device: 'webgpu' });
    const loss = E.sum(E.mul(x, x)); // recorded, not yet submitted
    const rt = (E.getBackend('webgpu') as WebGPUBackend).rt;
    const reads = rt.stats.reads;
    const submits = rt.stats.submits;
    const p = E.readLater([loss, E.sum(x)]);
    expect(rt.stats.reads).toBe(reads + 1);
    expect(rt.stats.submits).toBe(submits + 1); // the step's work and the copy went to the queue
    loss.dispose();
    const next = E.sum(E.mulScalar(x, 3)); // the next step is recorded while the readback is in flight
    expect(await p).toEqual([30, 10]);
    expect(await next.item()).toBe(30);
    x.dispose();
    next.dispose();
  });
});

describe('LateReads', () => {
  it('hands step i over after step i + 1 is queued, in order; flush hands over the last', async () => {
    const seen: string[] = [];
    const late = new LateReads();
    await late.push(Promise.resolve([1]), ([v]) => void seen.push(`a${v}`));
    expect(seen).toEqual([]);
    await late.push(null);
    expect(seen).toEqual(['a1']);
    await late.push(Promise.resolve([2]), ([v]) => void seen.push(`b${v}`));
    await late.push(Promise.resolve([3]), ([v]) => void seen.push(`c${v}`));
    expect(seen).toEqual(['a1', 'b2']);
    await late.flush();
    await late.flush();
    expect(seen).toEqual(['a1', 'b2', 'c3']);
  });

  it('a handler that throws (a NaN guard) stops at the push that hands it over', async () => {
    const late = new LateReads();
    await late.push(Promise.resolve([NaN]), ([v]) => {
      if (!Number.isFinite(v!)) throw new Error('non-finite');
    });
    await expect(late.push(Promise.resolve([1]))).rejects.toThrow(/non-finite/);
  });
});
